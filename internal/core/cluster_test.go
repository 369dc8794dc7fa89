package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

// Two Gatehouse services over one etcd cluster, in one test process: each
// with its own store (its own replica, its own etcd client) on the same
// prefix, the same key, the same clock.

// nodeB opens a second service over e's cluster prefix.
func (e *env) nodeB(c *storetest.Cluster, prefix string) (*Service, *store.DB) {
	e.t.Helper()
	db, err := store.OpenEtcd(store.EtcdConfig{Endpoints: c.Endpoints(), Prefix: prefix}, store.Options{AuditKey: []byte("test audit chain key")})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	return New(Config{DB: db, Sealer: testSealer(), Hasher: e.hasher, Now: e.clock, Mailer: e.mailer, BaseURL: "https://gatehouse.test:8420"}), db
}

// newClusterEnv is an env whose service (node A) runs over prefix of c,
// and node B beside it.
func newClusterEnv(t *testing.T, c *storetest.Cluster) (*env, *Service, *store.DB) {
	prefix := storetest.NewPrefix()
	db, err := store.OpenEtcd(store.EtcdConfig{Endpoints: c.Endpoints(), Prefix: prefix},
		store.Options{AuditKey: []byte("test audit chain key"), RerunWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if rep, err := db.VerifyChain(nil); err != nil || !rep.OK {
			t.Errorf("audit chain: %+v %v", rep, err)
		}
		for _, err := range db.Check() {
			t.Errorf("consistency: %v", err)
		}
		db.Close()
	})
	e := &env{t: t, db: db, now: time.Date(2026, 5, 18, 9, 30, 0, 0, time.UTC), mailer: &recordingMailer{}}
	e.hasher = &countingHasher{Hasher: auth.NewHasher(4, 4)}
	e.svc = New(Config{DB: db, Sealer: testSealer(), Hasher: e.hasher, Now: e.clock, Mailer: e.mailer, BaseURL: "https://gatehouse.test:8420"})
	b, bdb := e.nodeB(c, prefix)
	return e, b, bdb
}

// signInOn signs email in on node svc.
func (e *env) signInOn(svc *Service, email string) context.Context {
	e.t.Helper()
	_, tok, err := svc.SignIn(e.caller(""), SignInInput{Email: email, Password: testPassword})
	if err != nil {
		e.t.Fatalf("sign in %s: %v", email, err)
	}
	return e.caller(tok)
}

func TestTwoNodesServeOneDatabase(t *testing.T) {
	e, b, _ := newClusterEnv(t, storetest.SharedCluster(t))
	mitchA := e.setup()
	mitchB := e.signInOn(b, "mitch@kwgroup.uk")
	no := false
	created, err := e.svc.CreateUser(mitchA, CreateUserInput{Email: "emma@kwgroup.uk", Name: "Emma", Role: "AGENT", Password: testPassword, MustChangePassword: &no})
	if err != nil {
		t.Fatal(err)
	}
	// Created on A, listed on B at once.
	page, err := b.ListUsers(mitchB, ListUsersInput{Search: "emma"})
	if err != nil || len(page.Users) != 1 || page.Users[0].ID != created.ID {
		t.Fatalf("B lists %+v (%v)", page.Users, err)
	}
	// Emma signs in on B; A deactivates her; her next call on B is refused.
	emmaB := e.signInOn(b, "emma@kwgroup.uk")
	if _, err := b.Me(emmaB); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DeactivateUser(mitchA, created.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Me(emmaB); ErrorCode(err) != Unauthenticated {
		t.Fatalf("Emma on B after A deactivated her: %v", err)
	}
	// Both nodes' events are in one chain.
	rep, err := b.VerifyAudit(mitchB)
	if err != nil || !rep.OK {
		t.Fatalf("chain from B: %+v %v", rep, err)
	}
}

// 50 wrong passwords at once, split over A and B: the account locks as on
// one node, and no more than the limit are checked by bcrypt.
func TestParallelWrongPasswordsOverTwoNodesLockAsOne(t *testing.T) {
	e, b, _ := newClusterEnv(t, storetest.SharedCluster(t))
	e.setup()
	e.addUser("Emma", auth.Agent, true)
	e.hasher.verified.Store(0)
	errs := together(50, func(i int) error {
		svc := e.svc
		if i%2 == 1 {
			svc = b
		}
		_, _, err := svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: fmt.Sprintf("wrong %d", i)})
		return err
	})
	if succeeded(errs) != 0 {
		t.Fatal("a wrong password signed in")
	}
	if n := e.hasher.verified.Load(); n > lockAfter {
		t.Fatalf("%d passwords checked by bcrypt over two nodes, limit %d", n, lockAfter)
	}
	for _, svc := range []*Service{e.svc, b} {
		if _, _, err := svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: testPassword}); !isLocked(err) {
			t.Fatalf("the right password after the flood: %v", err)
		}
	}
}

