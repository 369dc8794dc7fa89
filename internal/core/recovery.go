package core

import (
	"context"
	"net/url"
	"strings"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// Account recovery (product.md §13): "Forgot password?" links, links an
// administrator sends, temporary passwords, and the same from the command
// line. A reset link is a 256-bit single-use token, of which only the hash
// is indexed (the token itself is sealed, for the mailer); it lasts an
// hour, and a newer link for the same user replaces it.

// Audit actions of recovery.
const (
	ActResetRequested = "password_reset_requested"
	ActResetLinkMade  = "password_reset_link"
	ActPasswordReset  = "password_reset"
	ActTempPassword   = "set_temporary_password"
)

const (
	resetTTL        = time.Hour
	sealResetToken  = "password-reset-token"
	kindReset       = "password_reset"
	resetPerAddress = 3  // "Forgot password?" requests per address per window
	resetPerClient  = 20 // and per client address
)

// resetLimiters throttle "Forgot password?" like sign-ins: per address and
// per client, with their own keys so a flood of requests never locks the
// account's sign-in.
func resetLimiters(email, ip string) []limiter {
	out := []limiter{{key: "reset:" + store.Fold(email), limit: resetPerAddress}}
	if ip != "" {
		out = append(out, limiter{key: "resetip:" + ip, limit: resetPerClient})
	}
	return out
}

func (s *Service) resetLink(g generalSettings, token string) string {
	return s.linkBase(g) + "/reset-password?token=" + url.QueryEscape(token)
}

// newReset stores a reset for u (replacing any earlier one) and queues its
// e-mail when mail is set up; it reports whether it queued one.
func (s *Service) newReset(tx *store.Tx, u *store.User, token, by string, now time.Time) (*store.PasswordReset, bool, error) {
	r := &store.PasswordReset{UserID: u.ID, TokenHash: auth.HashToken(token), SealedToken: s.sealer.Seal([]byte(token), sealResetToken),
		CreatedAt: now, ExpiresAt: now.Add(resetTTL), RequestedBy: by}
	if err := tx.PutPasswordReset(r); err != nil {
		return nil, false, err
	}
	_, m, err := readSettings(tx)
	if err != nil || !m.configured() {
		return r, false, err
	}
	msg := &store.Message{Kind: kindReset, RefID: r.ID, To: u.Email, TenantID: u.TenantID,
		State: store.MailQueued, NextAttemptAt: now, CreatedAt: now}
	if err := tx.PutMessage(msg); err != nil {
		return nil, false, err
	}
	r.MessageID = msg.ID
	return r, true, tx.PutPasswordReset(r)
}

// ForgotPasswordInput is the "Forgot password?" form.
type ForgotPasswordInput struct {
	Email string `json:"email"`
}

var errNoMailForReset = &Error{Code: Conflict, Message: "E-mail is not set up, so Gatehouse cannot send reset links. Ask your administrator to reset your password."}

// RequestPasswordReset e-mails a reset link to the address if it belongs
// to an active account. The answer, and the work done, are the same
// whether or not it does: one write (the throttle), nothing else visible.
func (s *Service) RequestPasswordReset(ctx context.Context, in ForgotPasswordInput) error {
	email, err := cleanEmail("email", in.Email)
	if err != nil {
		return err
	}
	c := callerFrom(ctx)
	lims := resetLimiters(email, c.IP)
	token := auth.NewToken()
	var hit *lockHit
	err = s.write(func(tx *store.Tx) error {
		hit = nil
		_, m, err := readSettings(tx)
		if err != nil {
			return err
		}
		if !m.configured() {
			return errNoMailForReset
		}
		now := s.clock()
		if hit, err = reserve(tx, lims, now); err != nil || hit != nil {
			return err
		}
		// A request is spent as soon as it is made: it counts at once.
		if _, err := settleFailure(tx, lims, now); err != nil {
			return err
		}
		u, err := userByEmail(tx, in.Email)
		if err != nil || u == nil || !u.Active {
			return err
		}
		if _, _, err := s.newReset(tx, u, token, "self", now); err != nil {
			return err
		}
		// Nobody is signed in: the request is about the account, not by it.
		return record(tx, now, unauthenticated(c.IP), u.TenantID, ActResetRequested, ResUser, u.ID, &change{Extra: map[string]any{"via": "forgot password", "email": u.Email}})
	})
	if err != nil {
		return s.internal("request password reset", err)
	}
	if hit != nil {
		return &Error{Code: Invalid, Message: "Too many reset requests. Try again after " + hit.until.UTC().Format("15:04 UTC") + ", or ask your administrator."}
	}
	s.nudgeMailer()
	return nil
}

// PasswordResetInfo is what the reset page shows before the form.
type PasswordResetInfo struct {
	State string `json:"state"` // valid, expired, unknown (used, replaced or never issued)
	Email string `json:"email,omitempty"`
}

// PasswordResetInfo tells the reset page whether its link still works.
func (s *Service) PasswordResetInfo(ctx context.Context, token string) (PasswordResetInfo, error) {
	info := PasswordResetInfo{State: "unknown"}
	if !auth.WellFormedToken(token) {
		return info, nil
	}
	err := s.db.View(func(tx *store.Tx) error {
		r, u, err := s.liveReset(tx, token)
		if err == errResetExpired {
			info.State = "expired"
			return nil
		}
		if err != nil || r == nil {
			return nil
		}
		info = PasswordResetInfo{State: "valid", Email: u.Email}
		return nil
	})
	return info, s.internal("password reset info", err)
}

var (
	errResetUnknown = &Error{Code: NotFound, Message: "This reset link does not work any more: it was used, replaced by a newer one, or copied incompletely. Ask for a new one from the sign-in page."}
	errResetExpired = &Error{Code: Conflict, Message: "This reset link has expired (links last an hour). Ask for a new one from the sign-in page."}
)

// liveReset finds the reset behind token and its (active) user.
func (s *Service) liveReset(tx *store.Tx, token string) (*store.PasswordReset, *store.User, error) {
	r, err := tx.PasswordResetByToken(auth.HashToken(token))
	if err != nil {
		return nil, nil, err
	}
	if r == nil {
		return nil, nil, errResetUnknown
	}
	if !s.clock().Before(r.ExpiresAt) {
		return nil, nil, errResetExpired
	}
	u, err := tx.User(r.UserID)
	if err != nil {
		return nil, nil, err
	}
	if u == nil || !u.Active {
		return nil, nil, errResetUnknown
	}
	return r, u, nil
}

// ResetPasswordInput is the reset page's form.
type ResetPasswordInput struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// ResetPasswordResult says whose password was set, to prefill sign-in.
type ResetPasswordResult struct {
	Email string `json:"email"`
}

// ResetPassword sets a new password from a reset link: the link is used
// up, every session of the user ends, their sign-in lock is cleared, and a
// temporary password no longer needs changing. 2FA is untouched: signing
// in still asks for the code.
func (s *Service) ResetPassword(ctx context.Context, in ResetPasswordInput) (ResetPasswordResult, error) {
	if !auth.WellFormedToken(in.Token) {
		return ResetPasswordResult{}, errResetUnknown
	}
	if err := checkPassword("password", in.Password); err != nil {
		return ResetPasswordResult{}, err
	}
	hash, err := s.hasher.Hash(in.Password)
	if err != nil {
		return ResetPasswordResult{}, s.internal("hash", err)
	}
	c := callerFrom(ctx)
	var out ResetPasswordResult
	err = s.write(func(tx *store.Tx) error {
		r, u, err := s.liveReset(tx, in.Token)
		if err != nil {
			return err
		}
		now := s.clock()
		ended, err := s.replacePassword(tx, u, hash, false, now)
		if err != nil {
			return err
		}
		unlocked, err := unlock(tx, u.Email, now)
		if err != nil {
			return err
		}
		out.Email = u.Email
		return record(tx, now, userWho(u, c.IP), u.TenantID, ActPasswordReset, ResUser, u.ID,
			&change{Extra: map[string]any{"sessionsEnded": ended, "unlocked": unlocked, "linkFrom": r.RequestedBy}})
	})
	if err != nil {
		return ResetPasswordResult{}, s.internal("reset password", err)
	}
	return out, nil
}

// replacePassword stores a new hash for u, ends every session, removes any
// reset link, and sets or clears "must change password"; it returns how
// many sessions ended.
func (s *Service) replacePassword(tx *store.Tx, u *store.User, hash []byte, mustChange bool, now time.Time) (int, error) {
	creds, err := tx.Credentials(u.ID)
	if err != nil {
		return 0, err
	}
	creds.PasswordHash = hash
	if err := tx.PutCredentials(u.ID, creds); err != nil {
		return 0, err
	}
	if err := tx.DeleteUserPasswordReset(u.ID); err != nil {
		return 0, err
	}
	if u.MustChangePassword != mustChange {
		u.MustChangePassword, u.UpdatedAt = mustChange, now
		if err := tx.UpdateUser(u); err != nil {
			return 0, err
		}
	}
	return tx.DeleteUserSessions(u.ID)
}

// ResetLink is a reset link an administrator made for someone.
type ResetLink struct {
	Link      string    `json:"link"`
	Emailed   bool      `json:"emailed"` // queued for e-mail (mail is set up)
	ExpiresAt time.Time `json:"expiresAt"`
}

var errOwnPassword = &Error{Code: Forbidden, Message: "To change your own password, use Account settings → Security."}

// SendPasswordReset makes a reset link for a user the caller may change:
// e-mailed when mail is set up, and shown with Copy either way.
func (s *Service) SendPasswordReset(ctx context.Context, userID uint64) (ResetLink, error) {
	token := auth.NewToken()
	var out ResetLink
	err := s.update(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		u, err := targetUser(tx, a, userID, toTakeOver)
		if err != nil {
			return err
		}
		if u.ID == a.user.ID {
			return errOwnPassword
		}
		if !u.Active {
			return &Error{Code: Conflict, Message: u.Name + " is deactivated. Reactivate them first."}
		}
		r, emailed, err := s.newReset(tx, u, token, a.user.Email, a.now)
		if err != nil {
			return err
		}
		g, _, err := readSettings(tx)
		if err != nil {
			return err
		}
		out = ResetLink{Link: s.resetLink(g, token), Emailed: emailed, ExpiresAt: r.ExpiresAt}
		return record(tx, a.now, a.who(), u.TenantID, ActResetLinkMade, ResUser, u.ID, &change{Extra: map[string]any{"emailed": emailed}})
	})
	if err != nil {
		return ResetLink{}, s.internal("send password reset", err)
	}
	s.nudgeMailer()
	return out, nil
}

