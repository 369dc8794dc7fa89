package store

import (
	"encoding/binary"
	"fmt"
	"sort"
	"time"
)

// HourCounts are one hour's counters of one tenant, for the 24-hour stats.
type HourCounts struct {
	Events  int
	Actions map[string]int
}

func hourKey(tenant uint64, at time.Time) []byte {
	return join(u64(tenant), u64(uint64(at.Unix()/3600)))
}

// keyTime is the time in an event's key: its own time, or its
// predecessor's if a clock went back. Hours count by it, so counters and
// key ranges agree.
func keyTime(key []byte) time.Time { return time.Unix(0, int64(readU64(key))) }

// encodeHour writes counters compactly (the stats read 25 of them per
// call): the events, then each action, length-prefixed, and its count.
func encodeHour(h HourCounts) []byte {
	actions := make([]string, 0, len(h.Actions))
	for a := range h.Actions {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	b := binary.AppendUvarint(nil, uint64(h.Events))
	for _, a := range actions {
		b = binary.AppendUvarint(b, uint64(len(a)))
		b = append(b, a...)
		b = binary.AppendUvarint(b, uint64(h.Actions[a]))
	}
	return b
}

func decodeHour(k, v []byte) (HourCounts, error) {
	bad := fmt.Errorf("corrupt hour counters %x", k)
	n, w := binary.Uvarint(v)
	if w <= 0 {
		return HourCounts{}, bad
	}
	h := HourCounts{Events: int(n), Actions: map[string]int{}}
	for v = v[w:]; len(v) > 0; {
		l, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < l {
			return HourCounts{}, bad
		}
		a := string(v[w : w+int(l)])
		v = v[w+int(l):]
		c, w := binary.Uvarint(v)
		if w <= 0 {
			return HourCounts{}, bad
		}
		h.Actions[a], v = int(c), v[w:]
	}
	return h, nil
}

func (t *Tx) getHour(k []byte) (HourCounts, error) {
	v := t.b(bucketAuditHours).Get(k)
	if v == nil {
		return HourCounts{Actions: map[string]int{}}, nil
	}
	return decodeHour(k, v)
}

func (t *Tx) countHour(tenant uint64, e *Event, key []byte) error {
	if t.b(bucketAuditHours) == nil {
		return nil // an older layout, mid-migration: migration 10 counts the hours
	}
	k := hourKey(tenant, keyTime(key))
	h, err := t.getHour(k)
	if err != nil {
		return err
	}
	h.Events++
	h.Actions[e.Action]++
	return t.b(bucketAuditHours).Put(k, encodeHour(h))
}

// uncountHour takes a removed event off its hour's counters (a retention
// cut may fall inside an hour: the hour's later events stay counted).
func (t *Tx) uncountHour(tenant uint64, e *Event, key []byte) error {
	k := hourKey(tenant, keyTime(key))
	h, err := t.getHour(k)
	if err != nil {
		return err
	}
	if h.Events--; h.Events <= 0 {
		return t.b(bucketAuditHours).Delete(k)
	}
	if h.Actions[e.Action]--; h.Actions[e.Action] <= 0 {
		delete(h.Actions, e.Action)
	}
	return t.b(bucketAuditHours).Put(k, encodeHour(h))
}

// migrateAuditHoursV2 counts the hours again, compactly, from the events'
// keys and summaries, and drops the JSON counters of layouts 4–9.
func migrateAuditHoursV2(t *Tx) error {
	if err := createBuckets(layout10)(t); err != nil {
		return err
	}
	hours := map[string]HourCounts{}
	c := t.b(bucketAuditSumV1).Cursor() // the JSON log's summaries (layouts 4–10)
	for k, v := c.First(); k != nil; k, v = c.Next() {
		s, ok := parseSummary(v)
		if !ok {
			return fmt.Errorf("audit summary %x is damaged", k)
		}
		for _, tenant := range tenantsOf(&Event{TenantID: s.Tenant}) {
			hk := string(hourKey(tenant, keyTime(k)))
			h := hours[hk]
			if h.Actions == nil {
				h.Actions = map[string]int{}
			}
			h.Events++
			h.Actions[string(s.Action)]++
			hours[hk] = h
		}
	}
	if err := putInKeyOrder(t.b(bucketAuditHours), hours, encodeHour); err != nil {
		return err
	}
	if t.tx.Bucket(bucketAuditHoursV1) != nil {
		return t.tx.DeleteBucket(bucketAuditHoursV1)
	}
	return nil
}

// migrateActiveHours counts the active index's actors by hour (layout 13).
func migrateActiveHours(t *Tx) error {
	if err := createBuckets(layout13)(t); err != nil {
		return err
	}
	counts := map[string]uint64{}
	err := t.b(bucketAuditActive).ForEach(func(k, _ []byte) error {
		if len(k) < 16 {
			return fmt.Errorf("active index entry %x is damaged", k)
		}
		counts[string(activeHourKey(readU64(k[:8]), readU64(k[8:16])))]++
		return nil
	})
	if err != nil {
		return err
	}
	return putInKeyOrder(t.b(bucketAuditActiveN), counts, func(n uint64) []byte { return u64(n) })
}
