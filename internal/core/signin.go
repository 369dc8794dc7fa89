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
	// Remember keeps the session for RememberedIdle instead of SessionIdle
	// ("Keep me signed in on this computer"). Only the window offers it: its
	// transport clears it for LAN browsers, whose cookie is their own.
	Remember bool `json:"remember"`
}

// SignInResult says where a sign-in stands: "done" (Me is set), "totp" (the
// password was right; now the code), or "enrol" (policy requires 2FA before
// anything else; Me is set).
type SignInResult struct {
	Step string `json:"step"`
	Me   *Me    `json:"me"`
	// RecoveryCodes, at the code step: recovery codes are on and this user
	// has some left, so the page may offer "Use a recovery code".
	RecoveryCodes bool `json:"recoveryCodes"`
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
// for the transport to keep; only its hash is stored. The attempt is
// reserved against the account's and the address's limits before bcrypt
// runs, so however many arrive at once, no more than the limit are checked.
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
	// Only the window remembers (its sealed file); a LAN browser keeps its
	// cookie for the usual lifetime, whatever the request asks.
	c := callerFrom(ctx)
	c = rememberedIf(c, in.Remember && !remote(c))
	lims := attemptLimiters(emailKey(email), c.IP)

	// 1. Reserve the attempt (or be refused by a lock) and read the account.
	user, hash, hit, err := s.reservePassword(lims, loggedEmail(email), c.IP, func(tx *store.Tx) (*store.User, error) {
		return userByEmail(tx, email)
	})
	if err != nil {
		return SignInResult{}, "", err
	}
	if hit != nil {
		return SignInResult{}, "", hit.err()
	}

	// 2. Verify outside any transaction. bcrypt always runs, against a dummy
	// hash for unknown e-mails, so the answer takes the same time either way.
	pwOK := s.hasher.Verify(hash, in.Password) && user != nil
	if !pwOK || !user.Active {
		reason := "wrong password"
		if user == nil {
			reason = "unknown e-mail"
		} else if pwOK {
			reason = "account deactivated"
		}
		if err := s.failAttempt(lims, loggedEmail(email), user, c.IP, reason); err != nil {
			return SignInResult{}, "", err
		}
		return SignInResult{}, "", errBadSignIn
	}

	// 3. Succeed in a transaction that finds no lock.
	token := auth.NewToken()
	var res SignInResult
	err = s.write(func(tx *store.Tx) error {
		res, hit = SignInResult{}, nil
		u, err := tx.User(user.ID)
		if err != nil {
			return err
		}
		if u == nil || !u.Active {
			return errBadSignIn // deactivated between the check and now
		}
		res, hit, err = s.passwordRight(tx, u, token, c, lims, "password")
		return err
	})
	if err != nil {
		return SignInResult{}, "", s.internal("sign in", err)
	}
	if hit != nil {
		return SignInResult{}, "", hit.err()
	}
	return res, token, nil
}

// passwordRight commits a right password, in the transaction that finds no
// lock (else it returns the lock and changes nothing): a session waiting
// for the 2FA code when it is on, otherwise a signed-in session.
func (s *Service) passwordRight(tx *store.Tx, u *store.User, token string, c Caller, lims []limiter, method string) (SignInResult, *lockHit, error) {
	now := s.clock()
	settle := clearAccount
	if u.MFAEnabled {
		settle = refundAttempt // the password alone proves nothing yet
	}
	if hit, err := settleSuccess(tx, lims, now, settle); err != nil || hit != nil {
		return SignInResult{}, hit, err
	}
	if u.MFAEnabled {
		sess := &store.Session{ID: auth.HashToken(token), UserID: u.ID, TenantID: u.TenantID, CreatedAt: now,
			LastSeenAt: now, IP: c.IP, UserAgent: truncate(c.UserAgent, 200), Stage: stageTOTP, Remembered: c.remember}
		g, _, err := readSettings(tx)
		if err != nil {
			return SignInResult{}, nil, err
		}
		creds, err := tx.Credentials(u.ID)
		if err != nil {
			return SignInResult{}, nil, err
		}
		res := SignInResult{Step: stageTOTP, RecoveryCodes: g.Security.RecoveryCodes && len(creds.RecoveryCodes) > 0}
		return res, nil, tx.PutSession(sess)
	}
	a, err := s.signedIn(tx, u, token, c, now, method)
	if err != nil {
		return SignInResult{}, nil, err
	}
	me, err := s.viewMe(tx, &a)
	return SignInResult{Step: stepOf(a.session.Stage), Me: &me}, nil, err
}

