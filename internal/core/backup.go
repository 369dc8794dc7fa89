package core

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gatehouse/internal/store"
)

// ActBackup records a backup of the database.
const ActBackup = "backup"

// BackupResult describes a backup that was made and checked.
type BackupResult struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// BackupNow writes a checked copy of the database into the data folder's
// backups folder (platform admins) while the app keeps running.
func (s *Service) BackupNow(ctx context.Context) (BackupResult, error) {
	if _, err := s.check(ctx, platformGate); err != nil {
		return BackupResult{}, err
	}
	if s.backupDir == "" {
		return BackupResult{}, &Error{Code: Conflict, Message: "This Gatehouse has no backups folder."}
	}
	if err := os.MkdirAll(s.backupDir, 0o700); err != nil {
		return BackupResult{}, &Error{Code: Conflict, Message: fmt.Sprintf("Cannot create the backups folder %s: %v", s.backupDir, err)}
	}
	path := filepath.Join(s.backupDir, "gatehouse-"+s.clock().Format("20060102-150405")+".db")
	res, err := s.Backup(path, nil)
	if err != nil {
		return BackupResult{}, err
	}
	err = s.update(ctx, platformGate, func(tx *store.Tx, a *actor) error {
		return record(tx, a.now, a.who(), a.tenant.ID, ActBackup, "database", 0, &change{Extra: map[string]any{"path": res.Path, "size": res.Size}})
	})
	return res, s.internal("record backup", err)
}

// Backup writes a checked copy of the database to path (the command line
// and the control socket call it; they are the machine's own user).
func (s *Service) Backup(path string, progress func(done, total int64)) (BackupResult, error) {
	start := time.Now()
	size, err := s.db.BackupTo(path, progress)
	if err != nil {
		return BackupResult{}, &Error{Code: Conflict, Message: err.Error()}
	}
	s.log.Info("backup written", "path", path, "size", size, "took", time.Since(start))
	return BackupResult{Path: path, Size: size}, nil
}
