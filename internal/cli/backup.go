package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gatehouse/internal/auth"
	"gatehouse/internal/core"
	"gatehouse/internal/store"
)

func runBackup(env *Env, args []string) error {
	f := newFlags(env, "backup", "backup FILE [--data DIR]")
	pos, err := f.parseArgs(args, 1)
	if err != nil {
		return err
	}
	file := first(pos)
	if file == "" {
		return usagef("backup needs the file to write, for example: gatehouse backup /media/usb/gatehouse.db")
	}
	path, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	dir := f.dataDir(env)
	var size int64
	progress := func(done, total int64) { fmt.Fprintf(env.Stderr, "\rbacking up… %d%%", done*100/max(total, 1)) }
	opt, _, _ := keyOptions(dir) // without a usable key file, a database that needs no migration still backs up
	db, err := store.Open(dir, opt)
	switch {
	case errors.Is(err, store.ErrLocked):
		// The app is running: it makes the copy itself, without stopping.
		var r controlReply
		r, err = askRunning(dir, controlRequest{Op: opBackup, Path: path}, func(r controlReply) { progress(r.Done, r.Total) })
		size = r.Size
	case err == nil:
		size, err = db.BackupTo(path, progress)
		db.Close()
	}
	fmt.Fprint(env.Stderr, "\r")
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Backed up to %s (%s), checked. Keep %s from the data folder with it: it unlocks the sealed secrets.\n", path, humanSize(size), auth.KeyFile)
	return nil
}

func runRestore(env *Env, args []string) error {
	f := newFlags(env, "restore", "restore FILE [--data DIR]")
	pos, err := f.parseArgs(args, 1)
	if err != nil {
		return err
	}
	file := first(pos)
	if file == "" {
		return usagef("restore needs the backup file")
	}
	dir := f.dataDir(env)
	if err := store.CheckFile(file); err != nil {
		return fmt.Errorf("%v; nothing was changed", err)
	}
	if err := checkBackupKey(dir, file); err != nil {
		return err
	}
	kept, err := store.Restore(dir, file)
	if err != nil {
		return err
	}
	_, closeDB, err := open(env, dir) // migrates a backup from an older Gatehouse
	if err != nil {
		if kept == "" { // restored into a folder without a database
			return fmt.Errorf("the restored database does not open: %v", err)
		}
		return fmt.Errorf("the restored database does not open: %v (the previous one is kept as %s)", err, kept)
	}
	closeDB()
	fmt.Fprintf(env.Stdout, "Restored %s into %s.\n", file, dir)
	if kept != "" {
		fmt.Fprintf(env.Stdout, "The database it replaced is kept as %s.\n", kept)
	}
	return nil
}

// checkBackupKey makes sure the data folder's key file unlocks the
// backup's sealed secrets, on a throw-away copy, before anything changes.
func checkBackupKey(dir, file string) error {
	keyPath := filepath.Join(dir, auth.KeyFile)
	opt, sealer, err := keyOptions(dir)
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
	opt.NoBackgroundCheck = true // CheckFile read every page
	db, err := store.Open(tmp, opt)
	if errors.Is(err, core.ErrWrongKey) {
		return fmt.Errorf("this backup's secrets were sealed with another key file than %s; put the key file that belongs with the backup in place first (nothing was changed)", keyPath)
	}
	if err != nil {
		return fmt.Errorf("the backup does not open: %v; nothing was changed", err)
	}
	defer db.Close()
	if err := core.New(core.Config{DB: db, Sealer: sealer}).CheckKey(); err != nil {
		return fmt.Errorf("this backup's secrets were sealed with another key file than %s; put the key file that belongs with the backup in place first (nothing was changed)", keyPath)
	}
	return nil
}

// first is the first positional argument, or "" when there is none.
func first(positional []string) string {
	if len(positional) == 0 {
		return ""
	}
	return positional[0]
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
