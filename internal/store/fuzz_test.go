package store

import (
	"os"
	"path/filepath"
	"testing"
)

// A file handed to restore is checked without ever crashing the process,
// whatever its bytes: truncated, padded, or with damaged headers.
func FuzzCheckFile(f *testing.F) {
	dir := f.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		f.Fatal(err)
	}
	db.Close()
	good, _ := os.ReadFile(filepath.Join(dir, FileName))
	f.Add(good)
	f.Add(good[:4096])
	f.Add(good[:len(good)/2])
	f.Add([]byte("not a database"))
	damaged := append([]byte(nil), good...)
	damaged[4096*2+20] ^= 0xff
	f.Add(damaged)
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "in.db")
		os.WriteFile(path, data, 0o600)
		_ = CheckFile(path) // must return, never fault or panic
	})
}
