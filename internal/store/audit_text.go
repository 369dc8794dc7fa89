package store

import (
	"bytes"
	"container/heap"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Free text over the audit log is planned as a database would. The term
// finds its candidate values through a trigram index over the dictionary
// of distinct values (Russ Cox's code search, PostgreSQL's pg_trgm): the
// rarest of the term's trigrams names the few values to test, so no query
// reads every distinct value. The values' event counts then say how much
// of the log matches: few events, and their lists are merged newest first
// (a heap) until the page is full; many, and the newest events are walked
// and tested, which fills a page after a few reads. Either way the cost is
// bounded by the page, not by the number of distinct values.

// textFields are the fields free text searches.
var textFields = []byte{FieldAction, FieldResource, FieldIP, FieldSubject, FieldChange}

func isTextField(f byte) bool { return bytes.IndexByte(textFields, f) >= 0 }

// grams lists the distinct trigrams of a value as the index stores them.
func grams(v string) []string {
	s := strings.ToLower(v)
	padded := s + "\x00\x00"
	seen := make(map[string]bool, len(s))
	out := make([]string, 0, len(s))
	for i := 0; i < len(s); i++ {
		if g := padded[i : i+3]; !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

// indexGrams adds (d = 1) or removes (d = -1) a value's trigrams: the
// value's id in the string table (which counts the index as a user of
// it) in the list of each of its grams.
func (t *Tx) indexGrams(f byte, v string, d int64) error {
	if t.b(bucketAuditGrams) == nil {
		return nil // an older layout, mid-migration: migration 11 builds the index
	}
	if v == "" {
		return nil // no grams (and no string to count)
	}
	var id uint64
	var err error
	if d > 0 {
		id, err = t.internString(v)
	} else {
		id, _, err = stringEntry(v, t.b(bucketAuditStrings).Get([]byte(v)))
	}
	if err != nil {
		return err
	}
	for _, g := range grams(v) {
		p := join([]byte{f}, []byte(g))
		if d > 0 {
			err = t.gramLists().add(p, u64(id))
		} else {
			err = t.gramLists().remove(p, u64(id))
		}
		if err == nil {
			err = t.addCount(bucketAuditGramN, p, d)
		}
		if err != nil {
			return err
		}
	}
	if d < 0 {
		return t.releaseString(v)
	}
	return nil
}

// maxCandidates is how many values of one field the planner will test; a
// term with more is broad (each value has an event), and walks the log.
const maxCandidates = 2000

// textValue is a value that contains the term, with its events in the
// queried tenant.
type textValue struct {
	f      byte
	v      string
	events int
}

// textCandidates returns tenant's values of field f whose lower-cased form
// contains term, or broad when there are more than maxCandidates to test.
// A term of a gram or more reads the list of its rarest gram, narrowed by
// the lists of the next rarest while they are short enough to pay (an id
// decoded costs about a tenth of a value read), so few values are read to
// be tested.
func (t *Tx) textCandidates(tenant uint64, f byte, term string) (vals []textValue, broad bool, err error) {
	var ids [][]byte
	if len(term) >= 3 {
		type gram struct {
			prefix []byte
			n      int
		}
		var gs []gram
		for i := 0; i+3 <= len(term); i++ {
			p := join([]byte{f}, []byte(term[i:i+3]))
			gs = append(gs, gram{p, int(readU64(t.b(bucketAuditGramN).Get(p)))})
		}
		sort.SliceStable(gs, func(i, j int) bool { return gs[i].n < gs[j].n })
		if gs[0].n == 0 {
			return nil, false, nil
		}
		if gs[0].n > maxCandidates {
			return nil, true, nil
		}
		if ids, err = t.gramIDs(gs[0].prefix, gs[0].prefix); err != nil {
			return nil, false, err
		}
		for _, g := range gs[1:] {
			if len(ids) <= 4 || g.n > 8*len(ids) {
				break
			}
			more, err := t.gramIDs(g.prefix, g.prefix)
			if err != nil {
				return nil, false, err
			}
			ids = intersect(ids, more)
		}
	} else {
		// A term shorter than a gram begins the grams of its occurrences.
		scan := join([]byte{f}, []byte(term))
		total, c := 0, t.b(bucketAuditGramN).Cursor()
		for k, v := c.Seek(scan); k != nil && bytes.HasPrefix(k, scan); k, v = c.Next() {
			if total += int(readU64(v)); total > maxCandidates {
				return nil, true, nil
			}
		}
		if ids, err = t.gramIDs(scan, nil); err != nil {
			return nil, false, err
		}
	}
	dict, strs := newGetter(t.b(bucketAuditValues)), newGetter(t.b(bucketAuditStringIDs))
	for _, id := range ids {
		v := strs.get(id)
		if v == nil {
			return nil, false, fmt.Errorf("%w (audit string %x of the trigram index is missing)", ErrDamaged, id)
		}
		if !strings.Contains(strings.ToLower(string(v)), term) {
			continue
		}
		if n := int(readU64(dict.get(join(u64(tenant), []byte{f}, v)))); n > 0 {
			vals = append(vals, textValue{f, string(v), n})
		}
	}
	return vals, false, nil
}

// gramIDs returns the ids in the trigram lists under scan, ascending and
// each once: one list (list: its prefix), or every gram that scan begins
// (list nil).
func (t *Tx) gramIDs(scan, list []byte) ([][]byte, error) {
	grams := t.gramLists()
	var ids [][]byte
	c := grams.b.Cursor()
	for k, v := c.Seek(scan); k != nil && bytes.HasPrefix(k, scan); k, v = c.Next() {
		if len(k) != 4+grams.width || list != nil && !grams.isBlock(list, k) {
			return nil, fmt.Errorf("%w (trigram block %x)", ErrDamaged, k)
		}
		keys, err := grams.blockKeys(k[:4], k, v)
		if err != nil {
			return nil, err
		}
		ids = append(ids, keys...)
	}
	if list == nil { // several grams' lists: sort and drop repeats
		slices.SortFunc(ids, bytes.Compare)
		ids = slices.CompactFunc(ids, bytes.Equal)
	}
	return ids, nil
}

// intersect returns the ids in both ascending lists.
func intersect(a, b [][]byte) [][]byte {
	var out [][]byte
	for len(a) > 0 && len(b) > 0 {
		switch c := bytes.Compare(a[0], b[0]); {
		case c < 0:
			a = a[1:]
		case c > 0:
			b = b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return out
}

// textPlan is how a free-text query reads the log.
type textPlan struct {
	walk   bool        // test the newest events one by one
	values []textValue // else merge these values' event lists
}

// planText chooses, for a page of limit events, between walking the log
// and merging the matching values' lists, by their estimated reads.
func (t *Tx) planText(tenant uint64, term string, limit int) (textPlan, error) {
	var p textPlan
	for _, f := range textFields {
		vals, broad, err := t.textCandidates(tenant, f, term)
		if err != nil || broad {
			return textPlan{walk: true}, err
		}
		p.values = append(p.values, vals...)
	}
	if len(p.values) > 0 {
		walk, merge := t.readCosts(tenant, p.values, limit)
		p.walk = walk < merge
	}
	return p, nil
}

// readCosts estimates, for a page of limit of tenant's events with one of
// vals (their events counts in tenant), the reads of walking tenant's
// events and testing each, and of merging the values' lists: a seek per
// list (a few reads), the page, and, in one tenant's view, the other
// tenants' entries skipped on the way (decoded, not read: about a
// sixteenth of a read each).
func (t *Tx) readCosts(tenant uint64, vals []textValue, limit int) (walk, merge int) {
	matching, everywhere := 0, 0
	for _, v := range vals {
		matching += v.events
		if tenant != 0 {
			everywhere += t.valueCount(0, v.f, v.v)
		}
	}
	total := 0
	if counts, err := t.Values(tenant, FieldAction, 0); err == nil { // a few dozen actions
		for _, n := range counts {
			total += n
		}
	}
	if matching == 0 {
		return 0, 0
	}
	walk = min(total, limit*total/matching)
	merge = 4*len(vals) + limit
	if tenant != 0 {
		merge += limit * (everywhere - matching) / matching / 16
	}
	return walk, merge
}

// merged walks several iterators as one, newest first, without repeats:
// a heap of their current keys.
type merged struct {
	h   iterHeap
	err error // the first iterator that stopped early, why
}

type iterHeap []keyIter

func (h iterHeap) Len() int           { return len(h) }
func (h iterHeap) Less(i, j int) bool { return bytes.Compare(h[i].key(), h[j].key()) > 0 }
func (h iterHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *iterHeap) Push(x any)        { *h = append(*h, x.(keyIter)) }
func (h *iterHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

func newMerged(its ...keyIter) *merged {
	m := &merged{}
	for _, it := range its {
		if it.key() != nil {
			m.h = append(m.h, it)
		} else {
			m.noteFailure(it)
		}
	}
	heap.Init(&m.h)
	return m
}

func (m *merged) noteFailure(it keyIter) {
	if err := it.failed(); err != nil && m.err == nil {
		m.err = err
	}
}

func (m *merged) cur() []byte {
	if len(m.h) == 0 {
		return nil
	}
	return m.h[0].key()
}

// value is the current event, when the iterator at hand reads the log.
func (m *merged) value() []byte {
	if len(m.h) == 0 {
		return nil
	}
	return m.h[0].value()
}

// advance moves past the current key and returns the next one.
func (m *merged) advance() []byte {
	best := bytes.Clone(m.cur())
	for len(m.h) > 0 && bytes.Equal(m.h[0].key(), best) {
		it := m.h[0]
		if it.next(); it.key() == nil {
			m.noteFailure(it)
			heap.Pop(&m.h)
		} else {
			heap.Fix(&m.h, 0)
		}
	}
	return m.cur()
}

// migrateAuditGrams builds the trigram index of the dictionary's values,
// its keys sorted first so bbolt appends instead of splitting pages.
func migrateAuditGrams(t *Tx) error {
	if err := createBuckets(layout9)(t); err != nil {
		return err
	}
	var keys []string
	counts := map[string]uint64{}
	for _, f := range textFields {
		vals, err := t.Values(0, f, 0)
		if err != nil {
			return err
		}
		for v := range vals {
			for _, g := range grams(v) {
				keys = append(keys, string(f)+g+v)
				counts[string(f)+g]++
			}
		}
	}
	sort.Strings(keys)
	// Packed while loaded in key order; later values insert all over the
	// index, where bbolt's default split suits (0.9 there doubled its size).
	grams := t.b(bucketAuditGramsV1)
	grams.SetFillPercent(1.0)
	for _, k := range keys {
		if err := grams.Put([]byte(k), []byte{}); err != nil {
			return err
		}
	}
	return putInKeyOrder(t.b(bucketAuditGramNV1), counts, u64)
}

// putInKeyOrder writes a map's entries in key order, so bbolt appends
// (a migration's bulk load) instead of splitting pages all over.
func putInKeyOrder[V any](b kvBucket, m map[string]V, encode func(V) []byte) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := b.Put([]byte(k), encode(m[k])); err != nil {
			return err
		}
	}
	return nil
}
