package store

import (
	bolt "go.etcd.io/bbolt"
)

// The store's queries run over a small ordered key-value interface with
// two engines below it: bbolt (the data folder's file, the default) and
// etcd (several nodes over one cluster; etcd.go). Buckets are named key
// spaces; keys sort bytewise; a cursor seeks and walks both ways; each
// bucket has a sequence. Nothing above the store knows which engine runs.
//
// Slices returned by Get and cursors are valid until the transaction
// ends and must not be changed, as with bbolt.

// kvTx is one transaction of an engine.
type kvTx interface {
	// Bucket returns the named bucket, or nil (an untyped nil) if there is
	// none.
	Bucket(name []byte) kvBucket
	CreateBucketIfNotExists(name []byte) (kvBucket, error)
	DeleteBucket(name []byte) error
	Writable() bool
}

// kvBucket is one bucket of a transaction.
type kvBucket interface {
	Get(key []byte) []byte
	Put(key, value []byte) error
	Delete(key []byte) error
	Cursor() kvCursor
	// ForEach calls fn for every key in order; fn must not change the
	// bucket.
	ForEach(fn func(k, v []byte) error) error
	NextSequence() (uint64, error)
	Sequence() uint64
	SetSequence(v uint64) error
	// KeyN is how many keys the bucket holds (it may walk them all).
	KeyN() int
	// SetFillPercent tells an engine that packs pages how full to pack
	// this bucket's in this transaction (bbolt); others ignore it.
	SetFillPercent(f float64)
}

// kvCursor walks a bucket in key order. Every move returns the key and
// value it lands on, or nil, nil past either end.
type kvCursor interface {
	First() (key, value []byte)
	Last() (key, value []byte)
	Next() (key, value []byte)
	Prev() (key, value []byte)
	// Seek moves to the first key at or after seek.
	Seek(seek []byte) (key, value []byte)
}

// The bbolt engine: thin wrappers, each a single pointer, so that wrapping
// allocates nothing.

type boltTx struct{ tx *bolt.Tx }

func (t boltTx) Bucket(name []byte) kvBucket {
	if b := t.tx.Bucket(name); b != nil {
		return boltBucket{b}
	}
	return nil
}

func (t boltTx) CreateBucketIfNotExists(name []byte) (kvBucket, error) {
	b, err := t.tx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, err
	}
	return boltBucket{b}, nil
}

func (t boltTx) DeleteBucket(name []byte) error { return t.tx.DeleteBucket(name) }
func (t boltTx) Writable() bool                 { return t.tx.Writable() }

type boltBucket struct{ b *bolt.Bucket }

func (b boltBucket) Get(key []byte) []byte                    { return b.b.Get(key) }
func (b boltBucket) Put(key, value []byte) error              { return b.b.Put(key, value) }
func (b boltBucket) Delete(key []byte) error                  { return b.b.Delete(key) }
func (b boltBucket) Cursor() kvCursor                         { return boltCursor{b.b.Cursor()} }
func (b boltBucket) ForEach(fn func(k, v []byte) error) error { return b.b.ForEach(fn) }
func (b boltBucket) NextSequence() (uint64, error)            { return b.b.NextSequence() }
func (b boltBucket) Sequence() uint64                         { return b.b.Sequence() }
func (b boltBucket) SetSequence(v uint64) error               { return b.b.SetSequence(v) }
func (b boltBucket) KeyN() int                                { return b.b.Stats().KeyN }
func (b boltBucket) SetFillPercent(f float64)                 { b.b.FillPercent = f }

type boltCursor struct{ c *bolt.Cursor }

func (c boltCursor) First() ([]byte, []byte)           { return c.c.First() }
func (c boltCursor) Last() ([]byte, []byte)            { return c.c.Last() }
func (c boltCursor) Next() ([]byte, []byte)            { return c.c.Next() }
func (c boltCursor) Prev() ([]byte, []byte)            { return c.c.Prev() }
func (c boltCursor) Seek(seek []byte) ([]byte, []byte) { return c.c.Seek(seek) }
