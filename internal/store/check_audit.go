package store

import (
	"bytes"
	"fmt"
	"slices"
)

// checkAudit verifies the audit log's lists, string table and value
// counts against its events: every list holds exactly the keys of the
// events it is for, in order; every interned string counts exactly the
// events (and trigram index entries) that use it; every count of the
// dictionary is its events'. It
// holds what it expects in memory (a few hundred bytes per event), so
// Check runs it and the restore check (checkIndexesOnly) does not.
func (t *Tx) checkAudit() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	lists := map[string][][]byte{} // bucket name | prefix → keys
	strs := map[string]uint64{}
	counts := map[string]uint64{}
	r := t.eventReader()
	c := t.b(bucketAudit).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		e, err := r.event(k, v)
		if err != nil {
			bad("%v", err)
			continue
		}
		key := bytes.Clone(k)
		if e.TenantID != 0 {
			p := string(bucketAuditTenant) + "|" + string(u64(e.TenantID))
			lists[p] = append(lists[p], key)
		}
		for _, f := range eventFields(&e) {
			if f.posted {
				p := string(bucketAuditBy) + "|" + string(valuePrefix(f.f, f.v))
				lists[p] = append(lists[p], valueEntry(key, e.TenantID))
			}
			for _, tenant := range tenantsOf(&e) {
				counts[string(join(u64(tenant), []byte{f.f}, []byte(f.v)))]++
			}
		}
		if v[hashLen] != '{' {
			for _, s := range e.internedFields() {
				if *s != "" {
					strs[*s]++
				}
			}
		}
	}
	for _, f := range textFields { // the trigram index uses each value's string
		vals, _ := t.Values(0, f, 0)
		for v := range vals {
			if v != "" {
				strs[v]++
			}
		}
	}
	errs = append(errs, t.checkLists(t.tenantLists(), bucketAuditTenant, lists)...)
	errs = append(errs, t.checkLists(t.valueLists(), bucketAuditBy, lists)...)
	for p := range lists {
		bad("audit list %q is missing", p)
	}
	errs = append(errs, t.checkStrings(strs)...)
	n := 0
	_ = t.b(bucketAuditValues).ForEach(func(k, v []byte) error {
		if n++; counts[string(k)] != readU64(v) {
			bad("audit value %q counts %d events, the log has %d", k, readU64(v), counts[string(k)])
		}
		return nil
	})
	if n != len(counts) {
		bad("the audit dictionary has %d values, the log %d", n, len(counts))
	}
	return append(errs, t.checkActiveHours()...)
}

// checkActiveHours compares the active index's counts by hour with its
// entries.
func (t *Tx) checkActiveHours() []error {
	var errs []error
	want := map[string]uint64{}
	_ = t.b(bucketAuditActive).ForEach(func(k, _ []byte) error {
		if len(k) < 16 {
			errs = append(errs, fmt.Errorf("active index entry %x is damaged", k))
			return nil
		}
		want[string(activeHourKey(readU64(k[:8]), readU64(k[8:16])))]++
		return nil
	})
	n := 0
	_ = t.b(bucketAuditActiveN).ForEach(func(k, v []byte) error {
		if n++; want[string(k)] != readU64(v) {
			errs = append(errs, fmt.Errorf("active actors of hour %x: counted %d, the index holds %d", k, readU64(v), want[string(k)]))
		}
		return nil
	})
	if n != len(want) {
		errs = append(errs, fmt.Errorf("active actors: %d hours counted, the index has %d", n, len(want)))
	}
	return errs
}

// checkLists compares the lists of l (bucket name) with want (name |
// prefix → keys), deleting what it found from want.
func (t *Tx) checkLists(l lists, name []byte, want map[string][][]byte) []error {
	var errs []error
	got := map[string][][]byte{}
	_ = l.b.ForEach(func(bk, v []byte) error {
		if len(bk) < l.width {
			errs = append(errs, fmt.Errorf("%s: key %x is too short", name, bk))
			return nil
		}
		prefix := bk[:len(bk)-l.width]
		keys, err := l.blockKeys(prefix, bk, v)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if len(keys) > blockMax {
			errs = append(errs, fmt.Errorf("%s: block %x holds %d keys", name, bk, len(keys)))
		}
		p := string(name) + "|" + string(prefix)
		got[p] = append(got[p], keys...)
		return nil
	})
	for p, keys := range got {
		if !slices.EqualFunc(keys, want[p], bytes.Equal) {
			errs = append(errs, fmt.Errorf("audit list %x holds %d keys, the log has %d for it", p, len(keys), len(want[p])))
		}
		delete(want, p)
	}
	return errs
}

// checkStrings compares the string table with the events using each
// string.
func (t *Tx) checkStrings(want map[string]uint64) []error {
	var errs []error
	ids := map[uint64]bool{}
	_ = t.b(bucketAuditStrings).ForEach(func(k, v []byte) error {
		id, n, err := stringEntry(string(k), v)
		switch {
		case err != nil:
			errs = append(errs, err)
		case n != want[string(k)]:
			errs = append(errs, fmt.Errorf("audit string %q counts %d events, %d use it", k, n, want[string(k)]))
		case !bytes.Equal(t.b(bucketAuditStringIDs).Get(u64(id)), k):
			errs = append(errs, fmt.Errorf("audit string %q: its id %d names something else", k, id))
		}
		ids[id] = true
		delete(want, string(k))
		return nil
	})
	for s := range want {
		errs = append(errs, fmt.Errorf("audit string %q is used but not in the table", s))
	}
	_ = t.b(bucketAuditStringIDs).ForEach(func(k, _ []byte) error {
		if !ids[readU64(k)] {
			errs = append(errs, fmt.Errorf("audit string id %x names no entry", k))
		}
		return nil
	})
	return errs
}
