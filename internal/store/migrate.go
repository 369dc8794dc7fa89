package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A migration moves the database from schema version i to i+1, where i is
// its index in the list. Migrations only ever run forward.
type migration struct {
	name string
	run  func(tx *bolt.Tx) error
}

// migrations is the history of the layout. Append; never edit or reorder.
var migrations = []migration{
	{"create the first layout", createBuckets(layout1)},
	{"add invitations and the mail outbox", createBuckets(layout2)},
	{"add sign-in throttling", createBuckets(layout3)},
	{"index the audit log and chain it", migrateAuditV2},
	{"give each tenant its own pending invitations", migrateInvitationsV2},
	{"add password reset links", createBuckets(layout6)},
}

func createBuckets(names [][]byte) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		for _, b := range names {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}
}

// SchemaVersion is the layout version this build writes.
func SchemaVersion() uint64 { return uint64(len(migrations)) }

var keySchema = []byte("schema")

func schemaVersion(tx *bolt.Tx) uint64 {
	b := tx.Bucket(bucketMeta)
	if b == nil {
		return 0
	}
	v := b.Get(keySchema)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// migrate brings the database up to len(list), one transaction per step so
// a crash leaves it at a whole version.
func migrate(db *bolt.DB, list []migration) error {
	var current uint64
	db.View(func(tx *bolt.Tx) error { current = schemaVersion(tx); return nil })
	if current == uint64(len(list)) {
		return nil // up to date: no write on open
	}
	for {
		var done bool
		err := db.Update(func(tx *bolt.Tx) error {
			v := schemaVersion(tx)
			if v > uint64(len(list)) {
				return fmt.Errorf("%w: the database has schema version %d, this Gatehouse knows up to %d; use a newer Gatehouse", ErrNewerSchema, v, len(list))
			}
			if v == uint64(len(list)) {
				done = true
				return nil
			}
			if err := list[v].run(tx); err != nil {
				return fmt.Errorf("migration %d (%s): %w", v+1, list[v].name, err)
			}
			meta, err := tx.CreateBucketIfNotExists(bucketMeta)
			if err != nil {
				return err
			}
			return meta.Put(keySchema, u64(v+1))
		})
		if err != nil || done {
			return err
		}
	}
}
