package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// An event is stored as hash(32) | payload, and the payload's first byte
// says how it is written and what the hash chain covers:
//
//   - '{': the JSON of layouts 4–10, kept as it was (migration 11 keeps an
//     event it cannot re-encode exactly). The chain hashes these bytes.
//   - formMoved: compact, re-encoded from JSON by migration 11. The chain
//     hashes the JSON appendEventJSON rebuilds from the decoded event,
//     which the migration checked is exactly the JSON the hash was made
//     over.
//   - formCompact: compact, appended since. The chain hashes the canonical
//     form: formCompact and the same fields with every string written out.
//
// A compact event holds the strings that few distinct values repeat
// (action, resource type, actor) as ids of the string table, and writes
// out the rest: what free text tests (address, subject, change), so a walk
// of the log reads no table to test an event, and the resource id. The
// chain covers what an event says, not which ids it holds: an edited
// string table breaks the chain at the first event that uses it.
const (
	formMoved   byte = 1
	formCompact byte = 2
)

// internedFields are an event's strings held as ids, in their stored
// order; the actor's last.
func (e *Event) internedFields() [4]*string {
	return [4]*string{&e.Action, &e.ResourceType, &e.ActorEmail, &e.ActorName}
}

const firstActorField = 2 // internedFields()[2:] are the actor's

// inlineFields are an event's strings written out, in their stored order.
func (e *Event) inlineFields() [5]*string {
	return [5]*string{&e.IP, &e.SubjectName, &e.SubjectEmail, &e.Change, &e.ResourceID}
}

// keyClock is the time in an event key as seconds and nanoseconds, the
// base an event's own time is written against (equal, but for a clock
// that went back).
func keyClock(k []byte) (sec, nsec int64) {
	n := int64(readU64(k))
	return n / 1e9, n % 1e9
}

