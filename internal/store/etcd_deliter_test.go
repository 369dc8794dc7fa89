package store_test

import (
	"fmt"
	"testing"

	"gatehouse/internal/store"
)

// Deleting the current key (bucket.Delete) while walking with a cursor.
func TestEtcdDeleteWhileIterating(t *testing.T) {
	bdb, edb := openPair(t)
	for _, db := range []*store.DB{bdb, edb} {
		var visited, left int
		db.RawUpdate(func(tx store.KVTx) error {
			b, _ := tx.CreateBucketIfNotExists([]byte("del"))
			for i := 0; i < 2000; i++ {
				b.Put([]byte(fmt.Sprintf("%05d", i)), []byte("v"))
			}
			return nil
		})
		db.RawUpdate(func(tx store.KVTx) error {
			b := tx.Bucket([]byte("del"))
			c := b.Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				visited++
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			left = b.KeyN()
			n := 0
			b.ForEach(func(_, _ []byte) error { n++; return nil })
			t.Logf("%s: ForEach counts %d in the tx", db.Engine(), n)
			return nil
		})
		db.RawView(func(tx store.KVTx) error {
			t.Logf("%s: after commit KeyN %d", db.Engine(), tx.Bucket([]byte("del")).KeyN())
			return nil
		})
		t.Logf("%s: visited %d of 2000, %d left", db.Engine(), visited, left)
	}
}
