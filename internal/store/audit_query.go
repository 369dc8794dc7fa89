package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
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

// revIter walks the event keys under one index prefix, newest first.
type revIter struct {
	c      *bolt.Cursor
	prefix []byte
	k      []byte // current event key, nil when done
}

func newRevIter(b *bolt.Bucket, prefix, start []byte) *revIter {
	it := &revIter{c: b.Cursor(), prefix: prefix}
	k, _ := it.c.Seek(join(prefix, start))
	if k == nil {
		k, _ = it.c.Last()
	} else {
		k, _ = it.c.Prev()
	}
	it.set(k)
	return it
}

func (it *revIter) set(k []byte) {
	if k != nil && len(k) == len(it.prefix)+16 && bytes.HasPrefix(k, it.prefix) {
		it.k = k[len(it.prefix):]
	} else {
		it.k = nil
	}
}

func (it *revIter) next() {
	k, _ := it.c.Prev()
	it.set(k)
}

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
		start = join(u64(uint64(q.Until.UnixNano())), make([]byte, 8))
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
		stop = join(u64(uint64(q.Since.UnixNano())), make([]byte, 8))
	}
	text := SearchFold(q.Text)

	// Choose the most selective index to drive the walk.
	by := t.b(bucketAuditBy)
	var drive *merged
	switch {
	case q.Actor != "":
		drive = newMerged(newRevIter(by, byPrefix(q.Tenant, FieldActor, q.Actor), start))
	case q.Action != "":
		drive = newMerged(newRevIter(by, byPrefix(q.Tenant, FieldAction, q.Action), start))
	case q.Resource != "":
		drive = newMerged(newRevIter(by, byPrefix(q.Tenant, FieldResource, q.Resource), start))
	case text != "":
		plan := t.planText(q.Tenant, text, max(q.Limit, 50))
		if !plan.walk && len(plan.values) == 0 {
			return nil // the term matches no action, resource type or address
		}
		if plan.walk {
			drive = newMerged(newRevIter(t.b(bucketAuditTenant), u64(q.Tenant), start))
			break
		}
		its := make([]*revIter, len(plan.values))
		for i, v := range plan.values {
			its[i] = newRevIter(by, byPrefix(q.Tenant, v.f, v.v), start)
		}
		drive = newMerged(its...)
	default:
		drive = newMerged(newRevIter(t.b(bucketAuditTenant), u64(q.Tenant), start))
	}

	sums, events := t.b(bucketAuditSum), t.b(bucketAudit)
	for k := drive.cur(); k != nil; k = drive.advance() {
		if stop != nil && bytes.Compare(k, stop) < 0 {
			break
		}
		s, ok := parseSummary(sums.Get(k))
		if !ok {
			return errors.New("audit summary " + HexKey(k) + " is missing or damaged")
		}
		if q.Tenant != 0 && s.Tenant != q.Tenant ||
			q.Action != "" && string(s.Action) != q.Action ||
			q.Resource != "" && string(s.Resource) != q.Resource ||
			q.Actor != "" && string(s.Actor) != q.Actor ||
			text != "" && !containsFold(s.Action, text) && !containsFold(s.Resource, text) && !containsFold(s.IP, text) &&
				!bytes.Contains(s.Subject, []byte(text)) && !bytes.Contains(s.Change, []byte(text)) {
			continue
		}
		v := events.Get(k)
		if v == nil {
			return errors.New("audit event " + HexKey(k) + " is indexed but missing")
		}
		e, err := decodeEvent(k, v)
		if err != nil {
			return err
		}
		more, err := fn(e)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func containsFold(b []byte, lowerTerm string) bool {
	return strings.Contains(strings.ToLower(string(b)), lowerTerm)
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
	actions := map[string]int{}
	add := func(h HourCounts, sign int) {
		st.Events += sign * h.Events
		for a, n := range h.Actions {
			actions[a] += sign * n
		}
	}
	hours, err := t.hourRange(tenant, firstWhole, lastHour)
	if err != nil {
		return st, err
	}
	for _, h := range hours {
		add(h, 1)
	}
	// The start's hour: the part inside the window, or the hour less the
	// part before it.
	if from < firstWhole {
		if from-floorHour(from) > hourNanos/2 {
			err = t.countRange(tenant, from, firstWhole, add)
		} else if err = t.addHour(tenant, floorHour(from), add); err == nil {
			err = t.countRange(tenant, floorHour(from), from, func(h HourCounts, sign int) { add(h, -sign) })
		}
		if err != nil {
			return st, err
		}
	}
	// Now's hour: the hour less what lies after now (nothing, unless a
	// clock went back).
	if err := t.addHour(tenant, lastHour, add); err != nil {
		return st, err
	}
	if err := t.countRange(tenant, to+1, lastHour+hourNanos, func(h HourCounts, sign int) { add(h, -sign) }); err != nil {
		return st, err
	}
	if st.ActiveUsers, err = t.activeBetween(tenant, from, to); err != nil {
		return st, err
	}
	for a, n := range actions {
		if n > st.TopCount || n == st.TopCount && a < st.TopAction {
			st.TopAction, st.TopCount = a, n
		}
	}
	return st, nil
}

const hourNanos = uint64(time.Hour)

func nanos(at time.Time) uint64  { return uint64(at.UnixNano()) }
func floorHour(n uint64) uint64  { return n - n%hourNanos }
func ceilHour(n uint64) uint64   { return floorHour(n + hourNanos - 1) }
func hourOf(n uint64) time.Time  { return time.Unix(0, int64(n)) }
func eventKeyAt(n uint64) []byte { return join(u64(n), make([]byte, 8)) }

// hourRange returns the counters of the whole hours starting in [from, to).
func (t *Tx) hourRange(tenant uint64, from, to uint64) ([]HourCounts, error) {
	if from >= to {
		return nil, nil
	}
	return t.Hours(tenant, hourOf(from), hourOf(to-hourNanos))
}

func (t *Tx) addHour(tenant uint64, hour uint64, add func(HourCounts, int)) error {
	h, err := t.getHour(hourKey(tenant, hourOf(hour)))
	if err != nil {
		return err
	}
	add(h, 1)
	return nil
}

// countRange adds tenant's events with key times in [from, to), one by one.
func (t *Tx) countRange(tenant uint64, from, to uint64, add func(HourCounts, int)) error {
	if from >= to {
		return nil
	}
	prefix := u64(tenant)
	end := join(prefix, eventKeyAt(to))
	sums := t.b(bucketAuditSum)
	c := t.b(bucketAuditTenant).Cursor()
	for k, _ := c.Seek(join(prefix, eventKeyAt(from))); k != nil && bytes.Compare(k, end) < 0; k, _ = c.Next() {
		s, ok := parseSummary(sums.Get(k[8:]))
		if !ok {
			return errors.New("audit summary " + HexKey(k[8:]) + " is missing or damaged")
		}
		add(HourCounts{Events: 1, Actions: map[string]int{string(s.Action): 1}}, 1)
	}
	return nil
}

// activeBetween counts tenant's actors with an event in [from, to]: those
// whose newest event lies there, and those whose newest lies after to but
// who also have one inside (only after a clock went back).
func (t *Tx) activeBetween(tenant uint64, from, to uint64) (int, error) {
	prefix := u64(tenant)
	c := t.b(bucketAuditActive).Cursor()
	n := 0
	by := t.b(bucketAuditBy)
	for k, _ := c.Seek(join(prefix, u64(from))); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if readU64(k[8:16]) <= to {
			n++
			continue
		}
		it := newRevIter(by, byPrefix(tenant, FieldActor, string(k[16:])), eventKeyAt(to+1))
		if it.k != nil && readU64(it.k) >= from {
			n++
		}
	}
	return n, nil
}

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
	limit := join(u64(uint64(before.UnixNano())), make([]byte, 8))
	b := t.b(bucketAudit)
	c := b.Cursor()
	var keys [][]byte
	for k, _ := c.First(); k != nil && bytes.Compare(k, limit) < 0 && len(keys) < max; k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		v := b.Get(k)
		e, err := decodeEvent(k, v)
		if err != nil {
			return 0, err
		}
		if err := t.unindexEvent(&e, k); err != nil {
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
	add := func(h HourCounts, sign int) { n += sign * h.Events }
	if cut-hour <= hourNanos/2 {
		return n, t.countRange(0, hour, cut, add)
	}
	if err := t.addHour(0, hour, add); err != nil {
		return 0, err
	}
	return n, t.countRange(0, cut, hour+hourNanos, func(h HourCounts, sign int) { add(h, -sign) })
}

func (t *Tx) unindexEvent(e *Event, key []byte) error {
	if err := t.b(bucketAuditSum).Delete(key); err != nil {
		return err
	}
	for _, tenant := range tenantsOf(e) {
		if err := t.b(bucketAuditTenant).Delete(join(u64(tenant), key)); err != nil {
			return err
		}
		for _, f := range eventFields(e) {
			if f.posted {
				if err := t.b(bucketAuditBy).Delete(join(byPrefix(tenant, f.f, f.v), key)); err != nil {
					return err
				}
			}
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
			if err := t.b(bucketAuditActive).Delete(join(u64(tenant), last, []byte(e.ActorKey()))); err != nil {
				return err
			}
			if err := t.b(bucketAuditLast).Delete(lastKey); err != nil {
				return err
			}
		}
	}
	return nil
}
