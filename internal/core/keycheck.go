package core

import (
	"errors"

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
// once at start, before anything is sealed or unsealed.
func (s *Service) CheckKey() error {
	return s.write(func(tx *store.Tx) error {
		var sealed []byte
		ok, err := tx.Setting(settingKeyCheck, &sealed)
		if err != nil {
			return err
		}
		if !ok {
			return tx.PutSetting(settingKeyCheck, s.sealer.Seal([]byte(keyCheckText), sealKeyCheck))
		}
		if plain, err := s.sealer.Open(sealed, sealKeyCheck); err != nil || string(plain) != keyCheckText {
			return ErrWrongKey
		}
		return nil
	})
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