// SetTemporaryPasswordInput sets a password the user must change.
type SetTemporaryPasswordInput struct {
	UserID   uint64 `json:"userId"`
	Password string `json:"password"`
}

// SetTemporaryPassword gives a user the caller may change a password they
// must replace at their next sign-in; their sessions end.
func (s *Service) SetTemporaryPassword(ctx context.Context, in SetTemporaryPasswordInput) (UserView, error) {
	if _, err := s.check(ctx, needs(auth.ManageUsers)); err != nil {
		return UserView{}, err
	}
	if err := checkPassword("password", in.Password); err != nil {
		return UserView{}, err
	}
	hash, err := s.hasher.Hash(in.Password)
	if err != nil {
		return UserView{}, s.internal("hash", err)
	}
	var out store.User
	err = s.update(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		u, err := targetUser(tx, a, in.UserID, toTakeOver)
		if err != nil {
			return err
		}
		if u.ID == a.user.ID {
			return errOwnPassword
		}
		before := u.MustChangePassword
		ended, err := s.replacePassword(tx, u, hash, true, a.now)
		if err != nil {
			return err
		}
		out = *u
		return record(tx, a.now, a.who(), u.TenantID, ActTempPassword, ResUser, u.ID, &change{
			Before: map[string]bool{"mustChangePassword": before}, After: map[string]bool{"mustChangePassword": true},
			Extra: map[string]any{"sessionsEnded": ended}})
	})
	if err != nil {
		return UserView{}, s.internal("set temporary password", err)
	}
	return viewUser(&out), nil
}

