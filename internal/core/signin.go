package core

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// SignInInput is the sign-in form.
type SignInInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// errBadSignIn is the one answer for an unknown e-mail, a wrong password
// and a deactivated account, so none can be told apart.
var errBadSignIn = &Error{Code: Invalid, Message: "The e-mail address or password is not right."}

const maxSignInEmail = 320 // longer input is refused before any lookup

// SignIn checks the password and starts a server-side session. It returns
// the session token for the transport to keep (cookie or window memory);
// only its hash is stored.
func (s *Service) SignIn(ctx context.Context, in SignInInput) (Me, string, error) {
	email := strings.TrimSpace(in.Email)
	if email == "" {
		return Me{}, "", fieldError("email", "Enter your e-mail address.")
	}
	if in.Password == "" {
		return Me{}, "", fieldError("password", "Enter your password.")
	}
	if len(email) > maxSignInEmail {
		email = email[:maxSignInEmail]
	}
	var user *store.User
	var creds store.Credentials
	err := s.db.View(func(tx *store.Tx) (err error) {
		if user, err = tx.UserByEmail(email); err != nil || user == nil {
			return err
		}
		creds, err = tx.Credentials(user.ID)
		return err
	})
	if err != nil {
		return Me{}, "", s.internal("sign in lookup", err)
	}
	// Always run bcrypt, also for unknown e-mails (against a dummy hash), so
	// the answer takes the same time either way.
	var hash []byte
	if user != nil {
		hash = creds.PasswordHash
	}
	pwOK := s.hasher.Verify(hash, in.Password) && user != nil
	ok := pwOK && user.Active
	c := callerFrom(ctx)
	if !ok {
		err := s.db.Update(func(tx *store.Tx) error {
			w := who{email: store.Fold(email), ip: c.IP}
			var tenant, uid uint64
			reason := "unknown e-mail"
			if user != nil {
				w, tenant, uid = userWho(user, c.IP), user.TenantID, user.ID
				reason = "wrong password"
				if pwOK {
					reason = "account deactivated"
				}
			}
			return record(tx, s.clock(), w, tenant, ActSignInFailed, ResUser, uid, &change{Extra: map[string]any{"reason": reason}})
		})
		if err != nil {
			return Me{}, "", s.internal("record failed sign-in", err)
		}
		return Me{}, "", errBadSignIn
	}

	token := auth.NewToken()
	var me Me
	err = s.db.Update(func(tx *store.Tx) error {
		u, err := tx.User(user.ID)
		if err != nil {
			return err
		}
		if u == nil || !u.Active {
			return errBadSignIn // deactivated between the check and now
		}
		a, err := startSession(tx, u, token, c, s.clock())
		if err != nil {
			return err
		}
		me, err = s.viewMe(tx, &a)
		return err
	})
	if err != nil {
		return Me{}, "", s.internal("sign in", err)
	}
	return me, token, nil
}

// startSession stores a new session for u, records the sign-in and the
// last-login time, and returns the signed-in actor.
func startSession(tx *store.Tx, u *store.User, token string, c Caller, now time.Time) (actor, error) {
	tenantID, err := landingTenant(tx, u)
	if err != nil {
		return actor{}, err
	}
	t, err := tx.Tenant(tenantID)
	if err != nil {
		return actor{}, err
	}
	if t == nil {
		return actor{}, fmt.Errorf("user %d: tenant %d is missing", u.ID, tenantID)
	}
	sess := &store.Session{ID: auth.HashToken(token), UserID: u.ID, TenantID: tenantID,
		CreatedAt: now, LastSeenAt: now, IP: c.IP, UserAgent: truncate(c.UserAgent, 200)}
	if err := tx.PutSession(sess); err != nil {
		return actor{}, err
	}
	u.LastLoginAt = now
	if err := tx.UpdateUser(u); err != nil {
		return actor{}, err
	}
	a := actor{session: *sess, user: *u, tenant: *t, ip: c.IP}
	return a, record(tx, now, a.who(), tenantID, ActSignIn, ResSession, u.ID, nil)
}

// landingTenant is the tenant a sign-in lands in: the user's default if
// they are still a member there, else their primary tenant.
func landingTenant(tx *store.Tx, u *store.User) (uint64, error) {
	if u.DefaultTenantID != 0 {
		m, err := tx.Membership(u.ID, u.DefaultTenantID)
		if err != nil {
			return 0, err
		}
		if m != nil {
			return u.DefaultTenantID, nil
		}
	}
	return u.TenantID, nil
}

// SignOut ends the caller's session. Signing out twice is not an error.
func (s *Service) SignOut(ctx context.Context) error {
	a, err := s.resolve(ctx)
	if err != nil {
		return nil
	}
	err = s.db.Update(func(tx *store.Tx) error {
		if err := tx.DeleteSession(a.session.ID); err != nil {
			return err
		}
		return record(tx, s.clock(), a.who(), a.tenant.ID, ActSignOut, ResSession, a.user.ID, nil)
	})
	return s.internal("sign out", err)
}

// Me returns the signed-in user.
func (s *Service) Me(ctx context.Context) (Me, error) {
	a, err := s.require(ctx, auth.OwnProfile)
	if err != nil {
		return Me{}, err
	}
	var me Me
	err = s.db.View(func(tx *store.Tx) (err error) { me, err = s.viewMe(tx, a); return })
	return me, s.internal("me", err)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
