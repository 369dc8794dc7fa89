package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var t0 = time.Date(2026, 5, 18, 9, 0, 0, 0, time.UTC)

func openAudit(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.TempDir(), Options{AuditKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// fill writes n events: every third at the same instant as the one before,
// tenants 1 and 2 alternating, a handful of actions, actors and addresses.
func fill(t *testing.T, db *DB, n int) {
	t.Helper()
	actions := []string{"update", "create", "sign_in", "deactivate"}
	err := db.Update(func(tx *Tx) error {
		at := t0
		for i := 0; i < n; i++ {
			if i%3 != 0 {
				at = at.Add(time.Minute)
			}
			e := &Event{Time: at, ActorEmail: fmt.Sprintf("user%d@kw.uk", i%5), ActorName: "U", Action: actions[i%4],
				ResourceType: []string{"user", "invitation", "session"}[i%3], ResourceID: fmt.Sprint(i), IP: fmt.Sprintf("10.0.0.%d", i%7), TenantID: uint64(1 + i%2)}
			if err := tx.AppendEvent(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func query(t *testing.T, db *DB, q AuditQuery) []Event {
	t.Helper()
	var all []Event
	for {
		var p AuditPage
		if err := db.View(func(tx *Tx) (err error) { p, err = tx.QueryAudit(q); return }); err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Events...)
		if p.Next == nil {
			return all
		}
		q.Before = p.Next
	}
}

// brute applies the same filter the slow way, for comparison.
func brute(t *testing.T, db *DB, keep func(e Event) bool) []Event {
	var out []Event
	db.View(func(tx *Tx) error {
		c, r := tx.b(bucketAudit).Cursor(), tx.eventReader()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			e, err := r.event(k, v)
			if err != nil {
				t.Fatal(err)
			}
			if keep(e) {
				out = append(out, e)
			}
		}
		return nil
	})
	return out
}

func ids(es []Event) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%d,", e.ID)
	}
	return b.String()
}

func TestAuditFiltersMatchABruteForceScan(t *testing.T) {
	db := openAudit(t)
	fill(t, db, 240)
	since, until := t0.Add(40*time.Minute), t0.Add(120*time.Minute)
	in := func(e Event) bool { return !e.Time.Before(since) && e.Time.Before(until) }
	cases := []struct {
		name string
		q    AuditQuery
		keep func(Event) bool
	}{
		{"everything", AuditQuery{}, func(Event) bool { return true }},
		{"tenant 2", AuditQuery{Tenant: 2}, func(e Event) bool { return e.TenantID == 2 }},
		{"action", AuditQuery{Tenant: 1, Action: "update"}, func(e Event) bool { return e.TenantID == 1 && e.Action == "update" }},
		{"resource", AuditQuery{Resource: "session"}, func(e Event) bool { return e.ResourceType == "session" }},
		{"action and resource", AuditQuery{Action: "create", Resource: "invitation"}, func(e Event) bool { return e.Action == "create" && e.ResourceType == "invitation" }},
		{"actor in a time range", AuditQuery{Actor: "user3@kw.uk", Since: since, Until: until}, func(e Event) bool { return e.ActorEmail == "user3@kw.uk" && in(e) }},
		{"text: action", AuditQuery{Text: "SIGN"}, func(e Event) bool { return e.Action == "sign_in" }},
		{"text: resource or action", AuditQuery{Text: "in"}, func(e Event) bool { return strings.Contains(e.Action+e.ResourceType, "in") }},
		{"text: address", AuditQuery{Text: "10.0.0.6", Tenant: 2}, func(e Event) bool { return e.IP == "10.0.0.6" && e.TenantID == 2 }},
		{"text with action", AuditQuery{Text: "10.0.0.1", Action: "update"}, func(e Event) bool { return e.IP == "10.0.0.1" && e.Action == "update" }},
		{"text matching nothing", AuditQuery{Text: "zzz"}, func(Event) bool { return false }},
		{"time range only", AuditQuery{Since: since, Until: until}, in},
	}
	for _, c := range cases {
		for _, limit := range []int{1, 7, 50} {
			c.q.Limit = limit
			got, want := query(t, db, c.q), brute(t, db, c.keep)
			if ids(got) != ids(want) {
				t.Errorf("%s (pages of %d): got %d events, want %d\n%s\n%s", c.name, limit, len(got), len(want), ids(got), ids(want))
			}
		}
	}
}

// A value's list holds every tenant's events; a small tenant's view of a
// busy value walks the tenant's own events instead, with the same answers.
func TestASmallTenantsViewOfABusyValue(t *testing.T) {
	db := openAudit(t)
	fill(t, db, 240)
	err := db.Update(func(tx *Tx) error {
		for i := 0; i < 3; i++ {
			e := &Event{Time: t0.Add(5 * time.Hour), ActorEmail: "small@kw.uk", Action: "update", ResourceType: "user", IP: "10.0.0.1", TenantID: 3}
			if err := tx.AppendEvent(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *Tx) error {
		walk, merge := tx.readCosts(3, []textValue{{FieldAction, "update", 3}}, 50)
		if walk >= merge {
			t.Errorf("walk %d reads, merge %d: want the walk", walk, merge)
		}
		return nil
	})
	for _, q := range []AuditQuery{{Tenant: 3, Action: "update"}, {Tenant: 3, Resource: "user"}, {Tenant: 3, Actor: "user1@kw.uk"}, {Tenant: 1, Actor: "small@kw.uk"}} {
		for _, limit := range []int{1, 50} {
			q.Limit = limit
			got := query(t, db, q)
			want := brute(t, db, func(e Event) bool {
				return e.TenantID == q.Tenant && (q.Action == "" || e.Action == q.Action) && (q.Resource == "" || e.ResourceType == q.Resource) && (q.Actor == "" || e.ActorKey() == q.Actor)
			})
			if ids(got) != ids(want) {
				t.Errorf("%+v: %s, want %s", q, ids(got), ids(want))
			}
		}
	}
}

// Events with empty fields (no address, no resource type, no actor name,
// no tenant) are listed, found and pruned like any other (an empty value
// has no trigrams and no string).
func TestEventsWithEmptyFields(t *testing.T) {
	db := openAudit(t)
	fill(t, db, 20)
	err := db.Update(func(tx *Tx) error {
		for i := 0; i < 4; i++ {
			e := &Event{Time: t0.Add(time.Duration(i) * time.Second), ActorEmail: "sys@kw.uk", Action: "setup", TenantID: uint64(i % 2)}
			if err := tx.AppendEvent(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, db)
	if got := query(t, db, AuditQuery{Action: "setup"}); len(got) != 4 || got[0].IP != "" || got[0].ResourceType != "" {
		t.Fatalf("%d events, newest %+v", len(got), got[0])
	}
	if got := query(t, db, AuditQuery{Tenant: 1, Text: "setup"}); len(got) != 2 {
		t.Fatalf("%d events of tenant 1", len(got))
	}
	if err := db.Update(func(tx *Tx) error { _, err := tx.PruneAudit(t0.Add(48*time.Hour), 1000); return err }); err != nil {
		t.Fatal(err)
	}
	checkClean(t, db)
	if rep, err := db.VerifyChain(nil); err != nil || !rep.OK || rep.Checked != 0 {
		t.Fatalf("after pruning everything: %+v %v", rep, err)
	}
}

func TestAuditStatsAndValues(t *testing.T) {
	db := openAudit(t)
	fill(t, db, 120) // 80 minutes of events
	db.View(func(tx *Tx) error {
		st, _ := tx.Stats(0, t0.Add(90*time.Minute))
		if st.Events != 120 || st.ActiveUsers != 5 || st.TopAction != "create" || st.TopCount != 30 {
			t.Errorf("stats %+v", st)
		}
		st, _ = tx.Stats(0, t0.Add(30*time.Hour))
		if st.Events != 0 {
			t.Errorf("stats a day later: %+v", st)
		}
		vals, _ := tx.Values(1, FieldResource, 0)
		if len(vals) != 3 || vals["user"] != 20 {
			t.Errorf("values %v", vals)
		}
		return nil
	})
}

func TestPruningKeepsTheChainVerifiable(t *testing.T) {
	db := openAudit(t)
	fill(t, db, 90)
	cut := t0.Add(30 * time.Minute)
	var n int
	for {
		var got int
		if err := db.Update(func(tx *Tx) (err error) { got, err = tx.PruneAudit(cut, 7); return }); err != nil {
			t.Fatal(err)
		}
		n += got
		if got == 0 {
			break
		}
	}
	rep, err := db.VerifyChain(nil)
	if err != nil || !rep.OK || int(rep.Pruned) != n || rep.Checked != uint64(90-n) || n == 0 {
		t.Fatalf("after pruning %d: %+v %v", n, rep, err)
	}
	if got := query(t, db, AuditQuery{}); len(got) != 90-n || got[len(got)-1].Time.Before(cut) {
		t.Fatalf("%d events left, oldest %v", len(got), got[len(got)-1].Time)
	}
	for _, e := range query(t, db, AuditQuery{Action: "update"}) {
		if e.Time.Before(cut) {
			t.Fatal("a pruned event is still indexed")
		}
	}
	// New events chain on from the pruned log.
	fill(t, db, 3)
	if rep, _ := db.VerifyChain(nil); !rep.OK {
		t.Fatalf("after new events: %+v", rep)
	}
	for _, errs := range [][]error{db.Check()} {
		for _, e := range errs {
			t.Error(e)
		}
	}
}

func TestOldLayoutEventsAreMovedAndChained(t *testing.T) {
	dir := t.TempDir()
	db, err := openWith(dir, Options{}, migrations[:3])
	if err != nil {
		t.Fatal(err)
	}
	db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAuditV1)
		for i := 1; i <= 3; i++ {
			raw, _ := json.Marshal(Event{ID: uint64(i), Time: t0.Add(time.Duration(i) * time.Second), Action: "create", ResourceType: "user", ActorEmail: "m@kw.uk", TenantID: 1})
			b.Put(join(u64(uint64(t0.Add(time.Duration(i)*time.Second).UnixNano())), u64(uint64(i))), raw)
		}
		return nil
	})
	db.Close()
	// The chain is linked by the migration, so it needs the key.
	if _, err := Open(dir, Options{}); !errors.Is(err, errNoAuditKey) {
		t.Fatalf("migrating events without the chain key: %v", err)
	}
	db, err = Open(dir, Options{AuditKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if rep, err := db.VerifyChain(nil); err != nil || !rep.OK || rep.Checked != 3 {
		t.Fatalf("migrated chain: %+v %v", rep, err)
	}
	if got := query(t, db, AuditQuery{Tenant: 1, Action: "create"}); len(got) != 3 {
		t.Fatalf("%d migrated events found by index", len(got))
	}
}

// The 24-hour stats count exactly the events from now−24h to now: whole
// hours from their counters, the two partial hours event by event.
func TestAuditStatsWindowIsExact(t *testing.T) {
	db := openAudit(t)
	now := time.Date(2026, 5, 18, 12, 20, 0, 0, time.UTC)
	since := now.Add(-24 * time.Hour)
	type ev struct {
		at     time.Time
		action string
		actor  string
	}
	var evs []ev
	add := func(at time.Time, action, actor string, n int) {
		for i := 0; i < n; i++ {
			evs = append(evs, ev{at, action, actor})
		}
	}
	add(since.Add(-20*time.Minute), "before", "early@kw.uk", 5)  // the start's hour, before the window
	add(since.Add(-time.Nanosecond), "before", "early@kw.uk", 1) // just outside
	add(since, "edge", "edge@kw.uk", 1)                          // the first instant inside
	add(since.Add(30*time.Minute), "inside", "a@kw.uk", 3)       // the start's hour, inside
	add(since.Add(3*time.Hour), "whole", "b@kw.uk", 4)           // a whole hour
	add(now.Add(-15*time.Minute), "inside", "c@kw.uk", 2)        // this hour, before now
	add(now, "edge", "c@kw.uk", 1)                               // the last instant inside
	err := db.Update(func(tx *Tx) error {
		for _, e := range evs {
			if err := tx.AppendEvent(&Event{Time: e.at, ActorEmail: e.actor, Action: e.action, ResourceType: "user", IP: "10.0.0.1", TenantID: 1}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []uint64{0, 1} {
		var st AuditStats
		db.View(func(tx *Tx) (err error) { st, err = tx.Stats(tenant, now); return })
		want := AuditStats{Events: 11, ActiveUsers: 4, TopAction: "inside", TopCount: 5}
		if st != want {
			t.Errorf("tenant %d: %+v, want %+v", tenant, st, want)
		}
	}
	var st AuditStats
	db.View(func(tx *Tx) (err error) { st, err = tx.Stats(0, since.Add(-time.Nanosecond)); return })
	if want := (AuditStats{Events: 6, ActiveUsers: 1, TopAction: "before", TopCount: 6}); st != want {
		t.Errorf("a day earlier: %+v, want %+v", st, want)
	}
}

// A log whose hours were counted as JSON (layouts 4–9) is counted again,
// compactly, by migration 10, with the same figures.
func TestMigrationCountsHoursCompactly(t *testing.T) {
	db := migratedFrom(t, 9, func(db *DB) { fill(t, db, 120) })
	checkClean(t, db)
	db.View(func(tx *Tx) error {
		if tx.tx.Bucket(bucketAuditHoursV1) != nil {
			t.Error("the JSON counters are still there")
		}
		for tenant, want := range map[uint64]AuditStats{0: {Events: 120, ActiveUsers: 5, TopAction: "create", TopCount: 30}, 1: {Events: 60, ActiveUsers: 5, TopAction: "sign_in", TopCount: 30}} {
			if st, err := tx.Stats(tenant, t0.Add(90*time.Minute)); err != nil || st != want {
				t.Errorf("tenant %d: %+v %v, want %+v", tenant, st, err, want)
			}
		}
		return nil
	})
}

// A damaged event (found by the hostile review: one bad record made the
// audit page answer 500) is reported as damage, the code the app shows as
// "restore from a backup", not as an internal fault.
func TestADamagedEventIsDamageNotAFault(t *testing.T) {
	db := openAudit(t)
	var key []byte
	if err := db.Update(func(tx *Tx) error {
		e := &Event{Time: time.Now(), Action: "update", ResourceType: "user", TenantID: 1}
		if err := tx.AppendEvent(e); err != nil {
			return err
		}
		key = e.Key
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.bolt.Update(func(btx *bolt.Tx) error {
		v := btx.Bucket(bucketAudit).Get(key)
		bad := append(bytes.Clone(v[:hashLen]), []byte("{\"action\":\"\x04")...)
		return btx.Bucket(bucketAudit).Put(key, bad)
	}); err != nil {
		t.Fatal(err)
	}
	err := db.View(func(tx *Tx) error {
		_, err := tx.QueryAudit(AuditQuery{Limit: 50})
		return err
	})
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("reading a damaged event: %v", err)
	}
}

// Check finds a list, string or count of the audit log that disagrees
// with the events.
func TestCheckFindsAuditIndexDamage(t *testing.T) {
	cases := map[string]func(tx *Tx, e Event) error{
		"an event missing from a list": func(tx *Tx, e Event) error {
			return tx.valueLists().remove(valuePrefix(FieldIP, e.IP), valueEntry(e.Key, e.TenantID))
		},
		"an event missing from its tenant's list": func(tx *Tx, e Event) error {
			return tx.tenantLists().remove(u64(e.TenantID), e.Key)
		},
		"a string counted once too often": func(tx *Tx, e Event) error { _, err := tx.internString(e.Action); return err },
		"a value counted once too few":    func(tx *Tx, e Event) error { return tx.countValue(e.TenantID, FieldActor, e.ActorKey(), -1) },
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			db := openAudit(t)
			fill(t, db, 30)
			checkClean(t, db)
			err := db.Update(func(tx *Tx) error {
				k, v := tx.b(bucketAudit).Cursor().First()
				e, err := tx.eventReader().event(k, v)
				if err != nil {
					return err
				}
				return damage(tx, e)
			})
			if err != nil {
				t.Fatal(err)
			}
			if errs := db.Check(); len(errs) == 0 {
				t.Error("Check found nothing")
			}
		})
	}
}
