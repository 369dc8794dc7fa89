package core

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gatehouse/internal/backup"
	"gatehouse/internal/store"
)

// ActBackupDelete records scheduled backups deleted after their kept days.
const ActBackupDelete = "backup_delete"

// Scheduled backups are written without anyone present, so there is no
// passphrase to ask for. They are encrypted to the public half of a
// recovery key (age X25519) whose secret half is shown to the admin once
// and never stored: nothing in the data folder, nor in the running app's
// memory, can open them, and no passphrase is sealed anywhere. Restoring
// one takes the recovery key where a passphrase would go.
type scheduledBackups struct {
	KeepDays  int    `json:"keepDays"`  // 0: off
	Recipient string `json:"recipient"` // age1…, the recovery key's public half
}

const (
	scheduledPrefix = "gatehouse-scheduled-"
	stampLayout     = "20060102-150405"
	// scheduledEvery is "daily" for a check that runs hourly and at start:
	// a little under a day, so the time of day does not creep later.
	scheduledEvery = 23 * time.Hour
)

// BackupRecoveryKey is a new recovery key: Identity opens the scheduled
// backups and is shown this once; Recipient is what Gatehouse keeps.
type BackupRecoveryKey struct {
	Identity  string `json:"identity"`
	Recipient string `json:"recipient"`
}

// NewBackupRecoveryKey makes the key that scheduled backups are encrypted
// to from now on (platform admins). Backups made before keep needing the
// key they were made with.
func (s *Service) NewBackupRecoveryKey(ctx context.Context) (BackupRecoveryKey, error) {
	if _, err := s.check(ctx, platformGate); err != nil {
		return BackupRecoveryKey{}, err
	}
	identity, recipient, err := backup.NewRecoveryKey()
	if err != nil {
		return BackupRecoveryKey{}, s.internal("recovery key", err)
	}
	err = s.update(ctx, platformGate, func(tx *store.Tx, a *actor) error {
		g, _, err := readSettings(tx)
		if err != nil {
			return err
		}
		before := g.Backups.Recipient
		g.Backups.Recipient = recipient
		if err := tx.PutSetting(settingGeneral, g); err != nil {
			return err
		}
		return record(tx, a.now, a.who(), a.tenant.ID, ActUpdate, ResSettings, 0,
			&change{Before: map[string]any{"backupRecipient": before}, After: map[string]any{"backupRecipient": recipient}})
	})
	if err != nil {
		return BackupRecoveryKey{}, s.internal("store recovery key", err)
	}
	return BackupRecoveryKey{Identity: identity, Recipient: recipient}, nil
}

// ScheduledBackupResult says what one run of the schedule did.
type ScheduledBackupResult struct {
	Written string   // the new backup's path, if one was due
	Deleted []string // scheduled backups past their kept days
}

// ScheduledBackup writes a backup into the backups folder when a day has
// passed since the last scheduled one, and deletes scheduled backups older
// than the kept days (never the newest). Both are audited. Turned off
// (0 days), it leaves existing files alone.
func (s *Service) ScheduledBackup() (ScheduledBackupResult, error) {
	var res ScheduledBackupResult
	var cfg scheduledBackups
	if err := s.db.View(func(tx *store.Tx) error {
		g, _, err := readSettings(tx)
		cfg = g.Backups
		return err
	}); err != nil || cfg.KeepDays <= 0 || cfg.Recipient == "" || s.backupDir == "" {
		return res, s.internal("read backup settings", err)
	}
	to, err := backup.KeyRecipient(cfg.Recipient)
	if err != nil {
		return res, s.internal("backup recipient", err)
	}
	if err := s.makeBackupDir(); err != nil {
		return res, err
	}
	now := s.clock()
	files, err := scheduledFiles(s.backupDir)
	if err != nil {
		return res, s.internal("list backups", err)
	}
	var size int64
	if len(files) == 0 || now.Sub(files[len(files)-1].at) >= scheduledEvery {
		b, err := s.backupToFile(filepath.Join(s.backupDir, scheduledPrefix+now.Format(stampLayout)+backup.Ext), to, nil, false)
		if err != nil {
			return res, err
		}
		res.Written, size = b.Path, b.Size
		files = append(files, scheduledFile{path: b.Path, at: now})
	}
	cutoff := now.AddDate(0, 0, -cfg.KeepDays)
	for _, f := range files[:len(files)-1] {
		if f.at.Before(cutoff) {
			if err := os.Remove(f.path); err != nil {
				s.log.Error("delete an old scheduled backup", "path", f.path, "err", err)
				continue
			}
			res.Deleted = append(res.Deleted, filepath.Base(f.path))
		}
	}
	return res, s.recordScheduled(res, size, cfg.KeepDays)
}

func (s *Service) recordScheduled(res ScheduledBackupResult, size int64, keepDays int) error {
	if res.Written == "" && len(res.Deleted) == 0 {
		return nil
	}
	err := s.write(func(tx *store.Tx) error {
		w := who{name: "Gatehouse scheduled backup", ip: "local"}
		if res.Written != "" {
			return record(tx, s.clock(), w, 0, ActBackup, "database", 0, &change{Extra: map[string]any{
				"scheduled": true, "path": res.Written, "size": size, "deleted": res.Deleted, "keepDays": keepDays}})
		}
		return record(tx, s.clock(), w, 0, ActBackupDelete, "database", 0, &change{Extra: map[string]any{"deleted": res.Deleted, "keepDays": keepDays}})
	})
	return s.internal("record scheduled backup", err)
}

type scheduledFile struct {
	path string
	at   time.Time
}

// scheduledFiles lists the scheduled backups in dir, oldest first, by the
// time in their names (copies renamed by hand are not ours to delete).
func scheduledFiles(dir string) ([]scheduledFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []scheduledFile
	for _, e := range entries {
		stamp, ok := strings.CutPrefix(e.Name(), scheduledPrefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		stamp, ok = strings.CutSuffix(stamp, backup.Ext)
		at, err := time.Parse(stampLayout, stamp)
		if !ok || err != nil {
			continue
		}
		out = append(out, scheduledFile{path: filepath.Join(dir, e.Name()), at: at})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out, nil
}
