package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// An event is stored as hash(32) | payload, and the payload's first byte
// says how it is written and what the hash chain covers:
//
//   - '{': the JSON of layouts 4–10, kept as it was (migration 11 keeps an
//     event it cannot re-encode exactly). The chain hashes these bytes.
//   - formMoved: compact, re-encoded from JSON by migration 11. The chain
//     hashes json.Marshal of the decoded event, which the migration checked
//     is exactly the JSON the hash was made over.
//   - formCompact: compact, appended since. The chain hashes the canonical
//     form: formCompact and the same fields with every string written out.
//
// A compact event's strings are ids of the string table, so the chain
// covers what the event says (the strings), not which ids it holds: an
// edited string table breaks the chain at the first event that uses it.
const (
	formMoved   byte = 1
	formCompact byte = 2
)

// stringFields are an event's strings in their stored order.
func (e *Event) stringFields() [9]*string {
	return [9]*string{&e.Action, &e.ResourceType, &e.ActorEmail, &e.ActorName, &e.IP, &e.SubjectName, &e.SubjectEmail, &e.Change, &e.ResourceID}
}

// keyClock is the time in an event key as seconds and nanoseconds, the
// base an event's own time is written against (equal, but for a clock
// that went back).
func keyClock(k []byte) (sec, nsec int64) {
	n := int64(readU64(k))
	return n / 1e9, n % 1e9
}

// appendBody writes e's fields, relative to its key k: the tenant first
// (filters read it), each string through str (an id, or written out),
// then the actor id, the id, the time and zone as differences from the
// key's, and the metadata JSON as it is, to the end.
func appendBody(b []byte, e *Event, k []byte, str func([]byte, string) ([]byte, error)) ([]byte, error) {
	b = binary.AppendUvarint(b, e.TenantID)
	var err error
	for _, s := range e.stringFields() {
		if b, err = str(b, *s); err != nil {
			return nil, err
		}
	}
	b = binary.AppendUvarint(b, e.ActorID)
	b = binary.AppendVarint(b, int64(e.ID-readU64(k[8:])))
	sec, nsec := keyClock(k)
	_, zone := e.Time.Zone()
	b = binary.AppendVarint(b, e.Time.Unix()-sec)
	b = binary.AppendVarint(b, int64(e.Time.Nanosecond())-nsec)
	b = binary.AppendVarint(b, int64(zone))
	return append(b, e.Meta...), nil
}

func inlineString(b []byte, s string) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...), nil
}

// canonical is what the chain hashes for an event appended in formCompact.
func canonical(e *Event, k []byte) []byte {
	b, _ := appendBody([]byte{formCompact}, e, k, inlineString)
	return b
}

// bodyReader reads a compact body; a damaged one sets err and reads zeros.
type bodyReader struct {
	b   []byte
	err error
}

func (r *bodyReader) uvarint() uint64 {
	n, w := binary.Uvarint(r.b)
	if w <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[w:]
	return n
}

func (r *bodyReader) varint() int64 {
	n, w := binary.Varint(r.b)
	if w <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[w:]
	return n
}

func (r *bodyReader) bytes(n uint64) []byte {
	if uint64(len(r.b)) < n {
		r.fail()
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *bodyReader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("%w (a compact audit event is truncated)", ErrDamaged)
	}
	r.b = nil
}

// decodeBody reads what appendBody wrote, each string through str. Meta
// aliases b.
func decodeBody(e *Event, k, b []byte, str func(*bodyReader) (string, error)) error {
	r := &bodyReader{b: b}
	e.TenantID = r.uvarint()
	for _, s := range e.stringFields() {
		v, err := str(r)
		if err != nil {
			return err
		}
		*s = v
	}
	e.ActorID = r.uvarint()
	e.ID = readU64(k[8:]) + uint64(r.varint())
	sec, nsec := keyClock(k)
	at := time.Unix(sec+r.varint(), nsec+r.varint())
	zone := r.varint()
	if r.err != nil {
		return r.err
	}
	if zone == 0 {
		e.Time = at.UTC()
	} else {
		e.Time = at.In(time.FixedZone("", int(zone)))
	}
	if len(r.b) > 0 {
		e.Meta = r.b
	}
	return nil
}

func readInline(r *bodyReader) (string, error) {
	return string(r.bytes(r.uvarint())), r.err
}

// eventReader decodes stored events, resolving string ids through a
// cache (a page of events repeats its actions, actors and addresses).
type eventReader struct {
	ids  *bolt.Bucket
	strs map[uint64]string
}

// maxCachedStrings bounds the cache of a reader that walks the whole log.
const maxCachedStrings = 100_000

