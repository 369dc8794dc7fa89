package core

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

// The office benchmarks run on the log of issue 14: 1,000,000 events over
// 90 days, 10,000 actors (a few heavy ones), about 110,000 distinct client
// addresses with a long tail, about 5 % of events with "fail" in the
// action (storetest.GenerateOfficeAuditLog). The folder is a real data
// folder (secret.key beside gatehouse.db), built once at
// $GATEHOUSE_OFFICE_DB (default: a folder in the temp dir) and reused, so
// `gatehouse serve --data` can start on it too; delete it to rebuild.
//
//	go test -run '^$' -bench AuditOffice -benchtime 200x -timeout 60m ./internal/core/
//
// GATEHOUSE_OFFICE_EVENTS sets a smaller log (make test runs 20,000 events
// in a temp folder, once each, so the benchmarks cannot rot).
func officeBenchService(b *testing.B) (*Service, context.Context) {
	b.Helper()
	events := 1_000_000
	dir := os.Getenv("GATEHOUSE_OFFICE_DB")
	if n := os.Getenv("GATEHOUSE_OFFICE_EVENTS"); n != "" {
		fmt.Sscan(n, &events)
		if dir == "" {
			dir = b.TempDir()
		}
	}
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "gatehouse-bench-office")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	key, err := auth.LoadOrCreateKey(filepath.Join(dir, auth.KeyFile))
	if err != nil {
		b.Fatal(err)
	}
	sealer, err := auth.NewSealer(key)
	if err != nil {
		b.Fatal(err)
	}
	opened := time.Now()
	db, err := store.Open(dir, store.Options{AuditKey: sealer.SubKey(auth.AuditChainPurpose), CheckKey: KeyCheck(sealer)})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("opened in %v (pending migrations included)", time.Since(opened))
	b.Cleanup(func() { db.Close() })
	svc := New(Config{DB: db, Sealer: sealer, Hasher: auth.NewHasher(4, 2), Now: func() time.Time { return benchNow }})
	if err := svc.CheckKey(); err != nil {
		b.Fatal(err)
	}
	fillBenchLog(b, db, events, func(n int) error {
		return storetest.GenerateOfficeAuditLog(db, storetest.OfficeLog{Events: n}, benchNow)
	})
	ctx := benchAdmin(b, svc, "Office", "admin@office.example")
	if err := db.WaitChecked(); err != nil { // steady state: Open's background page check is over
		b.Fatal(err)
	}
	return svc, ctx
}

func BenchmarkAuditOffice(b *testing.B) {
	svc, ctx := officeBenchService(b)
	list := auditLister(svc, ctx)
	b.Run("newest50", func(b *testing.B) { measure(b, list(AuditFilter{}, 50)) })
	b.Run("text-common-fail", func(b *testing.B) { measure(b, list(AuditFilter{Text: "fail"}, 50)) })
	b.Run("text-address-prefix", func(b *testing.B) { measure(b, list(AuditFilter{Text: "10.1"}, 50)) })
	b.Run("text-rare-old", func(b *testing.B) { measure(b, list(AuditFilter{Text: storetest.RareIP}, 1)) })
	b.Run("text-change-role", func(b *testing.B) { measure(b, list(AuditFilter{Text: "role agent"}, 50)) })
	b.Run("text-subject-name", func(b *testing.B) { measure(b, list(AuditFilter{Text: "person 42"}, 10)) })
	b.Run("text-nothing", func(b *testing.B) { measure(b, list(AuditFilter{Text: "zzz-no-such-thing"}, 0)) })
	// One tenant's view (a fifth of the log), as its own admins see it.
	b.Run("tenant-newest50", func(b *testing.B) { measure(b, list(AuditFilter{TenantID: 3}, 50)) })
	b.Run("tenant-action", func(b *testing.B) { measure(b, list(AuditFilter{TenantID: 3, Action: "update"}, 50)) })
	b.Run("tenant-text-common-fail", func(b *testing.B) { measure(b, list(AuditFilter{TenantID: 3, Text: "fail"}, 50)) })
	b.Run("tenant-text-address-prefix", func(b *testing.B) { measure(b, list(AuditFilter{TenantID: 3, Text: "10.1"}, 50)) })
	b.Run("stats-24h", func(b *testing.B) {
		measure(b, func() error { _, err := svc.GetAuditStats(ctx, 0); return err })
	})
	b.Run("page-open-options", func(b *testing.B) {
		measure(b, func() error { _, err := svc.GetAuditOptions(ctx, 0); return err })
	})
	b.Run("suggest-users", func(b *testing.B) {
		measure(b, func() error {
			u, err := svc.SuggestAuditUsers(ctx, 0, "person1")
			if err == nil && len(u) != maxAuditSuggestions {
				err = fmt.Errorf("%d suggestions", len(u))
			}
			return err
		})
	})
}
