package storetest

import (
	"fmt"
	"math/rand"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// GenerateAuditLog appends n realistic events spread over span up to now,
// in batches, with every index (the generator behind the benchmarks).
func GenerateAuditLog(db *store.DB, n int, now time.Time, span time.Duration) error {
	rng := rand.New(rand.NewSource(1))
	actions := []string{"update", "update", "update", "create", "sign_in", "sign_in", "sign_out", "invite", "deactivate", "reactivate", "resend", "revoke", "accept", "switch", "email_sent"}
	resources := []string{"user", "user", "session", "invitation", "tenant", "settings", "email"}
	start := now.Add(-span)
	step := span / time.Duration(n)
	return appendInBatches(db, n, 20000, func(j int) *store.Event {
		actor := rng.Intn(200)
		return &store.Event{
			Time:    start.Add(time.Duration(j) * step),
			ActorID: uint64(actor + 1), ActorName: fmt.Sprintf("Person %d", actor), ActorEmail: fmt.Sprintf("person%d@client%d.example", actor, actor%5),
			Action: actions[rng.Intn(len(actions))], ResourceType: resources[rng.Intn(len(resources))], ResourceID: fmt.Sprint(rng.Intn(5000)),
			IP: fmt.Sprintf("10.%d.%d.%d", rng.Intn(3), rng.Intn(10), rng.Intn(10)), TenantID: uint64(1 + actor%5),
			Meta: []byte(sampleMeta),
		}
	})
}

const sampleMeta = `{"before":{"name":"Old name","role":"AGENT"},"after":{"name":"New name","role":"MANAGER"}}`

// appendInBatches appends n events made by next, batch of them per write
// transaction.
//
// Event keys never go back in time (key order is chain order), so events
// older than the log's newest would all be keyed at its time: every time
// filter and the 24-hour figures would then be wrong. A generator asked
// to write before the newest event refuses instead.
func appendInBatches(db *store.DB, n, batch int, next func(j int) *store.Event) error {
	if n == 0 {
		return nil
	}
	first := next(0)
	err := db.View(func(tx *store.Tx) error {
		page, err := tx.QueryAudit(store.AuditQuery{Limit: 1})
		if err == nil && len(page.Events) > 0 && first.Time.Before(page.Events[0].Time) {
			return fmt.Errorf("the log already holds an event of %s, after the generated log's start (%s): generate the log first",
				page.Events[0].Time.Format(time.RFC3339), first.Time.Format(time.RFC3339))
		}
		return err
	})
	if err != nil {
		return err
	}
	for i := 0; i < n; i += batch {
		err := db.Update(func(tx *store.Tx) error {
			for j := i; j < i+batch && j < n; j++ {
				e := first
				if j > 0 {
					e = next(j)
				}
				if err := tx.AppendEvent(e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// OfficeLog describes the log GenerateOfficeAuditLog writes: an office at
// real scale, as the peer comparison of issue 14 measured it.
type OfficeLog struct {
	Events  int           // default 1,000,000
	Span    time.Duration // default 90 days, up to now
	Actors  int           // default 10,000
	Tenants int           // default 5
	Batch   int           // events per write transaction; default 5,000
}

// RareIP is an address of the office log with exactly RareIPEvents events,
// all in its first week: a rare term whose matches are old.
const (
	RareIP       = "203.0.113.77"
	RareIPEvents = 12
)

// GenerateOfficeAuditLog appends an office's audit log up to now: a few
// heavy actors (five make a third of the events), about 110,000 distinct
// client addresses with a long tail (hot office addresses, then remote
// clients seen a few times each), about 5 % of events with "fail" in
// the action, and RareIP's RareIPEvents events in the first week.
// Events go in batched transactions, through AppendEvent (every index).
func GenerateOfficeAuditLog(db *store.DB, o OfficeLog, now time.Time) error {
	if o.Events == 0 {
		o.Events = 1_000_000
	}
	if o.Span == 0 {
		o.Span = 90 * 24 * time.Hour
	}
	if o.Actors == 0 {
		o.Actors = 10_000
	}
	if o.Tenants == 0 {
		o.Tenants = 5
	}
	if o.Batch == 0 {
		o.Batch = 5000
	}
	rng := rand.New(rand.NewSource(14))
	type weighted struct {
		action, resource string
		w                int
	}
	kinds := []weighted{
		{"sign_in", "session", 300}, {"sign_out", "session", 150}, {"update", "user", 200}, {"switch", "tenant", 80},
		{"sign_in_failed", "session", 40}, {"email_failed", "email", 10}, {"email_sent", "email", 60},
		{"invite", "invitation", 40}, {"accept", "invitation", 25}, {"create", "user", 30}, {"resend", "invitation", 10},
		{"revoke", "invitation", 8}, {"deactivate", "user", 12}, {"reactivate", "user", 5}, {"lock", "user", 8},
		{"unlock", "user", 5}, {"change_password", "user", 7}, {"update", "settings", 4}, {"rename", "tenant", 1},
	}
	total := 0
	for _, k := range kinds {
		total += k.w
	}
	// About 110,000 distinct addresses: 400 hot office ones carry 60 % of
	// the events, the rest come from a pool of remote clients, most seen
	// a handful of times.
	hot := make([]string, 400)
	for i := range hot {
		hot[i] = fmt.Sprintf("192.168.%d.%d", i/200, 10+i%200)
	}
	const tailPool = 113_000
	tail := func() string {
		x := uint32(rng.Intn(tailPool)) * 2654435761 // spread the pool over the address space
		return fmt.Sprintf("10.%d.%d.%d", x>>24, x>>16&0xff, x>>8&0xff)
	}
	start := now.Add(-o.Span)
	step := o.Span / time.Duration(o.Events)
	rare := map[int]bool{}
	for len(rare) < RareIPEvents {
		rare[rng.Intn(o.Events/13)] = true // the first week of 90 days
	}
	return appendInBatches(db, o.Events, o.Batch, func(j int) *store.Event {
		var actor int
		if rng.Intn(3) == 0 {
			actor = rng.Intn(5) // the heavy actors
		} else {
			actor = 5 + rng.Intn(o.Actors-5)
		}
		pick := rng.Intn(total)
		k := kinds[0]
		for _, c := range kinds {
			if pick < c.w {
				k = c
				break
			}
			pick -= c.w
		}
		ip := hot[rng.Intn(len(hot))]
		if rng.Intn(5) < 2 {
			ip = tail()
		}
		if rare[j] {
			ip = RareIP
		}
		e := &store.Event{
			Time:    start.Add(time.Duration(j) * step),
			ActorID: uint64(actor + 1), ActorName: fmt.Sprintf("Person %d", actor), ActorEmail: fmt.Sprintf("person%d@client%d.example", actor, actor%o.Tenants),
			Action: k.action, ResourceType: k.resource, ResourceID: fmt.Sprint(rng.Intn(o.Actors)),
			IP: ip, TenantID: uint64(1 + actor%o.Tenants), Meta: []byte(sampleMeta),
		}
		describeOffice(e, rng, o.Actors)
		return e
	})
}

// describeOffice gives an office event about someone else its subject (any
// of the actors: a long tail) and change summary, as core records them:
// role changes among the six roles, a few renames (distinct values), the
// fixed phrases of the other actions.
func describeOffice(e *store.Event, rng *rand.Rand, actors int) {
	roles := []string{"SUPER_ADMIN", "ADMIN", "MANAGER", "AGENT", "CUSTOMER", "VENDOR"}
	subject := rng.Intn(actors)
	switch e.ResourceType {
	case "user":
		e.SubjectName, e.SubjectEmail = fmt.Sprintf("Person %d", subject), fmt.Sprintf("person%d@client%d.example", subject, subject%5)
	case "invitation":
		e.SubjectEmail = fmt.Sprintf("person%d@client%d.example", subject, subject%5) // invitees become the users
	}
	switch e.Action {
	case "update":
		if e.ResourceType != "user" {
			e.Change = "retention days 90 → 30"
		} else if rng.Intn(40) == 0 { // renames are rare; each is a value of its own
			e.Change = fmt.Sprintf("name Person %d → Person %d %s", subject, subject, []string{"Smith", "Jones", "Núñez", "Zoë"}[rng.Intn(4)])
		} else {
			e.Change = "role " + roles[1+rng.Intn(5)] + " → " + roles[1+rng.Intn(5)]
		}
	case "create":
		e.Change = "created as " + roles[1+rng.Intn(5)]
	case "invite":
		e.Change = "invited as " + roles[1+rng.Intn(5)]
	case "deactivate":
		e.Change = "deactivated"
	case "reactivate":
		e.Change = "reactivated"
	case "lock":
		e.Change = "locked after failed sign-ins"
	case "unlock":
		e.Change = "unlocked"
	case "change_password":
		e.Change = "password changed"
	case "sign_in_failed":
		e.Change = "failed: wrong password"
	}
}

// UserBatch is how many users a generator creates per transaction: a
// user is some 35 keys (record, indexes, its trigrams), bbolt splits nodes
// only at commit (random inserts into a large transaction cost quadratic
// time), and the etcd engine commits a transaction in one etcd Txn.
const UserBatch = 250

// GenerateOfficeUsers adds n users to tenant's list, named and addressed
// like the office log's actors (Person 0 … Person n−1, accents and roles
// spread over them), UserBatch per write transaction.
func GenerateOfficeUsers(db *store.DB, n int, tenant uint64, now time.Time) error {
	roles := []auth.Role{auth.Agent, auth.Agent, auth.Agent, auth.Manager, auth.Customer, auth.Vendor, auth.Admin}
	surnames := []string{"Smith", "Núñez", "Zoë", "O'Brien", "Kowalski", "Nakamura", "Adeyemi", "Müller"}
	const batch = UserBatch
	for i := 0; i < n; i += batch {
		err := db.Update(func(tx *store.Tx) error {
			for j := i; j < i+batch && j < n; j++ {
				u := &store.User{Email: fmt.Sprintf("person%d@client%d.example", j, j%5), Name: fmt.Sprintf("Person %d %s", j, surnames[j%len(surnames)]),
					Role: roles[j%len(roles)], Active: j%11 != 0, TenantID: tenant, DefaultTenantID: tenant, CreatedAt: now, LastLoginAt: now.Add(-time.Duration(j) * time.Minute)}
				if err := tx.CreateUser(u, store.Credentials{PasswordHash: []byte("x")}); err != nil {
					return err
				}
				if err := tx.PutMembership(store.Membership{UserID: u.ID, TenantID: tenant}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
