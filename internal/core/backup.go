package core

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"filippo.io/age"

	"gatehouse/internal/backup"
	"gatehouse/internal/store"
)

// ActBackup records a backup of the database.
const ActBackup = "backup"

// MinBackupPassphrase is the fewest characters a backup passphrase may
// have: it is all that protects a backup file that leaves the building.
const MinBackupPassphrase = 12

// BackupResult describes a backup that was made.
type BackupResult struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// BackupNow writes a checked plain copy of the database into the data
// folder's backups folder (platform admins) while the app keeps running.
// The copy stays beside the key file; to take a backup away, use
// DownloadBackup or SaveBackup, which encrypt.
func (s *Service) BackupNow(ctx context.Context) (BackupResult, error) {
	if _, err := s.check(ctx, platformGate); err != nil {
		return BackupResult{}, err
	}
	if err := s.makeBackupDir(); err != nil {
		return BackupResult{}, err
	}
	path := filepath.Join(s.backupDir, "gatehouse-"+s.clock().Format("20060102-150405")+".db")
	start := time.Now()
	size, err := s.db.BackupTo(path, nil)
	if err != nil {
		return BackupResult{}, &Error{Code: Conflict, Message: err.Error()}
	}
	s.log.Info("backup written", "path", path, "size", size, "took", time.Since(start))
	return BackupResult{Path: path, Size: size}, s.recordBackup(ctx, map[string]any{"path": path, "size": size})
}

// BackupFileName is the suggested name of an encrypted backup made now.
func (s *Service) BackupFileName() string {
	return "gatehouse-backup-" + s.clock().Format("20060102-150405") + backup.Ext
}

// DownloadBackup streams an encrypted backup — the database and its key,
// encrypted to passphrase — to w (platform admins). The download is
// audited before the first byte, so even one broken off is on record.
func (s *Service) DownloadBackup(ctx context.Context, passphrase string, w io.Writer) (int64, error) {
	to, err := s.backupGate(ctx, passphrase)
	if err != nil {
		return 0, err
	}
	if err := s.recordBackup(ctx, map[string]any{"to": "download"}); err != nil {
		return 0, err
	}
	return s.writeBackup(w, to, nil)
}

// SaveBackup writes an encrypted backup to path, a file the platform admin
// chose in the window's save dialog (which asked before replacing one).
func (s *Service) SaveBackup(ctx context.Context, path, passphrase string) (BackupResult, error) {
	to, err := s.backupGate(ctx, passphrase)
	if err != nil {
		return BackupResult{}, err
	}
	res, err := s.backupToFile(path, to, nil, true)
	if err != nil {
		return BackupResult{}, err
	}
	return res, s.recordBackup(ctx, map[string]any{"path": res.Path, "size": res.Size})
}

// Backup writes an encrypted backup to path, which must not exist (the
// command line and the control socket call it; they are the machine's own
// user, so it is logged, not audited).
func (s *Service) Backup(path, passphrase string, progress func(done, total int64)) (BackupResult, error) {
	if err := CheckBackupPassphrase(passphrase); err != nil {
		return BackupResult{}, err
	}
	to, err := backup.PassphraseRecipient(passphrase)
	if err != nil {
		return BackupResult{}, s.internal("backup recipient", err)
	}
	return s.backupToFile(path, to, progress, false)
}

// backupGate checks the caller may take the data away and the passphrase
// will protect it, and returns the recipient to encrypt to.
func (s *Service) backupGate(ctx context.Context, passphrase string) (age.Recipient, error) {
	if _, err := s.check(ctx, platformGate); err != nil {
		return nil, err
	}
	if err := CheckBackupPassphrase(passphrase); err != nil {
		return nil, err
	}
	to, err := backup.PassphraseRecipient(passphrase)
	return to, s.internal("backup recipient", err)
}

// CheckBackupPassphrase says whether p may protect a backup.
func CheckBackupPassphrase(p string) error {
	if n := utf8.RuneCountInString(p); n < MinBackupPassphrase || len(p) > 1024 {
		return fieldError("passphrase", "Use a passphrase of %d to 1024 characters: it is all that protects the backup file.", MinBackupPassphrase)
	}
	return nil
}

func (s *Service) recordBackup(ctx context.Context, extra map[string]any) error {
	err := s.update(ctx, platformGate, func(tx *store.Tx, a *actor) error {
		return record(tx, a.now, a.who(), a.tenant.ID, ActBackup, "database", 0, &change{Extra: extra})
	})
	return s.internal("record backup", err)
}

func (s *Service) makeBackupDir() error {
	if s.backupDir == "" {
		return &Error{Code: Conflict, Message: "This Gatehouse has no backups folder."}
	}
	if err := os.MkdirAll(s.backupDir, 0o700); err != nil {
		return &Error{Code: Conflict, Message: fmt.Sprintf("Cannot create the backups folder %s: %v", s.backupDir, err)}
	}
	return nil
}

// writeBackup streams one encrypted backup of the database and the data
// folder's key to w. It returns the database's size.
func (s *Service) writeBackup(w io.Writer, to age.Recipient, progress func(done, total int64)) (int64, error) {
	var size int64
	err := s.db.Snapshot(progress, func(n int64, content io.WriterTo) error {
		size = n
		m := backup.Manifest{Created: s.clock(), Schema: store.SchemaVersion(), DatabaseSize: n}
		return backup.Write(w, to, m, s.sealer.Key(), content)
	})
	return size, err
}

// backupToFile writes an encrypted backup to path, which must not exist
// unless replace: under a temporary name, synced, then renamed, so a file
// with the final name is always whole.
func (s *Service) backupToFile(path string, to age.Recipient, progress func(done, total int64), replace bool) (BackupResult, error) {
	if _, err := os.Stat(path); err == nil && !replace {
		return BackupResult{}, &Error{Code: Conflict, Message: fmt.Sprintf("%s already exists; choose a new file name", path)}
	}
	start := time.Now()
	tmp := path + ".partial"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return BackupResult{}, &Error{Code: Conflict, Message: fmt.Sprintf("cannot create %s: %v", path, plainPathError(err))}
	}
	size, err := s.writeBackup(f, to, progress)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return BackupResult{}, &Error{Code: Conflict, Message: fmt.Sprintf("the backup to %s failed: %v; nothing was kept", path, plainPathError(err))}
	}
	st, err := os.Stat(path)
	if err != nil {
		return BackupResult{}, &Error{Code: Conflict, Message: err.Error()}
	}
	s.log.Info("encrypted backup written", "path", path, "database", size, "size", st.Size(), "took", time.Since(start))
	return BackupResult{Path: path, Size: st.Size()}, nil
}

func plainPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
