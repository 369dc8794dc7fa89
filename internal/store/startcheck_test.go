package store

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Review of the fast start (issue 14): nothing may read the file beyond
// what the start checked until the structure check has passed. These
// tests craft files whose damage lies just outside what a start checks,
// and open them in a child process, where a hang or a crash cannot take
// the test binary down with it.

// childEnv names the directory a child test process opens.
const childEnv = "GATEHOUSE_STARTCHECK_DIR"

// openInChild runs this test binary's test name in a child that opens the
// database in dir, and returns what the child printed and whether it
// finished within limit. The child opens and closes the database only.
func openInChild(t *testing.T, name, dir string, limit time.Duration) (string, bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return out.String(), true
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		return out.String(), false
	}
}

// childOpen is the child's side: open, say how it went, close.
func childOpen(t *testing.T, dir string) {
	go func() { time.Sleep(20 * time.Second); os.Exit(3) }() // never outlive the parent for long
	db, err := Open(dir, Options{AuditKey: []byte("k"), Existing: true})
	if err != nil {
		if errors.Is(err, ErrDamaged) {
			t.Log("CHILD: refused as damaged")
			return
		}
		t.Fatalf("CHILD: open: %v", err)
	}
	db.WaitChecked()
	db.Close()
	t.Log("CHILD: opened")
}

// auditRoot returns the page id of the audit bucket's root, which must be
// a branch with at least two children in a populated database.
func auditRoot(t *testing.T, path string) (root uint64, children []uint64, ps int) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	err = b.View(func(tx *bolt.Tx) error { root = uint64(tx.Bucket(bucketAudit).RootPage()); return nil })
	ps = b.Info().PageSize
	b.Close()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := raw[int(root)*ps:]
	le := binary.LittleEndian
	if le.Uint16(page[8:]) != flagBranch || le.Uint16(page[10:]) < 2 {
		t.Fatalf("the audit bucket's root is not a branch with 2 or more children (flags %x, count %d)", le.Uint16(page[8:]), le.Uint16(page[10:]))
	}
	for i := 0; i < int(le.Uint16(page[10:])); i++ {
		children = append(children, le.Uint64(page[16+i*16+8:]))
	}
	return root, children, ps
}

// patch rewrites bytes of the file at path.
func patch(t *testing.T, path string, edit func(raw []byte)) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(raw)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A crafted file: the audit log's first leaf is empty, and the next
// child of its root branch is the root itself. A start checks the path to
// the first leaf (root, then the leaf's header) and lets bbolt in; but a
// cursor's First skips an empty leaf to the next one, which is the part a
// start did not check, and Open's own First (the chain check) goes round
// the cycle for ever, growing its stack. Open must refuse the file.
func TestStartRefusesAnEmptyFirstLeafBeforeACursorSkipsPastIt(t *testing.T) {
	if dir := os.Getenv(childEnv); dir != "" {
		childOpen(t, dir)
		return
	}
	dir := populated(t)
	path := filepath.Join(dir, FileName)
	root, _, ps := auditRoot(t, path)
	patch(t, path, func(raw []byte) {
		le := binary.LittleEndian
		// Down the first children to the branch just above the first leaf.
		parent := root
		for {
			child := le.Uint64(raw[int(parent)*ps+16+8:])
			if le.Uint16(raw[int(child)*ps+8:]) == flagLeaf {
				if le.Uint16(raw[int(parent)*ps+10:]) < 2 {
					t.Fatal("the first leaf's parent has one child")
				}
				le.PutUint16(raw[int(child)*ps+10:], 0)                      // the first leaf: no elements
				le.PutUint64(raw[int(parent)*ps+16+1*16+8:], uint64(parent)) // its next sibling: its parent again
				return
			}
			parent = child
		}
	})
	out, finished := openInChild(t, t.Name(), dir, 5*time.Second)
	if !finished {
		t.Fatalf("Open did not return within 5 s on a file whose start path leads a cursor round a cycle:\n%s", tail(out))
	}
	if !strings.Contains(out, "CHILD: refused as damaged") {
		t.Fatalf("Open on a crafted file: want ErrDamaged; the child said:\n%s", tail(out))
	}
}

// A file whose free-page list is not stored (bbolt's NoFreelistSync;
// Gatehouse never writes one): bbolt's Open rebuilds the list by walking
// and checking the whole tree in a write transaction, before any check of
// ours has run, and reports what it finds by panicking in a goroutine of
// its own, which ends the process. Here the audit log's root branch names
// its first child again as its last, past where a start looks.
func TestStartRefusesAFileWithoutAStoredFreelist(t *testing.T) {
	if dir := os.Getenv(childEnv); dir != "" {
		childOpen(t, dir)
		return
	}
	dir := populated(t)
	path := filepath.Join(dir, FileName)
	b, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte("x-review"), []byte{1}) }); err != nil {
		t.Fatal(err)
	}
	b.Close()
	root, children, ps := auditRoot(t, path)
	patch(t, path, func(raw []byte) {
		last := len(children) - 1
		binary.LittleEndian.PutUint64(raw[int(root)*ps+16+last*16+8:], children[0]) // the last child: the first again
	})
	out, finished := openInChild(t, t.Name(), dir, 20*time.Second)
	if !finished {
		t.Fatalf("Open did not return:\n%s", tail(out))
	}
	if !strings.Contains(out, "CHILD: refused as damaged") {
		t.Fatalf("Open of a file without a stored freelist, damaged deep in the tree: want ErrDamaged; the child said:\n%s", tail(out))
	}
}

// Close during the structure check stops it; the transactions waiting for
// it must then be refused, not let into a tree nobody checked.
func TestACheckCutShortByCloseKeepsTheGateShut(t *testing.T) {
	db := openAudit(t)
	textLog(t, db, 20000)
	path := db.Path()
	db.Close()
	if n, err := walkPages(path, walkStructure, nil); err != nil || n <= 1024 { // the walk looks at stop every 1,024 pages
		t.Fatalf("the structure walk read %d pages (%v): too few for Close to cut it short", n, err)
	}
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	d := &DB{bolt: b, path: path, ready: make(chan struct{}), closing: make(chan struct{}), checked: make(chan struct{})}
	close(d.closing) // Close was called while the check ran
	d.checker.Add(1)
	d.checkInBackground(true)
	if err := d.gate(); err == nil {
		t.Fatal("the structure check was cut short by Close, yet the gate lets transactions into the unchecked tree")
	}
}

func tail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}
