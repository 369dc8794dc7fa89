package store

import (
	"bytes"
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

// AppendEvent adds an event at the end of the log: it assigns its id and
// key, links it into the hash chain, and writes every index and counter in
// the same transaction.
func (t *Tx) AppendEvent(e *Event) error {
	if t.b(bucketAudit) == nil {
		return t.appendEventV2(e) // an older layout, mid-migration (4): migration 11 re-encodes it
	}
	if t.auditKey == nil {
		return errNoAuditKey
	}
	if len(e.Meta) > 0 {
		// Kept as given; compact and valid, as the JSON encoding kept it.
		var meta bytes.Buffer
		if err := json.Compact(&meta, e.Meta); err != nil {
			return fmt.Errorf("audit event metadata: %w", err)
		}
		e.Meta = meta.Bytes()
	}
	b := t.b(bucketAudit)
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
	payload, err := t.encodeCompact(e, key, formCompact)
	if err != nil {
		return err
	}
	// The chain covers the event as given, not as the string table
	// resolves its ids (see audit_codec.go).
	hash := chainHash(t.auditKey, head.Hash, key, canonical(e, key))
	if err := b.Put(key, join(hash, payload)); err != nil {
		return err
	}
	if err := t.indexEvent(e, key); err != nil {
		return err
	}
	e.Key, e.Hash = key, hash
	head.Key, head.Hash, head.Count, head.Linked = key, hash, head.Count+1, true
	return t.putAuditHead(head)
}

// nextEventKey is the key of the event with sequence seq: its time, or
// the newest event's if the clock went back (key order is chain order).
func (t *Tx) nextEventKey(e *Event, head auditHead, seq uint64) []byte {
	at := uint64(e.Time.UnixNano())
	if last := readU64(head.Key); at < last {
		at = last
	}
	return join(u64(at), u64(seq))
}

// indexEvent lists an event and counts it.
func (t *Tx) indexEvent(e *Event, key []byte) error {
	if err := t.listEvent(e, key); err != nil {
		return err
	}
	return t.countEvent(e, key)
}

// listEvent adds an event's key to its tenant's list and to the list of
// each of its values, once: under its own tenant.
func (t *Tx) listEvent(e *Event, key []byte) error {
	if e.TenantID != 0 {
		if err := t.tenantLists().add(u64(e.TenantID), key); err != nil {
			return err
		}
	}
	for _, f := range eventFields(e) {
		if f.posted {
			if err := t.valueLists().add(valuePrefix(f.f, f.v), valueEntry(key, e.TenantID)); err != nil {
				return err
			}
		}
	}
	return nil
}

// countEvent counts an event's values, hour and actor under its tenant
// and under 0 (every tenant).
func (t *Tx) countEvent(e *Event, key []byte) error {
	for _, tenant := range tenantsOf(e) {
		for _, f := range eventFields(e) {
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
// values (audit_values_v1); a posted one also lists its events (audit_by_v2).
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

// tenantsOf is where an event is counted: its tenant, and 0 (every tenant).
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
		if err := t.setActive(tenant, bytes.Clone(old), actor, false); err != nil {
			return err
		}
	}
	at := bytes.Clone(key[:8])
	if err := t.b(bucketAuditLast).Put(lastKey, at); err != nil {
		return err
	}
	return t.setActive(tenant, at, actor, true)
}

// setActive adds (or removes) actor's entry at time at (8 bytes) in the
// active index, and counts it in its hour: the 24-hour stats add whole
// hours' counts and read only the partial hours' entries.
func (t *Tx) setActive(tenant uint64, at []byte, actor string, on bool) error {
	k := join(u64(tenant), at, []byte(actor))
	var err error
	if on {
		err = t.b(bucketAuditActive).Put(k, []byte{})
	} else {
		err = t.b(bucketAuditActive).Delete(k)
	}
	if err != nil || t.b(bucketAuditActiveN) == nil { // an older layout, mid-migration: layout 13 counts them
		return err
	}
	hk := activeHourKey(tenant, readU64(at))
	n := int64(readU64(t.b(bucketAuditActiveN).Get(hk)))
	if on {
		n++
	} else {
		n--
	}
	if n <= 0 {
		return t.b(bucketAuditActiveN).Delete(hk)
	}
	return t.b(bucketAuditActiveN).Put(hk, u64(uint64(n)))
}

// activeHourKey is tenant | the hour (unix nanoseconds, floored) of at.
func activeHourKey(tenant uint64, at uint64) []byte { return join(u64(tenant), u64(floorHour(at))) }

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

// valueCount is how many events of tenant's log have value v in field f.
func (t *Tx) valueCount(tenant uint64, f byte, v string) int {
	return int(readU64(t.b(bucketAuditValues).Get(join(u64(tenant), []byte{f}, []byte(v)))))
}

// HasValue reports whether some event of tenant's log has value in field.
func (t *Tx) HasValue(tenant uint64, field byte, value string) bool {
	return t.b(bucketAuditValues).Get(join(u64(tenant), []byte{field}, []byte(value))) != nil
}

// CountEvents is how many events the log holds.
func (t *Tx) CountEvents() (uint64, error) {
	h, err := t.auditHead()
	return h.Count, err
}

var errNoAuditKey = errors.New("the audit chain key is not set (store.Options.AuditKey)")
