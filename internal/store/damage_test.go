package store

import (
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// populated makes a database of a few megabytes (audit events, outbox
// messages) in a new folder and returns the folder.
func populated(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(dir, Options{AuditKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, db, 2500)
	err = db.Update(func(tx *Tx) error {
		for i := 0; i < 300; i++ {
			if err := tx.PutMessage(&Message{Kind: "invitation", To: "a@kw.uk", State: MailQueued, NextAttemptAt: t0}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Issue 11: 8 KB of random bytes in the middle of a database. Open refuses
// it (damage in what a start reads), or the structure check that follows
// at once in the background finds it and every transaction, reads too, is
// refused; or (damage only inside leaf contents) the full background
// check finds it and every write is refused from then on. Nothing panics,
// nothing is written into the damaged file.
func TestRandomBytesMidFileAreNeverServed(t *testing.T) {
	dir := populated(t)
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	inTree, ps := treePages(t, filepath.Join(dir, FileName))
	refused, structure, stopped, free, dataOnly := 0, 0, 0, 0, 0
	for seed := int64(1); seed <= 16; seed++ {
		damaged := append([]byte(nil), raw...)
		r := rand.New(rand.NewSource(seed))
		at := len(damaged)/2 + (r.Intn(64)-32)*ps + r.Intn(ps)
		if seed%2 == 1 { // 8 KB anywhere near the middle
			r.Read(damaged[at : at+8192])
			if !inTree(at/ps) && !inTree(at/ps+1) && !inTree(at/ps+2) {
				free++ // only free pages: harmless, and nothing may complain
				continue
			}
		} else { // inside a leaf page, sparing its header: only the background check reads it
			p := at / ps
			for ; !inTree(p) || binary.LittleEndian.Uint16(damaged[p*ps+8:]) != flagLeaf; p++ {
			}
			r.Read(damaged[p*ps+16 : (p+1)*ps])
		}
		copyDir := t.TempDir()
		path := filepath.Join(copyDir, FileName)
		if err := os.WriteFile(path, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := Open(copyDir, Options{AuditKey: []byte("k"), Existing: true})
		if err != nil {
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("seed %d: open: %v, want ErrDamaged", seed, err)
			}
			refused++
			continue
		}
		if err := db.WaitChecked(); err == nil {
			// Only bytes inside keys or values, which bbolt keeps no checksum
			// of: they read as garbage (decoding fails), but nothing panics.
			_ = db.View(func(tx *Tx) error { _, _, err := tx.DueMessages(t0, 1000); return err })
			db.Close()
			dataOnly++
			continue
		} else if !errors.Is(err, ErrDamaged) {
			t.Fatalf("seed %d: background check: %v", seed, err)
		}
		unsafe := db.unsafe.Load() != nil
		if unsafe {
			// The page tree does not hold: bbolt may not read it at all.
			if err := db.View(func(tx *Tx) error { return nil }); !errors.Is(err, ErrDamaged) {
				t.Fatalf("seed %d: a read of a broken page tree: %v", seed, err)
			}
		}
		before, _ := os.ReadFile(path)
		if err := db.Update(func(tx *Tx) error { return tx.AppendEvent(&Event{Time: t0, Action: "x"}) }); !errors.Is(err, ErrDamaged) {
			t.Fatalf("seed %d: a write to a damaged database: %v", seed, err)
		}
		if err := db.Batch(func(tx *Tx) error { return tx.PutSetting("x", 1) }); !errors.Is(err, ErrDamaged) {
			t.Fatalf("seed %d: a batched write to a damaged database: %v", seed, err)
		}
		// Reads go on where they can, without panicking.
		_ = db.View(func(tx *Tx) error { _, _, err := tx.DueMessages(t0, 1000); return err })
		db.Close()
		if after, _ := os.ReadFile(path); string(after) != string(before) {
			t.Fatalf("seed %d: the damaged file was written to", seed)
		}
		if unsafe {
			structure++
		} else {
			stopped++
		}
	}
	t.Logf("refused at open: %d, refused by the structure check: %d, stopped by the full check: %d, free pages only: %d, key or value bytes only: %d",
		refused, structure, stopped, free, dataOnly)
	if refused+structure == 0 || stopped == 0 {
		t.Fatal("both ways of finding damage should have been exercised")
	}
}

// treePages returns which pages of the database at path are in its page
// tree (the others are free), and its page size.
func treePages(t *testing.T, path string) (func(p int) bool, int) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := bestMeta(f)
	if err != nil {
		t.Fatal(err)
	}
	w := &pageWalker{f: f, ps: m.pageSize, hwm: m.pgid, seen: make([]uint64, m.pgid/64+1), mode: walkFull}
	if err := w.page(m.root, 0, 0); err != nil {
		t.Fatal(err)
	}
	return func(p int) bool { return p < int(m.pgid) && w.seen[p/64]&(1<<(p%64)) != 0 }, int(m.pageSize)
}

// A panic bbolt raises inside a transaction (here: a write in a read-only
// one) becomes ErrDamaged and stops writes; a panic of our own is not
// hidden.
func TestBoltPanicsBecomeErrDamaged(t *testing.T) {
	db := openAudit(t)
	err := db.View(func(tx *Tx) error {
		var b *bolt.Bucket
		b.Cursor() // a bbolt method on a nil bucket: bbolt panics
		return nil
	})
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("view: %v, want ErrDamaged", err)
	}
	if err := db.Update(func(tx *Tx) error { return tx.PutSetting("x", 1) }); !errors.Is(err, ErrDamaged) {
		t.Fatalf("write after a bbolt panic: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a panic of our own was swallowed")
		}
	}()
	db.View(func(tx *Tx) error {
		var m map[string]int
		m["x"] = 1
		return nil
	})
}

// A schema record that is not 8 bytes is damage; it used to read as
// version 0, and every migration ran again over the data.
func TestABadSchemaRecordIsDamageNotANewDatabase(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{AuditKey: []byte("k")})
	if err != nil {
		t.Fatal(err)
	}
	db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, []byte{5}) })
	db.Close()
	if _, err := Open(dir, Options{AuditKey: []byte("k")}); !errors.Is(err, ErrDamaged) {
		t.Fatalf("open with a 1-byte schema record: %v, want ErrDamaged", err)
	}
}

// Issue 14: a start reads what it needs before bbolt may (the root, the
// meta and settings buckets, the path to each bucket's first key), a few
// dozen pages whatever the file's size; the walk of the whole structure,
// every branch and leaf header, is left to the background.
func TestAStartReadsAFewPagesWhateverTheSize(t *testing.T) {
	db := openAudit(t)
	textLog(t, db, 20000)
	path := db.Path()
	db.Close()
	start, err := walkPages(path, walkStart, nil)
	if err != nil {
		t.Fatal(err)
	}
	structure, err := walkPages(path, walkStructure, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a start reads %d pages; the structure walk %d", start, structure)
	if start > 100 || structure < 20*start {
		t.Fatalf("a start read %d pages, the structure walk %d: the start should read a few dozen", start, structure)
	}
}
