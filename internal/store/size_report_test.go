package store

import (
	"os"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestBucketSizes reports, for the README, the space each big bucket of a
// database takes (allocated and used) and the file's size. It reads the
// file named by GATEHOUSE_SIZE_DB, read-only, and is skipped without it:
//
//	GATEHOUSE_SIZE_DB=$TMPDIR/gatehouse-bench-office/gatehouse.db go test ./internal/store -run TestBucketSizes -v
func TestBucketSizes(t *testing.T) {
	path := os.Getenv("GATEHOUSE_SIZE_DB")
	if path == "" {
		t.Skip("set GATEHOUSE_SIZE_DB to a gatehouse.db to report its buckets' sizes")
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const mib = 1 << 20
	b.View(func(tx *bolt.Tx) error {
		var alloc, used int
		tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			st := bk.Stats()
			a, u := st.BranchAlloc+st.LeafAlloc, st.BranchInuse+st.LeafInuse
			alloc, used = alloc+a, used+u
			if a > mib {
				t.Logf("%-18s %5d MiB allocated, %5d MiB used, %d keys", name, a/mib, u/mib, st.KeyN)
			}
			return nil
		})
		t.Logf("every bucket: %d MiB allocated, %d MiB used; file %d MiB", alloc/mib, used/mib, tx.Size()/mib)
		return nil
	})
}
