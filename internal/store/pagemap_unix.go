//go:build unix

package store

import (
	"io"
	"os"
	"syscall"
)

// mapPages maps the file read-only for the page check: reading a page
// header from memory costs a fraction of a read system call, and Open
// reads one per page (half a million for a 2 GB file).
func mapPages(f *os.File, size int64, populate bool) (io.ReaderAt, func(), error) {
	if size <= 0 || int64(int(size)) != size {
		return f, func() {}, nil
	}
	flags := syscall.MAP_SHARED
	if populate {
		flags |= mapPopulate
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, flags)
	if err != nil {
		return f, func() {}, nil // the check still works, by reads
	}
	return mapped(b), func() { syscall.Munmap(b) }, nil
}

type mapped []byte

func (m mapped) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(m)) {
		return 0, io.EOF
	}
	n := copy(p, m[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
