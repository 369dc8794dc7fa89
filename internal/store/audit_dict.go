package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// The audit log's dictionary (audit_values_v1) holds, per tenant and
// field, each distinct value with how many events have it. It is written
// in the same transaction as the events, so the page's dropdowns, the
// user suggestions and the free-text planner read it instead of the log.

// countValue adds d to the number of tenant's events with value v in field
// f. A value of the free-text fields that appears in, or leaves, the whole
// log (tenant 0) enters or leaves the trigram index.
func (t *Tx) countValue(tenant uint64, f byte, v string, d int64) error {
	key := join(u64(tenant), []byte{f}, []byte(v))
	old := int64(readU64(t.b(bucketAuditValues).Get(key)))
	if err := t.addCount(bucketAuditValues, key, d); err != nil {
		return err
	}
	if tenant != 0 || !isTextField(f) {
		return nil
	}
	switch now := old + d; {
	case old <= 0 && now > 0:
		return t.indexGrams(f, v, 1)
	case old > 0 && now <= 0:
		return t.indexGrams(f, v, -1)
	}
	return nil
}

// ActorSuggestion is an actor of the log whose e-mail or name starts with
// what an admin typed.
type ActorSuggestion struct {
	Key  string // ActorKey: the folded e-mail (or name), the user filter's value
	Name string // a name it acted under (the first in order)
}

// suggestScan bounds the dictionary entries one suggestion reads.
const suggestScan = 200

// SuggestActors returns at most max actors of tenant's log whose key or
// folded name starts with prefix (folded by the caller), in key order. It
// reads at most max keys of the actors and suggestScan of their names.
func (t *Tx) SuggestActors(tenant uint64, prefix string, max int) []ActorSuggestion {
	found := map[string]string{}
	scan := func(field byte, limit int, add func(rest string)) {
		p := join(u64(tenant), []byte{field}, []byte(prefix))
		c := t.b(bucketAuditValues).Cursor()
		n := 0
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p) && n < limit; k, _ = c.Next() {
			add(string(k[9:]))
			n++
		}
	}
	scan(FieldActor, max, func(key string) {
		if key != "" {
			found[key] = found[key]
		}
	})
	scan(FieldActorName, suggestScan, func(v string) {
		_, rest, _ := strings.Cut(v, "\x00")
		key, name, _ := strings.Cut(rest, "\x00")
		if _, seen := found[key]; seen || len(found) < max {
			found[key] = name
		}
	})
	out := make([]ActorSuggestion, 0, len(found))
	for k, n := range found {
		if n == "" {
			n = t.actorName(tenant, k)
		}
		out = append(out, ActorSuggestion{Key: k, Name: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	if len(out) > max {
		out = out[:max]
	}
	return out
}

// actorName is a name the actor acted under in tenant's log, or "".
func (t *Tx) actorName(tenant uint64, key string) string {
	p := join(u64(tenant), []byte{FieldActorNames}, []byte(key), []byte{0})
	if k, _ := t.b(bucketAuditValues).Cursor().Seek(p); k != nil && bytes.HasPrefix(k, p) {
		return string(k[len(p):])
	}
	return ""
}

// migrateActorNames fills the dictionary's actor names from the events
// already in the log (one read of each event).
func migrateActorNames(t *Tx) error {
	// Events moved in by migration 4 have their names already: start over.
	var stale [][]byte
	dc := t.b(bucketAuditValues).Cursor()
	for k, _ := dc.First(); k != nil; k, _ = dc.Next() {
		if len(k) > 8 && (k[8] == FieldActorName || k[8] == FieldActorNames) {
			stale = append(stale, bytes.Clone(k))
		}
	}
	for _, k := range stale {
		if err := t.b(bucketAuditValues).Delete(k); err != nil {
			return err
		}
	}
	c := t.b(bucketAuditV2).Cursor() // the JSON log (layouts 4–10)
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(v) < hashLen {
			return fmt.Errorf("audit event %x is truncated", k)
		}
		var e struct {
			ActorName  string `json:"actorName"`
			ActorEmail string `json:"actorEmail"`
			TenantID   uint64 `json:"tenantId"`
		}
		if err := json.Unmarshal(v[hashLen:], &e); err != nil {
			return fmt.Errorf("audit event %x: %w", k, err)
		}
		ev := &Event{ActorName: e.ActorName, ActorEmail: e.ActorEmail, TenantID: e.TenantID}
		for _, tenant := range tenantsOf(ev) {
			for _, f := range eventFields(ev) {
				if f.f != FieldActorName && f.f != FieldActorNames {
					continue
				}
				if err := t.countValue(tenant, f.f, f.v, 1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
