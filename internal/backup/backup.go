// Package backup is the format of Gatehouse's backup file: one file holding
// the database and the data folder's key, encrypted with age
// (filippo.io/age) to a passphrase (scrypt) or to an X25519 recipient.
//
// Inside the age stream is a plain tar archive with three entries, in this
// order: manifest.json (what the file is), secret.key (the data folder's
// key) and gatehouse.db (a bbolt snapshot). So a backup can also be opened
// with the standard tools: `age -d FILE | tar x`.
//
// Both sides stream: the database is never held in memory. age
// authenticates every 64 KiB chunk and marks the last one, so a truncated
// or altered file is refused when it is read to its end.
//
// It imports neither core nor store: it knows the file, not the database.
package backup

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"filippo.io/age"
)

// Format and Version name this layout in the manifest.
const (
	Format  = "gatehouse-backup"
	Version = 1
)

// Ext is the file name ending of a backup: what it is, outside in.
const Ext = ".tar.age"

// The archive's entries.
const (
	manifestName = "manifest.json"
	keyName      = "secret.key"
	dbName       = "gatehouse.db"
	maxManifest  = 64 << 10
	maxKey       = 1 << 10
)

// maxWorkFactor caps the scrypt cost a file may ask for when it is opened
// (2^20 needs 1 GiB); age writes 2^18.
const maxWorkFactor = 20

// Manifest says what a backup holds.
type Manifest struct {
	Format       string    `json:"format"`
	Version      int       `json:"version"`
	Created      time.Time `json:"created"`
	Schema       uint64    `json:"schema"`       // the database's schema version
	DatabaseSize int64     `json:"databaseSize"` // bytes
}

// The ways opening a backup fails.
var (
	// ErrNotBackup: the file is not an age-encrypted file at all.
	ErrNotBackup = errors.New("this is not an encrypted Gatehouse backup")
	// ErrWrongSecret: the passphrase (or recovery key) does not open it.
	ErrWrongSecret = errors.New("the passphrase does not open this backup")
	// ErrDamaged: it opened but is cut short, altered, or not laid out as
	// a Gatehouse backup.
	ErrDamaged = errors.New("this backup is damaged or incomplete")
)

// ageHeader starts every binary age file.
const ageHeader = "age-encryption.org/v1\n"

// IsEncrypted reports whether r starts like an age file; it reads at most
// the header's length.
func IsEncrypted(r io.Reader) bool {
	b := make([]byte, len(ageHeader))
	n, _ := io.ReadFull(r, b)
	return string(b[:n]) == ageHeader
}

// PassphraseRecipient encrypts to a passphrase.
func PassphraseRecipient(passphrase string) (age.Recipient, error) {
	return age.NewScryptRecipient(passphrase)
}

// KeyRecipient parses a recipient made by NewRecoveryKey ("age1…").
func KeyRecipient(s string) (age.Recipient, error) {
	return age.ParseX25519Recipient(s)
}

// NewRecoveryKey makes a key pair for backups written without anyone
// present: the recipient ("age1…") is kept to encrypt, the identity
// ("AGE-SECRET-KEY-1…") is what opens them.
func NewRecoveryKey() (identity, recipient string, err error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", "", err
	}
	return id.String(), id.Recipient().String(), nil
}

// IdentityFor turns what the person restoring typed into an age identity:
// a recovery key ("AGE-SECRET-KEY-1…") or else a passphrase.
func IdentityFor(secret string) (age.Identity, error) {
	if s := strings.TrimSpace(secret); strings.HasPrefix(strings.ToUpper(s), "AGE-SECRET-KEY-1") {
		id, err := age.ParseX25519Identity(strings.ToUpper(s))
		if err != nil {
			return nil, fmt.Errorf("this recovery key is mistyped: %v", err)
		}
		return id, nil
	}
	id, err := age.NewScryptIdentity(secret)
	if err != nil {
		return nil, err
	}
	id.SetMaxWorkFactor(maxWorkFactor)
	return id, nil
}

