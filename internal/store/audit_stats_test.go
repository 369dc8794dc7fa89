package store

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// TestStatsAreExactAtEveryInstant: on a log of three days with many actors,
// bursts and a clock that sometimes goes back, the 24-hour figures at many
// instants (whole hours, just before and after them, random nanoseconds)
// are those counted event by event, for every tenant's view and for all,
// before and after a retention cut.
func TestStatsAreExactAtEveryInstant(t *testing.T) {
	db := openAudit(t)
	rng := rand.New(rand.NewSource(11))
	start := time.Date(2026, 5, 15, 0, 0, 0, 0, time.UTC)
	at := start
	err := db.Update(func(tx *Tx) error {
		for i := 0; i < 3000; i++ {
			at = at.Add(time.Duration(rng.Int63n(int64(3 * time.Minute))))
			when := at
			if rng.Intn(40) == 0 {
				when = at.Add(-time.Duration(rng.Int63n(int64(2 * time.Hour)))) // a clock gone back
			}
			actor := rng.Intn(400)
			if rng.Intn(3) == 0 {
				actor = rng.Intn(4)
			}
			e := &Event{Time: when, ActorEmail: fmt.Sprintf("a%d@kw.uk", actor), Action: []string{"sign_in", "update", "invite", "sign_in_failed"}[rng.Intn(4)],
				ResourceType: "user", IP: "10.0.0.1", TenantID: uint64(1 + actor%3)}
			if err := tx.AppendEvent(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		type ev struct {
			at     uint64
			action string
			actor  string
			tenant uint64
		}
		var all []ev
		db.View(func(tx *Tx) error {
			return tx.ScanAudit(AuditQuery{}, func(e Event) (bool, error) {
				all = append(all, ev{readU64(e.Key), e.Action, e.ActorKey(), e.TenantID})
				return true, nil
			})
		})
		var instants []time.Time
		for h := 20; h < 80; h += 3 {
			hour := start.Add(time.Duration(h) * time.Hour)
			instants = append(instants, hour, hour.Add(-time.Nanosecond), hour.Add(time.Nanosecond), hour.Add(time.Duration(rng.Int63n(int64(time.Hour)))))
		}
		for _, now := range instants {
			for _, tenant := range []uint64{0, 1, 2, 3} {
				from, to := nanos(now.Add(-24*time.Hour)), nanos(now)
				var want AuditStats
				actions, actors := map[string]int{}, map[string]bool{}
				for _, e := range all {
					if e.at >= from && e.at <= to && (tenant == 0 || e.tenant == tenant) {
						want.Events++
						actions[e.action]++
						actors[e.actor] = true
					}
				}
				want.ActiveUsers = len(actors)
				for a, n := range actions {
					if n > want.TopCount || n == want.TopCount && a < want.TopAction {
						want.TopAction, want.TopCount = a, n
					}
				}
				var got AuditStats
				if err := db.View(func(tx *Tx) (err error) { got, err = tx.Stats(tenant, now); return err }); err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("%s, tenant %d at %s: %+v, counted %+v", stage, tenant, now.Format(time.RFC3339Nano), got, want)
				}
			}
		}
	}
	check("whole log")
	err = db.Update(func(tx *Tx) error {
		_, err := tx.PruneAudit(start.Add(40*time.Hour+17*time.Minute), 1_000_000)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	check("after a retention cut")
	checkClean(t, db)
}
