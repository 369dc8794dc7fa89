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

// DB is an open Gatehouse database: the data folder's bbolt file, or an
// etcd cluster (OpenEtcd).
type DB struct {
	bolt     *bolt.DB
	etcd     *etcdEngine // set instead of bolt for a cluster
	path     string
	auditKey []byte // keys the audit hash chain (Options.AuditKey)
	rerun    bool
	keyOK    bool // Options.CheckKey found its value and passed

	damaged   atomic.Pointer[error] // set once a damaged page is found
	unsafe    atomic.Pointer[error] // set when the page tree does not hold: nothing may read it
	ready     chan struct{}         // closed once the page tree's structure has passed (or not)
	closing   chan struct{}         // closed by Close: stops the background check
	closeOnce sync.Once
	checked   chan struct{} // closed when the first background check is done
	strings   stringCache   // the audit log's string table, as read transactions found it
	leading   atomic.Bool   // this node runs the elected jobs (RunElected)
	checker   sync.WaitGroup
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
	// database's) stops Open before the audit chain is touched. It reports
	// whether the database holds the value it checked (DB.KeyStored).
	CheckKey func(tx *Tx) (stored bool, err error)
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
	// A start checks only what it reads (walkStart); the structure of the
	// whole tree is checked in the background at once, and every
	// transaction waits for it. Without a background check, or when
	// migrations will read the whole file, it is checked here.
	mode := walkStart
	if opt.NoBackgroundCheck {
		mode = walkStructure
	}
	if err := checkUnlessInUse(path, opt.Existing, mode, opt.LockTimeout); err != nil {
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
	db = &DB{bolt: b, path: path, auditKey: bytes.Clone(opt.AuditKey), rerun: opt.RerunWrites,
		ready: make(chan struct{}), closing: make(chan struct{}), checked: make(chan struct{})}
	if mode == walkStart && db.migrationsPending(list) {
		if err := checkPageTree(path, walkStructure, nil); err != nil {
			b.Close()
			return nil, damagedError(path, err)
		}
		mode = walkStructure
	}
	if err := db.prepare(opt, list); err != nil {
		b.Close()
		return nil, err
	}
	if mode == walkStructure {
		close(db.ready)
	}
	if opt.NoBackgroundCheck {
		close(db.checked)
	} else {
		db.checker.Add(1)
		go db.checkInBackground(mode == walkStart)
	}
	return db, nil
}

// KeyStored reports whether Open's key check found the database's check
// value and passed: a start then need not read it again.
func (db *DB) KeyStored() bool { return db.keyOK }

// migrationsPending reports whether Open will migrate the file.
func (db *DB) migrationsPending(list []migration) bool {
	var v uint64
	err := db.bolt.View(func(tx *bolt.Tx) (err error) { v, err = schemaVersion(boltTx{tx}); return err })
	return err != nil || v != uint64(len(list))
}

// gate waits until the page tree's structure has been checked, and refuses
// every transaction, reads too, on a tree that does not hold together.
func (db *DB) gate() error {
	if db.ready != nil { // nil: a file checked whole before it was opened (CheckFile)
		<-db.ready
	}
	if p := db.unsafe.Load(); p != nil {
		return *p
	}
	return nil
}

// prepare checks the key, migrates, and refuses a chain that was never
// linked: in that order, so a wrong key never touches the chain.
func (db *DB) prepare(opt Options, list []migration) error {
	if opt.CheckKey != nil {
		err := db.kvView(func(ktx kvTx) error {
			if v, err := schemaVersion(ktx); err != nil || v == 0 {
				return err // a new database: nothing sealed yet
			}
			stored, err := opt.CheckKey(db.kvTxOf(ktx))
			db.keyOK = stored && err == nil
			return err
		})
		if err != nil {
			return err
		}
	}
	if err := migrate(db, list, db.auditKey); err != nil {
		return err
	}
	return db.kvView(func(ktx kvTx) error { return db.kvTxOf(ktx).checkChainLinked() })
}

// kvView and kvUpdate run fn in a transaction of whichever engine holds
// the database, below the gate and the damage checks (Open uses them).
func (db *DB) kvView(fn func(kvTx) error) error {
	if db.etcd != nil {
		return db.etcd.view(fn)
	}
	return db.bolt.View(func(btx *bolt.Tx) error { return fn(boltTx{btx}) })
}

func (db *DB) kvUpdate(fn func(kvTx) error) error {
	if db.etcd != nil {
		return db.etcd.update(fn)
	}
	return db.bolt.Update(func(btx *bolt.Tx) error { return fn(boltTx{btx}) })
}

// checkUnlessInUse is checkBeforeOpen for a file another Gatehouse may
// have open: the check reads the file before bbolt takes its lock, so
// while another open writes it, pages may change under the walk and a
// healthy file look damaged. Damage found in a file in use is judged
// again once it is free, and after lockTimeout it is ErrLocked, as bbolt
// would have said: never "damaged" for a file someone else is writing.
func checkUnlessInUse(path string, existing bool, mode walkMode, lockTimeout time.Duration) error {
	deadline := time.Now().Add(lockTimeout)
	for {
		err := checkBeforeOpen(path, existing, mode)
		if err == nil || !errors.Is(err, ErrDamaged) || !fileInUse(path) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w (%s); close it first", ErrLocked, filepath.Dir(path))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkBeforeOpen refuses a file bbolt must not be given: an empty one
// where a database must exist, a bad header, or a page tree that does not
// hold together (bbolt trusts its file, and would fault or loop on it).
func checkBeforeOpen(path string, existing bool, mode walkMode) error {
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
	if err := checkPageTree(path, mode, nil); err != nil {
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
	db.closeOnce.Do(func() { close(db.closing) })
	db.checker.Wait()
	if db.etcd != nil {
		return db.etcd.close()
	}
	return db.bolt.Close()
}

// Update runs fn in one write transaction; it commits (with fsync) only if
// fn returns nil.
func (db *DB) Update(fn func(tx *Tx) error) (err error) {
	if err := db.gate(); err != nil {
		return err
	}
	if err := db.Damaged(); err != nil {
		return err
	}
	if db.etcd != nil {
		return db.etcd.update(db.kvManaged(fn))
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

func (db *DB) tx(btx *bolt.Tx) *Tx { return db.kvTxOf(boltTx{btx}) }

func (db *DB) kvTxOf(ktx kvTx) *Tx { return &Tx{tx: ktx, auditKey: db.auditKey, strings: &db.strings} }

// kvManaged wraps fn for the etcd engine (which rehearses closures itself).
func (db *DB) kvManaged(fn func(tx *Tx) error) func(kvTx) error {
	return func(ktx kvTx) error { return fn(db.kvTxOf(ktx)) }
}

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
	if err := db.gate(); err != nil {
		return err
	}
	if err := db.Damaged(); err != nil {
		return err
	}
	if db.etcd != nil {
		return db.etcd.batch(db.kvManaged(fn))
	}
	defer db.recoverDamage(&err)
	db.rehearse(fn)
	return db.bolt.Batch(db.managed(fn))
}

// Writes is how many pages write transactions have written to the file
// since it was opened: what a flood costs the disk.
// On a cluster, it is how many keys this node's commits wrote.
func (db *DB) Writes() int64 {
	if db.etcd != nil {
		return db.etcd.written.Load()
	}
	st := db.bolt.Stats()
	return st.TxStats.GetWrite()
}

// View runs fn in a read-only transaction.
func (db *DB) View(fn func(tx *Tx) error) (err error) {
	if err := db.gate(); err != nil {
		return err
	}
	if db.etcd != nil {
		return db.etcd.view(db.kvManaged(fn))
	}
	defer db.recoverDamage(&err)
	return db.bolt.View(db.managed(fn))
}

// Tx is a transaction with Gatehouse's queries.
type Tx struct {
	tx       kvTx
	auditKey []byte
	// read holds the buckets a read transaction has opened: bbolt looks a
	// bucket up in the root afresh each time outside write transactions
	// (a microsecond; a users page asks for one per row). Buckets cannot
	// come or go in a read transaction, so the first answer stands.
	read map[string]kvBucket
	// strings is the database's cache of the audit string table.
	strings *stringCache
}

func (t *Tx) b(name []byte) kvBucket {
	if !t.tx.Writable() {
		if b, ok := t.read[string(name)]; ok {
			return b
		}
		b := t.tx.Bucket(name)
		if t.read == nil {
			t.read = make(map[string]kvBucket, 8)
		}
		t.read[string(name)] = b
		return b
	}
	b := t.tx.Bucket(name)
	if fill, ok := fillPercent[string(name)]; ok && b != nil {
		b.SetFillPercent(fill)
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
