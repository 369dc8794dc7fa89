package core

import (
	"context"
	"crypto/subtle"
	"strings"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// SetupStatus says whether first-run setup is still to do, and whether
// this caller must give the setup code (LAN callers do).
type SetupStatus struct {
	Needed       bool `json:"needed"`
	CodeRequired bool `json:"codeRequired"`
	// ResetByEmail: e-mail is set up, so the sign-in page offers
	// "Forgot password?".
	ResetByEmail bool `json:"resetByEmail"`
}

// SetupInput creates the admin tenancy and the first SUPER_ADMIN.
type SetupInput struct {
	Organisation string `json:"organisation"`
	Email        string `json:"email"`
	Name         string `json:"name"`
	Password     string `json:"password"`
	// Code is the one-time setup code printed where Gatehouse started; LAN
	// callers need it, so nobody else on the network can claim the install.
	Code string `json:"code"`
}

// remote reports whether the caller came over the LAN (the window is
// "desktop", the command line "cli", and in-process callers have no IP).
func remote(c Caller) bool { return c.IP != "" && c.IP != "desktop" && c.IP != "cli" }

// SetupCode is the one-time code LAN setup needs, or "" once set up. The
// command line prints it with the setup link.
func (s *Service) SetupCode() string {
	// Fails closed: if the file cannot say, no code is printed.
	if st, err := s.SetupStatus(context.Background()); err != nil || !st.Needed {
		return ""
	}
	return s.setupCode
}

// SetupStatus is public: the first-run page asks it before anyone exists.
func (s *Service) SetupStatus(ctx context.Context) (SetupStatus, error) {
	var st SetupStatus
	err := s.db.View(func(tx *store.Tx) error {
		st.Needed = !tx.SetUp()
		_, m, err := readSettings(tx)
		st.ResetByEmail = !st.Needed && m.configured()
		return err
	})
	st.CodeRequired = st.Needed && remote(callerFrom(ctx))
	return st, s.internal("setup status", err)
}

var errSetUp = &Error{Code: Conflict, Message: "Gatehouse is already set up. Sign in instead."}

// Setup creates the admin tenancy and its first SUPER_ADMIN. It is refused
// once any user exists, and is safe against two concurrent attempts: the
// check and the creation share one write transaction.
func (s *Service) Setup(ctx context.Context, in SetupInput) (UserView, error) {
	done, err := s.SetupStatus(ctx)
	if err != nil {
		return UserView{}, err
	}
	if !done.Needed {
		return UserView{}, errSetUp
	}
	if remote(callerFrom(ctx)) && subtle.ConstantTimeCompare([]byte(strings.ToUpper(strings.TrimSpace(in.Code))), []byte(s.setupCode)) != 1 {
		return UserView{}, fieldError("code", "Enter the setup code printed where Gatehouse was started (the setup link there includes it).")
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
		if tx.SetUp() {
			return errSetUp
		}
		if err := tx.MarkSetUp(); err != nil {
			return err
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
