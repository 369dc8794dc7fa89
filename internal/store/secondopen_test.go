package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A second Open of a folder another Gatehouse has open, and is writing
// to, must answer "locked": never "damaged — restore from a backup", which
// would send its reader to a backup for nothing. Its start check reads the
// file before bbolt takes the lock, while the other writes it.
func TestASecondOpenOfAFileInUseSaysLockedNotDamaged(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{AuditKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	textLog(t, db, 3000)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a busy office: small commits, one after another
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			err := db.Update(func(tx *Tx) error {
				for j := 0; j < 20; j++ {
					if err := tx.AppendEvent(&Event{Time: t0.Add(time.Duration(i) * time.Second), Action: "update", ResourceType: "user",
						ActorEmail: fmt.Sprintf("u%d@kw.uk", j), SubjectName: fmt.Sprintf("Name %d %d", i, j), Change: fmt.Sprintf("role A → B %d", i), TenantID: uint64(1 + j%3)}); err != nil {
						return err
					}
				}
				return tx.PutSetting(fmt.Sprintf("x%d", i%50), i)
			})
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	deadline := time.Now().Add(3 * time.Second)
	tries, damaged := 0, 0
	var first error
	for time.Now().Before(deadline) {
		tries++
		second, err := Open(dir, Options{AuditKey: []byte("k"), Existing: true, LockTimeout: time.Millisecond})
		if err == nil {
			second.Close()
			t.Fatal("a second Open succeeded while the first held the file")
		}
		if errors.Is(err, ErrDamaged) {
			if damaged++; first == nil {
				first = err
			}
		} else if !errors.Is(err, ErrLocked) {
			t.Fatalf("second open: %v", err)
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d second opens, %d said damaged", tries, damaged)
	if damaged > 0 {
		t.Fatalf("%d of %d second opens of a healthy file in use said it was damaged, e.g. %v", damaged, tries, first)
	}
}
