package backup

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"filippo.io/age"
)

// quickRecipient is a passphrase recipient with a cheap scrypt cost, so
// the table runs fast; files made with age's default cost open the same way.
func quickRecipient(t *testing.T, passphrase string) age.Recipient {
	t.Helper()
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	r.SetWorkFactor(10)
	return r
}

func makeBackup(t *testing.T, to age.Recipient, db []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	m := Manifest{Created: time.Date(2026, 5, 18, 9, 30, 0, 0, time.UTC), Schema: 7, DatabaseSize: int64(len(db))}
	if err := Write(&out, to, m, []byte("0123456789abcdef0123456789abcdef"), bytes.NewReader(db)); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func restore(file []byte, secret string) (*Reader, []byte, error) {
	id, err := IdentityFor(secret)
	if err != nil {
		return nil, nil, err
	}
	r, err := Open(bytes.NewReader(file), id)
	if err != nil {
		return nil, nil, err
	}
	var db bytes.Buffer
	_, err = r.CopyDatabase(&db)
	return r, db.Bytes(), err
}

func TestRoundTripWithPassphrase(t *testing.T) {
	db := randomBytes(300 << 10) // several age chunks
	file := makeBackup(t, quickRecipient(t, "correct horse battery"), db)
	if !IsEncrypted(bytes.NewReader(file)) {
		t.Fatal("not recognised as encrypted")
	}
	if bytes.Contains(file, db[:64]) || bytes.Contains(file, []byte("0123456789abcdef")) {
		t.Fatal("plaintext visible in the file")
	}
	r, got, err := restore(file, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, db) || string(r.Key) != "0123456789abcdef0123456789abcdef" {
		t.Fatal("contents differ")
	}
	if r.Manifest.Format != Format || r.Manifest.Version != Version || r.Manifest.Schema != 7 || r.Manifest.DatabaseSize != int64(len(db)) {
		t.Fatalf("manifest %+v", r.Manifest)
	}
}

func TestRoundTripWithRecoveryKey(t *testing.T) {
	identity, recipient, err := NewRecoveryKey()
	if err != nil {
		t.Fatal(err)
	}
	to, err := KeyRecipient(recipient)
	if err != nil {
		t.Fatal(err)
	}
	db := randomBytes(5000)
	file := makeBackup(t, to, db)
	if _, got, err := restore(file, "  "+identity+"\n"); err != nil || !bytes.Equal(got, db) {
		t.Fatalf("recovery key: %v", err)
	}
	if _, _, err := restore(file, "a passphrase instead"); !errors.Is(err, ErrWrongSecret) {
		t.Fatalf("passphrase on a key-encrypted file: %v", err)
	}
	other, _, _ := NewRecoveryKey()
	if _, _, err := restore(file, other); !errors.Is(err, ErrWrongSecret) {
		t.Fatalf("another recovery key: %v", err)
	}
}

func TestWrongPassphrase(t *testing.T) {
	file := makeBackup(t, quickRecipient(t, "correct horse battery"), randomBytes(100))
	if _, _, err := restore(file, "correct horse batterY"); !errors.Is(err, ErrWrongSecret) {
		t.Fatalf("got %v", err)
	}
}

// Every cut and every flipped byte is refused: nothing short of the whole,
// authentic file gives a database.
func TestTruncatedOrTamperedRefused(t *testing.T) {
	db := randomBytes(200 << 10)
	file := makeBackup(t, quickRecipient(t, "correct horse battery"), db)
	for _, cut := range []int{0, 10, 100, 200, len(file) / 3, len(file) / 2, len(file) - 1024, len(file) - 17, len(file) - 1} {
		if _, _, err := restore(file[:cut], "correct horse battery"); err == nil {
			t.Errorf("cut at %d of %d: accepted", cut, len(file))
		}
	}
	for _, at := range []int{30, 150, len(file) / 2, len(file) - 600, len(file) - 1} {
		bad := bytes.Clone(file)
		bad[at] ^= 0x20
		if _, _, err := restore(bad, "correct horse battery"); err == nil {
			t.Errorf("byte %d of %d flipped: accepted", at, len(file))
		}
	}
	// Something appended after the end is refused too.
	if _, _, err := restore(append(bytes.Clone(file), 0), "correct horse battery"); err == nil {
		t.Error("a byte appended: accepted")
	}
}

func TestNotABackup(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("hello"), randomBytes(4096)} {
		if IsEncrypted(bytes.NewReader(b)) {
			t.Error("recognised as encrypted")
		}
		if _, _, err := restore(b, "correct horse battery"); !errors.Is(err, ErrNotBackup) {
			t.Errorf("got %v", err)
		}
	}
	// An age file that is not laid out as a backup.
	var out bytes.Buffer
	w, _ := age.Encrypt(&out, quickRecipient(t, "correct horse battery"))
	w.Write([]byte("just some text"))
	w.Close()
	if _, _, err := restore(out.Bytes(), "correct horse battery"); !errors.Is(err, ErrDamaged) {
		t.Errorf("plain age file: %v", err)
	}
}