// cliUser finds the user the command line names.
func cliUser(tx *store.Tx, email string) (*store.User, error) {
	u, err := userByEmail(tx, email)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, &Error{Code: NotFound, Message: "There is no user with the e-mail address " + strings.TrimSpace(email) + "."}
	}
	return u, nil
}

var cliWho = who{name: "system (CLI)", ip: "cli"}

// PasswordResetLinkFromCLI makes a one-time reset link for email (run by
// someone with the machine and its data folder); it is not e-mailed.
func (s *Service) PasswordResetLinkFromCLI(email string) (string, error) {
	token := auth.NewToken()
	var link string
	err := s.write(func(tx *store.Tx) error {
		u, err := cliUser(tx, email)
		if err != nil {
			return err
		}
		now := s.clock()
		r := &store.PasswordReset{UserID: u.ID, TokenHash: auth.HashToken(token), SealedToken: s.sealer.Seal([]byte(token), sealResetToken),
			CreatedAt: now, ExpiresAt: now.Add(resetTTL), RequestedBy: "cli"}
		if err := tx.PutPasswordReset(r); err != nil {
			return err
		}
		g, _, err := readSettings(tx)
		if err != nil {
			return err
		}
		link = s.resetLink(g, token)
		return record(tx, now, cliWho, u.TenantID, ActResetLinkMade, ResUser, u.ID, &change{Extra: map[string]any{"via": "gatehouse password reset"}})
	})
	if err != nil {
		return "", s.internal("password reset (cli)", err)
	}
	return link, nil
}

// SetTemporaryPasswordFromCLI sets a password email must change at their
// next sign-in.
func (s *Service) SetTemporaryPasswordFromCLI(email, password string) error {
	if err := checkPassword("password", password); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return s.internal("hash", err)
	}
	err = s.write(func(tx *store.Tx) error {
		u, err := cliUser(tx, email)
		if err != nil {
			return err
		}
		now := s.clock()
		before := u.MustChangePassword
		ended, err := s.replacePassword(tx, u, hash, true, now)
		if err != nil {
			return err
		}
		return record(tx, now, cliWho, u.TenantID, ActTempPassword, ResUser, u.ID, &change{
			Before: map[string]bool{"mustChangePassword": before}, After: map[string]bool{"mustChangePassword": true},
			Extra: map[string]any{"sessionsEnded": ended, "via": "gatehouse password reset --temporary-stdin"}})
	})
	return s.internal("temporary password (cli)", err)
}
