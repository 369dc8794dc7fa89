package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/backup"
	"gatehouse/internal/core"
	"gatehouse/internal/store"
)

const restoreUsage = `restore FILE [--passphrase-stdin] [--data DIR]

Replaces the data folder's database (and its key) with a backup's, after
checking all of it. An encrypted backup needs --passphrase-stdin: its
passphrase, or the recovery key of scheduled backups, on the first line of
standard input. A plain database copy from an older Gatehouse restores
without it, with the data folder's own secret.key.`

func runRestore(env *Env, args []string) error {
	f := newFlags(env, "restore", restoreUsage)
	fromStdin := f.Bool("passphrase-stdin", false, "read the passphrase (or recovery key) from the first line of standard input")
	pos, err := f.parseArgs(args, 1)
	if err != nil {
		return err
	}
	if err := refuseCluster(env, "restore (restore into a data folder, then copy it with gatehouse migrate)"); err != nil {
		return err
	}
	file := first(pos)
	if file == "" {
		return usagef("restore needs the backup file")
	}
	dir := f.dataDir(env)
	var kept, keyKept string
	if encrypted(file) {
		if !*fromStdin {
			return usagef("%s is an encrypted backup: give its passphrase (or recovery key) on standard input with --passphrase-stdin", file)
		}
		secret, err := readPassword(env)
		if err != nil {
			return err
		}
		if kept, keyKept, err = restoreEncrypted(dir, file, secret); err != nil {
			return err
		}
	} else if kept, err = restorePlain(dir, file); err != nil {
		return err
	}
	svc, closeDB, err := open(env, dir) // migrates a backup from an older Gatehouse
	if err != nil {
		if kept == "" { // restored into a folder without a database
			return fmt.Errorf("the restored database does not open: %v", err)
		}
		return fmt.Errorf("the restored database does not open: %v (the previous one is kept as %s)", err, kept)
	}
	ended, err := svc.EndSessionsAfterRestore()
	closeDB()
	if err != nil {
		return fmt.Errorf("the backup is restored, but its sessions could not be ended: %v; run restore again", err)
	}
	fmt.Fprintf(env.Stdout, "Restored %s into %s.\n", file, dir)
	fmt.Fprintf(env.Stdout, "Every session it held was ended (%d): everyone signs in again.\n", ended)
	if kept != "" {
		fmt.Fprintf(env.Stdout, "The database it replaced is kept as %s.\n", kept)
	}
	if keyKept != "" {
		fmt.Fprintf(env.Stdout, "The key file it replaced is kept as %s.\n", keyKept)
	}
	return nil
}

// encrypted reports whether file is an encrypted backup (else it is taken
// for a plain database copy, which CheckFile judges).
func encrypted(file string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	return backup.IsEncrypted(f)
}

// restorePlain restores a plain database copy, which needs the data
// folder's own key file.
func restorePlain(dir, file string) (string, error) {
	if err := store.CheckFile(file); err != nil {
		return "", fmt.Errorf("%v; nothing was changed", err)
	}
	if err := checkBackupKey(dir, file); err != nil {
		return "", err
	}
	return store.Restore(dir, file)
}

