package core

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/backup"
	"gatehouse/internal/store"
)

// openBackup decrypts a backup with secret and checks the database inside.
func openBackup(t *testing.T, r *bytes.Reader, secret string) *backup.Reader {
	t.Helper()
	id, err := backup.IdentityFor(secret)
	if err != nil {
		t.Fatal(err)
	}
	b, err := backup.Open(r, id)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), store.FileName)
	f, err := os.Create(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.CopyDatabase(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := store.CheckFile(db); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Key, testSealer().Key()) {
		t.Fatal("the backup does not carry the data folder's key")
	}
	return b
}

// Only platform admins may take the data away; the download is audited
// before its first byte, and what streams out is a whole backup.
func TestDownloadBackup(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()
	e.addUser("Manny", auth.Manager, true)
	manager := e.signIn("manny@kwgroup.uk")
	var out bytes.Buffer
	_, err := e.svc.DownloadBackup(manager, "a long enough passphrase", &out)
	wantCode(t, "manager", err, Forbidden, "")
	_, err = e.svc.DownloadBackup(e.caller(""), "a long enough passphrase", &out)
	wantCode(t, "signed out", err, Unauthenticated, "")
	_, err = e.svc.DownloadBackup(admin, "too short", &out)
	wantCode(t, "short passphrase", err, Invalid, "passphrase")
	if out.Len() != 0 {
		t.Fatal("bytes went out for a refused download")
	}
	if _, err := e.svc.DownloadBackup(admin, "a long enough passphrase", &out); err != nil {
		t.Fatal(err)
	}
	b := openBackup(t, bytes.NewReader(out.Bytes()), "a long enough passphrase")
	if b.Manifest.Schema != store.SchemaVersion() || !b.Manifest.Created.Equal(e.clock()) {
		t.Fatalf("manifest %+v", b.Manifest)
	}
	last := e.events()[0] // newest first
	if last.Action != ActBackup || last.ActorEmail != "mitch@kwgroup.uk" || !bytes.Contains(last.Meta, []byte(`"to":"download"`)) {
		t.Fatalf("audit %+v %s", last, last.Meta)
	}
}

func TestSaveBackupWritesWhereTheDialogSaid(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()
	path := filepath.Join(t.TempDir(), "b"+backup.Ext)
	res, err := e.svc.SaveBackup(admin, path, "a long enough passphrase")
	if err != nil || res.Path != path || res.Size == 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	raw, _ := os.ReadFile(path)
	openBackup(t, bytes.NewReader(raw), "a long enough passphrase")
	// The save dialog asked before replacing a file: it is replaced whole.
	if _, err := e.svc.SaveBackup(admin, path, "another long passphrase"); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(path)
	openBackup(t, bytes.NewReader(raw), "another long passphrase")
}

func scheduledNames(t *testing.T, dir string) []string {
	t.Helper()
	files, err := scheduledFiles(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		out = append(out, filepath.Base(f.path))
	}
	return out
}

// Daily backups, kept N days, on a fake clock: one a day however often
// the housekeeping asks, the old ones deleted, each run audited, and every
// file opens with the recovery key shown once.
func TestScheduledBackupsKeptNDays(t *testing.T) {
	e := newEnv(t)
	e.svc.backupDir = filepath.Join(t.TempDir(), "backups")
	admin := e.setup()
	days := 3
	_, err := e.svc.UpdateSettings(admin, SettingsInput{BackupKeepDays: &days})
	wantCode(t, "no recovery key yet", err, Invalid, "backupKeepDays")
	e.addUser("Manny", auth.Manager, true)
	_, err = e.svc.NewBackupRecoveryKey(e.signIn("manny@kwgroup.uk"))
	wantCode(t, "manager", err, Forbidden, "")
	key, err := e.svc.NewBackupRecoveryKey(admin)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e.svc.ScheduledBackup(); err != nil || res.Written != "" {
		t.Fatalf("off: %+v %v", res, err)
	}
	set, err := e.svc.UpdateSettings(admin, SettingsInput{BackupKeepDays: &days})
	if err != nil || set.BackupKeepDays != 3 || set.BackupRecipient != key.Recipient {
		t.Fatalf("%+v %v", set, err)
	}
	for _, ev := range e.events() {
		if bytes.Contains(ev.Meta, []byte(key.Identity)) {
			t.Fatal("the recovery key's secret half is in the audit log")
		}
	}
	first := e.clock()
	// Hourly for a week.
	for h := 0; h < 7*24; h++ {
		if _, err := e.svc.ScheduledBackup(); err != nil {
			t.Fatalf("hour %d: %v", h, err)
		}
		e.advance(time.Hour)
	}
	names := scheduledNames(t, e.svc.backupDir)
	// One backup each 23 hours (hours 0, 23, … 161); at the last run (hour
	// 167) those within 3 days are kept: hours 115, 138 and 161.
	if len(names) != 3 || names[0] != scheduledPrefix+first.Add(5*23*time.Hour).Format(stampLayout)+backup.Ext {
		t.Fatalf("kept %v", names)
	}
	written, deleted := 0, 0
	for _, ev := range e.events() {
		if ev.Action == ActBackup && bytes.Contains(ev.Meta, []byte(`"scheduled":true`)) {
			written++
			if ev.ActorName != "Gatehouse scheduled backup" {
				t.Errorf("actor %q", ev.ActorName)
			}
		}
		if ev.Action == ActBackupDelete {
			deleted++
		}
	}
	// 7×24 hours at most one per 23 hours: 8 backups, the rest deleted.
	if written != 8 || written-len(names) <= 0 {
		t.Fatalf("%d written, %d kept", written, len(names))
	}
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join(e.svc.backupDir, n))
		if err != nil {
			t.Fatal(err)
		}
		openBackup(t, bytes.NewReader(raw), key.Identity)
	}
	// Turned off: nothing is written and nothing is deleted.
	admin = e.signIn("mitch@kwgroup.uk") // a week on: a new session
	zero := 0
	if _, err := e.svc.UpdateSettings(admin, SettingsInput{BackupKeepDays: &zero}); err != nil {
		t.Fatal(err)
	}
	e.advance(30 * 24 * time.Hour)
	if res, err := e.svc.ScheduledBackup(); err != nil || res.Written != "" || len(res.Deleted) != 0 {
		t.Fatalf("off: %+v %v", res, err)
	}
	if now := scheduledNames(t, e.svc.backupDir); !slices.Equal(now, names) {
		t.Fatalf("turned off, yet %v became %v", names, now)
	}
	// On again a month later: the new one is written, the stale ones go,
	// and a deletion alone is audited as such.
	one := 1
	if _, err := e.svc.UpdateSettings(e.signIn("mitch@kwgroup.uk"), SettingsInput{BackupKeepDays: &one}); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.ScheduledBackup()
	if err != nil || res.Written == "" || len(res.Deleted) != len(names) {
		t.Fatalf("%+v %v", res, err)
	}
	if got := scheduledNames(t, e.svc.backupDir); len(got) != 1 {
		t.Fatalf("kept %v", got)
	}
}
