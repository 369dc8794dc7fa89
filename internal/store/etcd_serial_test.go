package store_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

func u64b(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
func rd(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

var errBoom = errors.New("boom")

// A commit acknowledged on A is seen by B's next View, Update and Batch,
// even when B's write transaction writes nothing.
func TestEtcdReadAfterRemoteCommit(t *testing.T) {
	p := storetest.NewPrefix()
	a, b := openEtcd(t, p), openEtcd(t, p)
	a.RawUpdate(func(tx store.KVTx) error { _, err := tx.CreateBucketIfNotExists([]byte("x")); return err })
	for i := uint64(1); i <= 60; i++ {
		if err := a.RawUpdate(func(tx store.KVTx) error { return tx.Bucket([]byte("x")).Put([]byte("n"), u64b(i)) }); err != nil {
			t.Fatal(err)
		}
		var got [3]uint64
		b.RawView(func(tx store.KVTx) error { got[0] = rd(tx.Bucket([]byte("x")).Get([]byte("n"))); return nil })
		b.RawUpdate(func(tx store.KVTx) error { got[1] = rd(tx.Bucket([]byte("x")).Get([]byte("n"))); return nil })
		b.RawBatch(func(tx store.KVTx) error { got[2] = rd(tx.Bucket([]byte("x")).Get([]byte("n"))); return errBoom })
		if got != [3]uint64{i, i, i} {
			t.Fatalf("after A committed %d, B read view/update/batch %v", i, got)
		}
	}
}

// Read-modify-write from both nodes concurrently: no lost update; the
// sequence hands out unique numbers.
func TestEtcdNoLostUpdatesAndUniqueSequences(t *testing.T) {
	p := storetest.NewPrefix()
	a, b := openEtcd(t, p), openEtcd(t, p)
	a.RawUpdate(func(tx store.KVTx) error { _, err := tx.CreateBucketIfNotExists([]byte("x")); return err })
	var mu sync.Mutex
	seen := map[uint64]int{}
	var wg sync.WaitGroup
	ok := 0
	for i := 0; i < 80; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := a
			if i%2 == 1 {
				db = b
			}
			var id uint64
			f := db.RawBatch
			if i%4 < 2 {
				f = db.RawUpdate
			}
			err := f(func(tx store.KVTx) error {
				bk := tx.Bucket([]byte("x"))
				n := rd(bk.Get([]byte("n")))
				if err := bk.Put([]byte("n"), u64b(n+1)); err != nil {
					return err
				}
				var err error
				id, err = bk.NextSequence()
				if err != nil {
					return err
				}
				return bk.Put(u64b(id), []byte{})
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("write %d: %v", i, err)
				return
			}
			ok++
			seen[id]++
		}()
	}
	wg.Wait()
	var n, seq uint64
	var keys int
	a.RawView(func(tx store.KVTx) error {
		bk := tx.Bucket([]byte("x"))
		n, seq, keys = rd(bk.Get([]byte("n"))), bk.Sequence(), bk.KeyN()
		return nil
	})
	if int(n) != ok || int(seq) != ok || keys != ok+1 || len(seen) != ok {
		t.Fatalf("ok %d: counter %d, sequence %d, keys %d, distinct ids %d", ok, n, seq, keys, len(seen))
	}
}

// Batch: a call that fails leaves no write for the calls after it nor in
// the commit; later calls see the writes of earlier successful ones.
func TestEtcdBatchIsolation(t *testing.T) {
	p := storetest.NewPrefix()
	a := openEtcd(t, p)
	a.RawUpdate(func(tx store.KVTx) error { _, err := tx.CreateBucketIfNotExists([]byte("x")); return err })
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := a.RawBatch(func(tx store.KVTx) error {
				bk := tx.Bucket([]byte("x"))
				if bk.Get([]byte("leak")) != nil {
					mu.Lock()
					problems = append(problems, fmt.Sprintf("call %d saw a failed call's write", i))
					mu.Unlock()
				}
				if i%3 == 0 {
					bk.Put([]byte("leak"), []byte("x"))
					bk.NextSequence()
					tx.CreateBucketIfNotExists([]byte(fmt.Sprintf("leakbucket%d", i)))
					return errBoom
				}
				n := rd(bk.Get([]byte("n")))
				return bk.Put([]byte("n"), u64b(n+1))
			})
			if (err != nil) != (i%3 == 0) {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("call %d: %v", i, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	a.RawView(func(tx store.KVTx) error {
		bk := tx.Bucket([]byte("x"))
		if bk.Get([]byte("leak")) != nil || bk.Sequence() != 0 || tx.Bucket([]byte("leakbucket0")) != nil {
			problems = append(problems, "a failed call's write was committed")
		}
		if n := rd(bk.Get([]byte("n"))); n != 42 {
			problems = append(problems, fmt.Sprintf("counter %d, want 42", n))
		}
		return nil
	})
	for _, p := range problems {
		t.Error(p)
	}
}

// A closure that panics in Batch: on bbolt the panic reaches the caller
// (net/http recovers it: a 500); on etcd it is raised in the group's
// goroutine and kills the process.
func TestEtcdBatchPanicKillsProcess(t *testing.T) {
	if os.Getenv("REVIEW_CHILD") == "1" {
		a := openEtcd(t, storetest.NewPrefix())
		func() {
			defer func() { recover() }()
			a.RawBatch(func(tx store.KVTx) error { panic("bad input") })
		}()
		fmt.Println("CHILD SURVIVED")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestEtcdBatchPanicKillsProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "REVIEW_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		lines := string(out)
		if len(lines) > 600 {
			lines = lines[:600]
		}
		t.Fatalf("the process died (%v) — the caller's recover could not catch the panic:\n%s", err, lines)
	}
}

// A write whose Txn outcome is unknown (the request timed out) is reported
// as ErrUnavailable, "nothing was changed" — and yet it may be committed.
func TestEtcdUnavailableButCommitted(t *testing.T) {
	p := storetest.NewPrefix()
	a := openEtcd(t, p)
	a.RawUpdate(func(tx store.KVTx) error { _, err := tx.CreateBucketIfNotExists([]byte("x")); return err })
	big := make([]byte, 200<<10)
	for try := 0; try < 40; try++ {
		d := time.Duration(1+try%8) * 500 * time.Microsecond
		a.SetEtcdTimeout(d)
		key := []byte(fmt.Sprintf("k%d", try))
		err := a.RawUpdate(func(tx store.KVTx) error {
			bk := tx.Bucket([]byte("x"))
			for j := 0; j < 10; j++ {
				bk.Put(append(key, byte(j)), big)
			}
			return nil
		})
		a.SetEtcdTimeout(5 * time.Second)
		if err == nil || !errors.Is(err, store.ErrUnavailable) {
			continue
		}
		time.Sleep(200 * time.Millisecond)
		var there bool
		if verr := a.RawView(func(tx store.KVTx) error { there = tx.Bucket([]byte("x")).Get(append(key, 0)) != nil; return nil }); verr != nil {
			t.Fatal(verr)
		}
		if there {
			t.Fatalf("timeout %v: the write returned %q, yet it is committed", d, err)
		}
	}
	t.Log("no ambiguous outcome hit in 40 tries")
}

// Goroutines after opening and closing engines.
func TestEtcdNoGoroutineLeak(t *testing.T) {
	c := storetest.SharedCluster(t)
	p := storetest.NewPrefix()
	open := func() *store.DB {
		db, err := store.OpenEtcd(store.EtcdConfig{Endpoints: c.Endpoints(), Prefix: p}, store.Options{AuditKey: []byte("k")})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	open().Close()
	time.Sleep(500 * time.Millisecond)
	before := runtime.NumGoroutine()
	for i := 0; i < 10; i++ {
		db := open()
		db.RawBatch(func(tx store.KVTx) error { _, err := tx.CreateBucketIfNotExists([]byte("x")); return err })
		db.Close()
	}
	time.Sleep(time.Second)
	if after := runtime.NumGoroutine(); after > before+5 {
		buf := make([]byte, 1<<16)
		n := runtime.Stack(buf, true)
		t.Fatalf("goroutines %d → %d\n%s", before, after, buf[:min(n, 3000)])
	}
}
