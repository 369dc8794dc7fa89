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
// secrets — and returns the service over it. The key is checked against
// the database before the store migrates or touches the audit chain.
func open(env *Env, dir string) (*core.Service, func(), error) {
	if env.cluster != nil {
		svc, db, err := openCluster(env, dir, *env.cluster)
		if err != nil {
			return nil, nil, err
		}
		return svc, func() { db.Close() }, nil
	}
	svc, _, closeDB, err := openFolder(env, dir)
	return svc, closeDB, err
}

// openFolder is open for a data folder; it returns the store as well.
func openFolder(env *Env, dir string) (*core.Service, *store.DB, func(), error) {
	keyPath := filepath.Join(dir, auth.KeyFile)
	_, statErr := os.Stat(keyPath)
	if errors.Is(statErr, os.ErrNotExist) {
		if err := refuseLostKey(dir, keyPath); err != nil {
			return nil, nil, nil, err
		}
	}
	// The first run makes the folder: the key file is written before the
	// database, which would otherwise make it.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, fmt.Errorf("cannot make the data folder: %v", err)
	}
	key, err := auth.LoadOrCreateKey(keyPath)
	if err != nil {
		return nil, nil, nil, err
	}
	sealer, err := auth.NewSealer(key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("the key file %s: %v", keyPath, err)
	}
	// A key file that was already there means the database was too: an
	// empty one is damage, not a new install.
	db, err := openStore(dir, store.Options{AuditKey: sealer.SubKey(auth.AuditChainPurpose), CheckKey: core.KeyCheck(sealer), Existing: statErr == nil})
	if err == nil {
		svc := core.New(core.Config{DB: db, Sealer: sealer, Logger: logger(env), BackupDir: filepath.Join(dir, "backups")})
		if err = svc.CheckKey(); err == nil {
			return svc, db, func() { db.Close() }, nil
		}
		db.Close()
	}
	if errors.Is(err, core.ErrWrongKey) {
		return nil, nil, nil, fmt.Errorf("the key file %s does not match the database %s; restore the key file that belongs with it (nothing was changed)", keyPath, filepath.Join(dir, store.FileName))
	}
	return nil, nil, nil, err
}

// refuseLostKey: with no key file, a database that already holds sealed
// secrets must not get a new key (its secrets would be lost); say which
// file is missing instead.
func refuseLostKey(dir, keyPath string) error {
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); errors.Is(err, os.ErrNotExist) {
		return nil // a new data folder
	}
	db, err := openStore(dir, store.Options{NoBackgroundCheck: true})
	if err != nil {
		return err
	}
	defer db.Close()
	sealed, err := core.HasSealedSecrets(db)
	if err != nil {
		return err
	}
	if sealed {
		return fmt.Errorf("the key file %s is missing, but the database %s holds secrets sealed with it; restore the key file from a backup of the data folder (nothing was changed)", keyPath, db.Path())
	}
	return nil
}

// openStore opens the database, naming the way out when another process
// holds it.
func openStore(dir string, opt store.Options) (*store.DB, error) {
	db, err := store.Open(dir, opt)
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w (%s); close it first, or use another --data folder", store.ErrLocked, dir)
	}
	return db, err
}

// keyOptions are the store options for the data folder's key file, for
// commands that open a database without the service (backup, the restore
// check): the audit chain's key and the key check. Without a key file they
// are empty, and the sealer is nil.
func keyOptions(dir string) (store.Options, *auth.Sealer, error) {
	keyPath := filepath.Join(dir, auth.KeyFile)
	key, err := os.ReadFile(keyPath)
	if errors.Is(err, os.ErrNotExist) {
		return store.Options{}, nil, nil
	}
	if err != nil {
		return store.Options{}, nil, fmt.Errorf("cannot read the key file %s: %v", keyPath, err)
	}
	sealer, err := auth.NewSealer(key)
	if err != nil {
		return store.Options{}, nil, fmt.Errorf("the key file %s: %v", keyPath, err)
	}
	return store.Options{AuditKey: sealer.SubKey(auth.AuditChainPurpose), CheckKey: core.KeyCheck(sealer)}, sealer, nil
}
