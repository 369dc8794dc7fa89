//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
)

// fileInUse reports whether another open of the database holds bbolt's
// lock on it (a flock, which conflicts across processes and across opens
// within one process alike). It takes the lock for a moment to ask.
func fileInUse(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true
	}
	if err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	}
	return false
}
