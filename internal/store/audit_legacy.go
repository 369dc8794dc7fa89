package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"gatehouse/internal/jsonw"
)

// The audit log as layouts 4–10 stored it: each event as JSON
// (audit_v2), a summary of it for filters (audit_sum_v1), and each list
// entry twice, under the event's tenant and under 0 (audit_tenant_v1,
// audit_by_v1). Migration 4 still appends layout 1–3's events this way, so
// that the migrations between it and 11 find the layout they were written
// for; migration 11 re-encodes them.

// summaryV1 is the compact form of an event that filters read instead of
// the JSON: tenant, then length-prefixed actor, action, resource, IP, and
// the folded subject and change (absent from summaries written before).
func summaryV1(e *Event) []byte {
	b := binary.BigEndian.AppendUint64(nil, e.TenantID)
	for _, s := range []string{e.ActorKey(), e.Action, e.ResourceType, e.IP, subjectValue(e), changeValue(e)} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// summaryFields are an event's indexed fields, as a summary holds them.
type summaryFields struct {
	Tenant                      uint64
	Actor, Action, Resource, IP []byte
	Subject, Change             []byte // folded; empty in older summaries
}

func parseSummary(b []byte) (summaryFields, bool) {
	if len(b) < 8 {
		return summaryFields{}, false
	}
	s := summaryFields{Tenant: binary.BigEndian.Uint64(b)}
	b = b[8:]
	for i, f := range []*[]byte{&s.Actor, &s.Action, &s.Resource, &s.IP, &s.Subject, &s.Change} {
		if i >= 4 && len(b) == 0 {
			break // a summary written before subjects existed
		}
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return summaryFields{}, false
		}
		*f, b = b[w:w+int(n)], b[w+int(n):]
	}
	return s, true
}

// byPrefix is the prefix of a list of layout 4–10: tenant | field | len |
// value.
func byPrefix(tenant uint64, field byte, value string) []byte {
	b := binary.BigEndian.AppendUint64(nil, tenant)
	b = append(b, field)
	b = binary.AppendUvarint(b, uint64(len(value)))
	return append(b, value...)
}

// appendEventV2 appends an event as layouts 4–10 did.
func (t *Tx) appendEventV2(e *Event) error {
	b := t.b(bucketAuditV2)
	if t.auditKey == nil {
		return errNoAuditKey
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	e.ID = seq
	head, err := t.auditHead()
	if err != nil {
		return err
	}
	key := t.nextEventKey(e, head, seq)
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	hash := chainHash(t.auditKey, head.Hash, key, raw)
	if err := b.Put(key, join(hash, raw)); err != nil {
		return err
	}
	if err := t.b(bucketAuditSumV1).Put(key, summaryV1(e)); err != nil {
		return err
	}
	for _, tenant := range tenantsOf(e) {
		if err := t.b(bucketAuditTenantV1).Put(join(u64(tenant), key), []byte{}); err != nil {
			return err
		}
		for _, f := range eventFields(e) {
			if f.posted {
				if err := t.b(bucketAuditByV1).Put(join(byPrefix(tenant, f.f, f.v), key), []byte{}); err != nil {
					return err
				}
			}
		}
	}
	if err := t.countEvent(e, key); err != nil {
		return err
	}
	e.Key, e.Hash = key, hash
	head.Key, head.Hash, head.Count, head.Linked = key, hash, head.Count+1, true
	return t.putAuditHead(head)
}

// migrateAuditV2 moves layout 1–3's events into the indexed log of layout
// 4 and links their hash chain: here, once, with the key given to Open.
func migrateAuditV2(t *Tx) error {
	if err := createBuckets(layout4)(t); err != nil {
		return err
	}
	old := t.tx.Bucket(bucketAuditV1)
	if old == nil {
		return nil
	}
	c := old.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("audit event %x: %w", k, err)
		}
		if err := t.AppendEvent(&e); err != nil {
			return err // errNoAuditKey when Open was given no key
		}
	}
	return t.tx.DeleteBucket(bucketAuditV1)
}

// appendEventJSON writes the JSON layouts 4–10 stored for e (what
// json.Marshal made of the Event of layout 10), on its own: the hash chain
// of an event moved by migration 11 covers these bytes, which must not
// change when Event or encoding/json does. Migration 11 re-encodes an
// event only when this gives back exactly its stored JSON.
func appendEventJSON(b []byte, e *Event) ([]byte, error) {
	b = strconv.AppendUint(append(b, `{"id":`...), e.ID, 10)
	b = append(b, `,"time":"`...)
	n := len(b)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	if _, zone := e.Time.Zone(); b[n+4] != '-' || zone <= -24*3600 || zone >= 24*3600 {
		return nil, fmt.Errorf("the time %v has no JSON form", e.Time)
	}
	b = strconv.AppendUint(append(b, `","actorId":`...), e.ActorID, 10)
	for _, f := range []struct{ name, v string }{{"actorName", e.ActorName}, {"actorEmail", e.ActorEmail}, {"action", e.Action},
		{"resourceType", e.ResourceType}, {"resourceId", e.ResourceID}, {"ip", e.IP}} {
		b = jsonw.AppendString(append(append(append(b, ",\""...), f.name...), "\":"...), f.v)
	}
	b = strconv.AppendUint(append(b, `,"tenantId":`...), e.TenantID, 10)
	if len(e.Meta) > 0 {
		b = append(append(b, `,"meta":`...), e.Meta...) // as stored: compact already
	}
	for _, f := range []struct{ name, v string }{{"subjectName", e.SubjectName}, {"subjectEmail", e.SubjectEmail}, {"change", e.Change}} {
		if f.v != "" {
			b = jsonw.AppendString(append(append(append(b, ",\""...), f.name...), "\":"...), f.v)
		}
	}
	return append(b, '}'), nil
}
