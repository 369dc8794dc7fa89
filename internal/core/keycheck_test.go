package core

import (
	"testing"

	"gatehouse/internal/store/storetest"
)

// Starting Gatehouse on a database that already holds its key check must
// not write: every start used to commit (and fsync) an empty transaction.
func TestCheckKeyWritesOnlyTheFirstTime(t *testing.T) {
	db := storetest.Open(t)
	svc := New(Config{DB: db, Sealer: testSealer()})
	before := db.Writes()
	if err := svc.CheckKey(); err != nil {
		t.Fatal(err)
	}
	if db.Writes() == before {
		t.Fatal("the first check stored no check value")
	}
	before = db.Writes()
	for i := 0; i < 3; i++ {
		if err := svc.CheckKey(); err != nil {
			t.Fatal(err)
		}
	}
	if n := db.Writes() - before; n != 0 {
		t.Errorf("later checks wrote %d pages, want none", n)
	}
}
