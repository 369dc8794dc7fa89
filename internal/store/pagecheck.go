package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// checkPageTree validates a bbolt file's page tree from its raw bytes, before
// bbolt is allowed to read it: bbolt trusts its file, so a crafted or damaged
// one can send it out of bounds or round a cycle forever. Every page reached
// from the root must lie inside the file, carry its own id, have a known
// type, keep its elements inside itself, and be reached once; sub-buckets
// (inline ones too) are checked the same way, to a bounded depth; the
// freelist must name pages inside the file. How far it reads is its mode;
// stop, if closed, ends the walk.
func checkPageTree(path string, mode walkMode, stop <-chan struct{}) error {
	_, err := walkPages(path, mode, stop)
	return err
}

// walkPages is checkPageTree, counting the pages it read.
func walkPages(path string, mode walkMode, stop <-chan struct{}) (pages int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	m, err := bestMeta(f)
	if err != nil {
		return 0, err
	}
	if uint64(st.Size())/m.pageSize < m.pgid {
		return 0, errors.New("the file is cut short")
	}
	if m.freelist == ^uint64(0) {
		// bbolt writes no free-page list only when told to (NoFreelistSync,
		// which Gatehouse never sets); opening such a file, bbolt rebuilds
		// the list by walking and checking the whole tree before any check
		// of ours, and reports a problem by panicking in a goroutine of its
		// own, which ends the process.
		return 0, errors.New("the file holds no list of its free pages (Gatehouse always writes one)")
	}
	// A whole walk reads through a mapping; a start reads a few dozen pages,
	// where mapping would cost more. A walk someone waits for (stop is nil)
	// fills the mapping at once; a background one (stop set) must not, as
	// filling holds the process's memory map and every other thread's
	// page faults wait for it: the server would stall while it ran.
	var r io.ReaderAt = f
	if mode != walkStart {
		mapping, unmap, err := mapPages(f, st.Size(), stop == nil)
		if err != nil {
			return 0, err
		}
		defer unmap()
		r = mapping
	}
	// A file cut short under the mapping faults instead of failing a read.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the file cannot be read: %v", r)
		}
	}()
	w := &pageWalker{f: r, ps: m.pageSize, hwm: m.pgid, seen: make([]uint64, m.pgid/64+1), mode: mode, stop: stop}
	if err := w.page(m.root, 0, 0); err != nil {
		return w.pages, err
	}
	if err := w.freelist(m.freelist); err != nil {
		return w.pages, err
	}
	return w.pages, nil
}

type metaInfo struct{ pageSize, root, freelist, pgid, txid uint64 }

// bestMeta returns the valid meta page with the highest transaction id.
func bestMeta(f *os.File) (metaInfo, error) {
	var best metaInfo
	found := false
	ps := uint64(0)
	for i := 0; i < 2; i++ {
		off := int64(i) * int64(ps)
		if i == 1 && ps == 0 {
			ps = uint64(os.Getpagesize())
			off = int64(ps)
		}
		b := make([]byte, 64)
		if _, err := f.ReadAt(b, off+16); err != nil {
			continue
		}
		m, ok := parseMeta(b)
		if i == 0 && ok {
			ps = m.pageSize
		}
		if ok && (!found || m.txid > best.txid) {
			best, found = m, true
		}
	}
	if !found {
		return best, errors.New("no valid bbolt header")
	}
	return best, nil
}

func parseMeta(b []byte) (metaInfo, bool) {
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != 0xED0CDAED || le.Uint32(b[4:]) != 2 {
		return metaInfo{}, false
	}
	if fnv64a(b[:56]) != le.Uint64(b[56:]) {
		return metaInfo{}, false
	}
	ps := uint64(le.Uint32(b[8:]))
	if ps < 512 || ps > 1<<16 || ps&(ps-1) != 0 {
		return metaInfo{}, false
	}
	return metaInfo{pageSize: ps, root: le.Uint64(b[16:]), freelist: le.Uint64(b[32:]), pgid: le.Uint64(b[40:]), txid: le.Uint64(b[48:])}, true
}

func fnv64a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// walkMode is how much of the tree checkPageTree reads.
type walkMode int

