package store

import (
	"errors"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestMigrationsRunForwardOnce(t *testing.T) {
	dir := t.TempDir()
	// An older layout: only the first migration, with a record in it.
	old := migrations[:1]
	db, err := openWith(dir, Options{}, old)
	if err != nil {
		t.Fatal(err)
	}
	db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketSettings).Put([]byte("greeting"), []byte(`"hello"`)) })
	db.Close()

	runs := 0
	newer := append(append([]migration{}, old...), migration{"rename greeting", func(tx *Tx) error {
		runs++
		b := tx.b(bucketSettings)
		v := b.Get([]byte("greeting"))
		if err := b.Put([]byte("salutation"), v); err != nil {
			return err
		}
		return b.Delete([]byte("greeting"))
	}, nil})
	for i := 0; i < 2; i++ {
		db, err = openWith(dir, Options{}, newer)
		if err != nil {
			t.Fatal(err)
		}
		db.bolt.View(func(tx *bolt.Tx) error {
			if v, err := schemaVersion(boltTx{tx}); v != 2 || err != nil {
				t.Errorf("schema version %d (%v), want 2", v, err)
			}
			if string(tx.Bucket(bucketSettings).Get([]byte("salutation"))) != `"hello"` {
				t.Error("the migration did not move the record")
			}
			return nil
		})
		db.Close()
	}
	if runs != 1 {
		t.Fatalf("migration ran %d times, want once", runs)
	}
	// The older build refuses the newer database instead of misreading it.
	if _, err := openWith(dir, Options{}, old); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("old build on new database: %v", err)
	}
}

// Opening a database that is up to date writes nothing: a start costs no
// fsync, and a read-only medium or a backup copy stays as it was.
func TestOpenUpToDateWritesNothing(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{AuditKey: []byte("k"), NoBackgroundCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = Open(dir, Options{AuditKey: []byte("k"), NoBackgroundCheck: true, Existing: true, CheckKey: func(*Tx) (bool, error) { return false, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := db.Writes(); n != 0 {
		t.Errorf("open wrote %d pages", n)
	}
}

// migratedFrom makes a database at schema version from, lets write fill
// it, then opens it with every migration; the database is closed at the
// test's end.
func migratedFrom(t *testing.T, from int, write func(db *DB)) *DB {
	t.Helper()
	dir := t.TempDir()
	db, err := openWith(dir, Options{AuditKey: []byte("k")}, migrations[:from])
	if err != nil {
		t.Fatal(err)
	}
	write(db)
	db.Close()
	if db, err = Open(dir, Options{AuditKey: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A batched migration runs a transaction per batch until done; a file
// left between two batches is refused by the older build and resumed by
// the next Open.
func TestBatchedMigrationsResume(t *testing.T) {
	dir := t.TempDir()
	old := migrations[:1]
	db, err := openWith(dir, Options{}, old)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	batches := 0
	newer := append(append([]migration{}, old...), migration{"count to three", nil, func(tx *Tx) (bool, error) {
		b := tx.b(bucketSettings)
		n := readU64(b.Get([]byte("counted"))) + 1
		batches++
		return n == 3, b.Put([]byte("counted"), u64(n))
	}})
	// One batch, then a crash.
	b, err := bolt.Open(dir+"/"+FileName, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error { _, err := migrateStep(boltTx{tx}, newer, nil); return err }); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := openWith(dir, Options{}, old); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("the older build on a half-migrated file: %v", err)
	}
	for i := 0; i < 2; i++ {
		if db, err = openWith(dir, Options{}, newer); err != nil {
			t.Fatal(err)
		}
		db.bolt.View(func(tx *bolt.Tx) error {
			if v, _ := schemaVersion(boltTx{tx}); v != 2 || migrating(boltTx{tx}) || readU64(tx.Bucket(bucketSettings).Get([]byte("counted"))) != 3 {
				t.Errorf("version %d, under way %v, counted %d", v, migrating(boltTx{tx}), readU64(tx.Bucket(bucketSettings).Get([]byte("counted"))))
			}
			return nil
		})
		db.Close()
	}
	if batches != 3 {
		t.Errorf("%d batches, want 3", batches)
	}
}
