package auth

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealRoundTripAndTamper(t *testing.T) {
	key, err := LoadOrCreateKey(filepath.Join(t.TempDir(), KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewSealer(key)
	box := s.Seal([]byte("hunter2"), "smtp-password")
	if bytes.Contains(box, []byte("hunter2")) {
		t.Fatal("sealed value holds the plaintext")
	}
	if got, err := s.Open(box, "smtp-password"); err != nil || string(got) != "hunter2" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := s.Open(box, "totp"); err != ErrUnseal {
		t.Fatal("a value opened under another context")
	}
	box[len(box)-1] ^= 1
	if _, err := s.Open(box, "smtp-password"); err != ErrUnseal {
		t.Fatal("a tampered value opened")
	}
	other, _ := NewSealer(bytes.Repeat([]byte{7}, 32))
	if _, err := other.Open(s.Seal([]byte("x"), "c"), "c"); err != ErrUnseal {
		t.Fatal("another key opened the value")
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFile)
	a, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode())
	}
	b, _ := LoadOrCreateKey(path)
	if !bytes.Equal(a, b) {
		t.Fatal("the key changed on reload")
	}
	os.WriteFile(path, []byte("short"), 0o600)
	_, err = LoadOrCreateKey(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged key: %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "short" {
		t.Fatal("a damaged key file was overwritten")
	}
}