const (
	// walkStart is what a start needs before bbolt reads the file: the
	// root bucket's pages in full, the small buckets Open reads (meta,
	// settings) as walkStructure does, and of every other bucket only the
	// path to its first key (what Open's cursors touch). It reads a few
	// dozen pages whatever the file's size; walkStructure follows at once
	// in the background, and no transaction runs until it has passed.
	walkStart walkMode = iota
	// walkStructure reads every branch page, and every leaf by its page
	// header: what bbolt needs to be safe from loops and wild reads.
	walkStructure
	// walkFull reads every leaf in full as well.
	walkFull
)

// startBuckets are the buckets Open reads by key before the structure
// check has run; a start checks them whole.
var startBuckets = [][]byte{bucketMeta, bucketSettings}

type pageWalker struct {
	f     io.ReaderAt
	ps    uint64
	hwm   uint64
	seen  []uint64 // a bit per page
	mode  walkMode
	stop  <-chan struct{}
	pages int
}

const (
	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagFreelist = 0x10
	bucketLeaf   = 0x01
	maxDepth     = 64
)

// header reads page id's header, checks it, and marks the page and its
// overflow pages seen. It returns the page's flags and overflow count.
func (w *pageWalker) header(id uint64) (flags uint16, overflow uint64, err error) {
	if id < 2 || id >= w.hwm {
		return 0, 0, fmt.Errorf("page %d is outside the file", id)
	}
	if w.pages++; w.stop != nil && w.pages%1024 == 0 {
		select {
		case <-w.stop:
			return 0, 0, errClosing
		default:
		}
	}
	head := make([]byte, 16)
	if _, err := w.f.ReadAt(head, int64(id*w.ps)); err != nil {
		return 0, 0, fmt.Errorf("page %d cannot be read", id)
	}
	le := binary.LittleEndian
	if le.Uint64(head) != id {
		return 0, 0, fmt.Errorf("page %d claims to be page %d", id, le.Uint64(head))
	}
	overflow = uint64(le.Uint32(head[12:]))
	if id+overflow >= w.hwm || overflow > w.hwm {
		return 0, 0, fmt.Errorf("page %d runs past the end of the file", id)
	}
	for p := id; p <= id+overflow; p++ {
		if w.seen[p/64]&(1<<(p%64)) != 0 {
			return 0, 0, fmt.Errorf("page %d is reached twice", p)
		}
		w.seen[p/64] |= 1 << (p % 64)
	}
	return le.Uint16(head[8:]), overflow, nil
}

// read returns page id with its overflow pages, after checking its header.
func (w *pageWalker) read(id uint64) ([]byte, error) {
	_, overflow, err := w.header(id)
	if err != nil {
		return nil, err
	}
	return w.body(id, overflow)
}

func (w *pageWalker) body(id, overflow uint64) ([]byte, error) {
	buf := make([]byte, (overflow+1)*w.ps)
	if _, err := w.f.ReadAt(buf, int64(id*w.ps)); err != nil {
		return nil, fmt.Errorf("page %d cannot be read", id)
	}
	return buf, nil
}

// page checks page id and what it reaches; nest is how deep in buckets it
// lies (0: the root bucket, which names the buckets).
func (w *pageWalker) page(id uint64, depth, nest int) error {
	if depth > maxDepth {
		return errors.New("the page tree is too deep")
	}
	flags, overflow, err := w.header(id)
	if err != nil {
		return err
	}
	if flags != flagBranch && flags != flagLeaf {
		return fmt.Errorf("page %d has an unknown type", id)
	}
	if flags == flagLeaf && nest > 0 && w.mode < walkFull {
		return nil
	}
	buf, err := w.body(id, overflow)
	if err != nil {
		return err
	}
	return w.elements(buf, id, depth, nest, false)
}

func isStartBucket(name []byte) bool {
	for _, b := range startBuckets {
		if string(b) == string(name) {
			return true
		}
	}
	return false
}

// firstPath checks a bucket's pages from its root to its first leaf (the
// leaf by its header): the pages a cursor's First reads. A cursor's First
// that lands on an empty leaf moves on to the next one, which a start has
// not checked; bbolt never leaves an empty leaf below a branch (it removes
// one when it rebalances), so such a leaf is damage.
func (w *pageWalker) firstPath(id uint64, depth int) error {
	return w.firstPathFrom(id, depth, false)
}

