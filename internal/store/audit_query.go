package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AuditQuery selects events, newest first. Exact filters use an index; the
// free text is matched against the distinct actions, resource types and
// addresses first, and only their indexes are read, so no query scans the
// whole log.
type AuditQuery struct {
	Tenant   uint64 // 0: every tenant
	Action   string
	Resource string
	Actor    string // ActorKey: folded e-mail, or name
	Text     string // substring of the action, resource type, IP, subject or change (folded)
	Since    time.Time
	Until    time.Time // exclusive
	Before   []byte    // cursor: the key of the last event already shown
	Limit    int
}

// AuditPage is one page of events and the cursor for the next.
type AuditPage struct {
	Events []Event
	Next   []byte
}

// ErrBadAuditCursor is returned for a cursor that is not an event key.
var ErrBadAuditCursor = errors.New("bad audit cursor")

var maxKey = bytes.Repeat([]byte{0xff}, 16)

// QueryAudit returns one page of events.
func (t *Tx) QueryAudit(q AuditQuery) (AuditPage, error) {
	var page AuditPage
	if q.Limit <= 0 {
		q.Limit = 50
	}
	err := t.scanAudit(q, func(e Event) (bool, error) {
		if len(page.Events) == q.Limit {
			page.Next = bytes.Clone(page.Events[len(page.Events)-1].Key)
			return false, nil
		}
		page.Events = append(page.Events, e)
		return true, nil
	})
	return page, err
}

// ScanAudit calls fn for every event the query selects, newest first,
// until fn returns false. It reads one event at a time (export streams).
func (t *Tx) ScanAudit(q AuditQuery, fn func(Event) (bool, error)) error {
	return t.scanAudit(q, fn)
}

func (t *Tx) scanAudit(q AuditQuery, fn func(Event) (bool, error)) error {
	start := maxKey
	if !q.Until.IsZero() {
		start = eventKeyAt(nanos(q.Until))
	}
	if q.Before != nil {
		if len(q.Before) != 16 {
			return ErrBadAuditCursor
		}
		if bytes.Compare(q.Before, start) < 0 {
			start = q.Before
		}
	}
	var stop []byte
	if !q.Since.IsZero() {
		stop = eventKeyAt(nanos(q.Since))
	}
	text := SearchFold(q.Text)
	drive, err := t.auditDrive(q, text, start)
	if drive == nil || err != nil {
		return err
	}
	events, r := newGetter(t.b(bucketAudit)), t.eventReader()
	match := newTextMatcher(text)
	for k := drive.cur(); k != nil; k = drive.advance() {
		if stop != nil && bytes.Compare(k, stop) < 0 {
			break
		}
		v := drive.value()
		if v == nil {
			v = events.get(k)
		}
		if v == nil {
			return errors.New("audit event " + HexKey(k) + " is indexed but missing")
		}
		ev, err := r.view(k, v)
		if err != nil {
			return err
		}
		if q.Tenant != 0 && ev.tenant != q.Tenant ||
			q.Action != "" && ev.action != q.Action ||
			q.Resource != "" && ev.resource != q.Resource ||
			text != "" && !match.event(&ev) {
			continue
		}
		if q.Actor != "" {
			if actor, err := r.actorKey(&ev); err != nil || actor != q.Actor {
				if err != nil {
					return err
				}
				continue
			}
		}
		e, err := r.decode(k, v)
		if err != nil {
			return err
		}
		e.detach()
		more, err := fn(e)
		if err != nil || !more {
			return err
		}
	}
	return drive.err
}