// restoreEncrypted decrypts the backup into the data folder beside the
// database, checks the database and that the backup's key opens it, and
// only then puts both in place. It returns the names the replaced
// database and key file are kept under ("" when there was none).
func restoreEncrypted(dir, file, secret string) (kept, keyKept string, err error) {
	id, err := backup.IdentityFor(secret)
	if err != nil {
		return "", "", fmt.Errorf("%v; nothing was changed", err)
	}
	in, err := os.Open(file)
	if err != nil {
		return "", "", fmt.Errorf("cannot read %s: %v", file, err)
	}
	defer in.Close()
	r, err := backup.Open(in, id)
	if errors.Is(err, backup.ErrWrongSecret) {
		return "", "", fmt.Errorf("the passphrase does not open %s (for a scheduled backup, give its recovery key); nothing was changed", file)
	}
	if err != nil {
		return "", "", fmt.Errorf("%s: %v; nothing was changed", file, err)
	}
	sealer, err := auth.NewSealer(r.Key)
	if err != nil {
		return "", "", fmt.Errorf("%s: the key inside is damaged (%v); nothing was changed", file, err)
	}
	// The decrypted copy waits in the data folder (0700), like the
	// database itself: never in a shared temporary folder.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("cannot make the data folder: %v", err)
	}
	work, err := os.MkdirTemp(dir, ".restore-")
	if err != nil {
		return "", "", fmt.Errorf("cannot write in %s: %v", dir, err)
	}
	defer os.RemoveAll(work)
	db := filepath.Join(work, store.FileName)
	if err := decryptTo(r, db); err != nil {
		return "", "", fmt.Errorf("%s: %v; nothing was changed", file, err)
	}
	if err := store.CheckFile(db); err != nil {
		return "", "", fmt.Errorf("the database in %s: %v; nothing was changed", file, err)
	}
	if err := checkOpensWith(work, sealer); err != nil {
		return "", "", fmt.Errorf("the database in %s: %v; nothing was changed", file, err)
	}
	if kept, err = store.Restore(dir, db); err != nil {
		return "", "", err
	}
	if keyKept, err = putKey(dir, r.Key); err != nil {
		return kept, "", fmt.Errorf("the database is restored but its key file could not be put in place: %v", err)
	}
	return kept, keyKept, nil
}

func decryptTo(r *backup.Reader, path string) error {
	return writeSynced(path, func(w io.Writer) error { _, err := r.CopyDatabase(w); return err })
}

// putKey makes key the data folder's key file. A different key file there
// is kept beside it under the name returned.
func putKey(dir string, key []byte) (string, error) {
	path := filepath.Join(dir, auth.KeyFile)
	old, err := os.ReadFile(path)
	if err == nil && bytes.Equal(old, key) {
		return "", nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	tmp := path + ".restoring"
	os.Remove(tmp) // left by a restore that was cut off
	if err := writeSynced(tmp, func(w io.Writer) error { _, err := w.Write(key); return err }); err != nil {
		os.Remove(tmp)
		return "", err
	}
	kept := ""
	if old != nil {
		kept = fmt.Sprintf("%s.before-restore-%s", path, time.Now().UTC().Format("20060102-150405"))
		if err := os.Rename(path, kept); err != nil {
			os.Remove(tmp)
			return "", err
		}
	}
	return kept, os.Rename(tmp, path)
}

// writeSynced creates path (0600; it must not exist), fills it and syncs it.
func writeSynced(path string, fill func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = fill(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// checkBackupKey makes sure the data folder's key file unlocks a plain
// backup's sealed secrets, on a throw-away copy, before anything changes.
func checkBackupKey(dir, file string) error {
	keyPath := filepath.Join(dir, auth.KeyFile)
	_, sealer, err := keyOptions(dir)
	if err != nil {
		return err
	}
	if sealer == nil {
		return nil // a fresh folder: the backup brings its own key file
	}
	tmp, err := os.MkdirTemp("", "gatehouse-restore-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, err := store.Restore(tmp, file); err != nil {
		return err
	}
	err = checkOpensWith(tmp, sealer)
	if errors.Is(err, core.ErrWrongKey) {
		return fmt.Errorf("this backup's secrets were sealed with another key file than %s; put the key file that belongs with the backup in place first (nothing was changed)", keyPath)
	}
	if err != nil {
		return fmt.Errorf("the backup does not open: %v; nothing was changed", err)
	}
	return nil
}

// checkOpensWith opens the database in dir (a throw-away copy) with
// sealer's key: the key must open its sealed check value, and the audit
// chain must verify under the key's chain key.
func checkOpensWith(dir string, sealer *auth.Sealer) error {
	opt := store.Options{AuditKey: sealer.SubKey(auth.AuditChainPurpose), CheckKey: core.KeyCheck(sealer), NoBackgroundCheck: true} // CheckFile read every page
	db, err := store.Open(dir, opt)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := core.New(core.Config{DB: db, Sealer: sealer}).CheckKey(); err != nil {
		return err
	}
	rep, err := db.VerifyChain(nil)
	if err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("its audit log does not verify with the key it came with (%s)", rep.Problem)
	}
	return nil
}
