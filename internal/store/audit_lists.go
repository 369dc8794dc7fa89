package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// A list (a tenant's events, the events with one value of a field, the
// values with one trigram) is a run of blocks of ascending keys of one
// width under the list's prefix: a block's bbolt key is the prefix and its
// first key; its value, its later keys (at most blockMax-1) as differences
// from the key before, one varint per 8-byte word. An entry of a busy list
// costs a few bytes instead of a bbolt key of its own (16 bytes of header,
// the prefix and the key: 30 to 80 bytes). Event lists grow at their last
// block; a key that lands inside a full block splits it in two.
//
// Each event is listed once per value, in the value's one list for every
// tenant, its entry tagged with its tenant (the event key, then the
// tenant: 24 bytes, the tenant's difference a byte): the view of every
// tenant reads one list per value, and a tenant's view skips the other
// tenants' entries as it decodes them, a few nanoseconds each. Per-tenant
// lists instead made the view of every tenant merge a list per tenant and
// value: a term matching 500 values took 36 ms instead of 8 (see README).
// A tenant's own events have a list of their own (audit_tenant_v2); every
// tenant's are the log itself.

const blockMax = 64

// lists is a bucket of lists of keys width bytes long: event keys (16:
// time, then sequence), tagged with their tenant (24), or string ids (8).
type lists struct {
	b     kvBucket
	width int
}

func (t *Tx) tenantLists() lists { return lists{t.b(bucketAuditTenant), 16} }
func (t *Tx) valueLists() lists  { return lists{t.b(bucketAuditBy), 24} }
func (t *Tx) gramLists() lists   { return lists{t.b(bucketAuditGrams), 8} }

// valuePrefix is the prefix of the list of the events with value v in
// field f.
func valuePrefix(f byte, v string) []byte {
	b := binary.AppendUvarint([]byte{f}, uint64(len(v)))
	return append(b, v...)
}

// valueEntry is an event's entry in a value's list: its key and tenant.
func valueEntry(key []byte, tenant uint64) []byte { return join(key, u64(tenant)) }

// blockKeys decodes a block of the list under prefix into its keys,
// oldest first (one allocation for them all: a merge decodes hundreds of
// blocks).
func (l lists) blockKeys(prefix, bk, v []byte) ([][]byte, error) {
	buf := make([]byte, l.width, l.width*(1+len(v)/2)) // an entry takes at least 2 bytes
	copy(buf, bk[len(prefix):])
	n := 1
	for r := (bodyReader{b: v}); len(r.b) > 0; n++ {
		prev := buf[len(buf)-l.width:]
		at := len(buf)
		buf = binary.BigEndian.AppendUint64(buf, readU64(prev)+r.uvarint())
		for w := 8; w < l.width; w += 8 {
			buf = binary.BigEndian.AppendUint64(buf, readU64(buf[at-l.width+w:])+uint64(r.varint()))
		}
		if r.err != nil {
			return nil, fmt.Errorf("%w (list block %x is damaged)", ErrDamaged, bk)
		}
		if bytes.Compare(buf[at:], buf[at-l.width:at]) <= 0 {
			return nil, fmt.Errorf("%w (list block %x is out of order)", ErrDamaged, bk)
		}
	}
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = buf[i*l.width : (i+1)*l.width : (i+1)*l.width]
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
func (l lists) blockFor(c kvCursor, prefix, k []byte) (bk, v []byte) {
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
	key() []byte   // the current key; nil when done
	value() []byte // the current event, when the walk reads the log itself; else nil
	next()
	failed() error // why the walk stopped early, if it did
}

// listIter walks a list's keys before a start key, newest first.
type listIter struct {
	l      lists
	c      kvCursor
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

func (it *listIter) value() []byte { return nil }
func (it *listIter) failed() error { return it.err }

// logIter walks the whole log's keys before a start key, newest first:
// the list of every tenant is the log itself.
type logIter struct {
	c    kvCursor
	k, v []byte
}

func newLogIter(b kvBucket, start []byte) *logIter {
	it := &logIter{c: b.Cursor()}
	if k, _ := it.c.Seek(start); k == nil {
		it.k, it.v = it.c.Last()
	} else {
		it.k, it.v = it.c.Prev()
	}
	return it
}

func (it *logIter) key() []byte   { return it.k }
func (it *logIter) value() []byte { return it.v }
func (it *logIter) next()         { it.k, it.v = it.c.Prev() }
func (it *logIter) failed() error { return nil }

// tenantIter walks tenant's events (0: every event) before start.
func (t *Tx) tenantIter(tenant uint64, start []byte) keyIter {
	if tenant == 0 {
		return newLogIter(t.b(bucketAudit), start)
	}
	return t.tenantLists().iter(u64(tenant), start)
}

// valueIter walks the events of tenant (0: every tenant) with value v in
// field f, before start.
func (by lists) valueIter(tenant uint64, f byte, v string, start []byte) keyIter {
	it := &tenantEntries{by.iter(valuePrefix(f, v), valueEntry(start, 0)), tenant}
	it.skip()
	return it
}

// tenantEntries walks a value's list as event keys, skipping the entries
// of tenants other than tenant (unless it is 0).
type tenantEntries struct {
	it     *listIter
	tenant uint64
}

func (e *tenantEntries) skip() {
	for e.tenant != 0 && e.it.key() != nil && readU64(e.it.key()[16:]) != e.tenant {
		e.it.next()
	}
}

func (e *tenantEntries) key() []byte {
	if k := e.it.key(); k != nil {
		return k[:16]
	}
	return nil
}

func (e *tenantEntries) value() []byte { return nil }
func (e *tenantEntries) next()         { e.it.next(); e.skip() }
func (e *tenantEntries) failed() error { return e.it.failed() }
