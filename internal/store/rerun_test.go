package store_test

import (
	"testing"

	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

// Issue 11, item 1: SwitchTenant and ConfirmTOTP changed state captured
// from outside their write closure, which bbolt's Batch re-runs when a
// neighbour in the batch fails; the retry then saw the first run's change
// and did the wrong thing. Test databases rehearse every closure once
// (rolled back) before running it, so such a closure misbehaves in every
// test, not once in a thousand batches in production.
func TestEveryWriteClosureIsRehearsed(t *testing.T) {
	db := storetest.Open(t)
	for name, write := range map[string]func(func(*store.Tx) error) error{"Update": db.Update, "Batch": db.Batch} {
		runs := 0
		moved := false // state from outside the closure, as the old SwitchTenant kept it
		err := write(func(tx *store.Tx) error {
			runs++
			if moved {
				return nil // "already done": the real run skips the write
			}
			moved = true
			return tx.PutSetting("rehearsal-"+name, "written")
		})
		if err != nil {
			t.Fatal(err)
		}
		if runs != 2 {
			t.Fatalf("%s ran its closure %d times, want a rehearsal and the real run", name, runs)
		}
		var got string
		db.View(func(tx *store.Tx) (err error) { _, err = tx.Setting("rehearsal-"+name, &got); return })
		if got != "" {
			t.Fatalf("%s: the rehearsal's write was kept (%q)", name, got)
		}
		// The impure closure lost its write: exactly the bug a test using
		// storetest now shows at once.
	}
}
