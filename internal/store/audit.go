package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Event is one audit log entry. Actor name and e-mail are copied as they
// were at the time, so later renames do not rewrite history.
type Event struct {
	ID           uint64          `json:"id"`
	Time         time.Time       `json:"time"`
	ActorID      uint64          `json:"actorId"`
	ActorName    string          `json:"actorName"`
	ActorEmail   string          `json:"actorEmail"`
	Action       string          `json:"action"`
	ResourceType string          `json:"resourceType"`
	ResourceID   string          `json:"resourceId"`
	IP           string          `json:"ip"`
	TenantID     uint64          `json:"tenantId"`
	Meta         json.RawMessage `json:"meta,omitempty"`
	// Whom or what the event is about, as it was at the time (the user's
	// or invitee's name and e-mail, the tenant's name), when that is not
	// the actor; and a one-line summary of the change ("role AGENT →
	// MANAGER"). Both are found by free text. Events recorded before
	// these fields existed have neither.
	SubjectName  string `json:"subjectName,omitempty"`
	SubjectEmail string `json:"subjectEmail,omitempty"`
	Change       string `json:"change,omitempty"`

	Key  []byte `json:"-"` // its place in the log, for paging
	Hash []byte `json:"-"` // its link in the hash chain
}

// ActorKey is how an event's actor is indexed: the folded e-mail, or the
// name when there is none (system actors).
func (e *Event) ActorKey() string {
	if e.ActorEmail != "" {
		return Fold(e.ActorEmail)
	}
	return Fold(e.ActorName)
}

// Indexed fields of the audit log.
const (
	FieldAction   byte = 'a'
	FieldResource byte = 'r'
	FieldActor    byte = 'u'
	FieldIP       byte = 'i'
	// FieldActorName is in the dictionary only (no list of events): the
	// actors by folded name, for suggestions as an admin types.
	FieldActorName byte = 'n'
	// FieldActorNames is in the dictionary only: each actor's key, a zero
	// byte, and a name it acted under, to name actors found by e-mail.
	FieldActorNames byte = 'm'
	// FieldSubject is whom an event is about (folded name and e-mail), and
	// FieldChange its change summary (folded): free text finds both.
	FieldSubject byte = 's'
	FieldChange  byte = 'c'
)

const hashLen = 32

// summary is the compact form of an event that filters read instead of
// the JSON: tenant, then length-prefixed actor, action, resource, IP, and
// the folded subject and change (absent from summaries written before).
func summary(e *Event) []byte {
	b := binary.BigEndian.AppendUint64(nil, e.TenantID)
	for _, s := range []string{e.ActorKey(), e.Action, e.ResourceType, e.IP, subjectValue(e), changeValue(e)} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// Summary is an event's indexed fields.
type Summary struct {
	Tenant                      uint64
	Actor, Action, Resource, IP []byte
	Subject, Change             []byte // folded; empty in older summaries
}

func parseSummary(b []byte) (Summary, bool) {
	if len(b) < 8 {
		return Summary{}, false
	}
	s := Summary{Tenant: binary.BigEndian.Uint64(b)}
	b = b[8:]
	for i, f := range []*[]byte{&s.Actor, &s.Action, &s.Resource, &s.IP, &s.Subject, &s.Change} {
		if i >= 4 && len(b) == 0 {
			break // a summary written before subjects existed
		}
		n, w := binary.Uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return Summary{}, false
		}
		*f, b = b[w:w+int(n)], b[w+int(n):]
	}
	return s, true
}

func byPrefix(tenant uint64, field byte, value string) []byte {
	b := binary.BigEndian.AppendUint64(nil, tenant)
	b = append(b, field)
	b = binary.AppendUvarint(b, uint64(len(value)))
	return append(b, value...)
}

// AppendEvent adds an event at the end of the log: it assigns its id and
// key, links it into the hash chain, and writes every index and counter in
// the same transaction.
func (t *Tx) AppendEvent(e *Event) error {
	b := t.b(bucketAudit)
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
	at := uint64(e.Time.UnixNano())
	if last := readU64(head.Key); at < last {
		at = last // keys never go back in time, so key order is chain order
	}
	key := join(u64(at), u64(seq))
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	hash := chainHash(t.auditKey, head.Hash, key, raw)
	if err := b.Put(key, join(hash, raw)); err != nil {
		return err
	}
	if err := t.indexEvent(e, key); err != nil {
		return err
	}
	e.Key, e.Hash = key, hash
	head.Key, head.Hash, head.Count, head.Linked = key, hash, head.Count+1, true
	return t.putAuditHead(head)
}

// indexEvent writes an event's summary, index entries, distinct values and
// hourly counters, under its tenant and under 0 (every tenant).
func (t *Tx) indexEvent(e *Event, key []byte) error {
	if err := t.b(bucketAuditSum).Put(key, summary(e)); err != nil {
		return err
	}
	for _, tenant := range tenantsOf(e) {
		if err := t.b(bucketAuditTenant).Put(join(u64(tenant), key), []byte{}); err != nil {
			return err
		}
		for _, f := range eventFields(e) {
			if f.posted {
				if err := t.b(bucketAuditBy).Put(join(byPrefix(tenant, f.f, f.v), key), []byte{}); err != nil {
					return err
				}
			}
			if err := t.countValue(tenant, f.f, f.v, 1); err != nil {
				return err
			}
		}
		if err := t.countHour(tenant, e, key); err != nil {
			return err
		}
		if err := t.markActive(tenant, e.ActorKey(), key); err != nil {
			return err
		}
	}
	return nil
}

