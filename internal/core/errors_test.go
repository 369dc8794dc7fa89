package core

import (
	"fmt"
	"testing"

	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

// A damaged database reaches the transports as its own code, whatever
// wrapped it on the way, so the frontend can show the banner.
func TestADamagedDatabaseHasItsOwnCode(t *testing.T) {
	s := New(Config{DB: storetest.Open(t), Sealer: testSealer()})
	for _, err := range []error{
		store.ErrDamaged,
		fmt.Errorf("deliver: %w", fmt.Errorf("%w (gatehouse.db: page 7 claims to be page 9)", store.ErrDamaged)),
		s.internal("list users", fmt.Errorf("%w", store.ErrDamaged)),
	} {
		e := AsError(err)
		if e.Code != Damaged || e.Message != "The database is damaged — restore from a backup." {
			t.Errorf("%v: %+v", err, e)
		}
	}
}
