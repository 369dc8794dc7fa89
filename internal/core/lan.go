package core

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"strings"

	"gatehouse/internal/store"
)

// LANInfo describes the LAN server for the settings page.
type LANInfo struct {
	Running     bool     `json:"running"`
	URLs        []string `json:"urls"` // what staff open
	HTTPS       bool     `json:"https"`
	Fingerprint string   `json:"fingerprint"` // SHA-256 of the certificate in use
	CustomCert  bool     `json:"customCert"`  // the admin's own certificate is in use
	Subject     string   `json:"subject"`
	NotAfter    string   `json:"notAfter"`
}

// SetLANInfo records where the LAN server listens; the command line calls it
// once the server runs.
func (s *Service) SetLANInfo(urls []string, https bool) {
	s.lanMu.Lock()
	defer s.lanMu.Unlock()
	s.lanURLs, s.lanHTTPS = append([]string(nil), urls...), https
}

// LANInfo reports the LAN server's state and the certificate in use.
func (s *Service) LANInfo() LANInfo {
	s.lanMu.Lock()
	defer s.lanMu.Unlock()
	info := LANInfo{Running: len(s.lanURLs) > 0, URLs: s.lanURLs, HTTPS: s.lanHTTPS}
	if info.URLs == nil {
		info.URLs = []string{}
	}
	cert := s.currentCertLocked()
	if cert != nil && len(cert.Certificate) > 0 {
		info.Fingerprint = Fingerprint(cert.Certificate[0])
		info.CustomCert = s.customCert != nil
		if leaf, err := x509.ParseCertificate(cert.Certificate[0]); err == nil {
			info.Subject, info.NotAfter = leaf.Subject.CommonName, leaf.NotAfter.Format("02/01/06")
		}
	}
	return info
}

// Fingerprint is a certificate's SHA-256, as browsers show it.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = strings.ToUpper(hex.EncodeToString([]byte{b}))
	}
	return strings.Join(parts, ":")
}

// SetGeneratedCertificate gives the service the certificate made on first
// run, used while no custom one is set.
func (s *Service) SetGeneratedCertificate(c *tls.Certificate) {
	s.lanMu.Lock()
	s.generatedCert = c
	s.lanMu.Unlock()
}

// Certificate is the LAN server's tls.Config.GetCertificate: the admin's
// own certificate when set, else the generated one. A new custom
// certificate takes effect for the next connection, without a restart.
func (s *Service) Certificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.lanMu.Lock()
	defer s.lanMu.Unlock()
	return s.currentCertLocked(), nil
}

func (s *Service) currentCertLocked() *tls.Certificate {
	if s.customCert != nil {
		return s.customCert
	}
	return s.generatedCert
}

// Setting for the admin's own certificate; the private key is sealed.
const (
	settingLANCert = "lan-cert"
	sealLANKey     = "lan-key"
)

type lanCert struct {
	CertPEM   string `json:"certPem"`
	SealedKey []byte `json:"sealedKey"`
}

// LoadCustomCertificate reads the admin's own certificate from the
// database at start. A stored pair that no longer works is reported.
func (s *Service) LoadCustomCertificate() error {
	var lc lanCert
	var ok bool
	if err := s.db.View(func(tx *store.Tx) (err error) { ok, err = tx.Setting(settingLANCert, &lc); return }); err != nil || !ok || lc.CertPEM == "" {
		return err
	}
	key, err := s.sealer.Open(lc.SealedKey, sealLANKey)
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair([]byte(lc.CertPEM), key)
	if err != nil {
		return err
	}
	s.lanMu.Lock()
	s.customCert = &cert
	s.lanMu.Unlock()
	return nil
}

// LANCertificateInput is the admin's own certificate and key, as PEM.
type LANCertificateInput struct {
	CertPEM string `json:"certPem"`
	KeyPEM  string `json:"keyPem"`
}

const maxPEM = 64 << 10

// SetLANCertificate installs the admin's own certificate for the LAN server
// (platform admins). The pair is checked before anything is stored; an
// empty input goes back to the generated certificate.
func (s *Service) SetLANCertificate(ctx context.Context, in LANCertificateInput) (LANInfo, error) {
	if _, err := s.check(ctx, platformGate); err != nil {
		return LANInfo{}, err
	}
	in.CertPEM, in.KeyPEM = strings.TrimSpace(in.CertPEM), strings.TrimSpace(in.KeyPEM)
	var cert *tls.Certificate
	if in.CertPEM != "" || in.KeyPEM != "" {
		if len(in.CertPEM) > maxPEM || len(in.KeyPEM) > maxPEM {
			return LANInfo{}, fieldError("certPem", "A certificate or key this large is not a PEM file Gatehouse can use.")
		}
		c, err := tls.X509KeyPair([]byte(in.CertPEM), []byte(in.KeyPEM))
		if err != nil {
			return LANInfo{}, fieldError("certPem", "The certificate and key do not form a usable pair: %s. Paste the PEM text of both, beginning with -----BEGIN.", plainTLSError(err))
		}
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			return LANInfo{}, fieldError("certPem", "The certificate cannot be read.")
		}
		if now := s.clock(); now.After(leaf.NotAfter) || now.Before(leaf.NotBefore) {
			return LANInfo{}, fieldError("certPem", "This certificate is not valid now (valid %s to %s).", leaf.NotBefore.Format("02/01/06"), leaf.NotAfter.Format("02/01/06"))
		}
		cert = &c
	}
	before := s.LANInfo()
	err := s.update(ctx, platformGate, func(tx *store.Tx, a *actor) error {
		if cert == nil {
			if err := tx.PutSetting(settingLANCert, nil); err != nil {
				return err
			}
		} else if err := tx.PutSetting(settingLANCert, lanCert{CertPEM: in.CertPEM, SealedKey: s.sealer.Seal([]byte(in.KeyPEM), sealLANKey)}); err != nil {
			return err
		}
		after := map[string]any{"customCert": cert != nil}
		if cert != nil {
			after["fingerprint"] = Fingerprint(cert.Certificate[0])
		}
		return record(tx, s.clock(), a.who(), a.tenant.ID, ActUpdate, "lan_certificate", 0,
			&change{Before: map[string]any{"customCert": before.CustomCert, "fingerprint": before.Fingerprint}, After: after})
	})
	if err != nil {
		return LANInfo{}, s.internal("set certificate", err)
	}
	s.lanMu.Lock()
	s.customCert = cert
	s.lanMu.Unlock()
	return s.LANInfo(), nil
}

func plainTLSError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "tls: ")
	return strings.TrimSuffix(msg, ".")
}
