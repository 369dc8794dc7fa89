// Package storetest opens throw-away databases for tests and checks their
// consistency when the test ends.
package storetest

import (
	"testing"
	"time"

	"gatehouse/internal/store"
)

// Open returns a fresh database in a temp folder. Every write closure runs
// twice (the first time rolled back), as bbolt's Batch may run it, so a
// closure with effects outside its transaction fails the test. On cleanup
// it runs the full consistency check and fails the test on any problem.
func Open(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(tb.TempDir(), store.Options{LockTimeout: 100 * time.Millisecond, RerunWrites: true, AuditKey: []byte("test audit chain key")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if rep, err := db.VerifyChain(nil); err != nil || !rep.OK {
			tb.Errorf("audit chain: %+v %v", rep, err)
		}
		for _, err := range db.Check() {
			tb.Errorf("consistency: %v", err)
		}
		db.Close()
	})
	return db
}
