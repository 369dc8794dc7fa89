package store

import (
	"bytes"
	"time"
)

// PruneAudit removes up to max of the oldest events older than before,
// with their index entries, and moves the chain's anchor to the last one
// removed so the rest still verifies. It returns how many it removed.
func (t *Tx) PruneAudit(before time.Time, max int) (int, error) {
	if t.auditKey == nil {
		return 0, errNoAuditKey
	}
	anchor, _, err := t.auditAnchor()
	if err != nil {
		return 0, err
	}
	head, err := t.auditHead()
	if err != nil {
		return 0, err
	}
	limit := eventKeyAt(nanos(before))
	b := t.b(bucketAudit)
	c := b.Cursor()
	var keys [][]byte
	for k, _ := c.First(); k != nil && bytes.Compare(k, limit) < 0 && len(keys) < max; k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	r := t.eventReader()
	for _, k := range keys {
		v := b.Get(k)
		e, err := r.event(k, v)
		if err != nil {
			return 0, err
		}
		if err := t.unindexEvent(&e, k, v[hashLen] != '{'); err != nil {
			return 0, err
		}
		if err := b.Delete(k); err != nil {
			return 0, err
		}
		anchor.Key, anchor.Hash = k, e.Hash
	}
	if len(keys) == 0 {
		return 0, nil
	}
	anchor.Pruned += uint64(len(keys))
	anchor.At = time.Now().UTC()
	anchor.MAC = anchor.mac(t.auditKey)
	if err := putJSON(t.b(bucketMeta), keyAuditAnchor, anchor); err != nil {
		return 0, err
	}
	head.Count -= uint64(len(keys))
	return len(keys), t.putAuditHead(head)
}

// unindexEvent undoes indexEvent, and releases the event's interned
// strings when it was stored compact.
func (t *Tx) unindexEvent(e *Event, key []byte, interned bool) error {
	if e.TenantID != 0 {
		if err := t.tenantLists().remove(u64(e.TenantID), key); err != nil {
			return err
		}
	}
	for _, f := range eventFields(e) {
		if f.posted {
			if err := t.valueLists().remove(valuePrefix(f.f, f.v), valueEntry(key, e.TenantID)); err != nil {
				return err
			}
		}
	}
	if interned {
		for _, s := range e.internedFields() {
			if err := t.releaseString(*s); err != nil {
				return err
			}
		}
	}
	for _, tenant := range tenantsOf(e) {
		for _, f := range eventFields(e) {
			if err := t.countValue(tenant, f.f, f.v, -1); err != nil {
				return err
			}
		}
		if err := t.uncountHour(tenant, e, key); err != nil {
			return err
		}
		lastKey := join(u64(tenant), []byte(e.ActorKey()))
		if last := t.b(bucketAuditLast).Get(lastKey); last != nil && bytes.Equal(last, key[:8]) {
			// This was the actor's newest event: they have none left.
			if err := t.setActive(tenant, bytes.Clone(last), e.ActorKey(), false); err != nil {
				return err
			}
			if err := t.b(bucketAuditLast).Delete(lastKey); err != nil {
				return err
			}
		}
	}
	return nil
}