// auditDrive chooses the most selective list to walk for q, or nil when
// nothing can match.
func (t *Tx) auditDrive(q AuditQuery, text string, start []byte) (*merged, error) {
	values := func(f byte, v string) *merged {
		if q.Tenant != 0 {
			// In one tenant's view, the value's list holds every tenant's
			// events: walk the tenant's own when that reads less.
			n := t.valueCount(q.Tenant, f, v)
			if n == 0 {
				return newMerged()
			}
			if walk, merge := t.readCosts(q.Tenant, []textValue{{f, v, n}}, max(q.Limit, 50)); walk < merge {
				return newMerged(t.tenantIter(q.Tenant, start))
			}
		}
		return newMerged(t.valueLists().valueIter(q.Tenant, f, v, start))
	}
	switch {
	case q.Actor != "":
		return values(FieldActor, q.Actor), nil
	case q.Action != "":
		return values(FieldAction, q.Action), nil
	case q.Resource != "":
		return values(FieldResource, q.Resource), nil
	case text != "":
		plan, err := t.planText(q.Tenant, text, max(q.Limit, 50))
		if err != nil {
			return nil, err
		}
		if plan.walk {
			break
		}
		if len(plan.values) == 0 {
			return nil, nil // the term matches no value of the searched fields
		}
		its, by := make([]keyIter, len(plan.values)), t.valueLists()
		for i, v := range plan.values {
			its[i] = by.valueIter(q.Tenant, v.f, v.v, start)
		}
		return newMerged(its...), nil
	}
	return newMerged(t.tenantIter(q.Tenant, start)), nil
}

// textMatcher tests events against a folded free-text term.
type textMatcher struct {
	term    string
	termB   []byte
	hits    map[string]bool // subjects and changes (folding one costs a microsecond) → match
	scratch []byte
}

func newTextMatcher(term string) *textMatcher {
	return &textMatcher{term: term, termB: []byte(term), hits: map[string]bool{}}
}

func (m *textMatcher) event(ev *eventView) bool {
	return m.lower([]byte(ev.action)) || m.lower([]byte(ev.resource)) || m.lower(ev.ip) ||
		m.folded(FieldSubject, ev.subjectName, ev.subjectEmail) || m.folded(FieldChange, ev.change, nil)
}

// lower reports whether v, lower-cased, contains the term; v is mostly
// lower-case ASCII already (actions, addresses) and then is not copied.
func (m *textMatcher) lower(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if c >= 0x80 || 'A' <= c && c <= 'Z' {
			return strings.Contains(strings.ToLower(string(v)), m.term)
		}
	}
	return bytes.Contains(v, m.termB)
}

// folded tests the subject or change, accent-folded, remembering each
// value's answer.
func (m *textMatcher) folded(f byte, v, w []byte) bool {
	if len(v) == 0 && len(w) == 0 {
		return false
	}
	m.scratch = append(append(append(append(m.scratch[:0], f), v...), 0), w...)
	hit, ok := m.hits[string(m.scratch)]
	if !ok {
		if f == FieldSubject {
			hit = strings.Contains(subjectValue(&Event{SubjectName: string(v), SubjectEmail: string(w)}), m.term)
		} else {
			hit = strings.Contains(SearchFold(string(v)), m.term)
		}
		m.hits[string(m.scratch)] = hit
	}
	return hit
}

// AuditStats are the 24-hour figures at the top of the audit page.
type AuditStats struct {
	Events      int
	ActiveUsers int
	TopAction   string
	TopCount    int
}

