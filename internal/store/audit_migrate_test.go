package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// oddJSON are events as an older Gatehouse might have written their JSON:
// other bytes than json.Marshal gives today for the same event (kept as
// JSON by migration 11, but for the metadata, which moves as it is), or
// the same bytes with a zone (re-encoded).
var oddJSON = []struct {
	name    string
	e       Event
	rewrite func(raw []byte) []byte
	kept    bool
}{
	{"an unescaped ampersand", Event{ActorName: "Tom & Jerry", ActorEmail: "tj@kw.uk", Action: "update", ResourceType: "user", IP: "10.0.0.1", TenantID: 1},
		func(raw []byte) []byte { return bytes.Replace(raw, []byte(`\u0026`), []byte(`&`), 1) }, true},
	{"spaces in the metadata", Event{ActorEmail: "m@kw.uk", Action: "create", ResourceType: "user", IP: "10.0.0.2", TenantID: 2, Meta: json.RawMessage(`{"a":1}`)},
		func(raw []byte) []byte { return bytes.Replace(raw, []byte(`{"a":1}`), []byte(`{"a": 1}`), 1) }, false}, // the metadata is kept as it is
	{"an older field set", Event{ActorEmail: "o@kw.uk", Action: "create", ResourceType: "user", IP: "10.0.0.3", TenantID: 2},
		func(raw []byte) []byte { return bytes.Replace(raw, []byte(`"actorId":0,`), nil, 1) }, true},
	{"a zone", Event{ActorEmail: "z@kw.uk", Action: "sign_in_failed", ResourceType: "session", IP: "203.0.113.9", TenantID: 1, Change: "failed: wrong password"},
		func(raw []byte) []byte { return raw }, false},
}

// appendOddV2 appends e to a layout 4–10 log with its JSON rewritten, and
// chains those bytes, as the Gatehouse that wrote them did.
func appendOddV2(tx *Tx, e Event, rewrite func([]byte) []byte) error {
	head, err := tx.auditHead()
	if err != nil {
		return err
	}
	if err := tx.appendEventV2(&e); err != nil {
		return err
	}
	raw, err := json.Marshal(&e)
	if err != nil {
		return err
	}
	raw = rewrite(raw)
	hash := chainHash(tx.auditKey, head.Hash, e.Key, raw)
	if err := tx.b(bucketAuditV2).Put(e.Key, join(hash, raw)); err != nil {
		return err
	}
	head, err = tx.auditHead()
	if err != nil {
		return err
	}
	head.Hash = hash
	return tx.putAuditHead(head)
}

// layout10Log writes a textLog with the odd events among its oldest, in
// a database of layout 10, and returns every event as JSON.
func layout10Log(t *testing.T, dir string, n int) map[string]string {
	db, err := openWith(dir, Options{AuditKey: []byte("k")}, migrations[:10])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	textLog(t, db, n/2)
	err = db.Update(func(tx *Tx) error {
		for i, o := range oddJSON {
			o.e.Time = t0.Add(time.Duration(n/2+i) * time.Second)
			if o.name == "a zone" {
				o.e.Time = o.e.Time.In(time.FixedZone("", 2*3600))
			}
			if err := appendOddV2(tx, o.e, o.rewrite); err != nil {
				return err
			}
		}
		// And one with empty fields, of no tenant.
		return tx.AppendEvent(&Event{Time: t0.Add(time.Duration(n/2+len(oddJSON)) * time.Second), ActorEmail: "sys@kw.uk", Action: "setup"})
	})
	if err != nil {
		t.Fatal(err)
	}
	textBatch(t, db, rand.New(rand.NewSource(4)), n/2+len(oddJSON)+1, n+len(oddJSON))
	before := map[string]string{}
	db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAuditV2).ForEach(func(k, v []byte) error {
			var e Event
			if err := json.Unmarshal(v[hashLen:], &e); err != nil {
				t.Fatal(err)
			}
			before[string(k)] = eventString(e, v[:hashLen])
			return nil
		})
	})
	if len(before) != n+len(oddJSON) {
		t.Fatalf("%d events written", len(before))
	}
	return before
}

func eventString(e Event, hash []byte) string {
	raw, _ := json.Marshal(e)
	return fmt.Sprintf("%s %x", raw, hash)
}

