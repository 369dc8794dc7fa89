package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gatehouse/internal/auth"
	"gatehouse/internal/core"
	"gatehouse/internal/store"
)

const testPassphrase = "staple battery horse"

// encryptedBackup backs up dir with testPassphrase and returns the file.
func encryptedBackup(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse-backup.tar.age")
	code, out, errOut := runCLI(t, testPassphrase+"\n", "backup", path, "--passphrase-stdin", "--data", dir)
	if code != ExitOK || !strings.Contains(out, "encrypted to your passphrase") {
		t.Fatalf("backup: %d %q %q", code, out, errOut)
	}
	return path
}

// signInWorks opens dir as the app would and signs in as the set-up user.
func signInWorks(t *testing.T, dir string) {
	t.Helper()
	svc, closeDB, err := open(&Env{Stderr: &bytes.Buffer{}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	ctx := core.WithCaller(context.Background(), core.Caller{IP: "127.0.0.1"})
	if res, _, err := svc.SignIn(ctx, core.SignInInput{Email: "mitch@kwgroup.uk", Password: "correct horse"}); err != nil || res.Me == nil {
		t.Fatalf("sign in after restore: %+v %v", res, err)
	}
}

// The whole round trip: a backup restores into a new, empty folder with
// nothing but the file and its passphrase; sign-in works, the sealed
// secrets open and the audit chain verifies.
func TestEncryptedBackupRestoresIntoAFreshFolder(t *testing.T) {
	dir := setUpFolder(t)
	file := encryptedBackup(t, dir)
	raw, _ := os.ReadFile(file)
	key, _ := os.ReadFile(filepath.Join(dir, auth.KeyFile))
	if bytes.Contains(raw, []byte("mitch@kwgroup.uk")) || bytes.Contains(raw, key) {
		t.Fatal("the backup file shows its contents")
	}
	fresh := filepath.Join(t.TempDir(), "new-folder")
	code, out, errOut := runCLI(t, testPassphrase+"\n", "restore", file, "--passphrase-stdin", "--data", fresh)
	if code != ExitOK || !strings.Contains(out, "Restored") || strings.Contains(out, "kept as") {
		t.Fatalf("restore: %d %q %q", code, out, errOut)
	}
	if got, _ := os.ReadFile(filepath.Join(fresh, auth.KeyFile)); !bytes.Equal(got, key) {
		t.Fatal("the key file did not come with the backup")
	}
	if st, _ := os.Stat(filepath.Join(fresh, auth.KeyFile)); st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode())
	}
	entries, _ := os.ReadDir(fresh)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".restore-") || strings.HasSuffix(e.Name(), ".restoring") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if code, out, errOut := runCLI(t, "", "audit", "verify", "--data", fresh); code != ExitOK || !strings.Contains(out, "OK:") {
		t.Fatalf("audit verify after restore: %d %q %q", code, out, errOut)
	}
	signInWorks(t, fresh)
}

// Restoring over a folder with another key puts the backup's key in place
// and keeps the old database and key beside them.
func TestEncryptedRestoreReplacesADifferentKeyFile(t *testing.T) {
	dir := setUpFolder(t)
	file := encryptedBackup(t, dir)
	other := setUpFolder(t)
	oldKey, _ := os.ReadFile(filepath.Join(other, auth.KeyFile))
	code, out, errOut := runCLI(t, testPassphrase+"\n", "restore", file, "--passphrase-stdin", "--data", other)
	if code != ExitOK || !strings.Contains(out, "The database it replaced is kept as") || !strings.Contains(out, "The key file it replaced is kept as") {
		t.Fatalf("restore: %d %q %q", code, out, errOut)
	}
	kept, _ := filepath.Glob(filepath.Join(other, auth.KeyFile+".before-restore-*"))
	if len(kept) != 1 {
		t.Fatalf("kept key files: %v", kept)
	}
	if got, _ := os.ReadFile(kept[0]); !bytes.Equal(got, oldKey) {
		t.Fatal("the kept key is not the old one")
	}
	signInWorks(t, other)
}

// snapshot reads every file of dir, to prove a refused restore changed nothing.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out[e.Name()] = string(b)
	}
	return out
}

func sameFolder(t *testing.T, dir string, before map[string]string) {
	t.Helper()
	after := snapshot(t, dir)
	if len(after) != len(before) {
		t.Fatalf("files before %d, after %d", len(before), len(after))
	}
	for name, b := range before {
		if after[name] != b {
			t.Fatalf("%s changed", name)
		}
	}
}

