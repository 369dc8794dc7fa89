package core

import (
	"context"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// SetupStatus says whether first-run setup is still to do.
type SetupStatus struct {
	Needed bool `json:"needed"`
}

// SetupInput creates the admin tenancy and the first SUPER_ADMIN.
type SetupInput struct {
	Organisation string `json:"organisation"`
	Email        string `json:"email"`
	Name         string `json:"name"`
	Password     string `json:"password"`
}

// SetupStatus is public: the first-run page asks it before anyone exists.
func (s *Service) SetupStatus(ctx context.Context) (SetupStatus, error) {
	var st SetupStatus
	err := s.db.View(func(tx *store.Tx) error {
		st.Needed = tx.CountUsers() == 0
		return nil
	})
	return st, s.internal("setup status", err)
}

var errSetUp = &Error{Code: Conflict, Message: "Gatehouse is already set up. Sign in instead."}

// Setup creates the admin tenancy and its first SUPER_ADMIN. It is refused
// once any user exists, and is safe against two concurrent attempts: the
// check and the creation share one write transaction.
func (s *Service) Setup(ctx context.Context, in SetupInput) (UserView, error) {
	var err error
	if done, _ := s.SetupStatus(ctx); !done.Needed {
		return UserView{}, errSetUp
	}
	if in.Organisation, err = cleanName("organisation", in.Organisation); err != nil {
		return UserView{}, err
	}
	if in.Email, err = cleanEmail("email", in.Email); err != nil {
		return UserView{}, err
	}
	if in.Name, err = cleanName("name", in.Name); err != nil {
		return UserView{}, err
	}
	if err := checkPassword("password", in.Password); err != nil {
		return UserView{}, err
	}
	hash, err := s.hasher.Hash(in.Password) // outside the transaction: bcrypt is slow
	if err != nil {
		return UserView{}, s.internal("hash", err)
	}
	ip := callerFrom(ctx).IP
	var u store.User
	err = s.write(func(tx *store.Tx) error {
		if tx.CountUsers() != 0 {
			return errSetUp
		}
		now := s.clock()
		t := &store.Tenant{Name: in.Organisation, AdminTenancy: true, CreatedAt: now}
		if err := tx.CreateTenant(t); err != nil {
			return err
		}
		u = store.User{Email: in.Email, Name: in.Name, Role: auth.SuperAdmin, Active: true,
			TenantID: t.ID, DefaultTenantID: t.ID, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateUser(&u, store.Credentials{PasswordHash: hash}); err != nil {
			return err
		}
		if err := tx.PutMembership(store.Membership{UserID: u.ID, TenantID: t.ID, CreatedAt: now}); err != nil {
			return err
		}
		w := userWho(&u, ip)
		if err := record(tx, now, w, t.ID, ActSetup, ResTenant, t.ID, &change{After: map[string]any{"name": t.Name, "adminTenancy": true}}); err != nil {
			return err
		}
		return record(tx, now, w, t.ID, ActCreate, ResUser, u.ID, &change{After: auditUser(&u)})
	})
	if err != nil {
		return UserView{}, s.internal("setup", err)
	}
	return viewUser(&u), nil
}
