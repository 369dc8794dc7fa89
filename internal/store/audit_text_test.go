package store

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// textLog writes n events with about 2,500 distinct addresses, a few
// failures, a rare address among the oldest, and an upper-case action.
func textLog(t *testing.T, db *DB, n int) {
	t.Helper()
	rng := rand.New(rand.NewSource(3))
	for start := 0; start < n; start += 500 { // bbolt splits nodes at commit: keep transactions small
		textBatch(t, db, rng, start, min(n, start+500))
	}
}

func textBatch(t *testing.T, db *DB, rng *rand.Rand, from, to int) {
	err := db.Update(func(tx *Tx) error {
		for i := from; i < to; i++ {
			action := []string{"sign_in", "update", "sign_out", "switch"}[rng.Intn(4)]
			switch {
			case rng.Intn(20) == 0:
				action = "sign_in_failed"
			case i%500 == 7:
				action = "Export_CSV"
			}
			ip := fmt.Sprintf("10.%d.%d.%d", rng.Intn(20), rng.Intn(20), rng.Intn(8))
			if i < 30 && i%10 == 3 {
				ip = "203.0.113.77"
			}
			e := &Event{Time: t0.Add(time.Duration(i) * time.Second), ActorEmail: fmt.Sprintf("u%d@kw.uk", i%9), ActorName: "U", Action: action,
				ResourceType: []string{"user", "session"}[i%2], IP: ip, TenantID: uint64(1 + i%2)}
			if action == "update" {
				// Subjects with accents and a long tail; a few summaries.
				e.SubjectName = []string{"Zoë Adams", "Ana Núñez", "Bob Ray", fmt.Sprintf("Person %d", rng.Intn(400))}[rng.Intn(4)]
				e.SubjectEmail = strings.ToLower(strings.ReplaceAll(e.SubjectName, " ", ".")) + "@kw.uk"
				e.Change = []string{"role AGENT → MANAGER", "deactivated", "name Al → Alan", "2FA turned off"}[rng.Intn(4)]
			}
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

func checkClean(t *testing.T, db *DB) {
	t.Helper()
	for _, err := range db.Check() {
		t.Error(err)
	}
}

func TestFreeTextPlansMatchABruteForceScan(t *testing.T) {
	db := openAudit(t)
	textLog(t, db, 3000)
	checkClean(t, db)
	checkFreeText(t, db, "fresh")
	// Pruning removes values from the dictionary, and their trigrams.
	if err := db.Update(func(tx *Tx) error { _, err := tx.PruneAudit(t0.Add(100*time.Second), 1000); return err }); err != nil {
		t.Fatal(err)
	}
	checkClean(t, db)
	checkFreeText(t, db, "pruned")
}

// checkFreeText compares free-text queries on a textLog with a brute-force
// scan, in the view of every tenant and of tenant 2.
func checkFreeText(t *testing.T, db *DB, stage string) {
	t.Helper()
	terms := []string{"fail", "FAIL", "10.1", "10.", "1", "0", "203.0.113.77", ".77", "csv", "t_c", "zz", "n_f", "10.19.19.7",
		"role", "zoe", "ZOË", "nunez", "núñez", "→ manager", "person 39", "2fa", "deactivated"}
	for _, term := range terms {
		for _, tenant := range []uint64{0, 2} {
			want := brute(t, db, func(e Event) bool {
				hay := SearchFold(e.Action + "\x00" + e.ResourceType + "\x00" + e.IP + "\x00" + e.SubjectName + " " + e.SubjectEmail + "\x00" + e.Change)
				return (tenant == 0 || e.TenantID == tenant) && strings.Contains(hay, SearchFold(term))
			})
			for _, limit := range []int{37, 400} {
				got := query(t, db, AuditQuery{Tenant: tenant, Text: term, Limit: limit})
				if ids(got) != ids(want) {
					t.Errorf("%s: %q in tenant %d (pages of %d): %d events, want %d", stage, term, tenant, limit, len(got), len(want))
				}
			}
		}
	}
}

func TestFreeTextPlanner(t *testing.T) {
	db := openAudit(t)
	textLog(t, db, 3000)
	cases := []struct {
		term   string
		walk   bool
		values int
	}{
		{"10.", true, 0},           // every address: too many values to test
		{"fail", false, 1},         // one action, about 5 % of events: merge its list
		{"203.0.113.77", false, 1}, // one old address
		{"sign", false, 3},         // three values, half the events: three lists are cheap
		{"10.1", true, 0},          // over half the addresses and events: walking fills a page soonest
		{"zz", false, 0},           // nothing
	}
	for _, c := range cases {
		var p textPlan
		db.View(func(tx *Tx) error { p, _ = tx.planText(0, c.term, 50); return nil })
		if p.walk != c.walk || !p.walk && len(p.values) != c.values {
			t.Errorf("%q: walk %v with %d values, want walk %v (%d values)", c.term, p.walk, len(p.values), c.walk, c.values)
		}
	}
}

// A log from before the trigram index gets it from the migration.
func TestMigrationBuildsTheTrigramIndex(t *testing.T) {
	db := migratedFrom(t, 8, func(db *DB) { textLog(t, db, 500) })
	checkClean(t, db)
	if got := query(t, db, AuditQuery{Text: "203.0.113"}); len(got) != 3 {
		t.Errorf("%d events for the rare address, want 3", len(got))
	}
}
