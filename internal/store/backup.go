package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// progressWriter counts bytes for a progress callback.
type progressWriter struct {
	w        io.Writer
	n, total int64
	report   func(done, total int64)
	last     time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if p.report != nil && time.Since(p.last) > 200*time.Millisecond {
		p.last = time.Now()
		p.report(p.n, p.total)
	}
	return n, err
}

// Snapshot calls fn with a consistent copy of the database as it is now:
// its size, and content, which writes exactly that many bytes. It reads
// one snapshot, so writers go on meanwhile; fn may stream it anywhere.
// progress, when set, hears how far content has got.
func (db *DB) Snapshot(progress func(done, total int64), fn func(size int64, content io.WriterTo) error) error {
	if err := db.gate(); err != nil {
		return err
	}
	if db.etcd != nil {
		return db.etcdSnapshot(progress, fn)
	}
	return db.bolt.View(func(tx *bolt.Tx) error {
		return fn(tx.Size(), snapshotContent{tx: tx, progress: progress})
	})
}

type snapshotContent struct {
	tx       *bolt.Tx
	progress func(done, total int64)
}

func (c snapshotContent) WriteTo(w io.Writer) (int64, error) {
	pw := &progressWriter{w: w, total: c.tx.Size(), report: c.progress}
	_, err := c.tx.WriteTo(pw)
	if c.progress != nil {
		c.progress(pw.n, pw.total)
	}
	return pw.n, err
}

// BackupTo writes a consistent copy of the database to path, which must not
// exist yet, while other transactions go on: it reads one snapshot
// (Tx.WriteTo), so writers are not blocked. The copy is written under a
// temporary name, synced, checked, then renamed into place. It returns the
// copy's size.
func (db *DB) BackupTo(path string, progress func(done, total int64)) (int64, error) {
	if _, err := os.Stat(path); err == nil {
		return 0, fmt.Errorf("%s already exists; choose a new file name", path)
	}
	if err := db.gate(); err != nil {
		return 0, err
	}
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("cannot create %s: %v", path, plainPathError(err))
	}
	var size int64
	err = db.Snapshot(nil, func(total int64, content io.WriterTo) error {
		pw := &progressWriter{w: f, total: total, report: progress}
		_, err := content.WriteTo(pw)
		size = pw.n
		if progress != nil {
			progress(pw.n, pw.total)
		}
		return err
	})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = CheckFile(tmp)
	}
	if err == nil {
		err = checkPages(tmp) // our own fresh copy: bbolt's page-level check too
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("the backup to %s failed: %v; nothing was kept", path, plainPathError(err))
	}
	return size, nil
}

func plainPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// CheckFile reports whether path is a Gatehouse database this build can use:
// a bbolt file that passes bbolt's consistency check, with Gatehouse's
// layout, no newer than this build, an audit chain that was linked, and
// (at the current layout) consistent indexes. It opens the file read-only and changes nothing.
func CheckFile(path string) (err error) {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", path, plainPathError(err))
	}
	if st.Size() == 0 {
		return fmt.Errorf("%w: %s is empty", ErrNotGatehouse, path)
	}
	// bbolt maps the file and trusts its header: a truncated or forged file
	// would fault the process. Check the header against the size first.
	if err := checkBoltHeader(path, st.Size()); err != nil {
		return fmt.Errorf("%w: %s (%v)", ErrNotGatehouse, path, err)
	}
	if err := checkPageTree(path, walkFull, nil); err != nil {
		return fmt.Errorf("%w: %s is damaged (%v)", ErrNotGatehouse, path, err)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s cannot be read (%v)", ErrNotGatehouse, path, r)
		}
	}()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return fmt.Errorf("%s is open in a running Gatehouse", path)
		}
		return fmt.Errorf("%w: %s (%v)", ErrNotGatehouse, path, err)
	}
	defer b.Close()
	var version uint64
	err = b.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return fmt.Errorf("%w: %s has no Gatehouse layout", ErrNotGatehouse, path)
		}
		var err error
		if version, err = schemaVersion(boltTx{tx}); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		// Read every page through cursors, in this goroutine, where a fault
		// or panic on a damaged page is recovered (bbolt's own Check runs in
		// a goroutine of its own, where it would end the process).
		if err := tx.ForEach(func(name []byte, bk *bolt.Bucket) error { return walkBucket(bk) }); err != nil {
			return fmt.Errorf("%w: %s is damaged (%v)", ErrNotGatehouse, path, err)
		}
		if err := (&Tx{tx: boltTx{tx}}).checkChainLinked(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if version == 0 {
		return fmt.Errorf("%w: %s has no schema version", ErrNotGatehouse, path)
	}
	if version > SchemaVersion() {
		return fmt.Errorf("%w: %s has schema version %d, this Gatehouse knows up to %d", ErrNewerSchema, path, version, SchemaVersion())
	}
	if version == SchemaVersion() {
		full := &DB{bolt: b, path: path}
		if errs := full.checkIndexesOnly(); len(errs) > 0 {
			return fmt.Errorf("%s is inconsistent: %v", path, errs[0])
		}
	}
	return nil
}

