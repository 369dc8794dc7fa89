package store

import (
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The audit log's buckets that only grow at their ends are packed
// (bbolt's default split leaves every page half empty for good), and its
// lists cost a few bytes per event.
func TestAuditBucketsArePacked(t *testing.T) {
	db := openAudit(t)
	for batch := 0; batch < 10; batch++ {
		err := db.Update(func(tx *Tx) error {
			for i := 0; i < 500; i++ {
				n := batch*500 + i
				e := &Event{Time: t0.Add(time.Duration(n) * time.Second), ActorEmail: fmt.Sprintf("u%d@kw.uk", n%40), Action: "update",
					ResourceType: "user", IP: fmt.Sprintf("10.0.%d.%d", n%7, n%250), TenantID: uint64(1 + n%3), Meta: []byte(`{"after":{"name":"New name"}}`)}
				if err := tx.AppendEvent(e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	db.bolt.View(func(btx *bolt.Tx) error {
		// Events and string ids are appended at the bucket's end; the
		// tenants' lists grow at their own ends (a page between two of them
		// is left part full); the values' lists grow all over theirs.
		for name, min := range map[string]float64{string(bucketAudit): 0.9, string(bucketAuditStringIDs): 0.9, string(bucketAuditTenant): 0.6, string(bucketAuditBy): 0.5} {
			st := btx.Bucket([]byte(name)).Stats()
			if used := float64(st.LeafInuse) / float64(st.LeafAlloc); used < min {
				t.Errorf("%s: leaf pages %.0f%% used, want at least %.0f%%", name, 100*used, 100*min)
			}
		}
		// A listed event costs a few bytes in a busy list, not a bbolt key
		// of its own (16 bytes of header, the list's prefix and the event's
		// key: about 50 here, twice over before layout 11). Most addresses
		// here have one event per tenant, so their lists are one block.
		st := btx.Bucket(bucketAuditBy).Stats()
		if perEntry := float64(st.LeafInuse) / (5000 * 4); perEntry > 24 {
			t.Errorf("the values' lists take %.1f bytes per listed event, want at most 24", perEntry)
		}
		return nil
	})
}
