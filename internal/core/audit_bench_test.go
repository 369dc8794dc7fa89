package core

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

// The audit benchmarks run on a generated database of 1,000,000 events over
// 90 days (5 tenants, 200 actors, 12 actions, 6 resource types, 300
// addresses). It is built once at $GATEHOUSE_BENCH_DB (default: a folder
// in the temp dir) and reused; delete the folder to rebuild it.
//
//	go test -run '^$' -bench Audit -benchtime 2000x ./internal/core/
const benchEvents = 1_000_000

var benchNow = time.Date(2026, 5, 18, 12, 0, 0, 0, time.UTC)

func auditBenchService(b *testing.B) (*Service, context.Context) {
	b.Helper()
	dir := os.Getenv("GATEHOUSE_BENCH_DB")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "gatehouse-bench-1m")
	}
	db, err := store.Open(dir, store.Options{AuditKey: []byte("bench key")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	clock := func() time.Time { return benchNow }
	svc := New(Config{DB: db, Sealer: testSealer(), Hasher: auth.NewHasher(4, 2), Now: clock})
	fillBenchLog(b, db, benchEvents, func(n int) error {
		return storetest.GenerateAuditLog(db, n, benchNow, 90*24*time.Hour)
	})
	ctx := benchAdmin(b, svc, "Bench", "admin@bench.example")
	if err := db.WaitChecked(); err != nil { // steady state: Open's background page check is over
		b.Fatal(err)
	}
	return svc, ctx
}

// fillBenchLog appends events with gen until the log holds want of them.
func fillBenchLog(b *testing.B, db *store.DB, want int, gen func(n int) error) {
	b.Helper()
	var n uint64
	db.View(func(tx *store.Tx) (err error) { n, err = tx.CountEvents(); return })
	if n >= uint64(want) {
		return
	}
	b.Logf("generating %d audit events in %s …", want-int(n), filepath.Dir(db.Path()))
	start := time.Now()
	if err := gen(want - int(n)); err != nil {
		b.Fatal(err)
	}
	b.Logf("generated in %v", time.Since(start))
}

// benchAdmin sets up the database if needed and signs its admin in.
func benchAdmin(b *testing.B, svc *Service, org, email string) context.Context {
	b.Helper()
	if st, _ := svc.SetupStatus(context.Background()); st.Needed {
		if _, err := svc.Setup(context.Background(), SetupInput{Organisation: org, Email: email, Name: org + " Admin", Password: testPassword}); err != nil {
			b.Fatal(err)
		}
	}
	_, tok, err := svc.SignIn(WithCaller(context.Background(), Caller{IP: "bench"}), SignInInput{Email: email, Password: testPassword})
	if err != nil {
		b.Fatal(err)
	}
	return WithCaller(context.Background(), Caller{Token: tok, IP: "bench"})
}

// measure runs fn b.N times and reports the 95th percentile too.
func measure(b *testing.B, fn func() error) { b.Helper(); storetest.MeasureP95(b, fn) }

func BenchmarkAudit1M(b *testing.B) {
	svc, ctx := auditBenchService(b)
	list := auditLister(svc, ctx)
	week := benchNow.Add(-30 * 24 * time.Hour)
	b.Run("newest50", func(b *testing.B) { measure(b, list(AuditFilter{}, 50)) })
	b.Run("newest50-action+resource", func(b *testing.B) {
		measure(b, list(AuditFilter{Action: "deactivate", Resource: "user"}, 50))
	})
	b.Run("actor-in-time-range", func(b *testing.B) {
		measure(b, list(AuditFilter{User: "person42@client2.example", Since: week.Format(time.RFC3339), Until: week.Add(7 * 24 * time.Hour).Format(time.RFC3339)}, 1))
	})
	b.Run("text-common", func(b *testing.B) { measure(b, list(AuditFilter{Text: "sign"}, 50)) })
	b.Run("text-rare", func(b *testing.B) {
		measure(b, list(AuditFilter{Text: "10.2.9.9", Since: benchNow.Add(-24 * time.Hour).Format(time.RFC3339)}, 0))
	})
	b.Run("text-nothing", func(b *testing.B) { measure(b, list(AuditFilter{Text: "zzz-no-such-thing"}, 0)) })
	b.Run("stats-24h", func(b *testing.B) {
		measure(b, func() error { _, err := svc.GetAuditStats(ctx, 0); return err })
	})
}

func BenchmarkAuditVerify1M(b *testing.B) {
	svc, _ := auditBenchService(b)
	measure(b, func() error {
		rep, err := svc.DB().VerifyChain(nil)
		if err == nil && (!rep.OK || rep.Checked < benchEvents) {
			err = fmt.Errorf("verify: %+v", rep)
		}
		return err
	})
}

// Writes with their audit event, 16 concurrent writers, each committed with
// fsync (bbolt never runs with NoSync here).
func BenchmarkAuditConcurrentWrites(b *testing.B) {
	db, err := store.Open(b.TempDir(), store.Options{AuditKey: []byte("k")})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := New(Config{DB: db, Sealer: testSealer(), Hasher: auth.NewHasher(4, 2)})
	svc.Setup(context.Background(), SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: testPassword})
	_, tok, _ := svc.SignIn(context.Background(), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword})
	ctx := WithCaller(context.Background(), Caller{Token: tok, IP: "bench"})
	var users []uint64
	for i := 0; i < 16; i++ {
		u, err := svc.CreateUser(ctx, CreateUserInput{Email: fmt.Sprintf("w%d@kw.uk", i), Name: "W", Role: "AGENT", Password: testPassword})
		if err != nil {
			b.Fatal(err)
		}
		users = append(users, u.ID)
	}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				name := fmt.Sprintf("Writer %d", i)
				if _, err := svc.UpdateUser(ctx, UpdateUserInput{ID: users[w], Name: &name}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
}

// auditLister returns a check that lists the audit log with a filter and
// wants at least min events.
func auditLister(svc *Service, ctx context.Context) func(f AuditFilter, min int) func() error {
	return func(f AuditFilter, min int) func() error {
		return func() error {
			p, err := svc.ListAudit(ctx, f)
			if err == nil && len(p.Events) < min {
				err = fmt.Errorf("%d events for %+v", len(p.Events), f)
			}
			return err
		}
	}
}
