package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// setUpFolder makes a data folder with a user and some audit events.
func setUpFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	code, _, errOut := runCLI(t, "correct horse\n", "setup", "--data", dir, "--email", "mitch@kwgroup.uk", "--name", "Mitch", "--password-stdin")
	if code != ExitOK {
		t.Fatalf("setup: %d %s", code, errOut)
	}
	return dir
}

// plainCopy copies the database of dir (no Gatehouse has it open) as an
// older Gatehouse's plain backup would be: the database alone.
func plainCopy(t *testing.T, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, store.FileName))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// unlinkChain edits the audit log of the database at path (the actor's
// name, which its events hold as an id of the string table) and marks the
// chain head unlinked, as someone with the file but not the key would.
func unlinkChain(t *testing.T, path string) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.Update(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket([]byte("audit_v3")).Cursor().First(); k == nil {
			t.Fatal("no audit events to edit")
		}
		strs := tx.Bucket([]byte("audit_string_ids_v1"))
		var id []byte
		strs.ForEach(func(k, v []byte) error {
			if string(v) == "Mitch" {
				id = bytes.Clone(k)
			}
			return nil
		})
		if id == nil {
			t.Fatal("no actor name to edit")
		}
		if err := strs.Put(id, []byte("Mallory")); err != nil {
			return err
		}
		meta := tx.Bucket([]byte("meta_v1"))
		var head map[string]any
		if err := json.Unmarshal(meta.Get([]byte("audit_head")), &head); err != nil {
			return err
		}
		head["linked"] = false
		raw, _ := json.Marshal(head)
		return meta.Put([]byte("audit_head"), raw)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAnUnlinkedAuditChainFailsVerifyAndRestore(t *testing.T) {
	dir := setUpFolder(t)
	backup := plainCopy(t, dir)
	unlinkChain(t, backup)
	// Restore refuses the altered backup, and changes nothing.
	before, _ := os.ReadFile(filepath.Join(dir, store.FileName))
	code, out, errOut := runCLI(t, "", "restore", backup, "--data", dir)
	if code != ExitRuntime || !strings.Contains(errOut, "hash chain is broken") {
		t.Fatalf("restore of an unlinked chain: %d %q %q", code, out, errOut)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, store.FileName)); !bytes.Equal(now, before) {
		t.Fatal("the refused restore changed the database")
	}
	// Verify on the folder itself reports the chain broken, every time:
	// nothing re-links it on open.
	unlinkChain(t, filepath.Join(dir, store.FileName))
	for i := 0; i < 2; i++ {
		code, out, errOut = runCLI(t, "", "audit", "verify", "--data", dir)
		if code != ExitRuntime || strings.Contains(out, "OK") || !strings.Contains(errOut, "hash chain is broken") {
			t.Fatalf("verify of an unlinked chain (run %d): %d %q %q", i+1, code, out, errOut)
		}
	}
}

func TestAnEmptyDatabaseBesideItsKeyIsDamagedNotNew(t *testing.T) {
	dir := setUpFolder(t)
	if err := os.WriteFile(filepath.Join(dir, store.FileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"audit", "verify"}, {"2fa", "reset", "mitch@kwgroup.uk"}} {
		code, out, errOut := runCLI(t, "", append(args, "--data", dir)...)
		if code != ExitRuntime || !strings.Contains(errOut, "the database is damaged — restore from a backup") {
			t.Errorf("%v on an empty database: %d %q %q", args, code, out, errOut)
		}
	}
	if st, _ := os.Stat(filepath.Join(dir, store.FileName)); st.Size() != 0 {
		t.Fatal("the empty database was initialised as a new one")
	}
}

func TestRestoreIntoAFolderWithoutADatabaseNamesNoKeptFile(t *testing.T) {
	dir := setUpFolder(t)
	backup := plainCopy(t, dir)
	// A new folder without the key file: the restored database cannot open.
	fresh := t.TempDir()
	code, _, errOut := runCLI(t, "", "restore", backup, "--data", fresh)
	if code != ExitRuntime || strings.Contains(errOut, "kept as") || !strings.Contains(errOut, auth.KeyFile) {
		t.Fatalf("restore without the key file: %d %q", code, errOut)
	}
}
