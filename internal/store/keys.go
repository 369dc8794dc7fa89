package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
)

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func readU64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func join(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Fold is the case-insensitive form used in indexes: trimmed and lower-cased.
func Fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func getJSON(b interface{ Get([]byte) []byte }, key []byte, v any) (bool, error) {
	raw := b.Get(key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("%w (corrupt record %x: %v)", ErrDamaged, key, err)
	}
	return true, nil
}

func putJSON(b interface{ Put([]byte, []byte) error }, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

func unmarshal(key, raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w (corrupt record %x: %v)", ErrDamaged, key, err)
	}
	return nil
}

// sweep walks up to max entries of b after the key after, collects those
// dead reports, and deletes them once the walk is over (bbolt forbids
// writing under a live cursor). It returns the last key walked, or nil when
// the bucket has no more.
func sweep(b kvBucket, after []byte, max int, dead func(k, v []byte) (bool, error), del func(k []byte) error) ([]byte, int, error) {
	c := b.Cursor()
	k, v := c.First()
	if after != nil {
		if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
	}
	var doomed [][]byte
	var last []byte
	for n := 0; k != nil && n < max; k, v = c.Next() {
		n++
		last = bytes.Clone(k)
		d, err := dead(k, v)
		if err != nil {
			return nil, 0, err
		}
		if d {
			doomed = append(doomed, last)
		}
	}
	if k == nil {
		last = nil
	}
	for _, k := range doomed {
		if err := del(k); err != nil {
			return nil, 0, err
		}
	}
	return last, len(doomed), nil
}

// getter reads a bucket's values through one cursor: bbolt's Get makes a
// new cursor (and its stack) each time, which shows on a walk that reads
// hundreds of values.
type getter struct{ c kvCursor }

func newGetter(b kvBucket) getter { return getter{b.Cursor()} }

func (g getter) get(k []byte) []byte {
	if got, v := g.c.Seek(k); bytes.Equal(got, k) {
		return v
	}
	return nil
}