// Stats counts tenant's events from now−24h to now, both included: the
// whole hours inside the window from their counters, the two partial
// hours event by event (or the hour's counter less the events outside
// the window, whichever reads fewer), so all three figures are exact and
// the cost stays bounded by half an hour of events.
func (t *Tx) Stats(tenant uint64, now time.Time) (AuditStats, error) {
	since := now.Add(-24 * time.Hour)
	from, to := nanos(since), nanos(now)
	firstWhole, lastHour := ceilHour(from), floorHour(to)
	var st AuditStats
	acc := &tally{actions: map[string]*int{}}
	if firstWhole < lastHour {
		c := t.b(bucketAuditHours).Cursor()
		end := hourKey(tenant, hourOf(lastHour-hourNanos))
		for k, v := c.Seek(hourKey(tenant, hourOf(firstWhole))); k != nil && bytes.Compare(k, end) <= 0; k, v = c.Next() {
			if err := acc.hour(k, v, 1); err != nil {
				return st, err
			}
		}
	}
	// The start's hour: the part inside the window, or the hour less the
	// part before it.
	var err error
	if from < firstWhole {
		if from-floorHour(from) > hourNanos/2 {
			err = t.countRange(tenant, from, firstWhole, acc, 1)
		} else if err = t.addHour(tenant, floorHour(from), acc, 1); err == nil {
			err = t.countRange(tenant, floorHour(from), from, acc, -1)
		}
		if err != nil {
			return st, err
		}
	}
	// Now's hour: the hour less what lies after now (nothing, unless a
	// clock went back).
	if err := t.addHour(tenant, lastHour, acc, 1); err != nil {
		return st, err
	}
	if err := t.countRange(tenant, to+1, lastHour+hourNanos, acc, -1); err != nil {
		return st, err
	}
	if st.ActiveUsers, err = t.activeBetween(tenant, from, to); err != nil {
		return st, err
	}
	st.Events = acc.events
	for a, n := range acc.actions {
		if *n > st.TopCount || *n == st.TopCount && a < st.TopAction {
			st.TopAction, st.TopCount = a, *n
		}
	}
	return st, nil
}

// tally adds up events and, unless actions is nil, their actions.
type tally struct {
	events  int
	actions map[string]*int // a pointer each: adding to an action seen before allocates nothing
}

func (a *tally) action(name []byte, n int) {
	if a.actions == nil {
		return
	}
	if p := a.actions[string(name)]; p != nil {
		*p += n
		return
	}
	a.actions[string(name)] = &n
}

func (a *tally) actionString(name string, n int) {
	if a.actions == nil {
		return
	}
	if p := a.actions[name]; p != nil {
		*p += n
		return
	}
	a.actions[name] = &n
}

// hour adds (sign 1) or takes off (-1) one hour's encoded counters.
func (a *tally) hour(k, v []byte, sign int) error {
	bad := fmt.Errorf("corrupt hour counters %x", k)
	n, w := binary.Uvarint(v)
	if w <= 0 {
		return bad
	}
	a.events += sign * int(n)
	for v = v[w:]; len(v) > 0; {
		l, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < l {
			return bad
		}
		name := v[w : w+int(l)]
		v = v[w+int(l):]
		c, w := binary.Uvarint(v)
		if w <= 0 {
			return bad
		}
		a.action(name, sign*int(c))
		v = v[w:]
	}
	return nil
}

const hourNanos = uint64(time.Hour)

func nanos(at time.Time) uint64  { return uint64(at.UnixNano()) }
func floorHour(n uint64) uint64  { return n - n%hourNanos }
func ceilHour(n uint64) uint64   { return floorHour(n + hourNanos - 1) }
func hourOf(n uint64) time.Time  { return time.Unix(0, int64(n)) }
func eventKeyAt(n uint64) []byte { return join(u64(n), make([]byte, 8)) }

func (t *Tx) addHour(tenant uint64, hour uint64, acc *tally, sign int) error {
	k := hourKey(tenant, hourOf(hour))
	if v := t.b(bucketAuditHours).Get(k); v != nil {
		return acc.hour(k, v, sign)
	}
	return nil
}

// countRange adds (sign 1) or takes off (-1) tenant's events with key
// times in [from, to), one by one.
func (t *Tx) countRange(tenant uint64, from, to uint64, acc *tally, sign int) error {
	if from >= to {
		return nil
	}
	it, stop := t.tenantIter(tenant, eventKeyAt(to)), eventKeyAt(from)
	events, r := newGetter(t.b(bucketAudit)), t.eventReader()
	for ; it.key() != nil && bytes.Compare(it.key(), stop) >= 0; it.next() {
		v := it.value()
		if v == nil {
			v = events.get(it.key())
		}
		ev, err := r.view(it.key(), v)
		if err != nil {
			return err
		}
		acc.events += sign
		acc.actionString(ev.action, sign)
	}
	return it.failed()
}