func (w *pageWalker) firstPathFrom(id uint64, depth int, belowBranch bool) error {
	if depth > maxDepth {
		return errors.New("the page tree is too deep")
	}
	flags, overflow, err := w.header(id)
	if err != nil {
		return err
	}
	if flags == flagLeaf {
		if !belowBranch {
			return nil
		}
		buf, err := w.body(id, 0)
		if err != nil {
			return err
		}
		if binary.LittleEndian.Uint16(buf[10:]) == 0 {
			return fmt.Errorf("page %d is an empty leaf below a branch", id)
		}
		return nil
	}
	if flags != flagBranch {
		return fmt.Errorf("page %d has an unknown type", id)
	}
	buf, err := w.body(id, overflow)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	if count := int(le.Uint16(buf[10:])); count == 0 || 16+count*16 > len(buf) {
		return fmt.Errorf("page %d has no room for its elements", id)
	}
	return w.firstPathFrom(le.Uint64(buf[24:]), depth+1, true)
}

// elements checks the elements of one page held in buf.
func (w *pageWalker) elements(buf []byte, id uint64, depth, nest int, inline bool) error {
	le := binary.LittleEndian
	if len(buf) < 16 {
		return fmt.Errorf("page %d is too short", id)
	}
	flags, count := le.Uint16(buf[8:]), int(le.Uint16(buf[10:]))
	if inline && flags != flagLeaf {
		return errors.New("an inline bucket is not a leaf page")
	}
	if flags != flagBranch && flags != flagLeaf {
		return fmt.Errorf("page %d has an unknown type", id)
	}
	if 16+count*16 > len(buf) {
		return fmt.Errorf("page %d has more elements than fit", id)
	}
	for i := 0; i < count; i++ {
		e := 16 + i*16
		if flags == flagBranch {
			pos, ksize, child := int(le.Uint32(buf[e:])), int(le.Uint32(buf[e+4:])), le.Uint64(buf[e+8:])
			if e+pos+ksize > len(buf) || pos < 0 || ksize < 0 {
				return fmt.Errorf("a key on page %d lies outside it", id)
			}
			if err := w.page(child, depth+1, nest); err != nil {
				return err
			}
			continue
		}
		eflags, pos, ksize, vsize := le.Uint32(buf[e:]), int(le.Uint32(buf[e+4:])), int(le.Uint32(buf[e+8:])), int(le.Uint32(buf[e+12:]))
		end := e + pos + ksize + vsize
		if pos < 0 || ksize < 0 || vsize < 0 || end > len(buf) || end < e {
			return fmt.Errorf("a value on page %d lies outside it", id)
		}
		if eflags&bucketLeaf == 0 {
			continue
		}
		val := buf[e+pos+ksize : end]
		if len(val) < 16 {
			return fmt.Errorf("a bucket header on page %d is too short", id)
		}
		if root := le.Uint64(val); root != 0 && nest == 0 && w.mode == walkStart && !isStartBucket(buf[e+pos:e+pos+ksize]) {
			if err := w.firstPath(root, depth+1); err != nil {
				return err
			}
		} else if root != 0 {
			if err := w.page(root, depth+1, nest+1); err != nil {
				return err
			}
		} else if err := w.elements(val[16:], id, depth+1, nest+1, true); err != nil {
			return err
		}
	}
	return nil
}

func (w *pageWalker) freelist(id uint64) error {
	buf, err := w.read(id)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	if le.Uint16(buf[8:]) != flagFreelist {
		return fmt.Errorf("page %d is not the freelist", id)
	}
	count, start := uint64(le.Uint16(buf[10:])), 16
	if count == 0xFFFF {
		if len(buf) < 24 {
			return errors.New("the freelist is too short")
		}
		count, start = le.Uint64(buf[16:]), 24
	}
	if count > uint64(len(buf)-start)/8 {
		return errors.New("the freelist has more entries than fit")
	}
	for i := uint64(0); i < count; i++ {
		if p := le.Uint64(buf[start+int(i)*8:]); p < 2 || p >= w.hwm {
			return fmt.Errorf("the freelist names page %d, outside the file", p)
		}
	}
	return nil
}
