package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"gatehouse/internal/backup"
	"gatehouse/internal/store"
)

const backupUsage = `backup FILE --passphrase-stdin [--data DIR]

Writes one encrypted file holding the database and its key, encrypted to the
passphrase read from the first line of standard input (at least 12 characters).
Restore it with: gatehouse restore FILE --passphrase-stdin`

func runBackup(env *Env, args []string) error {
	f := newFlags(env, "backup", backupUsage)
	fromStdin := f.Bool("passphrase-stdin", false, "read the passphrase from the first line of standard input")
	pos, err := f.parseArgs(args, 1)
	if err != nil {
		return err
	}
	file := first(pos)
	if file == "" {
		return usagef("backup needs the file to write, for example: gatehouse backup /media/usb/gatehouse%s --passphrase-stdin", backup.Ext)
	}
	if !*fromStdin {
		return usagef("backup needs --passphrase-stdin: the backup is encrypted, and the passphrase never shows in the process list")
	}
	passphrase, err := readPassword(env)
	if err != nil {
		return err
	}
	path, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	dir := f.dataDir(env)
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil {
		return fmt.Errorf("there is no Gatehouse database in %s", dir)
	}
	progress := func(done, total int64) { fmt.Fprintf(env.Stderr, "\rbacking up… %d%%", done*100/max(total, 1)) }
	// Through the running Gatehouse when there is one, else on the file.
	r, _, err := onDataFolder(env, dir, controlRequest{Op: opBackup, Path: path, Passphrase: passphrase},
		func(r controlReply) { progress(r.Done, r.Total) })
	fmt.Fprint(env.Stderr, "\r")
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "Backed up to %s (%s): the database and its key, encrypted to your passphrase.\n", path, humanSize(r.Size))
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