// stepOf is the sign-in step a session's stage asks of the page.
func stepOf(stage string) string {
	if stage == "" {
		return "done"
	}
	return stage
}

// reserveAttempt reserves one check of an account's secret against lims,
// in a write transaction that also runs read (the lookup of the account).
// A lock refuses the attempt: counted in memory, nothing written. If this
// attempt started a lock, the lock's event is recorded with it.
func (s *Service) reserveAttempt(lims []limiter, email, ip string, read func(tx *store.Tx) (*store.User, error)) (*lockHit, error) {
	var hit *lockHit
	var user *store.User
	// A flood against a locked account or address is refused from a read
	// transaction: it costs no write, no fsync and no event (the refusals
	// are counted in memory and summarised once the lock ends).
	err := s.db.View(func(tx *store.Tx) (err error) {
		if user, err = read(tx); err != nil {
			return err
		}
		hit, err = peekLock(tx, lims, s.clock())
		return err
	})
	if err != nil {
		return nil, s.internal("reserve attempt", err)
	}
	if hit != nil {
		s.noteBlocked(hit, email, user, ip)
		return hit, nil
	}
	err = s.write(func(tx *store.Tx) (err error) {
		hit, user = nil, nil
		if user, err = read(tx); err != nil {
			return err
		}
		now := s.clock()
		if hit, err = reserve(tx, lims, now); err != nil || hit == nil || !hit.started {
			return err
		}
		return recordLocks(tx, now, email, user, ip, []lockHit{*hit})
	})
	if err != nil {
		return nil, s.internal("reserve attempt", err)
	}
	if hit != nil && !hit.started && !hit.busy {
		s.noteBlocked(hit, email, user, ip)
	}
	return hit, nil
}

// reservePassword reserves a check of an account's password (see
// reserveAttempt) and returns the account find names, if any, with its
// password hash, both read in the reserving transaction.
func (s *Service) reservePassword(lims []limiter, email, ip string, find func(tx *store.Tx) (*store.User, error)) (*store.User, []byte, *lockHit, error) {
	var user *store.User
	var hash []byte
	hit, err := s.reserveAttempt(lims, email, ip, func(tx *store.Tx) (*store.User, error) {
		user, hash = nil, nil
		u, err := find(tx)
		if err != nil || u == nil {
			return nil, err
		}
		creds, err := tx.Credentials(u.ID)
		user, hash = u, creds.PasswordHash
		return u, err
	})
	return user, hash, hit, err
}

// failAttempt settles a reserved attempt that failed: the failure's event,
// and the lock's if it used up the attempts.
func (s *Service) failAttempt(lims []limiter, email string, user *store.User, ip, reason string) error {
	err := s.write(func(tx *store.Tx) error {
		now := s.clock()
		started, err := settleFailure(tx, lims, now)
		if err != nil {
			return err
		}
		return recordFailure(tx, now, email, user, ip, reason, started)
	})
	return s.internal("record failed sign-in", err)
}

// recordFailure records a failed check and any lock it started.
func recordFailure(tx *store.Tx, now time.Time, email string, user *store.User, ip, reason string, started []lockHit) error {
	w, tenant, uid := who{email: store.Fold(email), ip: ip}, uint64(0), uint64(0)
	if user != nil {
		w, tenant, uid = userWho(user, ip), user.TenantID, user.ID
	}
	if err := record(tx, now, w, tenant, ActSignInFailed, ResUser, uid, &change{Extra: map[string]any{"reason": reason}}); err != nil {
		return err
	}
	return recordLocks(tx, now, email, user, ip, started)
}