// A wrong passphrase, a missing one, a cut or an altered file: each is
// refused with a clear message, and the data folder is left as it was.
func TestRefusedRestoresChangeNothing(t *testing.T) {
	dir := setUpFolder(t)
	file := encryptedBackup(t, dir)
	target := setUpFolder(t)
	before := snapshot(t, target)
	code, _, errOut := runCLI(t, "staple battery horsE\n", "restore", file, "--passphrase-stdin", "--data", target)
	if code != ExitRuntime || !strings.Contains(errOut, "the passphrase does not open") || !strings.Contains(errOut, "nothing was changed") {
		t.Fatalf("wrong passphrase: %d %q", code, errOut)
	}
	sameFolder(t, target, before)
	// Without the passphrase at all: a usage error naming the flag.
	code, _, errOut = runCLI(t, "", "restore", file, "--data", target)
	if code != ExitUsage || !strings.Contains(errOut, "--passphrase-stdin") {
		t.Fatalf("no passphrase: %d %q", code, errOut)
	}
	sameFolder(t, target, before)
	// A backup passphrase that is too short is refused before any work.
	code, _, errOut = runCLI(t, "short\n", "backup", filepath.Join(t.TempDir(), "b.tar.age"), "--passphrase-stdin", "--data", dir)
	if code != ExitRuntime || !strings.Contains(errOut, "at least") && !strings.Contains(errOut, "12 to 1024") {
		t.Fatalf("short passphrase: %d %q", code, errOut)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(raw)
	flipped[len(flipped)*2/3] ^= 1
	for name, data := range map[string][]byte{
		"truncated": raw[:len(raw)-100],
		"tampered":  flipped,
	} {
		path := filepath.Join(t.TempDir(), name+".tar.age")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCLI(t, testPassphrase+"\n", "restore", path, "--passphrase-stdin", "--data", target)
		if code != ExitRuntime || !strings.Contains(errOut, "damaged or incomplete") || !strings.Contains(errOut, "nothing was changed") {
			t.Errorf("%s: %d %q", name, code, errOut)
		}
		sameFolder(t, target, before)
	}
}

// Plain database copies from before encrypted backups still restore, with
// the data folder's own key file.
func TestAnOldPlainBackupStillRestores(t *testing.T) {
	dir := setUpFolder(t)
	file := plainCopy(t, dir)
	code, out, errOut := runCLI(t, "", "restore", file, "--data", dir)
	if code != ExitOK || !strings.Contains(out, "Restored") {
		t.Fatalf("restore: %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil {
		t.Fatal(err)
	}
	signInWorks(t, dir)
}

// A backup holds the sessions live when it was taken; some were ended
// since (sign out everywhere, a deactivation). Restore ends them all, with
// an audit event, so no revocation is undone by going back in time.
func TestRestoreEndsTheSessionsTheBackupHeld(t *testing.T) {
	dir := setUpFolder(t)
	svc, closeDB, err := open(&Env{Stderr: &bytes.Buffer{}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := svc.SignIn(core.WithCaller(context.Background(), core.Caller{IP: "192.0.2.9"}), core.SignInInput{Email: "mitch@kwgroup.uk", Password: "correct horse"})
	closeDB()
	if err != nil || token == "" {
		t.Fatalf("sign in: %v", err)
	}
	file := encryptedBackup(t, dir)
	code, out, errOut := runCLI(t, testPassphrase+"\n", "restore", file, "--passphrase-stdin", "--data", dir)
	if code != ExitOK || !strings.Contains(out, "Every session it held was ended") {
		t.Fatalf("restore: %d %q %q", code, out, errOut)
	}
	svc, closeDB, err = open(&Env{Stderr: &bytes.Buffer{}}, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDB()
	if _, err := svc.Me(core.WithCaller(context.Background(), core.Caller{Token: token, IP: "192.0.2.9"})); err == nil {
		t.Fatal("a session from before the backup still works after restore")
	}
	var restored int
	db := svc.DB()
	db.View(func(tx *store.Tx) error {
		return tx.ScanAudit(store.AuditQuery{Action: core.ActRestore}, func(e store.Event) (bool, error) {
			restored++
			if !strings.Contains(e.Change, "sessions ended") {
				t.Errorf("restore event says %q", e.Change)
			}
			return true, nil
		})
	})
	if restored != 1 {
		t.Fatalf("%d restore events", restored)
	}
}
