package store_test

import (
	"fmt"
	"sync"
	"testing"

	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

// Each call fits in one etcd Txn (--max-txn-ops 16384 in the test
// cluster), but a group of them does not: Batch commits the group as one
// Txn and every call of it fails, where bbolt would commit them all.
func TestEtcdGroupTooLargeFailsEveryCall(t *testing.T) {
	a := openEtcd(t, storetest.NewPrefix())
	a.RawUpdate(func(tx store.KVTx) error { _, err := tx.CreateBucketIfNotExists([]byte("x")); return err })
	// Alone, one call of 400 keys commits.
	if err := a.RawUpdate(func(tx store.KVTx) error {
		for j := 0; j < 400; j++ {
			tx.Bucket([]byte("x")).Put([]byte(fmt.Sprintf("solo-%d", j)), []byte("v"))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	var first error
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := a.RawBatch(func(tx store.KVTx) error {
				for j := 0; j < 400; j++ {
					if err := tx.Bucket([]byte("x")).Put([]byte(fmt.Sprintf("%d-%d", i, j)), []byte("v")); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				mu.Lock()
				failed++
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if failed > 0 {
		t.Fatalf("%d of 64 calls failed, each 400 keys (alone they commit): %.200v", failed, first)
	}
}
