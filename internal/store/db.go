package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
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
	// ErrDamaged: the file is damaged. Open refuses it; once a damaged page
	// is found in an open database, every write returns it.
	ErrDamaged = errors.New("the database is damaged — restore from a backup")
	// ErrChainBroken: the audit log's hash chain cannot be trusted.
	ErrChainBroken = errors.New("the audit log's hash chain is broken")
)

// DB is an open Gatehouse database.
type DB struct {
	bolt     *bolt.DB
	path     string
	auditKey []byte // keys the audit hash chain (Options.AuditKey)
	rerun    bool

	damaged atomic.Pointer[error] // set once a damaged page is found
	closing chan struct{}         // closed by Close: stops the background check
	checked chan struct{}         // closed when the first background check is done
	checker sync.WaitGroup
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
	// AuditKey keys the audit log's hash chain. Appending events needs it,
	// and so does the migration that introduces the chain (it links the
	// chain, once).
	AuditKey []byte
	// CheckKey, when set, runs in a read transaction on an existing
	// database before any migration: an error (a key file that is not the
	// database's) stops Open before the audit chain is touched.
	CheckKey func(tx *Tx) error
	// Existing says the database must already exist (its key file does): an
	// empty file is then damage, not a new install.
	Existing bool
	// NoBackgroundCheck skips the full page check Open starts in the
	// background (for benchmarks that measure Open alone).
	NoBackgroundCheck bool
}

// Open opens (creating if needed) the database in dir and migrates it to the
// current schema. A file that is damaged is refused with ErrDamaged.
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
	if err := checkBeforeOpen(path, opt.Existing); err != nil {
		return nil, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil { // bbolt panics on some damaged pages
			db, err = nil, damagedError(path, fmt.Errorf("%v", r))
		}
	}()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opt.LockTimeout, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w (%s); close it first", ErrLocked, dir)
	}
	if err != nil {
		if errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrVersionMismatch) || errors.Is(err, berrors.ErrChecksum) {
			return nil, damagedError(path, err)
		}
		return nil, fmt.Errorf("cannot open %s: %w", path, err)
	}
	// Concurrent use cases share a commit (Batch); a lone write waits at most
	// this long for company. Every commit is fsynced: NoSync is never set.
	b.MaxBatchDelay = 2 * time.Millisecond
	db = &DB{bolt: b, path: path, auditKey: bytes.Clone(opt.AuditKey), rerun: opt.RerunWrites, closing: make(chan struct{}), checked: make(chan struct{})}
	if err := db.prepare(opt, list); err != nil {
		b.Close()
		return nil, err
	}
	if opt.NoBackgroundCheck {
		close(db.checked)
	} else {
		db.checker.Add(1)
		go db.checkInBackground()
	}
	return db, nil
}

// prepare checks the key, migrates, and refuses a chain that was never
// linked: in that order, so a wrong key never touches the chain.
func (db *DB) prepare(opt Options, list []migration) error {
	if opt.CheckKey != nil {
		err := db.bolt.View(func(btx *bolt.Tx) error {
			if v, err := schemaVersion(btx); err != nil || v == 0 {
				return err // a new database: nothing sealed yet
			}
			return opt.CheckKey(db.tx(btx))
		})
		if err != nil {
			return err
		}
	}
	if err := migrate(db.bolt, list, db.auditKey); err != nil {
		return err
	}
	return db.bolt.View(func(btx *bolt.Tx) error { return db.tx(btx).checkChainLinked() })
}

// checkBeforeOpen refuses a file bbolt must not be given: an empty one
// where a database must exist, a bad header, or a page tree that does not
// hold together (bbolt trusts its file, and would fault or loop on it).
func checkBeforeOpen(path string, existing bool) error {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", path, err)
	}
	if st.Size() == 0 {
		if existing {
			return damagedError(path, errors.New("the file is empty"))
		}
		return nil // bbolt was stopped before it wrote a new file's first pages
	}
	if err := checkBoltHeader(path, st.Size()); err != nil {
		return damagedError(path, err)
	}
	if err := checkPageTree(path, false, nil); err != nil {
		return damagedError(path, err)
	}
	return nil
}

func damagedError(path string, cause error) error {
	return fmt.Errorf("%w (%s: %v)", ErrDamaged, path, cause)
}

// Path is the database file's path.
func (db *DB) Path() string { return db.path }

// Close stops the background check and closes the database.
func (db *DB) Close() error {
	select {
	case <-db.closing:
	default:
		close(db.closing)
	}
	db.checker.Wait()
	return db.bolt.Close()
}

// Update runs fn in one write transaction; it commits (with fsync) only if
// fn returns nil.
func (db *DB) Update(fn func(tx *Tx) error) (err error) {
	if err := db.Damaged(); err != nil {
		return err
	}
	defer db.recoverDamage(&err)
	db.rehearse(fn)
	return db.bolt.Update(db.managed(fn))
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

// managed wraps fn for bbolt: a panic raised by bbolt on a damaged page
// inside fn becomes ErrDamaged, and the transaction rolls back.
func (db *DB) managed(fn func(tx *Tx) error) func(*bolt.Tx) error {
	return func(btx *bolt.Tx) (err error) {
		defer db.recoverDamage(&err)
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		return fn(db.tx(btx))
	}
}

// Batch is Update for many small concurrent writers: bbolt may combine
// their transactions into one commit. fn may run more than once, so it must
// not have effects outside the transaction.
func (db *DB) Batch(fn func(tx *Tx) error) (err error) {
	if err := db.Damaged(); err != nil {
		return err
	}
	defer db.recoverDamage(&err)
	db.rehearse(fn)
	return db.bolt.Batch(db.managed(fn))
}

// Writes is how many pages write transactions have written to the file
// since it was opened: what a flood costs the disk.
func (db *DB) Writes() int64 { st := db.bolt.Stats(); return st.TxStats.GetWrite() }

// View runs fn in a read-only transaction.
func (db *DB) View(fn func(tx *Tx) error) (err error) {
	defer db.recoverDamage(&err)
	return db.bolt.View(db.managed(fn))
}

// Tx is a transaction with Gatehouse's queries.
type Tx struct {
	tx       *bolt.Tx
	auditKey []byte
}

func (t *Tx) b(name []byte) *bolt.Bucket {
	b := t.tx.Bucket(name)
	if fill, ok := fillPercent[string(name)]; ok && b != nil {
		b.FillPercent = fill
	}
	return b
}

// fillPercent packs the audit log's buckets that only grow at their ends:
// bbolt's default of half-full pages after a split would leave them half
// empty for good, as nothing is ever inserted before the end. The tenants'
// lists are few, each growing at its own end. The values' lists grow all
// over their bucket, each at its last block, and most (an address seen
// once) never grow again: 0.7 packed them best on the office log (100,000
// events: 64 % of their pages used, 59 % at bbolt's 0.5, 44 % at 0.9,
// 32 % at 1.0, where a page packed full splits again at the next growth).
var fillPercent = map[string]float64{
	string(bucketAudit):          1.0,
	string(bucketAuditStringIDs): 1.0,
	string(bucketAuditTenant):    1.0,
	string(bucketAuditBy):        0.7,
}
