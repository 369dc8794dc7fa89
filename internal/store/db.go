package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the database's name inside the data folder.
const FileName = "gatehouse.db"

// Errors callers may test for with errors.Is.
var (
	ErrLocked       = errors.New("the data folder is already open by another Gatehouse")
	ErrNewerSchema  = errors.New("the database was made by a newer Gatehouse")
	ErrNotGatehouse = errors.New("the file is not a Gatehouse database")
)

// DB is an open Gatehouse database.
type DB struct {
	bolt     *bolt.DB
	path     string
	auditKey []byte // keys the audit hash chain; set by SetAuditKey
	rerun    bool
}

// Options tune Open; the zero value is right for production.
type Options struct {
	// LockTimeout is how long to wait for another process to let go of the
	// file before giving up with ErrLocked. Default 1 s.
	LockTimeout time.Duration
	// RerunWrites makes every Update and Batch run its closure twice: once
	// in a transaction that is rolled back, then for real. bbolt's Batch
	// may re-run a closure when another one of the batch fails; tests turn
	// this on so that a closure that is not safe to re-run fails them.
	RerunWrites bool
}

// Open opens (creating if needed) the database in dir and migrates it to the
// current schema.
func Open(dir string, opt Options) (*DB, error) {
	return openWith(dir, opt, migrations)
}

func openWith(dir string, opt Options, list []migration) (db *DB, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the data folder %s: %w", dir, err)
	}
	if opt.LockTimeout == 0 {
		opt.LockTimeout = time.Second
	}
	path := filepath.Join(dir, FileName)
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		if err := checkBoltHeader(path, st.Size()); err != nil {
			return nil, fmt.Errorf("%w: %s is damaged (%v); restore it from a backup", ErrNotGatehouse, path, err)
		}
	}
	defer func() {
		if r := recover(); r != nil { // bbolt panics on some damaged pages
			db, err = nil, fmt.Errorf("%w: %s is damaged (%v); restore it from a backup", ErrNotGatehouse, path, r)
		}
	}()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w (%s); close it first", ErrLocked, dir)
	}
	if err != nil {
		if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrVersionMismatch) || errors.Is(err, berrors.ErrChecksum) {
			return nil, fmt.Errorf("%w: %s", ErrNotGatehouse, path)
		}
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	// Concurrent use cases share a commit (Batch); a lone write waits at most
	// this long for company. Every commit is fsynced: NoSync is never set.
	b.MaxBatchDelay = 2 * time.Millisecond
	if err := migrate(b, list); err != nil {
		b.Close()
		return nil, err
	}
	return &DB{bolt: b, path: path, rerun: opt.RerunWrites}, nil
}

// Path is the database file's path.
func (db *DB) Path() string { return db.path }

// Close closes the database.
func (db *DB) Close() error { return db.bolt.Close() }

// Update runs fn in one write transaction; it commits (with fsync) only if
// fn returns nil.
func (db *DB) Update(fn func(tx *Tx) error) error {
	db.rehearse(fn)
	return db.bolt.Update(func(btx *bolt.Tx) error { return fn(db.tx(btx)) })
}

var errRehearsal = errors.New("rehearsal: rolled back")

// rehearse runs fn once in a transaction that is always rolled back, when
// RerunWrites is on.
func (db *DB) rehearse(fn func(tx *Tx) error) {
	if db.rerun {
		_ = db.bolt.Update(func(btx *bolt.Tx) error { fn(db.tx(btx)); return errRehearsal })
	}
}

func (db *DB) tx(btx *bolt.Tx) *Tx { return &Tx{tx: btx, auditKey: db.auditKey} }

// Batch is Update for many small concurrent writers: bbolt may combine
// their transactions into one commit. fn may run more than once, so it must
// not have effects outside the transaction.
func (db *DB) Batch(fn func(tx *Tx) error) error {
	db.rehearse(fn)
	return db.bolt.Batch(func(btx *bolt.Tx) error { return fn(db.tx(btx)) })
}

// Writes is how many pages write transactions have written to the file
// since it was opened: what a flood costs the disk.
func (db *DB) Writes() int64 { st := db.bolt.Stats(); return st.TxStats.GetWrite() }

// View runs fn in a read-only transaction.
func (db *DB) View(fn func(tx *Tx) error) error {
	return db.bolt.View(func(btx *bolt.Tx) error { return fn(db.tx(btx)) })
}

// Tx is a transaction with Gatehouse's queries.
type Tx struct {
	tx       *bolt.Tx
	auditKey []byte
	unlinked bool // a migration appending events before the chain key is known
}

func (t *Tx) b(name []byte) *bolt.Bucket { return t.tx.Bucket(name) }

// Writable reports whether the transaction may write.
func (t *Tx) Writable() bool { return t.tx.Writable() }
