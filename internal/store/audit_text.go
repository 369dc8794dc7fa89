package store

import (
	"bytes"
	"container/heap"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"
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

// indexGrams adds (d = 1) or removes (d = -1) a value's trigrams.
func (t *Tx) indexGrams(f byte, v string, d int64) error {
	if t.b(bucketAuditGrams) == nil {
		return nil // an older layout, mid-migration: migration 9 builds the index
	}
	for _, g := range grams(v) {
		k := join([]byte{f}, []byte(g), []byte(v))
		var err error
		if d > 0 {
			err = t.b(bucketAuditGrams).Put(k, []byte{})
		} else {
			err = t.b(bucketAuditGrams).Delete(k)
		}
		if err == nil {
			err = t.addCount(bucketAuditGramN, join([]byte{f}, []byte(g)), d)
		}
		if err != nil {
			return err
		}
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
func (t *Tx) textCandidates(tenant uint64, f byte, term string) (vals []textValue, broad bool) {
	var scan []byte // the posting prefix to read: field | gram, or field | short term
	if len(term) >= 3 {
		best := -1
		for i := 0; i+3 <= len(term); i++ {
			n := int(readU64(t.b(bucketAuditGramN).Get(join([]byte{f}, []byte(term[i:i+3])))))
			if best < 0 || n < best {
				best, scan = n, join([]byte{f}, []byte(term[i:i+3]))
			}
		}
		if best == 0 {
			return nil, false
		}
		if best > maxCandidates {
			return nil, true
		}
	} else {
		// A term shorter than a gram begins the grams of its occurrences.
		scan = join([]byte{f}, []byte(term))
		total, c := 0, t.b(bucketAuditGramN).Cursor()
		for k, v := c.Seek(scan); k != nil && bytes.HasPrefix(k, scan); k, v = c.Next() {
			if total += int(readU64(v)); total > maxCandidates {
				return nil, true
			}
		}
	}
	seen := map[string]bool{}
	dict := t.b(bucketAuditValues)
	c := t.b(bucketAuditGrams).Cursor()
	for k, _ := c.Seek(scan); k != nil && bytes.HasPrefix(k, scan); k, _ = c.Next() {
		v := string(k[4:])
		if seen[v] || !strings.Contains(strings.ToLower(v), term) {
			continue
		}
		seen[v] = true
		if n := int(readU64(dict.Get(join(u64(tenant), []byte{f}, []byte(v))))); n > 0 {
			vals = append(vals, textValue{f, v, n})
		}
	}
	return vals, false
}

// textPlan is how a free-text query reads the log.
type textPlan struct {
	walk   bool        // test the newest events one by one
	values []textValue // else merge these values' event lists
}

// planText chooses, for a page of limit events, between walking the log
// and merging the matching values' lists, by their estimated reads.
func (t *Tx) planText(tenant uint64, term string, limit int) textPlan {
	var p textPlan
	matching := 0
	for _, f := range textFields {
		vals, broad := t.textCandidates(tenant, f, term)
		if broad {
			return textPlan{walk: true}
		}
		for _, v := range vals {
			matching += v.events
		}
		p.values = append(p.values, vals...)
	}
	if matching == 0 {
		return p
	}
	total := 0
	if counts, err := t.Values(tenant, FieldAction, 0); err == nil { // a few dozen actions
		for _, n := range counts {
			total += n
		}
	}
	// A merge seeks once per value (a few reads each), then reads the page;
	// a walk reads about limit × total / matching events.
	walkReads := min(total, limit*total/matching)
	mergeReads := 4*len(p.values) + limit
	p.walk = walkReads < mergeReads
	return p
}

// merged walks several iterators as one, newest first, without repeats:
// a heap of their current keys.
type merged []*revIter

func newMerged(its ...*revIter) *merged {
	m := merged{}
	for _, it := range its {
		if it.k != nil {
			m = append(m, it)
		}
	}
	heap.Init(&m)
	return &m
}

func (m merged) Len() int           { return len(m) }
func (m merged) Less(i, j int) bool { return bytes.Compare(m[i].k, m[j].k) > 0 }
func (m merged) Swap(i, j int)      { m[i], m[j] = m[j], m[i] }
func (m *merged) Push(x any)        { *m = append(*m, x.(*revIter)) }
func (m *merged) Pop() any {
	old := *m
	it := old[len(old)-1]
	*m = old[:len(old)-1]
	return it
}

func (m *merged) cur() []byte {
	if len(*m) == 0 {
		return nil
	}
	return (*m)[0].k
}

// advance moves past the current key and returns the next one.
func (m *merged) advance() []byte {
	best := bytes.Clone(m.cur())
	for len(*m) > 0 && bytes.Equal((*m)[0].k, best) {
		it := (*m)[0]
		if it.next(); it.k == nil {
			heap.Pop(m)
		} else {
			heap.Fix(m, 0)
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
	grams := t.b(bucketAuditGrams)
	grams.FillPercent = 1.0
	for _, k := range keys {
		if err := grams.Put([]byte(k), []byte{}); err != nil {
			return err
		}
	}
	return putInKeyOrder(t.b(bucketAuditGramN), counts, u64)
}

// putInKeyOrder writes a map's entries in key order, so bbolt appends
// (a migration's bulk load) instead of splitting pages all over.
func putInKeyOrder[V any](b *bolt.Bucket, m map[string]V, encode func(V) []byte) error {
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
