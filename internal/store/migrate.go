package store

import (
	"encoding/binary"
	"fmt"
)

// A migration moves the database from schema version i to i+1, where i is
// its index in the list. Migrations only ever run forward.
type migration struct {
	name string
	run  func(tx *Tx) error
	// batch, set instead of run, rewrites something too big for one
	// transaction: it does a bounded part of the work and is called again,
	// each time in a transaction of its own, until it reports done. The
	// file is marked as on its way to version i+1 from the first batch on,
	// so an older Gatehouse refuses a half-migrated file, and the next
	// Open goes on where a crash stopped it.
	batch func(tx *Tx) (done bool, err error)
}

// migrations is the history of the layout. Append; never edit or reorder.
var migrations = []migration{
	{"create the first layout", createBuckets(layout1), nil},
	{"add invitations and the mail outbox", createBuckets(layout2), nil},
	{"add sign-in throttling", createBuckets(layout3), nil},
	{"index the audit log and chain it", migrateAuditV2, nil},
	{"give each tenant its own pending invitations", migrateInvitationsV2, nil},
	{"add password reset links", createBuckets(layout6), nil},
	{"search users without regard to accents; sort by every column; count", migrateDirectoryV2, nil},
	{"find audit actors by name", migrateActorNames, nil},
	{"index the audit dictionary by trigram", migrateAuditGrams, nil},
	{"count the audit log's hours compactly", migrateAuditHoursV2, nil},
	{"encode the audit log compactly, listing each event once", nil, migrateAuditCompact},
	{"index the users list by trigram", migrateDirectorySearch, nil},
	{"count the active actors of each hour", migrateActiveHours, nil},
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

var (
	keySchema = []byte("schema")
	// keyMigrating is present while a batched migration is under way: the
	// schema version is then the one it is moving the file to.
	keyMigrating = []byte("migrating")
)

// migrating reports whether a batched migration is under way.
func migrating(tx kvTx) bool {
	b := tx.Bucket(bucketMeta)
	return b != nil && b.Get(keyMigrating) != nil
}

// schemaVersion is the database's layout version, 0 for a new file.
func schemaVersion(tx kvTx) (uint64, error) {
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

// migrate brings the database up to len(list), one transaction per step
// (or per batch of a batched step) so a crash leaves it at a whole
// version or a resumable batch. auditKey links the audit chain in the
// migration that introduces it.
func migrate(db *DB, list []migration, auditKey []byte) error {
	var current uint64
	var pending bool
	err := db.kvView(func(tx kvTx) (err error) {
		current, err = schemaVersion(tx)
		pending = migrating(tx)
		return err
	})
	if err != nil || current == uint64(len(list)) && !pending {
		return err // up to date: no write on open
	}
	for {
		var done bool
		err := db.kvUpdate(func(tx kvTx) error {
			var err error
			done, err = migrateStep(tx, list, auditKey)
			return err
		})
		if err != nil || done {
			return err
		}
	}
}

// migrateStep runs the next migration, or the next batch of one, in tx.
// It reports done when there is nothing left to run.
func migrateStep(tx kvTx, list []migration, auditKey []byte) (done bool, err error) {
	v, err := schemaVersion(tx)
	if err != nil {
		return false, err
	}
	if v > uint64(len(list)) {
		return false, fmt.Errorf("%w: the database has schema version %d, this Gatehouse knows up to %d; use a newer Gatehouse", ErrNewerSchema, v, len(list))
	}
	step := v // the migration to run: from version v to v+1
	if migrating(tx) {
		step = v - 1 // a batched one, under way
	} else if v == uint64(len(list)) {
		return true, nil
	}
	m := list[step]
	t := &Tx{tx: tx, auditKey: auditKey}
	finished := true
	if m.batch != nil {
		finished, err = m.batch(t)
	} else if m.run != nil {
		err = m.run(t)
	} else {
		err = fmt.Errorf("%w: a migration is marked under way where none is batched", ErrDamaged)
	}
	if err != nil {
		return false, fmt.Errorf("migration %d (%s): %w", step+1, m.name, err)
	}
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return false, err
	}
	if err := meta.Put(keySchema, u64(step+1)); err != nil {
		return false, err
	}
	if finished {
		return false, meta.Delete(keyMigrating)
	}
	return false, meta.Put(keyMigrating, []byte{})
}
