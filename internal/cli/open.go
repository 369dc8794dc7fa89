package cli

import (
	"errors"
	"fmt"

	"gatehouse/internal/core"
	"gatehouse/internal/store"
)

// open opens the data folder and returns the service over it.
func open(env *Env, dir string) (*core.Service, func(), error) {
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return nil, nil, fmt.Errorf("%s is already open by another Gatehouse; close it first, or use another --data folder", dir)
		}
		return nil, nil, err
	}
	svc := core.New(core.Config{DB: db, Logger: logger(env)})
	return svc, func() { db.Close() }, nil
}