// walkBucket reads every key and value of a bucket and its sub-buckets,
// and checks that the keys ascend (bbolt's searches rely on it).
func walkBucket(b *bolt.Bucket) error {
	c := b.Cursor()
	var prev []byte
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if prev != nil && bytes.Compare(prev, k) >= 0 {
			return fmt.Errorf("keys out of order after %x", prev)
		}
		prev = k
		if v == nil {
			if sub := b.Bucket(k); sub != nil {
				if err := walkBucket(sub); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkBoltHeader validates bbolt's two meta pages: magic, version, page
// size, checksum, and that the pages they claim fit in the file.
func checkBoltHeader(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	const header, metaLen = 16, 64
	read := func(off int64) ([]byte, error) {
		b := make([]byte, metaLen)
		if _, err := f.ReadAt(b, off+header); err != nil {
			return nil, errors.New("too short to be a database")
		}
		return b, nil
	}
	type meta struct{ pageSize, pgid uint64 }
	parse := func(b []byte) (meta, bool) {
		le := binary.LittleEndian
		if le.Uint32(b[0:]) != 0xED0CDAED || le.Uint32(b[4:]) != 2 {
			return meta{}, false
		}
		h := fnv.New64a()
		h.Write(b[:56])
		if h.Sum64() != le.Uint64(b[56:]) {
			return meta{}, false
		}
		ps := uint64(le.Uint32(b[8:]))
		if ps < 512 || ps > 1<<16 || ps&(ps-1) != 0 {
			return meta{}, false
		}
		return meta{pageSize: ps, pgid: le.Uint64(b[40:])}, true
	}
	b0, err := read(0)
	if err != nil {
		return err
	}
	m0, ok0 := parse(b0)
	pageSize := int64(m0.pageSize)
	if !ok0 {
		pageSize = int64(os.Getpagesize())
	}
	var valid []meta
	if ok0 {
		valid = append(valid, m0)
	}
	if b1, err := read(pageSize); err == nil {
		if m1, ok := parse(b1); ok {
			valid = append(valid, m1)
		}
	}
	if len(valid) == 0 {
		return errors.New("no valid bbolt header")
	}
	for _, m := range valid {
		if m.pgid < 4 || m.pgid > uint64(size)/m.pageSize {
			return fmt.Errorf("the file is cut short (%d bytes for %d pages)", size, m.pgid)
		}
	}
	return nil
}

// checkPages runs bbolt's page-level consistency check on a file this
// process wrote itself.
func checkPages(path string) error {
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer b.Close()
	return b.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
}

// Restore replaces the database in dir with the file at from, after
// checking it. The replaced database is kept beside it, and its name is
// returned. Gatehouse must not be running on dir.
func Restore(dir, from string) (string, error) {
	if err := CheckFile(from); err != nil {
		return "", err
	}
	target := filepath.Join(dir, FileName)
	// Take the lock, so a running Gatehouse stops us.
	if _, err := os.Stat(target); err == nil {
		b, err := bolt.Open(target, 0o600, &bolt.Options{Timeout: 500 * time.Millisecond})
		if errors.Is(err, berrors.ErrTimeout) {
			return "", fmt.Errorf("%w (%s); close it before restoring", ErrLocked, dir)
		}
		if err == nil {
			b.Close()
		}
	}
	src, err := os.Open(from)
	if err != nil {
		return "", err
	}
	defer src.Close()
	tmp := target + ".restoring"
	dst, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("cannot write in %s: %v", dir, plainPathError(err))
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("cannot copy %s: %v; the current database is untouched", from, plainPathError(err))
	}
	kept := ""
	if _, err := os.Stat(target); err == nil {
		kept = filepath.Join(dir, fmt.Sprintf("%s.before-restore-%s", FileName, time.Now().UTC().Format("20060102-150405")))
		if err := os.Rename(target, kept); err != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("cannot move the current database aside: %v", err)
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		if kept != "" {
			os.Rename(kept, target)
		}
		return "", fmt.Errorf("cannot put the restored database in place: %v; the current database is untouched", err)
	}
	return kept, nil
}
