package core

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// What a flood of sign-ins against a locked account costs the disk and the
// audit log (issue 10, item 7): attempts come from 1,000 rotating addresses,
// as a botnet's would. Budget: at most one event per lock period and 1 KB
// written per 1,000 attempts. Reported per 1,000 attempts: events (the
// one summary, spread over the flood), bytes written while the lock lasts,
// and the file's growth including the summary.
func BenchmarkLockedAccountFlood(b *testing.B) {
	db := benchDB(b)
	now := time.Now()
	svc := New(Config{DB: db, Sealer: testSealer(), Hasher: auth.NewHasher(4, 2), Now: func() time.Time { return now }})
	if _, err := svc.Setup(context.Background(), SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: testPassword}); err != nil {
		b.Fatal(err)
	}
	attempt := func(i int) error {
		c := WithCaller(context.Background(), Caller{IP: fmt.Sprintf("198.51.%d.%d", i/250%4, i%250)})
		_, _, err := svc.SignIn(c, SignInInput{Email: "mitch@kwgroup.uk", Password: "guess"})
		return err
	}
	for i := 0; i < lockAfter; i++ {
		attempt(i)
	}
	count := func() int {
		n := 0
		db.View(func(tx *store.Tx) error {
			return tx.ScanAudit(store.AuditQuery{}, func(store.Event) (bool, error) { n++; return true, nil })
		})
		return n
	}
	events, writes := count(), db.Writes()
	st, _ := os.Stat(db.Path())
	size := st.Size()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := attempt(i); err == nil {
			b.Fatal("signed in")
		}
	}
	b.StopTimer()
	written := db.Writes() - writes
	// The lock period ends: its refusals are summarised.
	now = now.Add(lockMax)
	if err := svc.flushBlocked(); err != nil {
		b.Fatal(err)
	}
	st, _ = os.Stat(db.Path())
	per := 1000 / float64(b.N)
	b.ReportMetric(float64(count()-events)*per, "events/1000")
	b.ReportMetric(float64(written)*float64(os.Getpagesize())*per, "written-B/1000")
	b.ReportMetric(float64(st.Size()-size)*per, "file-growth-B/1000")
}