// eventField is one of an event's values in the dictionary of distinct
// values (audit_values_v1); a posted one also lists its events (audit_by_v1).
type eventField struct {
	f      byte
	v      string
	posted bool
}

// eventFields is the one list of an event's dictionary fields, for
// indexing and unindexing alike.
func eventFields(e *Event) []eventField {
	fields := []eventField{{FieldAction, e.Action, true}, {FieldResource, e.ResourceType, true}, {FieldActor, e.ActorKey(), true}, {FieldIP, e.IP, true}}
	if v := subjectValue(e); v != "" {
		fields = append(fields, eventField{FieldSubject, v, true})
	}
	if v := changeValue(e); v != "" {
		fields = append(fields, eventField{FieldChange, v, true})
	}
	if name := actorNameValue(e); name != "" {
		fields = append(fields, eventField{FieldActorName, name, false}, eventField{FieldActorNames, e.ActorKey() + "\x00" + e.ActorName, false})
	}
	return fields
}

// subjectValue is how free text finds whom an event is about: the folded
// name and e-mail, a space apart.
func subjectValue(e *Event) string {
	return SearchFold(strings.TrimSpace(e.SubjectName + " " + e.SubjectEmail))
}

// changeValue is how free text finds an event's change summary.
func changeValue(e *Event) string { return SearchFold(e.Change) }

// actorNameValue is how an actor is found by name: the folded name, the
// actor's key (one name may stand for several actors), and the name as
// recorded, for display; zero bytes apart.
func actorNameValue(e *Event) string {
	if e.ActorName == "" || e.ActorKey() == "" {
		return ""
	}
	return Fold(e.ActorName) + "\x00" + e.ActorKey() + "\x00" + e.ActorName
}

// tenantsOf is where an event is visible: its tenant, and 0 (every tenant).
func tenantsOf(e *Event) []uint64 {
	if e.TenantID == 0 {
		return []uint64{0}
	}
	return []uint64{e.TenantID, 0}
}

func (t *Tx) addCount(bucket, key []byte, d int64) error {
	b := t.b(bucket)
	n := int64(readU64(b.Get(key))) + d
	if n <= 0 {
		return b.Delete(key)
	}
	return b.Put(key, u64(uint64(n)))
}

// markActive moves actor's "last active" entry to this event's key time, so
// counting the actors active since a time is a short range scan.
func (t *Tx) markActive(tenant uint64, actor string, key []byte) error {
	if actor == "" {
		return nil
	}
	lastKey := join(u64(tenant), []byte(actor))
	if old := t.b(bucketAuditLast).Get(lastKey); old != nil {
		if err := t.b(bucketAuditActive).Delete(join(u64(tenant), old, []byte(actor))); err != nil {
			return err
		}
	}
	at := bytes.Clone(key[:8])
	if err := t.b(bucketAuditLast).Put(lastKey, at); err != nil {
		return err
	}
	return t.b(bucketAuditActive).Put(join(u64(tenant), at, []byte(actor)), []byte{})
}

// Values lists the distinct values of an indexed field in tenant's log,
// with how many events have each: at most limit of them, in key order
// (limit <= 0: all of them, for the store's own scans).
func (t *Tx) Values(tenant uint64, field byte, limit int) (map[string]int, error) {
	out := map[string]int{}
	prefix := join(u64(tenant), []byte{field})
	c := t.b(bucketAuditValues).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if limit > 0 && len(out) == limit {
			break
		}
		out[string(k[len(prefix):])] = int(readU64(v))
	}
	return out, nil
}

// HasValue reports whether some event of tenant's log has value in field.
func (t *Tx) HasValue(tenant uint64, field byte, value string) bool {
	return t.b(bucketAuditValues).Get(join(u64(tenant), []byte{field}, []byte(value))) != nil
}

// decodeEvent reads a stored event value: hash, then JSON.
func decodeEvent(key, v []byte) (Event, error) {
	var e Event
	if len(v) < hashLen {
		return e, fmt.Errorf("%w (audit event %x is truncated)", ErrDamaged, key)
	}
	if err := json.Unmarshal(v[hashLen:], &e); err != nil {
		return e, fmt.Errorf("%w (audit event %x: %v)", ErrDamaged, key, err)
	}
	e.Key, e.Hash = bytes.Clone(key), bytes.Clone(v[:hashLen])
	return e, nil
}

// CountEvents is how many events the log holds.
func (t *Tx) CountEvents() (uint64, error) {
	h, err := t.auditHead()
	return h.Count, err
}

// migrateAuditV2 moves layout 1–3's events into the indexed log and links
// their hash chain: here, once, with the key given to Open.
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

var errNoAuditKey = errors.New("the audit chain key is not set (store.Options.AuditKey)")
