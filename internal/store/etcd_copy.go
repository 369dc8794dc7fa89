package store

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Copies between the engines: a cluster's database written out as a
// normal bbolt file (backups: restore, audit verify and the desktop app
// read it), and a data folder's file copied into an empty prefix
// (gatehouse migrate).

// copyBatch is how many keys one bbolt transaction of a copy writes.
const copyBatch = 50_000

// writeBoltCopy writes the cluster's database, as one snapshot holds it,
// to a new bbolt file at path.
func (e *etcdEngine) writeBoltCopy(path string) error {
	tree, _, _, err := e.snapshot()
	if err != nil {
		return err
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	defer b.Close()
	tx := &etcdTx{tree: tree}
	var names [][]byte
	tree.AscendGreaterOrEqual(kvItem{key: []byte("b")}, func(it kvItem) bool {
		if it.key[0] != 'b' {
			return false
		}
		names = append(names, it.key[1:])
		return true
	})
	for _, name := range names {
		src := tx.Bucket(name)
		var pending []kvItem
		flush := func() error {
			err := b.Update(func(btx *bolt.Tx) error {
				dst, err := btx.CreateBucketIfNotExists(name)
				if err != nil {
					return err
				}
				dst.FillPercent = 1.0 // written in key order
				for _, it := range pending {
					if err := dst.Put(it.key, it.val); err != nil {
						return err
					}
				}
				return dst.SetSequence(src.Sequence())
			})
			pending = pending[:0]
			return err
		}
		err := src.ForEach(func(k, v []byte) error {
			pending = append(pending, kvItem{k, v})
			if len(pending) == copyBatch {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return fmt.Errorf("copy of bucket %s: %w", name, err)
		}
	}
	return b.Sync()
}

// etcdSnapshot is Snapshot for a cluster: the copy is written to a
// temporary file first, then streamed.
func (db *DB) etcdSnapshot(progress func(done, total int64), fn func(size int64, content io.WriterTo) error) error {
	dir, err := os.MkdirTemp("", "gatehouse-snapshot-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, FileName)
	if err := db.etcd.writeBoltCopy(path); err != nil {
		return err
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer b.Close()
	return b.View(func(tx *bolt.Tx) error {
		return fn(tx.Size(), snapshotContent{tx: tx, progress: progress})
	})
}

// ErrNotEmpty: a copy into a cluster found Gatehouse keys there already.
var ErrNotEmpty = fmt.Errorf("the etcd prefix already holds a Gatehouse database")

// CopyToEtcd copies the database of a data folder (opened, so migrated to
// this version) into an empty prefix of a cluster, in transactions of at
// most a few thousand keys; the cluster's commit key, written last, makes
// the copy visible to Gatehouse nodes, which refuse a prefix that holds
// keys but no commit (a copy cut short: delete the prefix and copy again).
func CopyToEtcd(src *DB, cfg EtcdConfig, progress func(copied int)) error {
	if src.bolt == nil {
		return fmt.Errorf("copy to etcd: the source must be a data folder")
	}
	e, err := openEtcdEngine(cfg, false)
	if err != nil {
		return err
	}
	defer e.close()
	e.mu.Lock()
	empty := e.tree.Len() == 0
	e.mu.Unlock()
	if !empty {
		return fmt.Errorf("%w (%s): choose another prefix, or delete that one first", ErrNotEmpty, e.prefix)
	}
	const perTxn = 2000
	copied := 0
	var ops []kvItem
	send := func() error {
		if len(ops) == 0 {
			return nil
		}
		tx := &etcdTx{tree: newTree(), writable: true, ops: map[string]*kvOp{}}
		for _, it := range ops {
			tx.ops[string(it.key)] = &kvOp{val: it.val}
		}
		if err := e.put(tx); err != nil {
			return err
		}
		copied += len(ops)
		if progress != nil {
			progress(copied)
		}
		ops = ops[:0]
		return nil
	}
	err = src.bolt.View(func(btx *bolt.Tx) error {
		return btx.ForEach(func(name []byte, b *bolt.Bucket) error {
			ops = append(ops, kvItem{bucketMark(name), []byte{}}, kvItem{bucketSeq(name), u64(b.Sequence())})
			prefix := bucketData(name)
			return b.ForEach(func(k, v []byte) error {
				ops = append(ops, kvItem{append(bytes.Clone(prefix), k...), bytes.Clone(v)})
				if len(ops) >= perTxn {
					return send()
				}
				return nil
			})
		})
	})
	if err == nil {
		err = send()
	}
	if err != nil {
		return fmt.Errorf("copy to etcd: %w (%d keys copied; delete the prefix %s before trying again)", err, copied, e.prefix)
	}
	// The commit key last: from now on the copy is a database.
	ctx, cancel := e.ctx()
	defer cancel()
	resp, err := e.cli.Txn(ctx).If(clientv3.Compare(clientv3.Version(e.prefix+"c"), "=", 0)).
		Then(clientv3.OpPut(e.prefix+"c", string(u64(1)))).Commit()
	if err != nil {
		return unavailable(err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("another writer used the prefix %s during the copy", e.prefix)
	}
	return nil
}

// put writes tx's keys without ordering them after any commit (a copy into
// a prefix no node uses yet).
func (e *etcdEngine) put(tx *etcdTx) error {
	ops := make([]clientv3.Op, 0, len(tx.ops))
	for k, op := range tx.ops {
		ops = append(ops, clientv3.OpPut(e.prefix+k, string(op.val)))
	}
	ctx, cancel := e.ctx()
	defer cancel()
	// Only while no node has made a database here: a node started on the
	// prefix during the copy stops it rather than have its keys overwritten.
	resp, err := e.cli.Txn(ctx).If(clientv3.Compare(clientv3.Version(e.prefix+"c"), "=", 0)).Then(ops...).Commit()
	if err != nil {
		return txnError(err, len(ops))
	}
	if !resp.Succeeded {
		return fmt.Errorf("a Gatehouse node started on the prefix %s during the copy", e.prefix)
	}
	return nil
}
