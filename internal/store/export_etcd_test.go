package store

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// Hooks for the engine tests (etcd_*_test.go): raw key-value access to
// either engine, the etcd engine's timeout and its copy's commit.

type KVTx = kvTx
type KVBucket = kvBucket
type KVCursor = kvCursor

func (db *DB) RawView(fn func(KVTx) error) error   { return db.kvView(fn) }
func (db *DB) RawUpdate(fn func(KVTx) error) error { return db.kvUpdate(fn) }
func (db *DB) RawBatch(fn func(KVTx) error) error {
	if db.etcd != nil {
		return db.etcd.batch(fn)
	}
	return db.bolt.Batch(func(btx *bolt.Tx) error { return fn(boltTx{btx}) })
}
func (db *DB) SetEtcdTimeout(d time.Duration) { db.etcd.timeout = d }
func (db *DB) EtcdReplicaCommit() int64 {
	db.etcd.mu.Lock()
	defer db.etcd.mu.Unlock()
	return db.etcd.commitMod
}
