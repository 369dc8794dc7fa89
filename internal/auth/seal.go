package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeyFile is the name of the at-rest encryption key in the data folder.
const KeyFile = "secret.key"

// Sealer encrypts secrets at rest (TOTP secrets, the SMTP password,
// invitation tokens kept for "Copy link") with XChaCha20-Poly1305. The key
// lives in its own 0600 file beside the database, so a copy of the database
// alone does not reveal them.
type Sealer struct {
	key []byte
}

// ErrUnseal means a sealed value could not be opened: the key is wrong or
// the value was altered.
var ErrUnseal = errors.New("a sealed value could not be opened with this key")

// NewSealer returns a Sealer over a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != chacha20poly1305.KeySize {
		return nil, fmt.Errorf("the key must be %d bytes, not %d", chacha20poly1305.KeySize, len(key))
	}
	return &Sealer{key: append([]byte(nil), key...)}, nil
}

// LoadOrCreateKey reads the key file at path, creating it (0600) with a new
// random key if it does not exist. A file of the wrong size is reported,
// naming the file, and never overwritten.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, chacha20poly1305.KeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("cannot create the key file %s: %w", path, err)
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return nil, fmt.Errorf("cannot write the key file %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
		return key, f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the key file %s: %w", path, err)
	}
	if len(key) != chacha20poly1305.KeySize {
		return nil, fmt.Errorf("the key file %s is damaged (%d bytes, expected %d); restore it from a backup of the data folder", path, len(key), chacha20poly1305.KeySize)
	}
	return key, nil
}

// Seal encrypts plaintext; context binds the value to its place (for
// example "smtp-password") so a sealed value cannot be moved elsewhere.
func (s *Sealer) Seal(plaintext []byte, context string) []byte {
	aead, _ := chacha20poly1305.NewX(s.key)
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("auth: no randomness: " + err.Error())
	}
	return aead.Seal(nonce, nonce, plaintext, []byte(context))
}

// Open decrypts a value made by Seal with the same context.
func (s *Sealer) Open(sealed []byte, context string) ([]byte, error) {
	aead, _ := chacha20poly1305.NewX(s.key)
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrUnseal
	}
	out, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(context))
	if err != nil {
		return nil, ErrUnseal
	}
	return out, nil
}

// Key returns a copy of the key, for the encrypted backup file, which
// carries it so that a restore needs nothing but the file and its
// passphrase.
func (s *Sealer) Key() []byte { return append([]byte(nil), s.key...) }

// SubKey derives an independent key for one purpose (for example the audit
// chain's HMAC) from the data folder's key.
func (s *Sealer) SubKey(purpose string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("gatehouse subkey: " + purpose))
	return m.Sum(nil)
}

// AuditChainPurpose names the SubKey that keys the audit log's hash chain.
const AuditChainPurpose = "audit-chain"
