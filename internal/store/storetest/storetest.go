// Package storetest opens throw-away databases for tests and checks their
// consistency when the test ends.
package storetest

import (
	"sort"
	"testing"
	"time"

	"gatehouse/internal/store"
)

// Open returns a fresh database in a temp folder. Every write closure runs
// twice (the first time rolled back), as bbolt's Batch may run it, so a
// closure with effects outside its transaction fails the test. On cleanup
// it runs the full consistency check and fails the test on any problem.
//
// With GATEHOUSE_TEST_ENGINE=etcd the database is a fresh prefix of a
// three-member etcd cluster started once for the test binary (Engine).
func Open(tb testing.TB) *store.DB {
	tb.Helper()
	opt := store.Options{LockTimeout: 100 * time.Millisecond, RerunWrites: true, AuditKey: []byte("test audit chain key")}
	var db *store.DB
	var err error
	if Engine() == "etcd" {
		c := SharedCluster(tb)
		db, err = store.OpenEtcd(store.EtcdConfig{Endpoints: c.Endpoints(), Prefix: NewPrefix()}, opt)
	} else {
		db, err = store.Open(tb.TempDir(), opt)
	}
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

// MeasureP95 runs fn b.N times, failing on its first error, and reports
// the 95th percentile of its times beside the mean (the README quotes both).
func MeasureP95(b *testing.B, fn func() error) {
	b.Helper()
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(t))
	}
	b.StopTimer()
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	b.ReportMetric(float64(d[len(d)*95/100].Microseconds())/1000, "p95-ms")
}
