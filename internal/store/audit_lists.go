package store

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A list (a tenant's events, the events with one value of a field, the
// values with one trigram) is a run of blocks of ascending keys of one
// width under the list's prefix: a block's bbolt key is the prefix and its
// first key; its value, its later keys (at most blockMax-1) as differences
// from the key before, one varint per 8-byte word. An entry of a busy list
// costs a few bytes instead of a bbolt key of its own (16 bytes of header,
// the prefix and the key: 30 to 80 bytes). Event lists grow at their last
// block; a key that lands inside a full block splits it in two.

const blockMax = 64

// lists is a bucket of lists of keys width bytes long: event keys (16:
// time, then sequence) or string ids (8).
type lists struct {
	b     *bolt.Bucket
	width int
}

func (t *Tx) eventLists(name []byte) lists { return lists{t.b(name), 16} }
func (t *Tx) gramLists() lists             { return lists{t.b(bucketAuditGrams), 8} }

// blockKeys decodes a block of the list under prefix into its keys,
// oldest first.
func (l lists) blockKeys(prefix, bk, v []byte) ([][]byte, error) {
	keys := [][]byte{bk[len(prefix):]}
	prev := keys[0]
	for r := (bodyReader{b: v}); len(r.b) > 0; {
		k := make([]byte, l.width)
		binary.BigEndian.PutUint64(k, readU64(prev)+r.uvarint())
		for w := 8; w < l.width; w += 8 {
			binary.BigEndian.PutUint64(k[w:], readU64(prev[w:])+uint64(r.varint()))
		}
		if r.err != nil {
			return nil, fmt.Errorf("%w (list block %x is damaged)", ErrDamaged, bk)
		}
		if bytes.Compare(k, prev) <= 0 {
			return nil, fmt.Errorf("%w (list block %x is out of order)", ErrDamaged, bk)
		}
		keys, prev = append(keys, k), k
	}
	return keys, nil
}

// encodeBlock is a block's value: its keys after the first, as
// differences (the first word's never negative, keys ascending).
func (l lists) encodeBlock(keys [][]byte) []byte {
	b := []byte{}
	for i := 1; i < len(keys); i++ {
		b = binary.AppendUvarint(b, readU64(keys[i])-readU64(keys[i-1]))
		for w := 8; w < l.width; w += 8 {
			b = binary.AppendVarint(b, int64(readU64(keys[i][w:])-readU64(keys[i-1][w:])))
		}
	}
	return b
}

func (l lists) isBlock(prefix, bk []byte) bool {
	return len(bk) == len(prefix)+l.width && bytes.HasPrefix(bk, prefix)
}

// blockFor positions a cursor on the block of the list where k is or
// belongs: the last whose first key is at most k, or else the list's
// first block. It returns nil for an empty list.
func (l lists) blockFor(c *bolt.Cursor, prefix, k []byte) (bk, v []byte) {
	at := join(prefix, k)
	bk, v = c.Seek(at)
	if bytes.Equal(bk, at) {
		return bk, v
	}
	if bk == nil {
		bk, v = c.Last()
	} else {
		bk, v = c.Prev()
	}
	if l.isBlock(prefix, bk) {
		return bk, v
	}
	if bk, v = c.Seek(prefix); l.isBlock(prefix, bk) {
		return bk, v
	}
	return nil, nil
}

// add puts k into the list under prefix (at its end, for event lists).
func (l lists) add(prefix, k []byte) error {
	bk, v := l.blockFor(l.b.Cursor(), prefix, k)
	if bk == nil {
		return l.b.Put(join(prefix, k), []byte{})
	}
	bk = bytes.Clone(bk)
	keys, err := l.blockKeys(prefix, bk, v)
	if err != nil {
		return err
	}
	at := 0
	for at < len(keys) && bytes.Compare(keys[at], k) < 0 {
		at++
	}
	if at < len(keys) && bytes.Equal(keys[at], k) {
		return fmt.Errorf("%w (key %x is already in list %x)", ErrDamaged, k, prefix)
	}
	keys = append(keys[:at:at], append([][]byte{bytes.Clone(k)}, keys[at:]...)...)
	switch {
	case len(keys) <= blockMax:
		return l.putBlocks(prefix, bk, keys)
	case at == len(keys)-1: // appended to a full block: start the next
		return l.b.Put(join(prefix, k), []byte{})
	default:
		return l.putBlocks(prefix, bk, keys[:len(keys)/2], keys[len(keys)/2:])
	}
}

// putBlocks replaces the block at bk with blocks of the given keys.
func (l lists) putBlocks(prefix, bk []byte, blocks ...[][]byte) error {
	if !bytes.Equal(bk[len(prefix):], blocks[0][0]) {
		if err := l.b.Delete(bk); err != nil {
			return err
		}
	}
	for _, keys := range blocks {
		if err := l.b.Put(join(prefix, keys[0]), l.encodeBlock(keys)); err != nil {
			return err
		}
	}
	return nil
}

// remove takes k out of the list under prefix.
func (l lists) remove(prefix, k []byte) error {
	bk, v := l.blockFor(l.b.Cursor(), prefix, k)
	if bk == nil {
		return fmt.Errorf("%w (key %x is not in list %x)", ErrDamaged, k, prefix)
	}
	bk = bytes.Clone(bk)
	keys, err := l.blockKeys(prefix, bk, v)
	if err != nil {
		return err
	}
	at := -1
	for i, key := range keys {
		if bytes.Equal(key, k) {
			at = i
		}
	}
	if at < 0 {
		return fmt.Errorf("%w (key %x is not in list %x)", ErrDamaged, k, prefix)
	}
	keys = append(keys[:at:at], keys[at+1:]...)
	if len(keys) == 0 {
		return l.b.Delete(bk)
	}
	return l.putBlocks(prefix, bk, keys)
}

// keyIter walks event keys newest first.
type keyIter interface {
	key() []byte // the current key; nil when done
	next()
	failed() error // why the walk stopped early, if it did
}

// listIter walks a list's keys before a start key, newest first.
type listIter struct {
	l      lists
	c      *bolt.Cursor
	prefix []byte
	keys   [][]byte // the current block's keys, oldest first
	i      int      // the current key's index; -1 when done
	err    error
}

func (l lists) iter(prefix, start []byte) *listIter {
	it := &listIter{l: l, c: l.b.Cursor(), prefix: prefix}
	bk, v := it.c.Seek(join(prefix, start))
	if bk == nil {
		bk, v = it.c.Last()
	} else {
		bk, v = it.c.Prev()
	}
	it.load(bk, v)
	for it.i >= 0 && bytes.Compare(it.keys[it.i], start) >= 0 {
		it.i--
	}
	return it
}

func (it *listIter) load(bk, v []byte) {
	it.keys, it.i = nil, -1
	if !it.l.isBlock(it.prefix, bk) {
		return
	}
	if it.keys, it.err = it.l.blockKeys(it.prefix, bk, v); it.err == nil {
		it.i = len(it.keys) - 1
	}
}

func (it *listIter) key() []byte {
	if it.i < 0 {
		return nil
	}
	return it.keys[it.i]
}

func (it *listIter) next() {
	if it.i--; it.i < 0 && it.keys != nil {
		it.load(it.c.Prev())
	}
}

func (it *listIter) failed() error { return it.err }

// logIter walks the whole log's keys before a start key, newest first:
// the list of every tenant is the log itself.
type logIter struct {
	c *bolt.Cursor
	k []byte
}

func newLogIter(b *bolt.Bucket, start []byte) *logIter {
	it := &logIter{c: b.Cursor()}
	if k, _ := it.c.Seek(start); k == nil {
		it.k, _ = it.c.Last()
	} else {
		it.k, _ = it.c.Prev()
	}
	return it
}

func (it *logIter) key() []byte   { return it.k }
func (it *logIter) next()         { it.k, _ = it.c.Prev() }
func (it *logIter) failed() error { return nil }

// tenantIter walks tenant's events (0: every event) before start.
func (t *Tx) tenantIter(tenant uint64, start []byte) keyIter {
	if tenant == 0 {
		return newLogIter(t.b(bucketAudit), start)
	}
	return t.eventLists(bucketAuditTenant).iter(u64(tenant), start)
}

// logTenants are the tenants whose lists the view of every tenant merges:
// each tenant with a list of events, and 0 (events of no tenant).
func (t *Tx) logTenants() []uint64 {
	out := []uint64{0}
	c := t.b(bucketAuditTenant).Cursor()
	for k, _ := c.Seek(u64(1)); len(k) >= 8; k, _ = c.Seek(u64(readU64(k) + 1)) {
		out = append(out, readU64(k))
		if readU64(k) == ^uint64(0) {
			break
		}
	}
	return out
}

// valueIters walks the events of tenant (0: every tenant, one list per
// tenant that has the value: see logTenants) with value v in field f,
// before start.
func (t *Tx) valueIters(tenant uint64, tenants []uint64, f byte, v string, start []byte) []keyIter {
	by := t.eventLists(bucketAuditBy)
	if tenant != 0 {
		return []keyIter{by.iter(byPrefix(tenant, f, v), start)}
	}
	var its []keyIter
	for _, tn := range tenants {
		// The dictionary counts each tenant's values (tenant 0's count is
		// every tenant's, so its own list is always looked at).
		if tn == 0 || t.HasValue(tn, f, v) {
			its = append(its, by.iter(byPrefix(tn, f, v), start))
		}
	}
	return its
}