// Migration 11 re-encodes a log of layout 10 in batches (here of 7
// events): every event reads back as it was, every query answers as a
// scan of the log does, the chain verifies and still catches tampering,
// and the indexes check clean.
func TestMigrationEncodesTheLogCompactly(t *testing.T) {
	defer func(n int) { migrateBatch = n }(migrateBatch)
	migrateBatch = 7
	dir := t.TempDir()
	before := layout10Log(t, dir, 600)

	// One batch, as a crash would leave it: an older Gatehouse refuses the
	// file, and the next Open goes on.
	b, err := bolt.Open(dir+"/"+FileName, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error { _, err := migrateStep(boltTx{tx}, migrations, []byte("k")); return err }); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := openWith(dir, Options{AuditKey: []byte("k")}, migrations[:10]); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("an older Gatehouse on a half-migrated file: %v", err)
	}
	db, err := Open(dir, Options{AuditKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	db.View(func(tx *Tx) error {
		for _, name := range [][]byte{bucketAuditV2, bucketAuditSumV1, bucketAuditTenantV1, bucketAuditByV1} {
			if tx.tx.Bucket(name) != nil {
				t.Errorf("bucket %s is still there", name)
			}
		}
		if migrating(tx.tx) {
			t.Error("the migration is still marked under way")
		}
		return nil
	})
	forms := map[byte]int{}
	db.View(func(tx *Tx) error {
		r := tx.eventReader()
		return tx.b(bucketAudit).ForEach(func(k, v []byte) error {
			forms[v[hashLen]]++
			e, err := r.event(k, v)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := eventString(e, v[:hashLen]), before[string(k)]; got != want {
				t.Errorf("event %x reads\n%s\nwas\n%s", k, got, want)
			}
			delete(before, string(k))
			return nil
		})
	})
	if len(before) != 0 {
		t.Errorf("%d events lost", len(before))
	}
	kept := 0
	for _, o := range oddJSON {
		if o.kept {
			kept++
		}
	}
	if forms['{'] != kept || forms[formMoved] != 604-kept || forms[formCompact] != 0 {
		t.Errorf("forms %v: want %d odd events kept as JSON, every other re-encoded", forms, kept)
	}

	checkClean(t, db)
	checkFreeText(t, db, "migrated")
	checkMigratedFilters(t, db)
	if rep, err := db.VerifyChain(nil); err != nil || !rep.OK || rep.Checked != 604 {
		t.Fatalf("chain after migration: %+v %v", rep, err)
	}
	// New events chain on; pruning releases what the moved events hold.
	textBatch(t, db, rand.New(rand.NewSource(9)), 0, 40)
	if err := db.Update(func(tx *Tx) error { _, err := tx.PruneAudit(t0.Add(450*time.Second), 1000); return err }); err != nil {
		t.Fatal(err)
	}
	checkClean(t, db)
	checkFreeText(t, db, "pruned after migration")
	if rep, err := db.VerifyChain(nil); err != nil || !rep.OK {
		t.Fatalf("chain after new events and pruning: %+v %v", rep, err)
	}
	db.Close()
	checkTamperingDetected(t, dir)
}

// checkMigratedFilters compares exact filters and the stats on a textLog
// with a brute-force scan.
func checkMigratedFilters(t *testing.T, db *DB) {
	t.Helper()
	since, until := t0.Add(100*time.Second), t0.Add(200*time.Second)
	cases := []struct {
		name string
		q    AuditQuery
		keep func(Event) bool
	}{
		{"everything", AuditQuery{}, func(Event) bool { return true }},
		{"tenant 2", AuditQuery{Tenant: 2}, func(e Event) bool { return e.TenantID == 2 }},
		{"action", AuditQuery{Tenant: 1, Action: "update"}, func(e Event) bool { return e.TenantID == 1 && e.Action == "update" }},
		{"resource", AuditQuery{Resource: "session"}, func(e Event) bool { return e.ResourceType == "session" }},
		{"actor in a time range", AuditQuery{Actor: "u3@kw.uk", Since: since, Until: until}, func(e Event) bool {
			return e.ActorEmail == "u3@kw.uk" && !e.Time.Before(since) && e.Time.Before(until)
		}},
		{"an odd event's actor", AuditQuery{Actor: "tj@kw.uk"}, func(e Event) bool { return e.ActorEmail == "tj@kw.uk" }},
	}
	for _, c := range cases {
		got, want := query(t, db, c.q), brute(t, db, c.keep)
		if ids(got) != ids(want) || len(want) == 0 {
			t.Errorf("%s: got %d events, want %d", c.name, len(got), len(want))
		}
	}
	now := t0.Add(250 * time.Second)
	for _, tenant := range []uint64{0, 1} {
		in := brute(t, db, func(e Event) bool {
			return (tenant == 0 || e.TenantID == tenant) && !e.Time.After(now) && !e.Time.Before(now.Add(-24*time.Hour))
		})
		var st AuditStats
		db.View(func(tx *Tx) (err error) { st, err = tx.Stats(tenant, now); return })
		if st.Events != len(in) || st.Events == 0 {
			t.Errorf("tenant %d: stats count %d events, the log has %d", tenant, st.Events, len(in))
		}
	}
}

// appendEventJSON rebuilds what json.Marshal made of an event (so
// migration 11 re-encodes nearly every event), on its own.
func TestEventJSONIsWhatJSONMarshalWrote(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	pieces := []string{"", "a", "Zoë", "Tom & Jerry", "<b>", `"quoted"`, `back\slash`, "line\nbreak", "\t", "\x01", "\u2028", "→", "\xff", "Núñez", "10.0.0.1", "ø"}
	str := func() string {
		s := ""
		for range rng.Intn(4) {
			s += pieces[rng.Intn(len(pieces))]
		}
		return s
	}
	zones := []*time.Location{time.UTC, time.FixedZone("", 2*3600), time.FixedZone("", -(5*3600 + 30*60)), time.FixedZone("", 45)}
	for i := 0; i < 5000; i++ {
		e := Event{ID: rng.Uint64() >> rng.Intn(64), Time: time.Unix(rng.Int63n(1<<34), rng.Int63n(1e9)*int64(rng.Intn(2))).In(zones[rng.Intn(len(zones))]),
			ActorID: uint64(rng.Intn(3)), ActorName: str(), ActorEmail: str(), Action: str(), ResourceType: str(), ResourceID: str(), IP: str(),
			TenantID: uint64(rng.Intn(3)), SubjectName: str(), SubjectEmail: str(), Change: str()}
		if rng.Intn(2) == 0 {
			e.Meta = json.RawMessage(`{"a":[1,"x"]}`)
		}
		want, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := appendEventJSON(nil, &e); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%+v:\n%s %v\nwant\n%s", e, got, err, want)
		}
	}
}
