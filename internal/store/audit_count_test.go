package store

import (
	"testing"
	"time"
)

// spread writes n events 7 minutes apart from t0 (about ten hours for 90),
// tenants 1 and 2 alternating, one of them stamped a minute back in time (a
// clock that went back: its key keeps its predecessor's time).
func spread(t *testing.T, db *DB, n int) {
	t.Helper()
	err := db.Update(func(tx *Tx) error {
		for i := 0; i < n; i++ {
			at := t0.Add(time.Duration(i) * 7 * time.Minute)
			if i == 40 {
				at = at.Add(-8 * time.Minute)
			}
			e := &Event{Time: at, ActorEmail: "a@kw.uk", Action: []string{"update", "sign_in"}[i%2], ResourceType: "user", IP: "10.0.0.1", TenantID: uint64(1 + i%2)}
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

// keysBefore counts events by walking every key: the slow, obvious answer.
func keysBefore(db *DB, cut time.Time) int {
	n := 0
	db.View(func(tx *Tx) error {
		c := tx.b(bucketAudit).Cursor()
		for k, _ := c.First(); k != nil && keyTime(k).Before(cut); k, _ = c.Next() {
			n++
		}
		return nil
	})
	return n
}

func countBefore(t *testing.T, db *DB, cut time.Time) int {
	t.Helper()
	var n int
	if err := db.View(func(tx *Tx) (err error) { n, err = tx.CountEventsBefore(cut); return }); err != nil {
		t.Fatal(err)
	}
	return n
}

// CountEventsBefore answers what a retention cut removes, wherever the cut
// falls in its hour, also after an earlier cut fell inside an hour (pruning
// used to drop the whole hour's counter then, so later counts came short).
func TestCountEventsBeforeMatchesTheKeys(t *testing.T) {
	db := openAudit(t)
	spread(t, db, 90)
	cuts := []time.Duration{-time.Hour, 0, 10 * time.Minute, 40 * time.Minute, 3 * time.Hour, 4*time.Hour + 29*time.Minute,
		4*time.Hour + 31*time.Minute, 5*time.Hour + 59*time.Minute, 11 * time.Hour, 48 * time.Hour}
	check := func(stage string) {
		t.Helper()
		for _, d := range cuts {
			cut := t0.Add(d)
			if got, want := countBefore(t, db, cut), keysBefore(db, cut); got != want {
				t.Errorf("%s: before %s: %d, want %d", stage, cut.Format("15:04"), got, want)
			}
		}
	}
	check("whole log")
	if n := countBefore(t, db, t0.Add(48*time.Hour)); n != 90 {
		t.Fatalf("every event: %d, want 90", n)
	}

	// A cut in the middle of an hour, as retention makes: the rest of that
	// hour stays counted.
	cut := t0.Add(2*time.Hour + 20*time.Minute)
	want := keysBefore(db, cut)
	var pruned int
	if err := db.Update(func(tx *Tx) (err error) { pruned, err = tx.PruneAudit(cut, 1000); return }); err != nil || pruned != want || want == 0 {
		t.Fatalf("pruned %d (%v), want %d", pruned, err, want)
	}
	check("after a cut inside an hour")
	var hour HourCounts
	db.View(func(tx *Tx) (err error) { hour, err = tx.getHour(hourKey(0, t0.Add(2*time.Hour))); return })
	left := keysBefore(db, t0.Add(3*time.Hour))
	if hour.Events != left || hour.Actions["update"]+hour.Actions["sign_in"] != left {
		t.Errorf("the cut hour's counter: %+v, want the %d events left in it", hour, left)
	}
	checkClean(t, db)
}