// appendBody writes e's fields, relative to its key k: the tenant first
// (filters read it), the interned strings through str (an id, or written
// out), the other strings written out, then the actor id, the id, the
// time and zone as differences from the key's, and the metadata JSON as
// it is, to the end.
func appendBody(b []byte, e *Event, k []byte, str func([]byte, string) ([]byte, error)) ([]byte, error) {
	b = binary.AppendUvarint(b, e.TenantID)
	var err error
	for _, s := range e.internedFields() {
		if b, err = str(b, *s); err != nil {
			return nil, err
		}
	}
	for _, s := range e.inlineFields() {
		b, _ = inlineString(b, *s)
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

// readStrings reads a body's tenant and strings: each interned one
// through interned (its index in internedFields), the others as stored.
func readStrings(r *bodyReader, interned func(r *bodyReader, field int) error) (tenant uint64, inline [5][]byte, err error) {
	tenant = r.uvarint()
	for i := range len((&Event{}).internedFields()) {
		if err := interned(r, i); err != nil {
			return 0, inline, err
		}
	}
	for i := range inline {
		inline[i] = r.bytes(r.uvarint())
	}
	return tenant, inline, r.err
}

// decodeBody reads what appendBody wrote, each interned string through
// str. Meta aliases b.
func decodeBody(e *Event, k, b []byte, str func(r *bodyReader, field int) (string, error)) error {
	r := &bodyReader{b: b}
	tenant, inline, err := readStrings(r, func(r *bodyReader, i int) (err error) {
		*e.internedFields()[i], err = str(r, i)
		return err
	})
	if err != nil {
		return err
	}
	e.TenantID = tenant
	for i, s := range e.inlineFields() {
		*s = string(inline[i])
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

func readInline(r *bodyReader, _ int) (string, error) {
	return string(r.bytes(r.uvarint())), r.err
}

// eventReader decodes stored events, resolving string ids through a
// cache (a page of events repeats its actions, actors and addresses).
type eventReader struct {
	ids    getter
	strs   map[uint64]string
	shared *stringCache // the database's, across transactions (nil in tools that read a file once)
	learn  bool         // a read transaction: what it reads is committed, and may be shared
}

// maxCachedStrings bounds the cache of a reader that walks the whole log.
const maxCachedStrings = 100_000

func (t *Tx) eventReader() *eventReader {
	r := &eventReader{ids: newGetter(t.b(bucketAuditStringIDs)), strs: map[uint64]string{}, shared: t.strings}
	r.learn = t.strings != nil && !t.tx.Writable()
	return r
}

func (r *eventReader) interned(br *bodyReader, _ int) (string, error) {
	id := br.uvarint()
	if br.err != nil {
		return "", br.err
	}
	return r.str(id)
}

func (r *eventReader) str(id uint64) (string, error) {
	if id == 0 {
		return "", nil
	}
	if s, ok := r.strs[id]; ok {
		return s, nil
	}
	if r.shared != nil {
		if s, ok := r.shared.get(id); ok {
			return s, nil
		}
	}
	v := r.ids.get(u64(id))
	if v == nil {
		return "", fmt.Errorf("%w (audit string %d is missing)", ErrDamaged, id)
	}
	if len(r.strs) >= maxCachedStrings {
		clear(r.strs)
	}
	s := string(v)
	r.strs[id] = s
	if r.learn {
		r.shared.put(id, s)
	}
	return s, nil
}

// eventView is what filters test of a stored event, read without copying
// it (a walk tests hundreds of events to keep fifty): the action and
// resource type, the actor's string ids, the other strings as stored. An
// event kept as JSON is decoded whole.
type eventView struct {
	tenant                                uint64
	action, resource                      string
	actor                                 [2]uint64 // e-mail, name
	ip, subjectName, subjectEmail, change []byte
	json                                  *Event
}

func (r *eventReader) view(k, v []byte) (eventView, error) {
	if len(v) > hashLen && v[hashLen] == '{' {
		e, err := r.decode(k, v)
		return eventView{tenant: e.TenantID, action: e.Action, resource: e.ResourceType, ip: []byte(e.IP),
			subjectName: []byte(e.SubjectName), subjectEmail: []byte(e.SubjectEmail), change: []byte(e.Change), json: &e}, err
	}
	if len(v) <= hashLen || v[hashLen] != formMoved && v[hashLen] != formCompact {
		_, err := r.decode(k, v) // says what is wrong
		return eventView{}, err
	}
	var ev eventView
	tenant, inline, err := readStrings(&bodyReader{b: v[hashLen+1:]}, func(br *bodyReader, i int) (err error) {
		switch i {
		case 0:
			ev.action, err = r.interned(br, i)
		case 1:
			ev.resource, err = r.interned(br, i)
		default:
			ev.actor[i-firstActorField] = br.uvarint()
		}
		return err
	})
	if err != nil {
		return ev, fmt.Errorf("%w (audit event %x: %v)", ErrDamaged, k, err)
	}
	ev.tenant, ev.ip, ev.subjectName, ev.subjectEmail, ev.change = tenant, inline[0], inline[1], inline[2], inline[3]
	return ev, nil
}

// actorKey is the event's ActorKey.
func (r *eventReader) actorKey(ev *eventView) (string, error) {
	if ev.json != nil {
		return ev.json.ActorKey(), nil
	}
	email, err := r.str(ev.actor[0])
	if err != nil || email != "" {
		return Fold(email), err
	}
	name, err := r.str(ev.actor[1])
	return Fold(name), err
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
		err = decodeBody(&e, k, p[1:], r.interned)
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

// chainInput is what the hash chain covers of a stored event (see the
// forms above), built in buf.
func (r *eventReader) chainInput(k, v, buf []byte) ([]byte, error) {
	p := v[hashLen:]
	switch p[0] {
	case '{':
		return p, nil
	case formMoved:
		e, err := r.decode(k, v)
		if err != nil {
			return nil, err
		}
		return appendEventJSON(buf[:0], &e)
	case formCompact:
		// The stored bytes with each id replaced by its string: what
		// canonical made of the event when it was appended.
		br := &bodyReader{b: p[1:]}
		out := binary.AppendUvarint(append(buf[:0], formCompact), br.uvarint())
		for range len((&Event{}).internedFields()) {
			s, err := r.interned(br, 0)
			if err != nil {
				return nil, fmt.Errorf("%w (audit event %x: %v)", ErrDamaged, k, err)
			}
			out, _ = inlineString(out, s)
		}
		return append(out, br.b...), nil
	}
	_, err := r.decode(k, v) // says what is wrong
	return nil, err
}

// encodeCompact is the stored payload of an event: its interned strings
// counted in the string table.
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