// Write writes a backup to w: the manifest, the key, then the database,
// whose m.DatabaseSize bytes db writes. Nothing is buffered beyond age's
// chunk.
func Write(w io.Writer, to age.Recipient, m Manifest, key []byte, db io.WriterTo) error {
	m.Format, m.Version = Format, Version
	manifest, err := json.Marshal(m)
	if err != nil {
		return err
	}
	aw, err := age.Encrypt(w, to)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(aw)
	put := func(name string, size int64) error {
		return tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: m.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX})
	}
	if err := put(manifestName, int64(len(manifest))); err != nil {
		return err
	}
	if _, err := tw.Write(manifest); err != nil {
		return err
	}
	if err := put(keyName, int64(len(key))); err != nil {
		return err
	}
	if _, err := tw.Write(key); err != nil {
		return err
	}
	if err := put(dbName, m.DatabaseSize); err != nil {
		return err
	}
	n, err := db.WriteTo(tw)
	if err != nil {
		return err
	}
	if n != m.DatabaseSize {
		return fmt.Errorf("the database snapshot wrote %d bytes, not %d", n, m.DatabaseSize)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return aw.Close()
}

// Reader reads an opened backup: its manifest and key are read; the
// database follows with CopyDatabase.
type Reader struct {
	Manifest Manifest
	Key      []byte
	age      io.Reader
	tar      *tar.Reader
}

// Open decrypts r's header with id and reads the manifest and the key. A
// wrong passphrase fails here, before anything else is read.
func Open(r io.Reader, id age.Identity) (*Reader, error) {
	br := bufio.NewReader(r)
	if head, _ := br.Peek(len(ageHeader)); string(head) != ageHeader {
		return nil, ErrNotBackup
	}
	ar, err := age.Decrypt(br, id)
	if err != nil {
		var none *age.NoIdentityMatchError
		if errors.As(err, &none) {
			return nil, ErrWrongSecret
		}
		return nil, fmt.Errorf("%w (%v)", ErrDamaged, err)
	}
	b := &Reader{age: ar, tar: tar.NewReader(ar)}
	manifest, err := b.entry(manifestName, maxManifest)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(manifest, &b.Manifest); err != nil || b.Manifest.Format != Format {
		return nil, fmt.Errorf("%w: it has no Gatehouse manifest", ErrDamaged)
	}
	if b.Manifest.Version > Version {
		return nil, fmt.Errorf("this backup was made by a newer Gatehouse (backup format %d; this one reads up to %d)", b.Manifest.Version, Version)
	}
	if b.Key, err = b.entry(keyName, maxKey); err != nil {
		return nil, err
	}
	return b, nil
}

// entry reads the next entry, which must be name and at most max bytes.
func (b *Reader) entry(name string, max int64) ([]byte, error) {
	h, err := b.next(name)
	if err != nil {
		return nil, err
	}
	if h.Size > max {
		return nil, fmt.Errorf("%w: %s is %d bytes", ErrDamaged, name, h.Size)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, b.tar); err != nil {
		return nil, damaged(err)
	}
	return buf.Bytes(), nil
}

func (b *Reader) next(name string) (*tar.Header, error) {
	h, err := b.tar.Next()
	if err != nil {
		return nil, damaged(err)
	}
	if h.Name != name || h.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("%w: found %q where %s belongs", ErrDamaged, h.Name, name)
	}
	return h, nil
}

// CopyDatabase writes the database to w and then reads the file to its
// end, so that a file cut short or altered anywhere is an error here. Only
// when it returns nil is what w got the whole, authentic database.
func (b *Reader) CopyDatabase(w io.Writer) (int64, error) {
	h, err := b.next(dbName)
	if err != nil {
		return 0, err
	}
	if h.Size != b.Manifest.DatabaseSize {
		return 0, fmt.Errorf("%w: the database is %d bytes, the manifest says %d", ErrDamaged, h.Size, b.Manifest.DatabaseSize)
	}
	n, err := io.Copy(w, b.tar)
	if err != nil {
		return n, damaged(err)
	}
	if _, err := b.tar.Next(); err != io.EOF {
		return n, fmt.Errorf("%w: unexpected content after the database", ErrDamaged)
	}
	// The tar end is not the file's end: read the rest, so age checks the
	// last chunk's authenticity and that nothing was cut off.
	if _, err := io.Copy(io.Discard, b.age); err != nil {
		return n, damaged(err)
	}
	return n, nil
}

func damaged(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w (%v)", ErrDamaged, err)
}
