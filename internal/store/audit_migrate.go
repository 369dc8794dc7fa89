package store

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// migrateBatch is how many events migration 11 moves per transaction:
// enough to amortize a commit, few enough that the pages one transaction
// dirties stay a few tens of megabytes whatever the log's size.
var migrateBatch = 10_000

// migrateAuditCompact (migration 11) re-encodes layout 4–10's audit log a
// batch per transaction: first the events (moveEvents), then the trigram
// index (indexGramsFrom), and when both are done, drops what they replace.
// Each batch leaves the file resumable: a crash goes on where it stopped.
// The counters, hours and dictionary do not change.
func migrateAuditCompact(t *Tx) (done bool, err error) {
	if err := createBuckets(layout11)(t); err != nil {
		return false, err
	}
	if done, err := t.moveEvents(); !done || err != nil {
		return false, err
	}
	if done, err := t.indexGramsFrom(); !done || err != nil {
		return false, err
	}
	for _, name := range [][]byte{bucketAuditV2, bucketAuditSumV1, bucketAuditTenantV1, bucketAuditByV1, bucketAuditGramsV1, bucketAuditGramNV1} {
		if t.tx.Bucket(name) != nil {
			if err := t.tx.DeleteBucket(name); err != nil {
				return false, err
			}
		}
	}
	return true, t.b(bucketMeta).Delete(keyGramsFrom)
}

// moveEvents moves the oldest batch of events of the old log (audit_v2)
// into the compact one (audit_v3), in key order: each keeps its key and
// hash, is re-encoded when that is exact (see moveEvent), and is listed
// once, under its tenant. What it moved leaves the old log (and its
// summaries) in the same transaction, so the file grows by a batch at
// most. It reports done when the old log is empty.
func (t *Tx) moveEvents() (done bool, err error) {
	old := t.tx.Bucket(bucketAuditV2)
	if old == nil {
		return true, nil
	}
	events, sums := t.b(bucketAudit), t.tx.Bucket(bucketAuditSumV1)
	if events.Sequence() < old.Sequence() {
		// Ids go on from the old log's (keys end with them).
		if err := events.SetSequence(old.Sequence()); err != nil {
			return false, err
		}
	}
	var moved [][]byte
	c := old.Cursor()
	for k, v := c.First(); k != nil && len(moved) < migrateBatch; k, v = c.Next() {
		payload, e, err := t.moveEvent(k, v)
		if err != nil {
			return false, err
		}
		if err := events.Put(bytes.Clone(k), payload); err != nil {
			return false, err
		}
		if err := t.listEvent(&e, k); err != nil {
			return false, err
		}
		moved = append(moved, bytes.Clone(k))
	}
	for _, k := range moved { // bbolt forbids deleting under a live cursor
		if err := old.Delete(k); err != nil {
			return false, err
		}
		if sums != nil {
			if err := sums.Delete(k); err != nil {
				return false, err
			}
		}
	}
	return len(moved) == 0, nil
}

// keyGramsFrom is, while migration 11 builds the trigram index, the
// dictionary key it goes on from.
var keyGramsFrom = []byte("audit_grams_from")

// indexGramsFrom indexes the trigrams of the next batch of the every-tenant
// dictionary's searchable values. It reports done when none is left.
func (t *Tx) indexGramsFrom() (done bool, err error) {
	meta := t.b(bucketMeta)
	from := meta.Get(keyGramsFrom)
	if from == nil {
		from = u64(0)
	}
	var next []byte
	var todo []eventField
	c := t.b(bucketAuditValues).Cursor()
	for k, _ := c.Seek(from); len(k) > 8 && readU64(k) == 0; k, _ = c.Next() {
		if len(todo) == migrateBatch {
			next = bytes.Clone(k)
			break
		}
		if isTextField(k[8]) {
			todo = append(todo, eventField{k[8], string(k[9:]), false})
		}
	}
	for _, f := range todo { // bbolt forbids writing under a live cursor
		if err := t.indexGrams(f.f, f.v, 1); err != nil {
			return false, err
		}
	}
	if next == nil {
		return true, nil
	}
	return false, meta.Put(keyGramsFrom, next)
}

// moveEvent is the stored value of a layout 4–10 event in the compact
// log, and the event. The chain hashed its JSON, so it is re-encoded only
// if appendEventJSON of what the compact form decodes to gives exactly
// that JSON back (then the chain still verifies it, and hashes the same
// bytes); otherwise it keeps its JSON.
func (t *Tx) moveEvent(k, v []byte) ([]byte, Event, error) {
	var e Event
	if len(v) <= hashLen || len(k) != 16 {
		return nil, e, fmt.Errorf("%w (audit event %x is truncated)", ErrDamaged, k)
	}
	raw := v[hashLen:]
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, e, fmt.Errorf("%w (audit event %x: %v)", ErrDamaged, k, err)
	}
	inline, _ := appendBody(nil, &e, k, inlineString)
	var back Event
	if err := decodeBody(&back, k, inline, readInline); err != nil {
		return nil, e, err
	}
	if again, err := appendEventJSON(nil, &back); err != nil || !bytes.Equal(again, raw) {
		return bytes.Clone(v), e, nil
	}
	payload, err := t.encodeCompact(&e, k, formMoved)
	if err != nil {
		return nil, e, err
	}
	return join(v[:hashLen], payload), e, nil
}
