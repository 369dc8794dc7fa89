package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/cli"
	"gatehouse/internal/core"
	"gatehouse/internal/store/storetest"
	"gatehouse/internal/web"
)

// lockedBuffer is an io.Writer the test can read while the server writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// runServe starts gatehouse serve on a fresh data folder through the real
// command line and returns its URL and setup code once it has printed the
// setup link, its last line before serving; it stops when the test ends.
func runServe(t *testing.T, dir string, extra ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(cli.Env{Args: append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, extra...), Stdout: out, Stderr: out,
			Frontend: frontend(), NewApp: func(svc *core.Service, s web.Session, ip, ua string) any { return newApp(svc, s, ip, ua) }, Ctx: ctx})
	}()
	exited := false
	t.Cleanup(func() {
		cancel()
		if !exited {
			<-done
		}
	})
	ready := regexp.MustCompile(`(?s)Listening on (\S+).*setup\?code=([A-Z0-9]+)`)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for {
		if m := ready.FindStringSubmatch(out.String()); m != nil {
			return m[1], m[2]
		}
		select {
		case code := <-done:
			exited = true
			t.Fatalf("serve exited with %d: %s", code, out.String())
		case <-deadline:
			t.Fatalf("serve did not print its setup link in 20 s: %s", out.String())
		case <-tick.C:
		}
	}
}

// tryPost calls an API method; safe to use from any goroutine.
func tryPost(c *http.Client, url, method string, args ...any) (*http.Response, []byte, error) {
	if args == nil {
		args = []any{}
	}
	body, err := json.Marshal(args)
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequest("POST", url+"/api/App."+method, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("X-Gatehouse", "1")
	res, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

// post calls an API method from the test's own goroutine.
func post(t *testing.T, c *http.Client, url, method string, args ...any) (*http.Response, []byte) {
	t.Helper()
	res, body, err := tryPost(c, url, method, args...)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return res, body
}

func TestLANServerOverHTTPS(t *testing.T) {
	dir := t.TempDir()
	url, code := runServe(t, dir)
	if code == "" {
		t.Fatal("serve did not print the setup link")
	}
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("serve without --http listens on %s", url)
	}
	pemBytes, err := os.ReadFile(filepath.Join(dir, web.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		t.Fatal("the certificate file holds no certificate")
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}

	res, body := post(t, c, url, "Setup", core.SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: "password123", Code: code})
	if res.StatusCode != 200 {
		t.Fatalf("setup over HTTPS: %d %s", res.StatusCode, body)
	}
	for _, ck := range res.Cookies() {
		if ck.Name == web.CookieName && (!ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode) {
			t.Fatalf("cookie over TLS: %+v", ck)
		}
	}
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS header over TLS")
	}
	if res, body := post(t, c, url, "Me"); res.StatusCode != 200 {
		t.Fatalf("signed-in call: %d %s", res.StatusCode, body)
	}
	// The certificate names localhost, so the same trust works by name.
	if res, _ := post(t, c, strings.Replace(url, "127.0.0.1", "localhost", 1), "SetupStatus"); res.StatusCode != 200 {
		t.Fatalf("by name: %d", res.StatusCode)
	}
	// A client that does not trust the certificate is refused at the handshake.
	if _, err := http.Get(url); err == nil {
		t.Fatal("an untrusting client connected")
	}
	// A name that is not this server's (DNS rebinding) is refused, signed in or not.
	req, err := http.NewRequest("POST", url+"/api/App.SetupStatus", strings.NewReader("[]"))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "rebind.evil.example" + url[strings.LastIndex(url, ":"):]
	req.Header.Set("X-Gatehouse", "1")
	if res, err := c.Do(req); err != nil || res.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("a foreign Host: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	// TLS 1.2 with a CBC suite is refused: AEAD suites only.
	cbc := &tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}
	if conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), cbc); err == nil {
		conn.Close()
		t.Error("a TLS 1.2 handshake with a CBC-SHA1 suite succeeded")
	}
	// Plain HTTP to the HTTPS port gets no API answer.
	res, err = http.Post(strings.Replace(url, "https://", "http://", 1)+"/api/App.SetupStatus", "application/json", strings.NewReader("[]"))
	if err == nil {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Fatalf("plain HTTP was served: %s", b)
		}
	}
}

func TestBrokenCertificatePairIsReported(t *testing.T) {
	dir := t.TempDir()
	if _, err := web.LoadOrCreateCert(dir); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if _, err := web.LoadOrCreateCert(other); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(other, web.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, web.KeyFile), key, 0o600); err != nil { // a key that does not match
		t.Fatal(err)
	}
	var errOut bytes.Buffer
	code := cli.Main(cli.Env{Args: []string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, Stdout: io.Discard, Stderr: &errOut,
		NewApp: func(svc *core.Service, s web.Session, ip, ua string) any { return newApp(svc, s, ip, ua) }})
	if code != cli.ExitRuntime || !strings.Contains(errOut.String(), web.CertFile) || !strings.Contains(errOut.String(), "Fix or remove both files") {
		t.Fatalf("mismatched pair: exit %d, %q", code, errOut.String())
	}
	if got, _ := os.ReadFile(filepath.Join(dir, web.KeyFile)); !bytes.Equal(got, key) {
		t.Fatal("the key file was overwritten")
	}
}

// While 200 sign-in attempts arrive at once, another client's calls still
// succeed: bcrypt runs at most two at a time.
func TestSignInFloodDoesNotStarveOthers(t *testing.T) {
	svc := core.New(core.Config{DB: storetest.Open(t), Sealer: testSealer(t), Hasher: auth.NewHasher(8, 2)})
	h, err := web.New(web.Config{NewApp: func(s web.Session, ip, ua string) any { return newApp(svc, s, ip, ua) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(t, h)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	admin := &http.Client{Jar: jar}
	if res, body := post(t, admin, srv, "Setup", core.SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: "password123", Code: svc.SetupCode()}); res.StatusCode != 200 {
		t.Fatalf("setup: %s", body)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, body, err := tryPost(&http.Client{}, srv, "SignIn", core.SignInInput{Email: fmt.Sprintf("user%d@kwgroup.uk", i), Password: "wrong password"})
			if err != nil || res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusBadRequest {
				t.Errorf("a wrong sign-in: %v %v %s", res, err, body)
			}
		}()
	}
	go func() { wg.Wait(); close(stop) }()
	calls := 0
	for {
		res, body := post(t, admin, srv, "ListUsers", core.ListUsersInput{})
		if res.StatusCode != 200 {
			t.Fatalf("list during the flood: %d %s", res.StatusCode, body)
		}
		calls++
		select {
		case <-stop:
			if calls < 2 {
				t.Fatalf("only %d list calls ran during the flood", calls)
			}
			return
		default:
		}
	}
}