func (t *Tx) eventReader() *eventReader {
	return &eventReader{ids: t.b(bucketAuditStringIDs), strs: map[uint64]string{}}
}

func (r *eventReader) str(br *bodyReader) (string, error) {
	id := br.uvarint()
	if br.err != nil || id == 0 {
		return "", br.err
	}
	if s, ok := r.strs[id]; ok {
		return s, nil
	}
	v := r.ids.Get(u64(id))
	if v == nil {
		return "", fmt.Errorf("%w (audit string %d is missing)", ErrDamaged, id)
	}
	if len(r.strs) >= maxCachedStrings {
		clear(r.strs)
	}
	s := string(v)
	r.strs[id] = s
	return s, nil
}

// decode reads a stored event. Its Key, Hash and Meta alias the
// transaction's memory until detach.
func (r *eventReader) decode(k, v []byte) (Event, error) {
	var e Event
	if len(v) <= hashLen || len(k) != 16 {
		return e, fmt.Errorf("%w (audit event %x is truncated)", ErrDamaged, k)
	}
	p := v[hashLen:]
	var err error
	switch p[0] {
	case '{':
		err = json.Unmarshal(p, &e)
	case formMoved, formCompact:
		err = decodeBody(&e, k, p[1:], r.str)
	default:
		err = fmt.Errorf("unknown form %d", p[0])
	}
	if err != nil {
		return e, fmt.Errorf("%w (audit event %x: %v)", ErrDamaged, k, err)
	}
	e.Key, e.Hash = k, v[:hashLen]
	return e, nil
}

// detach copies what decode left in the transaction's memory.
func (e *Event) detach() {
	e.Key, e.Hash = bytes.Clone(e.Key), bytes.Clone(e.Hash)
	if e.Meta != nil {
		e.Meta = bytes.Clone(e.Meta)
	}
}

// event decodes and detaches a stored event.
func (r *eventReader) event(k, v []byte) (Event, error) {
	e, err := r.decode(k, v)
	e.detach()
	return e, err
}

// chainInput is what the hash chain covers of a stored event: see the
// forms above. e is the event decoded from v (unused for JSON).
func chainInput(k, v []byte, e *Event) ([]byte, error) {
	p := v[hashLen:]
	switch p[0] {
	case formMoved:
		return json.Marshal(e)
	case formCompact:
		return canonical(e, k), nil
	}
	return p, nil
}

// encodeCompact is the stored payload of an event appended now: its
// strings interned in the string table.
func (t *Tx) encodeCompact(e *Event, k []byte, form byte) ([]byte, error) {
	return appendBody([]byte{form}, e, k, func(b []byte, s string) ([]byte, error) {
		id, err := t.internString(s)
		return binary.AppendUvarint(b, id), err
	})
}

// The string table gives each distinct string of the log an id, with the
// number of events using it; a string no event uses any more is removed.
// Id 0 is the empty string.

// internString returns s's id, adding s if new, and counts one more event
// using it.
func (t *Tx) internString(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	strs, ids := t.b(bucketAuditStrings), t.b(bucketAuditStringIDs)
	if v := strs.Get([]byte(s)); v != nil {
		id, n, err := stringEntry(s, v)
		if err != nil {
			return 0, err
		}
		// The id must still name s: an id re-pointed outside Gatehouse
		// would make the events written now say something else.
		if !bytes.Equal(ids.Get(u64(id)), []byte(s)) {
			return 0, fmt.Errorf("%w (audit string %d does not match its id)", ErrDamaged, id)
		}
		return id, strs.Put([]byte(s), join(u64(id), u64(n+1)))
	}
	id, err := ids.NextSequence()
	if err != nil {
		return 0, err
	}
	if err := ids.Put(u64(id), []byte(s)); err != nil {
		return 0, err
	}
	return id, strs.Put([]byte(s), join(u64(id), u64(1)))
}

// releaseString counts one event fewer using s, and removes s when none is
// left.
func (t *Tx) releaseString(s string) error {
	if s == "" {
		return nil
	}
	strs := t.b(bucketAuditStrings)
	id, n, err := stringEntry(s, strs.Get([]byte(s)))
	if err != nil {
		return err
	}
	if n > 1 {
		return strs.Put([]byte(s), join(u64(id), u64(n-1)))
	}
	if err := strs.Delete([]byte(s)); err != nil {
		return err
	}
	return t.b(bucketAuditStringIDs).Delete(u64(id))
}

func stringEntry(s string, v []byte) (id, n uint64, err error) {
	if len(v) != 16 {
		return 0, 0, fmt.Errorf("%w (audit string %q has no valid entry)", ErrDamaged, s)
	}
	return readU64(v), readU64(v[8:]), nil
}