// Two SUPER_ADMINs demote each other at once, one through each node: one
// of them stays.
func TestSuperAdminsDemotingEachOtherOverTwoNodesLeaveOne(t *testing.T) {
	for round := 0; round < 6; round++ {
		e, b, _ := newClusterEnv(t, storetest.SharedCluster(t))
		mitch := e.setup()
		sara := e.addUser("Sara", auth.SuperAdmin, true)
		saraB := e.signInOn(b, "sara@kwgroup.uk")
		errs := together(2, func(i int) error {
			if i == 0 {
				return second(e.svc.UpdateUser(mitch, UpdateUserInput{ID: sara.ID, Role: ptr("ADMIN")}))
			}
			return second(b.UpdateUser(saraB, UpdateUserInput{ID: 1, Role: ptr("ADMIN")}))
		})
		var supers int
		e.db.View(func(tx *store.Tx) (err error) { supers, err = tx.CountActive(auth.SuperAdmin, 100); return })
		if supers != 1 || succeeded(errs) != 1 {
			t.Fatalf("round %d: %d super admins left (%v)", round, supers, errs)
		}
	}
}

// Concurrent writes from both nodes: every acknowledged write is there
// with its audit event, and the chain verifies.
func TestConcurrentWritesFromTwoNodesKeepOneChain(t *testing.T) {
	e, b, _ := newClusterEnv(t, storetest.SharedCluster(t))
	mitchA := e.setup()
	mitchB := e.signInOn(b, "mitch@kwgroup.uk")
	created := writeFromBoth(t, e, b, mitchA, mitchB, 40, nil)
	checkAcknowledged(t, e, mitchA, created)
}

// writeFromBoth creates n users, half through each node, concurrently; it
// returns the e-mails whose creation was acknowledged. during, when set,
// runs once a quarter of them are done.
func writeFromBoth(t *testing.T, e *env, b *Service, ctxA, ctxB context.Context, n int, during func()) []string {
	t.Helper()
	var mu sync.Mutex
	var ok []string
	var done atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc, ctx := e.svc, ctxA
			if i%2 == 1 {
				svc, ctx = b, ctxB
			}
			email := fmt.Sprintf("staff%03d@kwgroup.uk", i)
			var err error
			for try := 0; try < 100; try++ { // a paused cluster answers "unavailable": try again, as a user would
				no := false
				_, err = svc.CreateUser(ctx, CreateUserInput{Email: email, Name: fmt.Sprintf("Staff %03d", i), Role: "AGENT", Password: testPassword, MustChangePassword: &no})
				if ErrorCode(err) != Unavailable {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err == nil {
				mu.Lock()
				ok = append(ok, email)
				mu.Unlock()
			} else if ErrorCode(err) != Conflict { // a retry after an unknown outcome may find it made
				t.Errorf("create %s: %v", email, err)
			}
			if done.Add(1) == int64(n/4) && during != nil {
				once.Do(during)
			}
		}()
	}
	wg.Wait()
	return ok
}

// checkAcknowledged: every acknowledged user is there, each with its audit
// event, and the chain verifies.
func checkAcknowledged(t *testing.T, e *env, ctx context.Context, emails []string) {
	t.Helper()
	for _, email := range emails {
		page, err := e.svc.ListUsers(ctx, ListUsersInput{Search: email})
		if err != nil || len(page.Users) != 1 {
			t.Fatalf("acknowledged %s is missing: %+v %v", email, page.Users, err)
		}
		events, err := e.svc.ListAudit(ctx, AuditFilter{Action: ActCreate, Text: email})
		if err != nil || len(events.Events) != 1 {
			t.Fatalf("acknowledged %s has %d create events (%v)", email, len(events.Events), err)
		}
	}
	rep, err := e.svc.VerifyAudit(ctx)
	if err != nil || !rep.OK {
		t.Fatalf("chain: %+v %v", rep, err)
	}
}

