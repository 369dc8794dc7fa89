package web

import (
	"crypto/tls"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// tlsServer accepts TLS connections with TLSConfig and a generated
// certificate, completing each handshake, until the test ends.
func tlsServer(t *testing.T) string {
	t.Helper()
	cert, err := LoadOrCreateCert(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	tln := tls.NewListener(ln, TLSConfig(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }))
	go func() {
		for {
			c, err := tln.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func dialTLS(addr string, version uint16, suite uint16) error {
	cfg := &tls.Config{InsecureSkipVerify: true, MinVersion: version, MaxVersion: version}
	if suite != 0 {
		cfg.CipherSuites = []uint16{suite}
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err == nil {
		c.Close()
	}
	return err
}

// TLS 1.2 offers only AEAD suites: a client that speaks only a CBC suite
// (with its SHA-1 or SHA-256 MAC) is refused at the handshake; 1.3 works.
func TestTLSOffersOnlyAEADSuites(t *testing.T) {
	addr := tlsServer(t)
	all := append(tls.CipherSuites(), tls.InsecureCipherSuites()...)
	checked := 0
	for _, s := range all {
		if !slices.Contains(s.SupportedVersions, tls.VersionTLS12) || !strings.Contains(s.Name, "_ECDSA_") && !strings.Contains(s.Name, "_RSA_") {
			continue
		}
		aead := strings.Contains(s.Name, "_GCM_") || strings.Contains(s.Name, "CHACHA20")
		ecdsa := strings.Contains(s.Name, "ECDHE_ECDSA")
		err := dialTLS(addr, tls.VersionTLS12, s.ID)
		switch {
		case !aead && err == nil:
			t.Errorf("TLS 1.2 handshake with %s succeeded", s.Name)
		case aead && ecdsa && err != nil:
			t.Errorf("TLS 1.2 handshake with %s failed: %v", s.Name, err)
		}
		if strings.Contains(s.Name, "_CBC_") {
			checked++
		}
	}
	if checked < 4 {
		t.Fatalf("only %d CBC suites were tried", checked)
	}
	if err := dialTLS(addr, tls.VersionTLS13, 0); err != nil {
		t.Errorf("TLS 1.3: %v", err)
	}
	if err := dialTLS(addr, tls.VersionTLS11, 0); err == nil {
		t.Error("TLS 1.1 was accepted")
	}
}
