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
	run  func(tx *Tx) error
}

// migrations is the history of the layout. Append; never edit or reorder.
var migrations = []migration{
	{"create the first layout", createBuckets(layout1)},
	{"add invitations and the mail outbox", createBuckets(layout2)},
	{"add sign-in throttling", createBuckets(layout3)},
	{"index the audit log and chain it", migrateAuditV2},
	{"give each tenant its own pending invitations", migrateInvitationsV2},
	{"add password reset links", createBuckets(layout6)},
	{"search users without regard to accents; sort by every column; count", migrateDirectoryV2},
	{"find audit actors by name", migrateActorNames},
	{"index the audit dictionary by trigram", migrateAuditGrams},
	{"count the audit log's hours compactly", migrateAuditHoursV2},
}

func createBuckets(names [][]byte) func(tx *Tx) error {
	return func(tx *Tx) error {
		for _, b := range names {
			if _, err := tx.tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	}
}

// SchemaVersion is the layout version this build writes.
func SchemaVersion() uint64 { return uint64(len(migrations)) }

var keySchema = []byte("schema")

// schemaVersion is the database's layout version, 0 for a new file.
func schemaVersion(tx *bolt.Tx) (uint64, error) {
	b := tx.Bucket(bucketMeta)
	if b == nil {
		return 0, nil
	}
	v := b.Get(keySchema)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: its schema version record is %d bytes long", ErrDamaged, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// migrate brings the database up to len(list), one transaction per step so
// a crash leaves it at a whole version. auditKey links the audit chain in
// the migration that introduces it.
func migrate(db *bolt.DB, list []migration, auditKey []byte) error {
	var current uint64
	err := db.View(func(tx *bolt.Tx) (err error) { current, err = schemaVersion(tx); return err })
	if err != nil || current == uint64(len(list)) {
		return err // up to date: no write on open
	}
	for {
		var done bool
		err := db.Update(func(tx *bolt.Tx) error {
			v, err := schemaVersion(tx)
			if err != nil {
				return err
			}
			if v > uint64(len(list)) {
				return fmt.Errorf("%w: the database has schema version %d, this Gatehouse knows up to %d; use a newer Gatehouse", ErrNewerSchema, v, len(list))
			}
			if v == uint64(len(list)) {
				done = true
				return nil
			}
			if err := list[v].run(&Tx{tx: tx, auditKey: auditKey}); err != nil {
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