// activeBetween counts tenant's actors with an event in [from, to]. Each
// actor is in the active index once, at their newest event, and counted in
// that event's hour: the whole hours inside the window add their counts,
// the start's partial hour is read entry by entry, and actors whose newest
// event lies after to (only after a clock went back) are judged one by one.
func (t *Tx) activeBetween(tenant uint64, from, to uint64) (int, error) {
	firstWhole, lastHour := ceilHour(from), floorHour(to)
	if t.b(bucketAuditActiveN) == nil || firstWhole > lastHour {
		return t.activeWalk(tenant, from, ^uint64(0), from, to)
	}
	n, err := t.activeWalk(tenant, from, firstWhole, from, to)
	if err != nil {
		return 0, err
	}
	prefix := u64(tenant)
	c := t.b(bucketAuditActiveN).Cursor()
	for k, v := c.Seek(activeHourKey(tenant, firstWhole)); k != nil && bytes.HasPrefix(k, prefix) && readU64(k[8:]) <= lastHour; k, v = c.Next() {
		n += int(readU64(v))
	}
	// The count of to's hour took in its entries after to, if any: take
	// them off, and judge every entry after to on its own.
	cur := t.b(bucketAuditActive).Cursor()
	end := lastHour + hourNanos
	for k, _ := cur.Seek(join(prefix, u64(to+1))); k != nil && bytes.HasPrefix(k, prefix) && readU64(k[8:16]) < end; k, _ = cur.Next() {
		n--
	}
	later, err := t.activeWalk(tenant, to+1, ^uint64(0), from, to)
	return n + later, err
}

// activeWalk counts, entry by entry, the actors of tenant's active index
// whose newest event lies in [seek, end) and who have an event in the
// window [from, to]: their newest is in it, or, lying after it, their list
// holds one in it.
func (t *Tx) activeWalk(tenant uint64, seek, end, from, to uint64) (int, error) {
	prefix := u64(tenant)
	c := t.b(bucketAuditActive).Cursor()
	n := 0
	for k, _ := c.Seek(join(prefix, u64(seek))); k != nil && bytes.HasPrefix(k, prefix) && readU64(k[8:16]) < end; k, _ = c.Next() {
		at := readU64(k[8:16])
		if at < from {
			continue
		}
		if at <= to {
			n++
			continue
		}
		it := t.valueLists().valueIter(tenant, FieldActor, string(k[16:]), eventKeyAt(to+1))
		if it.failed() != nil {
			return 0, it.failed()
		}
		if k := it.key(); k != nil && readU64(k) >= from {
			n++
		}
	}
	return n, nil
}

// CountEventsBefore is how many events have key times before before: what
// a retention cut there removes (PruneAudit). Whole hours come from the
// hourly counters (their first number only); the hour before falls in is
// counted event by event from whichever of its ends is nearer.
func (t *Tx) CountEventsBefore(before time.Time) (int, error) {
	cut := nanos(before)
	hour := floorHour(cut)
	n := 0
	end := hourKey(0, hourOf(hour))
	c := t.b(bucketAuditHours).Cursor()
	for k, v := c.Seek(u64(0)); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
		events, w := binary.Uvarint(v)
		if w <= 0 {
			return 0, fmt.Errorf("corrupt hour counters %x", k)
		}
		n += int(events)
	}
	acc := &tally{}
	if cut-hour <= hourNanos/2 {
		err := t.countRange(0, hour, cut, acc, 1)
		return n + acc.events, err
	}
	if err := t.addHour(0, hour, acc, 1); err != nil {
		return 0, err
	}
	err := t.countRange(0, cut, hour+hourNanos, acc, -1)
	return n + acc.events, err
}
