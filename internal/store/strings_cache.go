package store

import "sync"

// stringCache remembers the audit log's string table (id → string) across
// read transactions. An id names one string for good: ids come from the
// table's sequence and are never given again, even when pruning deletes a
// string nobody uses. Only read transactions fill it, so it learns nothing
// a write transaction might still roll back. A page of 50 events names a
// hundred strings; from the table, each costs a B+tree search.
type stringCache struct {
	mu sync.RWMutex
	m  map[uint64]string
}

// maxSharedStrings bounds the cache (a few MB); when full, a quarter of it
// goes, chosen by the map's own random order.
const maxSharedStrings = 64 << 10

func (c *stringCache) get(id uint64) (string, bool) {
	c.mu.RLock()
	s, ok := c.m[id]
	c.mu.RUnlock()
	return s, ok
}

func (c *stringCache) put(id uint64, s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[uint64]string, 1024)
	}
	if len(c.m) >= maxSharedStrings {
		n := 0
		for k := range c.m {
			delete(c.m, k)
			if n++; n >= maxSharedStrings/4 {
				break
			}
		}
	}
	c.m[id] = s
}
