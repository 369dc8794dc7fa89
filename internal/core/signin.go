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

// SignInResult says where a sign-in stands: "done" (Me is set), "totp" (the
// password was right; now the code), or "enrol" (policy requires 2FA before
// anything else; Me is set).
type SignInResult struct {
	Step string `json:"step"`
	Me   *Me    `json:"me"`
}

// errBadSignIn is the one answer for an unknown e-mail, a wrong password
// and a deactivated account, so none can be told apart.
var errBadSignIn = &Error{Code: Invalid, Message: "The e-mail address or password is not right."}

const (
	maxSignInEmail = 320 // longer input is cut before any lookup
	pendingTOTPFor = 5 * time.Minute
)

// Sign-in audit actions.
const (
	ActLock   = "lock"
	ActUnlock = "unlock"
)

// SignIn checks the password and starts a server-side session: a full one,
// or one awaiting the TOTP code when 2FA is on. It returns the session token
// for the transport to keep; only its hash is stored. Failures are counted
// per account and per address, and enough of them lock.
func (s *Service) SignIn(ctx context.Context, in SignInInput) (SignInResult, string, error) {
	email := strings.TrimSpace(in.Email)
	if email == "" {
		return SignInResult{}, "", fieldError("email", "Enter your e-mail address.")
	}
	if in.Password == "" {
		return SignInResult{}, "", fieldError("password", "Enter your password.")
	}
	if len(email) > maxSignInEmail {
		email = email[:maxSignInEmail]
	}
	c := callerFrom(ctx)
	acctKey, ipKey := store.AccountKey(email), store.IPKey(c.IP)
	var user *store.User
	var creds store.Credentials
	var acctLock, ipLock time.Time
	now := s.clock()
	err := s.db.View(func(tx *store.Tx) (err error) {
		a, err := tx.Throttle(acctKey)
		if err != nil {
			return err
		}
		i, err := tx.Throttle(ipKey)
		if err != nil {
			return err
		}
		acctLock, ipLock = lockedUntil(a, now), lockedUntil(i, now)
		if user, err = tx.UserByEmail(email); err != nil || user == nil {
			return err
		}
		creds, err = tx.Credentials(user.ID)
		return err
	})
	if err != nil {
		return SignInResult{}, "", s.internal("sign in lookup", err)
	}
	if !acctLock.IsZero() || !ipLock.IsZero() {
		// Locked: no bcrypt at all, but the attempt still counts.
		if err := s.failSignIn(ctx, email, user, "locked"); err != nil {
			return SignInResult{}, "", err
		}
		if !ipLock.IsZero() {
			return SignInResult{}, "", errIPLocked(ipLock)
		}
		return SignInResult{}, "", errLocked(acctLock)
	}
	// Always run bcrypt, also for unknown e-mails (against a dummy hash), so
	// the answer takes the same time either way.
	var hash []byte
	if user != nil {
		hash = creds.PasswordHash
	}
	pwOK := s.hasher.Verify(hash, in.Password) && user != nil
	if !pwOK || !user.Active {
		reason := "wrong password"
		if user == nil {
			reason = "unknown e-mail"
		} else if pwOK {
			reason = "account deactivated"
		}
		if err := s.failSignIn(ctx, email, user, reason); err != nil {
			return SignInResult{}, "", err
		}
		return SignInResult{}, "", errBadSignIn
	}

	token := auth.NewToken()
	var res SignInResult
	err = s.write(func(tx *store.Tx) error {
		u, err := tx.User(user.ID)
		if err != nil {
			return err
		}
		if u == nil || !u.Active {
			return errBadSignIn // deactivated between the check and now
		}
		now := s.clock()
		if u.MFAEnabled {
			// The password is right; the session waits for the code.
			sess := &store.Session{ID: auth.HashToken(token), UserID: u.ID, TenantID: u.TenantID, CreatedAt: now,
				LastSeenAt: now, IP: c.IP, UserAgent: truncate(c.UserAgent, 200), Stage: stageTOTP}
			res.Step = stageTOTP
			return tx.PutSession(sess)
		}
		stage, err := s.enrolStage(tx, u)
		if err != nil {
			return err
		}
		a, err := startSession(tx, u, token, c, now, stage, "password")
		if err != nil {
			return err
		}
		me, err := s.viewMe(tx, &a)
		res = SignInResult{Step: "done", Me: &me}
		if stage != "" {
			res.Step = stageEnrol
		}
		return err
	})
	if err != nil {
		return SignInResult{}, "", s.internal("sign in", err)
	}
	return res, token, nil
}

// Session stages.
const (
	stageTOTP  = "totp"
	stageEnrol = "enrol"
)

// failSignIn counts a failed attempt against the account and the address,
// in one write transaction with its audit event (and the lock's, if this
// failure started one).
func (s *Service) failSignIn(ctx context.Context, email string, user *store.User, reason string) error {
	c := callerFrom(ctx)
	err := s.write(func(tx *store.Tx) error {
		now := s.clock()
		w := who{email: store.Fold(email), ip: c.IP}
		var tenant, uid uint64
		if user != nil {
			w, tenant, uid = userWho(user, c.IP), user.TenantID, user.ID
		}
		locked, until, err := countFailure(tx, store.AccountKey(email), lockAfter, now)
		if err != nil {
			return err
		}
		ipLocked, ipUntil, err := countFailure(tx, store.IPKey(c.IP), ipLockAfter, now)
		if err != nil {
			return err
		}
		if err := record(tx, now, w, tenant, ActSignInFailed, ResUser, uid, &change{Extra: map[string]any{"reason": reason}}); err != nil {
			return err
		}
		if locked {
			if err := record(tx, now, w, tenant, ActLock, ResUser, uid, &change{Extra: map[string]any{"email": store.Fold(email), "until": until}}); err != nil {
				return err
			}
		}
		if ipLocked {
			return record(tx, now, w, tenant, ActLock, "address", 0, &change{Extra: map[string]any{"ip": c.IP, "until": ipUntil}})
		}
		return nil
	})
	return s.internal("record failed sign-in", err)
}

// startSession stores a new session for u, records the sign-in and the
// last-login time, and returns the signed-in actor.
func startSession(tx *store.Tx, u *store.User, token string, c Caller, now time.Time, stage, method string) (actor, error) {
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
		CreatedAt: now, LastSeenAt: now, IP: c.IP, UserAgent: truncate(c.UserAgent, 200), Stage: stage}
	if err := tx.PutSession(sess); err != nil {
		return actor{}, err
	}
	u.LastLoginAt = now
	if err := tx.UpdateUser(u); err != nil {
		return actor{}, err
	}
	if err := clearFailures(tx, store.AccountKey(u.Email)); err != nil {
		return actor{}, err
	}
	a := actor{session: *sess, user: *u, tenant: *t, ip: c.IP}
	return a, record(tx, now, a.who(), tenantID, ActSignIn, ResSession, u.ID, &change{Extra: map[string]any{"method": method}})
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
	a, err := s.resolveAny(ctx)
	if err != nil {
		return nil
	}
	err = s.write(func(tx *store.Tx) error {
		if err := tx.DeleteSession(a.session.ID); err != nil {
			return err
		}
		return record(tx, s.clock(), a.who(), a.tenant.ID, ActSignOut, ResSession, a.user.ID, nil)
	})
	return s.internal("sign out", err)
}

// Me returns the signed-in user. It also answers while policy requires the
// user to enrol in 2FA, so the page can send them there.
func (s *Service) Me(ctx context.Context) (Me, error) {
	a, err := s.resolveEnrolling(ctx)
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