// recordLocks records the start of each lock.
func recordLocks(tx *store.Tx, now time.Time, email string, user *store.User, ip string, started []lockHit) error {
	w, tenant, uid := who{email: store.Fold(email), ip: ip}, uint64(0), uint64(0)
	if user != nil {
		w, tenant, uid = userWho(user, ip), user.TenantID, user.ID
	}
	for _, h := range started {
		var err error
		if h.lim.limit == ipLockAfter {
			err = record(tx, now, w, tenant, ActLock, "address", 0, &change{Extra: map[string]any{"ip": ip, "until": h.until}})
		} else {
			err = record(tx, now, w, tenant, ActLock, ResUser, uid, &change{Extra: map[string]any{"email": store.Fold(email), "until": h.until}})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Session stages.
const (
	stageTOTP     = "totp"
	stageEnrol    = "enrol"
	stagePassword = "password" // must choose a new password first
)

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
		CreatedAt: now, LastSeenAt: now, IP: c.IP, UserAgent: truncate(c.UserAgent, 200), Stage: stage, Remembered: c.remember}
	if err := tx.PutSession(sess); err != nil {
		return actor{}, err
	}
	u.LastLoginAt = now
	if err := tx.UpdateUser(u); err != nil {
		return actor{}, err
	}
	a := actor{session: *sess, user: *u, tenant: *t, ip: c.IP}
	return a, record(tx, now, a.who(), tenantID, ActSignIn, ResSession, u.ID, &change{Extra: map[string]any{"method": method}})
}

// rememberedIf is c for a session that keeps the choice of the sign-in it
// follows ("Keep me signed in" was asked at the password step).
func rememberedIf(c Caller, remember bool) Caller {
	c.remember = remember
	return c
}

// signedIn starts u's session after a successful sign-in, held at the
// step policy asks of u first (choose a new password, set up 2FA), if any.
func (s *Service) signedIn(tx *store.Tx, u *store.User, token string, c Caller, now time.Time, method string) (actor, error) {
	stage, err := s.heldStage(tx, u)
	if err != nil {
		return actor{}, err
	}
	return startSession(tx, u, token, c, now, stage, method)
}

// heldStage is the step a signing-in user must take before anything else:
// choose a new password (an administrator set a temporary one), or set up
// 2FA (policy requires it for their role); "" when none.
func (s *Service) heldStage(tx *store.Tx, u *store.User) (string, error) {
	if u.MustChangePassword {
		return stagePassword, nil
	}
	return s.enrolStage(tx, u)
}

// sessionExpired reports whether a session is past its idle or absolute
// lifetime (longer when remembered), or a sign-in waiting for its code has
// waited too long.
func sessionExpired(sess *store.Session, now time.Time) bool {
	idle, absolute := SessionIdle, SessionAbsolute
	if sess.Remembered {
		idle, absolute = RememberedIdle, RememberedAbsolute
	}
	return now.Sub(sess.LastSeenAt) > idle || now.Sub(sess.CreatedAt) > absolute ||
		sess.Stage == stageTOTP && now.Sub(sess.CreatedAt) > pendingTOTPFor
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

// SignOut ends the caller's session, at whatever step it is. Signing out
// twice is not an error.
func (s *Service) SignOut(ctx context.Context) error {
	err := s.update(ctx, anyStage, func(tx *store.Tx, a *actor) error {
		if err := tx.DeleteSession(a.session.ID); err != nil {
			return err
		}
		return record(tx, s.clock(), a.who(), a.tenant.ID, ActSignOut, ResSession, a.user.ID, nil)
	})
	if ErrorCode(err) == Unauthenticated {
		return nil
	}
	return s.internal("sign out", err)
}

// Me returns the signed-in user. It also answers while the user must first
// choose a new password or set up 2FA, so the page can send them there.
func (s *Service) Me(ctx context.Context) (Me, error) {
	var me Me
	err := s.view(ctx, holding(stageEnrol, stagePassword), func(tx *store.Tx, a *actor) (err error) {
		me, err = s.viewMe(tx, a)
		return err
	})
	return me, s.internal("me", err)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
