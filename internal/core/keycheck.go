package core

import (
	"errors"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

const (
	settingKeyCheck = "key-check"
	sealKeyCheck    = "key-check"
	keyCheckText    = "gatehouse"
)

// ErrWrongKey means the data folder's key file is not the one this
// database's secrets were sealed with.
var ErrWrongKey = errors.New("the key file does not match this database")

// CheckKey makes sure the sealer's key is the database's: the first call
// stores a sealed check value, later calls must be able to open it. Run it
// once at start, before anything is sealed or unsealed. Once the value is
// there a start only reads it: no write, no fsync.
func (s *Service) CheckKey() error {
	if s.db.KeyStored() {
		return nil // store.Open checked it (KeyCheck), before the page check ends
	}
	var stored bool
	if err := s.db.View(func(tx *store.Tx) (err error) { stored, err = checkSealedKey(tx, s.sealer); return }); err != nil || stored {
		return err
	}
	return s.write(func(tx *store.Tx) error {
		ok, err := checkSealedKey(tx, s.sealer)
		if err != nil || ok {
			return err
		}
		return tx.PutSetting(settingKeyCheck, s.sealer.Seal([]byte(keyCheckText), sealKeyCheck))
	})
}

// KeyCheck is the check for store.Options.CheckKey: it refuses a key that
// does not open the database's check value, before Open migrates or
// touches the audit chain. A database without one passes (CheckKey then
// stores it).
func KeyCheck(sealer *auth.Sealer) func(tx *store.Tx) (bool, error) {
	return func(tx *store.Tx) (bool, error) { return checkSealedKey(tx, sealer) }
}

// checkSealedKey reports whether the database holds a check value, and
// ErrWrongKey if sealer cannot open it.
func checkSealedKey(tx *store.Tx, sealer *auth.Sealer) (bool, error) {
	var sealed []byte
	ok, err := tx.Setting(settingKeyCheck, &sealed)
	if err != nil || !ok {
		return ok, err
	}
	if plain, err := sealer.Open(sealed, sealKeyCheck); err != nil || string(plain) != keyCheckText {
		return true, ErrWrongKey
	}
	return true, nil
}

// HasSealedSecrets reports whether the database has ever been used with a
// key file (it holds the sealed check value).
func HasSealedSecrets(db *store.DB) (bool, error) {
	var ok bool
	err := db.View(func(tx *store.Tx) (err error) {
		var sealed []byte
		ok, err = tx.Setting(settingKeyCheck, &sealed)
		return err
	})
	return ok, err
}