// Faults, each on a cluster of its own (with fsync): the leader stops in
// the middle of concurrent writes from both nodes; one member stops; two
// stop; the node sending the mail goes away.
func TestClusterFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd clusters")
	}
	t.Run("leader stops mid-writes", func(t *testing.T) {
		c := startCluster(t)
		e, b, _ := newClusterEnv(t, c)
		mitchA := e.setup()
		mitchB := e.signInOn(b, "mitch@kwgroup.uk")
		created := writeFromBoth(t, e, b, mitchA, mitchB, 40, func() { c.StopMember(c.Leader()) })
		if len(created) == 0 {
			t.Fatal("no write was acknowledged")
		}
		checkAcknowledged(t, e, mitchA, created)
	})
	t.Run("one member stops: writes go on", func(t *testing.T) {
		c := startCluster(t)
		e, b, _ := newClusterEnv(t, c)
		mitchA := e.setup()
		mitchB := e.signInOn(b, "mitch@kwgroup.uk")
		for _, m := range c.Members {
			if m != c.Leader() {
				c.StopMember(m)
				break
			}
		}
		created := writeFromBoth(t, e, b, mitchA, mitchB, 10, nil)
		if len(created) != 10 {
			t.Fatalf("with one member down, %d of 10 writes went through", len(created))
		}
		checkAcknowledged(t, e, mitchA, created)
	})
	t.Run("two members stop: no quorum, nothing half-written", func(t *testing.T) {
		c := startCluster(t)
		e, _, _ := newClusterEnv(t, c)
		mitch := e.setup()
		before, err := e.svc.ListUsers(mitch, ListUsersInput{})
		if err != nil {
			t.Fatal(err)
		}
		c.StopMember(c.Members[0])
		c.StopMember(c.Members[1])
		_, err = e.svc.CreateUser(mitch, CreateUserInput{Email: "lost@kwgroup.uk", Name: "Lost", Role: "AGENT", Password: testPassword})
		if ErrorCode(err) != Unavailable {
			t.Fatalf("a write without quorum: %v", err)
		}
		if AsError(err).Message != errNoQuorum.Message {
			t.Fatalf("message %q", AsError(err).Message)
		}
		if h := e.svc.Health(); h.StoreOK || h.Engine != "etcd" {
			t.Fatalf("health without quorum: %+v", h)
		}
		if err := c.RestartMember(c.Members[0]); err != nil {
			t.Fatal(err)
		}
		after, err := e.svc.ListUsers(mitch, ListUsersInput{})
		for try := 0; ErrorCode(err) == Unavailable && try < 50; try++ {
			time.Sleep(200 * time.Millisecond)
			after, err = e.svc.ListUsers(mitch, ListUsersInput{})
		}
		if err != nil || after.Total != before.Total {
			t.Fatalf("after quorum came back: %d users (was %d), %v", after.Total, before.Total, err)
		}
		if page, _ := e.svc.ListAudit(mitch, AuditFilter{Text: "lost@kwgroup.uk"}); len(page.Events) != 0 {
			t.Fatal("the refused write left an audit event")
		}
	})
	t.Run("the mail node goes away: the other sends every message once", func(t *testing.T) {
		c := startCluster(t)
		e, b, bdb := newClusterEnv(t, c)
		mitch := e.setup()
		e.configureSMTP(mitch)
		ctxA, stopA := context.WithCancel(context.Background())
		doneA := make(chan struct{})
		go func() { defer close(doneA); e.svc.RunJobs(ctxA) }()
		waitFor(t, "node A to lead", e.db.Leading)
		ctxB, stopB := context.WithCancel(context.Background())
		defer stopB()
		go b.RunJobs(ctxB)
		for i := 0; i < 5; i++ {
			if _, err := e.svc.InviteUser(mitch, InviteInput{Email: fmt.Sprintf("first%d@kwgroup.uk", i), Role: "AGENT"}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "node A to send the first five", func() bool { return len(e.mailer.messages()) == 5 })
		stopA() // node A goes away: its lease is revoked, B takes over
		<-doneA
		waitFor(t, "node B to lead", bdb.Leading)
		for i := 0; i < 5; i++ {
			if _, err := b.InviteUser(e.signInOn(b, "mitch@kwgroup.uk"), InviteInput{Email: fmt.Sprintf("second%d@kwgroup.uk", i), Role: "AGENT"}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "node B to send the next five", func() bool { return len(e.mailer.messages()) >= 10 })
		time.Sleep(300 * time.Millisecond)
		seen := map[string]int{}
		for _, m := range e.mailer.messages() {
			seen[m.To]++
		}
		if len(seen) != 10 {
			t.Fatalf("%d addresses got mail, want 10: %v", len(seen), seen)
		}
		for to, n := range seen {
			if n != 1 {
				t.Fatalf("%s got %d copies", to, n)
			}
		}
	})
}

func startCluster(t *testing.T) *storetest.Cluster {
	t.Helper()
	c, err := storetest.StartCluster(t.TempDir(), storetest.ClusterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
