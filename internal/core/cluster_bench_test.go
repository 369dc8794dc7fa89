package core

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

// BenchmarkCluster measures issue 15's goals on a three-member etcd
// cluster in this process, on loopback, with fsync, and two Gatehouse
// services over it: the users page with a search at 10,000 users, the
// filtered audit page at 100,000 events (p95 of each), and writes with
// their audit event per second from both nodes at once.
// GATEHOUSE_CLUSTER_EVENTS and GATEHOUSE_CLUSTER_USERS make it smaller
// (make test runs it once that way).
//
//	go test -run '^$' -bench Cluster -benchtime 300x -timeout 30m ./internal/core/
func BenchmarkCluster(b *testing.B) {
	events, users := 100_000, 10_000
	if n, err := strconv.Atoi(os.Getenv("GATEHOUSE_CLUSTER_EVENTS")); err == nil && n > 0 {
		events = n
	}
	if n, err := strconv.Atoi(os.Getenv("GATEHOUSE_CLUSTER_USERS")); err == nil && n > 0 {
		users = n
	}
	c, err := storetest.StartCluster(b.TempDir(), storetest.ClusterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Stop()
	prefix := storetest.NewPrefix()
	open := func() *store.DB {
		db, err := store.OpenEtcd(store.EtcdConfig{Endpoints: c.Endpoints(), Prefix: prefix}, store.Options{AuditKey: []byte("bench")})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	}
	dbA := open()
	start := time.Now()
	// The log first, up to now (event keys never go back), in batches the
	// cluster takes in one transaction each.
	if err := storetest.GenerateOfficeAuditLog(dbA, storetest.OfficeLog{Events: events, Batch: 250}, benchNow); err != nil {
		b.Fatal(err)
	}
	svcA := New(Config{DB: dbA, Sealer: testSealer(), Hasher: auth.NewHasher(4, 2), Now: func() time.Time { return benchNow }})
	ctxA := benchAdmin(b, svcA, "Office", "admin@office.example")
	if err := storetest.GenerateOfficeUsers(dbA, users, 1, benchNow); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d events and %d users written in %v", events, users, time.Since(start))
	dbB := open()
	svcB := New(Config{DB: dbB, Sealer: testSealer(), Hasher: auth.NewHasher(4, 2), Now: func() time.Time { return benchNow }})
	_, tok, err := svcB.SignIn(WithCaller(context.Background(), Caller{IP: "bench"}), SignInInput{Email: "admin@office.example", Password: testPassword})
	if err != nil {
		b.Fatal(err)
	}
	ctxB := WithCaller(context.Background(), Caller{Token: tok, IP: "bench"})

	b.Run("users-search", func(b *testing.B) {
		measure(b, func() error {
			page, err := svcB.ListUsers(ctxB, ListUsersInput{Search: "person 12", Limit: 50})
			if err == nil && len(page.Users) == 0 {
				err = fmt.Errorf("no user found")
			}
			return err
		})
	})
	b.Run("audit-filtered", func(b *testing.B) {
		measure(b, func() error {
			page, err := svcB.ListAudit(ctxB, AuditFilter{Action: "sign_in_failed", Limit: 50})
			if err == nil && len(page.Events) == 0 {
				err = fmt.Errorf("no event found")
			}
			return err
		})
	})
	b.Run("writes-two-nodes", func(b *testing.B) {
		// Role changes (AGENT ⇄ MANAGER) with their audit event, 8 writers
		// on each node.
		page, err := svcA.ListUsers(ctxA, ListUsersInput{Limit: 200})
		if err != nil {
			b.Fatal(err)
		}
		// Each writer flips the roles of users of its own, so every call is
		// a change (and an audit event).
		roles := map[uint64]auth.Role{}
		var ids []uint64
		for _, u := range page.Users {
			if u.CanChange && (u.Role == auth.Agent || u.Role == auth.Manager) {
				ids, roles[u.ID] = append(ids, u.ID), u.Role
			}
		}
		var n atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		began := time.Now()
		for w := 0; w < 16; w++ {
			svc, ctx := svcA, ctxA
			if w%2 == 1 {
				svc, ctx = svcB, ctxB
			}
			var mine []uint64
			role := map[uint64]auth.Role{} // this writer's own users
			for j := w; j < len(ids); j += 16 {
				mine, role[ids[j]] = append(mine, ids[j]), roles[ids[j]]
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; int(n.Add(1)) <= b.N; i++ {
					id := mine[i%len(mine)]
					next := auth.Manager
					if role[id] == auth.Manager {
						next = auth.Agent
					}
					name := string(next)
					if _, err := svc.UpdateUser(ctx, UpdateUserInput{ID: id, Role: &name}); err != nil {
						b.Error(err)
						return
					}
					role[id] = next
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "writes/s")
	})
}
