package store

import (
	"os"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func TestTmpBucketStats(t *testing.T) {
	path := os.Getenv("TMPDBFILE")
	if path == "" {
		t.Skip()
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.View(func(tx *bolt.Tx) error {
		var alloc, inuse int
		tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			st := bk.Stats()
			a, u := st.BranchAlloc+st.LeafAlloc, st.BranchInuse+st.LeafInuse
			alloc, inuse = alloc+a, inuse+u
			if a > 10<<20 {
				t.Logf("%-18s alloc %6.0f MiB used %6.0f MiB keys %d", name, float64(a)/(1<<20), float64(u)/(1<<20), st.KeyN)
			}
			return nil
		})
		st := tx.DB().Stats()
		t.Logf("all buckets: alloc %.0f MiB used %.0f MiB; free pages %d (%.0f MiB); file %.0f MiB", float64(alloc)/(1<<20), float64(inuse)/(1<<20), st.FreePageN, float64(st.FreePageN*4096)/(1<<20), float64(tx.Size())/(1<<20))
		return nil
	})
}
