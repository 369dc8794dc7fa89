package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"gatehouse/internal/auth"
	"gatehouse/internal/cli"
	"gatehouse/internal/core"
	"gatehouse/internal/store"
)

func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	return runCLIWith(t, "", args...)
}

func runCLIWith(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := cli.Main(cli.Env{Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out})
	return code, out.String()
}

const backupPassphrase = "staple battery horse\n"

// A backup taken while the app runs and writes, through its control socket,
// holds every write acknowledged before it began, and restores whole into a
// new folder with nothing but the file and its passphrase.
func TestBackupWhileWritingThenRestore(t *testing.T) {
	dir := t.TempDir()
	url, code := runServe(t, dir, "--http")
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar}
	if res, body := post(t, c, url, "Setup", core.SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: "password123", Code: code}); res.StatusCode != 200 {
		t.Fatalf("setup: %s", body)
	}
	// Four writers invite until told to stop; the backup starts once they
	// have had enough writes acknowledged.
	const enoughWrites = 20
	var mu sync.Mutex
	var acked []string
	enough := make(chan struct{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				email := fmt.Sprintf("w%d-%d@kwgroup.uk", w, i)
				res, body, err := tryPost(c, url, "InviteUser", core.InviteInput{Email: email, Role: "AGENT"})
				if err != nil || res.StatusCode != 200 {
					t.Errorf("invite %s: %v %v %s", email, res, err, body)
					return
				}
				mu.Lock()
				acked = append(acked, email)
				if len(acked) == enoughWrites {
					close(enough)
				}
				mu.Unlock()
			}
		}()
	}
	stopWriters := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopWriters)
	select {
	case <-enough:
	case <-time.After(30 * time.Second):
		t.Fatalf("fewer than %d invitations in 30 s", enoughWrites)
	}
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	backup := filepath.Join(t.TempDir(), "gatehouse-backup.tar.age")
	code2, out := runCLIWith(t, backupPassphrase, "backup", backup, "--passphrase-stdin", "--data", dir)
	stopWriters()
	if code2 != 0 || !strings.Contains(out, "Backed up to "+backup) || !strings.Contains(out, "encrypted") {
		t.Fatalf("backup while running: %d %s", code2, out)
	}
	if code, out := runCLIWith(t, backupPassphrase, "backup", backup, "--passphrase-stdin", "--data", dir); code != 1 || !strings.Contains(out, "already exists") {
		t.Fatalf("backup over an existing file: %d %s", code, out)
	}

	// Restore into a new folder: the key comes inside the backup.
	fresh := t.TempDir()
	if code, out := runCLIWith(t, backupPassphrase, "restore", backup, "--passphrase-stdin", "--data", fresh); code != 0 {
		t.Fatalf("restore: %d %s", code, out)
	}
	key, err := os.ReadFile(filepath.Join(fresh, auth.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if orig, _ := os.ReadFile(filepath.Join(dir, auth.KeyFile)); !bytes.Equal(orig, key) {
		t.Fatal("the restored key is not the running folder's")
	}
	sealer, err := auth.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(fresh, store.Options{AuditKey: sealer.SubKey(auth.AuditChainPurpose)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if errs := db.Check(); len(errs) > 0 {
		t.Fatalf("restored database: %v", errs)
	}
	if rep, err := db.VerifyChain(nil); err != nil || !rep.OK {
		t.Fatalf("restored chain: %+v %v", rep, err)
	}
	if err := db.View(func(tx *store.Tx) error {
		for _, email := range before {
			inv, err := tx.PendingInvitation(1, email)
			if err != nil {
				return err
			}
			if inv == nil {
				t.Errorf("acknowledged before the backup but missing: %s", email)
				continue
			}
			found := false
			if err := tx.ScanAudit(store.AuditQuery{Action: core.ActInvite}, func(e store.Event) (bool, error) {
				found = e.ResourceID == fmt.Sprint(inv.ID)
				return !found, nil
			}); err != nil {
				return err
			}
			if !found {
				t.Errorf("the invitation to %s has no audit event", email)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestRestoreRefusesWhatIsNotAGatehouseDatabase(t *testing.T) {
	dir := t.TempDir()
	if code, out := runCLI(t, "version"); code != 0 {
		t.Fatal(out)
	}
	// A current database to protect.
	var out bytes.Buffer
	if code := cli.Main(cli.Env{Args: []string{"setup", "--data", dir, "--email", "m@kw.uk", "--name", "M", "--password-stdin"}, Stdin: strings.NewReader("password123\n"), Stdout: &out, Stderr: &out}); code != 0 {
		t.Fatalf("setup: %d %s", code, out.String())
	}
	// An older Gatehouse's plain backup: a snapshot of the database alone.
	good := filepath.Join(t.TempDir(), "good.db")
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.BackupTo(good, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	current := readFile(t, filepath.Join(dir, store.FileName))
	raw := readFile(t, good)
	files := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(files, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	foreign := filepath.Join(files, "foreign.db")
	editBolt(t, foreign, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("stuff")); return err })
	newer := write("newer.db", raw)
	editBolt(t, newer, func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta_v1")).Put([]byte("schema"), []byte{0, 0, 0, 0, 0, 0, 0, 99})
	})
	cases := map[string]struct {
		path, want string
	}{
		"empty":        {write("empty.db", nil), "is empty"},
		"truncated":    {write("half.db", raw[:len(raw)/2]), "not a Gatehouse database"},
		"text":         {write("notes.txt", []byte("hello, this is not a database\n")), "not a Gatehouse database"},
		"foreign":      {foreign, "no Gatehouse layout"},
		"newer schema": {newer, "schema version 99"},
		"missing":      {filepath.Join(files, "nope.db"), "cannot read"},
	}
	for name, c := range cases {
		code, out := runCLI(t, "restore", c.path, "--data", dir)
		if code != 1 || !strings.Contains(out, c.want) {
			t.Errorf("%s: exit %d, %q; want %q", name, code, out, c.want)
		}
		if now := readFile(t, filepath.Join(dir, store.FileName)); !bytes.Equal(now, current) {
			t.Fatalf("%s: the current database changed", name)
		}
	}
	// Backing up into a folder that does not exist is a clear error.
	if code, out := runCLIWith(t, backupPassphrase, "backup", filepath.Join(files, "no", "such", "dir.db"), "--passphrase-stdin", "--data", dir); code != 1 || !strings.Contains(out, "no such file or directory") {
		t.Errorf("unwritable path: %d %s", code, out)
	}
	// The good backup restores, keeping the replaced database beside it.
	code, out2 := runCLI(t, "restore", good, "--data", dir)
	if code != 0 || !strings.Contains(out2, "before-restore") {
		t.Fatalf("restore: %d %s", code, out2)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for _, e := range entries {
		if strings.Contains(e.Name(), "before-restore") {
			kept++
		}
	}
	if kept != 1 {
		t.Fatalf("%d kept databases", kept)
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// editBolt changes a bbolt file directly, creating it if missing.
func editBolt(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}
