package store

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A database found damaged while open stays open for reads, but takes no
// more writes: nothing is written into a file known to be damaged.

// Damaged returns ErrDamaged (with what was found) once a damaged page has
// been found, and nil before.
func (db *DB) Damaged() error {
	if p := db.damaged.Load(); p != nil {
		return *p
	}
	return nil
}

func (db *DB) markDamaged(cause error) error {
	err := damagedError(db.path, cause)
	if db.damaged.CompareAndSwap(nil, &err) {
		slog.Error("the database is damaged; writes are refused until it is restored", "path", db.path, "err", cause)
	}
	return db.Damaged()
}

// recoverDamage turns a panic raised by bbolt (or a fault reading the
// mapped file) into ErrDamaged in *err, and marks the database damaged.
// Any other panic is a bug of ours and goes on.
func (db *DB) recoverDamage(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if !boltPanic(r) {
		panic(r)
	}
	*err = db.markDamaged(fmt.Errorf("%v", r))
}

// boltPanic reports whether the panic being recovered was raised inside
// bbolt, or is a memory fault (only the mapped file can fault: Go code has
// no wild pointers). Called from a deferred function.
func boltPanic(r any) bool {
	if _, ok := r.(interface{ Addr() uintptr }); ok {
		return true
	}
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		f, more := frames.Next()
		if !strings.HasPrefix(f.Function, "runtime.") {
			return strings.HasPrefix(f.Function, "go.etcd.io/bbolt")
		}
		if !more {
			return false
		}
	}
}

// backgroundCheckEvery is how often the full check runs again while the
// database is open.
const backgroundCheckEvery = 6 * time.Hour

// checkInBackground checks the page tree's structure first when the start
// left it to it (every transaction waits for that: a tree that does not
// hold refuses reads too), then runs CheckPages now and every few hours,
// until Close. A problem marks the database damaged. WaitChecked waits
// for the first run.
func (db *DB) checkInBackground(structure bool) {
	defer db.checker.Done()
	if structure {
		err := checkPageTree(db.path, walkStructure, db.closing)
		switch {
		case errors.Is(err, errClosing):
			// Cut short by Close: the tree was not checked, so whatever
			// waits for it is refused, not let in.
			closed := ErrClosed
			db.unsafe.Store(&closed)
		case err != nil:
			bad := db.markDamaged(err)
			db.unsafe.Store(&bad)
		}
		close(db.ready)
		if err != nil {
			close(db.checked)
			return
		}
	}
	first := true
	for {
		err := db.CheckPages()
		if err != nil && !errors.Is(err, errClosing) {
			db.markDamaged(err)
		}
		if first {
			close(db.checked)
			first = false
		}
		if err != nil {
			return
		}
		select {
		case <-db.closing:
			return
		case <-time.After(backgroundCheckEvery):
		}
	}
}

// WaitChecked waits until the check Open started in the background has
// read the whole file once, and returns Damaged.
func (db *DB) WaitChecked() error {
	<-db.checked
	return db.Damaged()
}

var errClosing = errors.New("the database is closing")

// ErrClosed is what a transaction gets that waited for a structure check
// Close cut short.
var ErrClosed = errors.New("the database was closed before its check finished")

// CheckPages reads every page of the open database: the raw page tree with
// every leaf (Open walks only branches and bucket roots), then every key
// and value through bbolt. It runs inside a read transaction, so the pages
// it reads cannot be reused under it, and writers go on meanwhile. It
// returns the first problem found; it does not mark the database.
func (db *DB) CheckPages() (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading the pages: %v", r)
		}
	}()
	return db.bolt.View(func(btx *bolt.Tx) error {
		if err := checkPageTree(db.path, walkFull, db.closing); err != nil {
			return err
		}
		return btx.ForEach(func(name []byte, b *bolt.Bucket) error {
			select {
			case <-db.closing:
				return errClosing
			default:
			}
			if err := walkBucket(b); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
			return nil
		})
	})
}
