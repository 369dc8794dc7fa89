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

// open opens the data folder — the database and the key that seals its
// secrets — and returns the service over it.
func open(env *Env, dir string) (*core.Service, func(), error) {
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return nil, nil, fmt.Errorf("%w (%s); close it first, or use another --data folder", store.ErrLocked, dir)
		}
		return nil, nil, err
	}
	keyPath := filepath.Join(dir, auth.KeyFile)
	if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
		// A database that already holds sealed secrets must not get a new key:
		// its secrets would be lost. Say which file is missing instead.
		if sealed, err := core.HasSealedSecrets(db); err != nil || sealed {
			db.Close()
			if err != nil {
				return nil, nil, err
			}
			return nil, nil, fmt.Errorf("the key file %s is missing, but the database %s holds secrets sealed with it; restore the key file from a backup of the data folder (nothing was changed)", keyPath, db.Path())
		}
	}
	key, err := auth.LoadOrCreateKey(keyPath)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	sealer, err := auth.NewSealer(key)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("the key file %s: %v", keyPath, err)
	}
	if err := db.SetAuditKey(sealer.SubKey("audit-chain")); err != nil {
		db.Close()
		return nil, nil, err
	}
	svc := core.New(core.Config{DB: db, Sealer: sealer, Logger: logger(env), BackupDir: filepath.Join(dir, "backups")})
	if err := svc.CheckKey(); err != nil {
		db.Close()
		if errors.Is(err, core.ErrWrongKey) {
			return nil, nil, fmt.Errorf("the key file %s does not match the database %s; restore the key file that belongs with it (nothing was changed)", keyPath, db.Path())
		}
		return nil, nil, err
	}
	return svc, func() { db.Close() }, nil
}
