package core

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"strings"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// 2FA audit actions.
const (
	ActEnable2FA     = "enable_2fa"
	ActDisable2FA    = "disable_2fa"
	ActReset2FA      = "reset_2fa"
	ActRecoveryCodes = "new_recovery_codes"
)

const (
	sealTOTP         = "totp-secret"
	enrolFor         = 15 * time.Minute // how long a started enrolment waits for its code
	recoveryCount    = 10
	recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789" // no 0/o, 1/l/i
)

// TOTPEnrolment is what the enrolment page shows: the QR code and the same
// secret as text. It is shown to its owner once, during enrolment.
type TOTPEnrolment struct {
	Secret string `json:"secret"`
	URL    string `json:"url"`
	QR     string `json:"qr"` // data:image/png;base64,…
}

// enrolStage is "enrol" when policy requires u to set up 2FA first.
func (s *Service) enrolStage(tx *store.Tx, u *store.User) (string, error) {
	if u.MFAEnabled || (u.Role != auth.Admin && u.Role != auth.SuperAdmin) {
		return "", nil
	}
	g, _, err := readSettings(tx)
	if err != nil || !g.Security.RequireMFAForAdmins {
		return "", err
	}
	return stageEnrol, nil
}

// BeginTOTP starts enrolment: a new secret, kept sealed until a code from
// it confirms that the user's app has it.
func (s *Service) BeginTOTP(ctx context.Context) (TOTPEnrolment, error) {
	a, err := s.resolveEnrolling(ctx)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if a.user.MFAEnabled {
		return TOTPEnrolment{}, &Error{Code: Conflict, Message: "Two-factor authentication is already on."}
	}
	key, err := auth.NewTOTPKey("Gatehouse", a.user.Email)
	if err != nil {
		return TOTPEnrolment{}, s.internal("totp key", err)
	}
	err = s.write(func(tx *store.Tx) error {
		c, err := tx.Credentials(a.user.ID)
		if err != nil {
			return err
		}
		c.PendingTOTP, c.PendingAt = s.sealer.Seal([]byte(key.Secret), sealTOTP), s.clock()
		return tx.PutCredentials(a.user.ID, c)
	})
	if err != nil {
		return TOTPEnrolment{}, s.internal("begin totp", err)
	}
	return TOTPEnrolment{Secret: key.Secret, URL: key.URL, QR: key.QRPNG}, nil
}

// ConfirmTOTPInput carries the code that proves the app has the secret.
type ConfirmTOTPInput struct {
	Code string `json:"code"`
}

// TOTPEnabled is the result of turning 2FA on: the recovery codes, shown
// once, when the policy offers them.
type TOTPEnabled struct {
	RecoveryCodes []string `json:"recoveryCodes"`
	Me            Me       `json:"me"`
}

var errBadCode = fieldError("code", "That code is not right. Check the time on your device and enter the newest code.")

// ConfirmTOTP turns 2FA on once a code from the new secret matches. Other
// sessions of the user end; the current one continues.
func (s *Service) ConfirmTOTP(ctx context.Context, in ConfirmTOTPInput) (TOTPEnabled, error) {
	a, err := s.resolveEnrolling(ctx)
	if err != nil {
		return TOTPEnabled{}, err
	}
	if _, err := auth.CheckTOTPFormat(in.Code); err != nil {
		return TOTPEnabled{}, fieldError("code", "%s", err.Error())
	}
	var out TOTPEnabled
	err = s.write(func(tx *store.Tx) error {
		u, err := tx.User(a.user.ID)
		if err != nil || u == nil {
			return err
		}
		if u.MFAEnabled {
			return &Error{Code: Conflict, Message: "Two-factor authentication is already on."}
		}
		c, err := tx.Credentials(u.ID)
		if err != nil {
			return err
		}
		now := s.clock()
		if len(c.PendingTOTP) == 0 || now.Sub(c.PendingAt) > enrolFor {
			return &Error{Code: Conflict, Message: "The setup has timed out. Start again to get a new QR code."}
		}
		secret, err := s.sealer.Open(c.PendingTOTP, sealTOTP)
		if err != nil {
			return &Error{Code: Conflict, Message: "The setup cannot be read with this data folder's key. Start again."}
		}
		step, ok := auth.MatchTOTP(string(secret), in.Code, now)
		if !ok {
			return errBadCode
		}
		c.SealedTOTP, c.LastTOTPStep, c.PendingTOTP, c.PendingAt = c.PendingTOTP, step, nil, time.Time{}
		g, _, err := readSettings(tx)
		if err != nil {
			return err
		}
		if g.Security.RecoveryCodes {
			out.RecoveryCodes, c.RecoveryCodes = newRecoveryCodes()
		}
		if err := tx.PutCredentials(u.ID, c); err != nil {
			return err
		}
		before := u.MFAEnabled
		u.MFAEnabled, u.UpdatedAt = true, now
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		ended, err := endOtherSessions(tx, u.ID, a.session.ID)
		if err != nil {
			return err
		}
		if a.session.Stage == stageEnrol {
			sess := a.session
			sess.Stage = ""
			if err := tx.PutSession(&sess); err != nil {
				return err
			}
			a.session = sess
		}
		a.user = *u
		if err := record(tx, now, a.who(), u.TenantID, ActEnable2FA, ResUser, u.ID, &change{Before: map[string]bool{"mfaEnabled": before},
			After: map[string]bool{"mfaEnabled": true}, Extra: map[string]any{"sessionsEnded": ended, "recoveryCodes": len(out.RecoveryCodes)}}); err != nil {
			return err
		}
		out.Me, err = s.viewMe(tx, a)
		return err
	})
	if err != nil {
		return TOTPEnabled{}, s.internal("confirm totp", err)
	}
	return out, nil
}

// newRecoveryCodes makes ten one-time codes like "k7qm-3xrt" and their
// hashes.
func newRecoveryCodes() ([]string, [][]byte) {
	codes := make([]string, recoveryCount)
	hashes := make([][]byte, recoveryCount)
	for i := range codes {
		b := make([]byte, 8)
		rand.Read(b)
		for j := range b {
			b[j] = recoveryAlphabet[int(b[j])%len(recoveryAlphabet)]
		}
		codes[i] = string(b[:4]) + "-" + string(b[4:])
		hashes[i] = auth.HashToken(codes[i])
	}
	return codes, hashes
}

// useRecoveryCode consumes a matching recovery code, reporting success.
func useRecoveryCode(c *store.Credentials, code string) bool {
	code = strings.ToLower(strings.TrimSpace(code))
	if len(code) != 9 || code[4] != '-' {
		return false
	}
	h := auth.HashToken(code)
	for i, stored := range c.RecoveryCodes {
		if subtle.ConstantTimeCompare(stored, h) == 1 {
			c.RecoveryCodes = append(c.RecoveryCodes[:i:i], c.RecoveryCodes[i+1:]...)
			return true
		}
	}
	return false
}

// checkSecondFactor verifies a TOTP code (a step later than the last one
// used) or, when the policy offers them, a recovery code. On success it
// updates c (last step, or the consumed code) for the caller to store.
func (s *Service) checkSecondFactor(c *store.Credentials, code string, recoveryOn bool, now time.Time) (string, bool) {
	if secret, err := s.sealer.Open(c.SealedTOTP, sealTOTP); err == nil {
		if step, ok := auth.MatchTOTP(string(secret), code, now); ok && step > c.LastTOTPStep {
			c.LastTOTPStep = step
			return "totp", true
		}
	}
	if recoveryOn && useRecoveryCode(c, code) {
		return "recovery code", true
	}
	return "", false
}

// SignInTOTPInput is the second sign-in step.
type SignInTOTPInput struct {
	Code string `json:"code"`
}

// SignInTOTP completes a sign-in that is waiting for its code. On success
// the waiting session is replaced by a full one under a new token.
func (s *Service) SignInTOTP(ctx context.Context, in SignInTOTPInput) (Me, string, error) {
	a, err := s.resolveAny(ctx)
	if err != nil || a.session.Stage != stageTOTP {
		return Me{}, "", &Error{Code: Unauthenticated, Message: "Your sign-in has timed out. Enter your e-mail and password again."}
	}
	code := strings.TrimSpace(in.Code)
	if code == "" || len(code) > 20 {
		return Me{}, "", fieldError("code", "Enter the 6-digit code from your authenticator app.")
	}
	c := callerFrom(ctx)
	var acct, ip store.Throttle
	now := s.clock()
	if err := s.db.View(func(tx *store.Tx) (err error) {
		if acct, err = tx.Throttle(store.AccountKey(a.user.Email)); err != nil {
			return err
		}
		ip, err = tx.Throttle(store.IPKey(c.IP))
		return err
	}); err != nil {
		return Me{}, "", s.internal("throttle", err)
	}
	if until := lockedUntil(acct, now); !until.IsZero() {
		return Me{}, "", errLocked(until)
	}
	if until := lockedUntil(ip, now); !until.IsZero() {
		return Me{}, "", errIPLocked(until)
	}
	token := auth.NewToken()
	var me Me
	var failed bool
	err = s.write(func(tx *store.Tx) error {
		u, err := tx.User(a.user.ID)
		if err != nil || u == nil || !u.Active {
			return errBadSignIn
		}
		creds, err := tx.Credentials(u.ID)
		if err != nil {
			return err
		}
		g, _, err := readSettings(tx)
		if err != nil {
			return err
		}
		now := s.clock()
		method, ok := s.checkSecondFactor(&creds, code, g.Security.RecoveryCodes, now)
		if !ok {
			failed = true
			return nil
		}
		if err := tx.PutCredentials(u.ID, creds); err != nil {
			return err
		}
		if err := tx.DeleteSession(a.session.ID); err != nil {
			return err
		}
		full, err := startSession(tx, u, token, c, now, "", "password + "+method)
		if err != nil {
			return err
		}
		me, err = s.viewMe(tx, &full)
		return err
	})
	if err != nil {
		return Me{}, "", s.internal("sign in totp", err)
	}
	if failed {
		if err := s.failSignIn(ctx, a.user.Email, &a.user, "wrong code"); err != nil {
			return Me{}, "", err
		}
		return Me{}, "", errBadCode
	}
	return me, token, nil
}

// DisableTOTPInput asks for the password and a current code.
type DisableTOTPInput struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

// DisableTOTP turns the caller's 2FA off; other sessions end.
func (s *Service) DisableTOTP(ctx context.Context, in DisableTOTPInput) (Me, error) {
	a, err := s.resolve(ctx)
	if err != nil {
		return Me{}, err
	}
	if !a.user.MFAEnabled {
		return Me{}, &Error{Code: Conflict, Message: "Two-factor authentication is already off."}
	}
	if err := s.checkOwnPassword(ctx, a, in.Password); err != nil {
		return Me{}, err
	}
	var me Me
	err = s.write(func(tx *store.Tx) error {
		g, _, err := readSettings(tx)
		if err != nil {
			return err
		}
		if g.Security.RequireMFAForAdmins && (a.user.Role == auth.Admin || a.user.Role == auth.SuperAdmin) {
			return &Error{Code: Conflict, Message: "Your organisation requires two-factor authentication for your role, so it cannot be turned off."}
		}
		c, err := tx.Credentials(a.user.ID)
		if err != nil {
			return err
		}
		if _, ok := s.checkSecondFactor(&c, in.Code, false, s.clock()); !ok {
			return errBadCode
		}
		ended, err := s.turnOffTOTP(tx, a.user.ID, a.session.ID)
		if err != nil {
			return err
		}
		now := s.clock()
		if err := record(tx, now, a.who(), a.user.TenantID, ActDisable2FA, ResUser, a.user.ID, &change{Before: map[string]bool{"mfaEnabled": true},
			After: map[string]bool{"mfaEnabled": false}, Extra: map[string]any{"sessionsEnded": ended}}); err != nil {
			return err
		}
		u, err := tx.User(a.user.ID)
		if err != nil {
			return err
		}
		a.user = *u
		me, err = s.viewMe(tx, a)
		return err
	})
	return me, s.internal("disable totp", err)
}

// turnOffTOTP clears a user's 2FA and ends their sessions except keep.
func (s *Service) turnOffTOTP(tx *store.Tx, userID uint64, keep []byte) (int, error) {
	c, err := tx.Credentials(userID)
	if err != nil {
		return 0, err
	}
	c.SealedTOTP, c.LastTOTPStep, c.PendingTOTP, c.RecoveryCodes = nil, 0, nil, nil
	if err := tx.PutCredentials(userID, c); err != nil {
		return 0, err
	}
	u, err := tx.User(userID)
	if err != nil {
		return 0, err
	}
	u.MFAEnabled, u.UpdatedAt = false, s.clock()
	if err := tx.UpdateUser(u); err != nil {
		return 0, err
	}
	return endOtherSessions(tx, userID, keep)
}

// endOtherSessions deletes every session of the user but keep.
func endOtherSessions(tx *store.Tx, userID uint64, keep []byte) (int, error) {
	ss, err := tx.UserSessions(userID)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sess := range ss {
		if subtle.ConstantTimeCompare(sess.ID, keep) == 1 {
			continue
		}
		if err := tx.DeleteSession(sess.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// checkOwnPassword verifies the caller's password outside any transaction,
// counting a wrong one like a failed sign-in.
func (s *Service) checkOwnPassword(ctx context.Context, a *actor, password string) error {
	if password == "" {
		return fieldError("password", "Enter your password.")
	}
	var c store.Credentials
	if err := s.db.View(func(tx *store.Tx) (err error) { c, err = tx.Credentials(a.user.ID); return }); err != nil {
		return s.internal("credentials", err)
	}
	if !s.hasher.Verify(c.PasswordHash, password) {
		if err := s.failSignIn(ctx, a.user.Email, &a.user, "wrong password (re-check)"); err != nil {
			return err
		}
		return fieldError("password", "That password is not right.")
	}
	return nil
}

// NewRecoveryCodesInput asks for the password.
type NewRecoveryCodesInput struct {
	Password string `json:"password"`
}

// NewRecoveryCodes replaces the caller's recovery codes with ten new ones,
// shown once (when the policy offers them and 2FA is on).
func (s *Service) NewRecoveryCodes(ctx context.Context, in NewRecoveryCodesInput) ([]string, error) {
	a, err := s.resolve(ctx)
	if err != nil {
		return nil, err
	}
	if !a.user.MFAEnabled {
		return nil, &Error{Code: Conflict, Message: "Turn on two-factor authentication first."}
	}
	if err := s.checkOwnPassword(ctx, a, in.Password); err != nil {
		return nil, err
	}
	var codes []string
	err = s.write(func(tx *store.Tx) error {
		g, _, err := readSettings(tx)
		if err != nil {
			return err
		}
		if !g.Security.RecoveryCodes {
			return &Error{Code: Conflict, Message: "Recovery codes are not offered here; ask an administrator."}
		}
		c, err := tx.Credentials(a.user.ID)
		if err != nil {
			return err
		}
		codes, c.RecoveryCodes = newRecoveryCodes()
		if err := tx.PutCredentials(a.user.ID, c); err != nil {
			return err
		}
		return record(tx, s.clock(), a.who(), a.user.TenantID, ActRecoveryCodes, ResUser, a.user.ID, &change{Extra: map[string]any{"count": len(codes)}})
	})
	return codes, s.internal("recovery codes", err)
}

// ResetUserTOTPInput is the edit form's "Reset 2FA": the SUPER_ADMIN
// confirms with their own password.
type ResetUserTOTPInput struct {
	UserID   uint64 `json:"userId"`
	Password string `json:"password"`
}

// ResetUserTOTP turns another user's 2FA off and ends their sessions
// (SUPER_ADMIN, when the policy offers it).
func (s *Service) ResetUserTOTP(ctx context.Context, in ResetUserTOTPInput) (UserView, error) {
	a, err := s.require(ctx, auth.CrossTenant)
	if err != nil {
		return UserView{}, err
	}
	if err := s.checkOwnPassword(ctx, a, in.Password); err != nil {
		return UserView{}, err
	}
	var out store.User
	err = s.write(func(tx *store.Tx) error {
		g, _, err := readSettings(tx)
		if err != nil {
			return err
		}
		if !g.Security.AdminReset2FA {
			return &Error{Code: Conflict, Message: "Resetting 2FA from the edit form is off. Turn it on in Settings → Security, or use gatehouse 2fa reset."}
		}
		u, err := tenantUser(tx, a, in.UserID)
		if err != nil {
			return err
		}
		if !u.MFAEnabled {
			return &Error{Code: Conflict, Message: "This user does not have two-factor authentication on."}
		}
		out, err = s.resetTOTP(tx, u, a.who(), "edit form")
		return err
	})
	if err != nil {
		return UserView{}, s.internal("reset totp", err)
	}
	return viewUser(&out), nil
}

// resetTOTP turns u's 2FA off, ends their sessions and records who did it.
func (s *Service) resetTOTP(tx *store.Tx, u *store.User, w who, via string) (store.User, error) {
	ended, err := s.turnOffTOTP(tx, u.ID, nil)
	if err != nil {
		return store.User{}, err
	}
	v, err := tx.User(u.ID)
	if err != nil {
		return store.User{}, err
	}
	return *v, record(tx, s.clock(), w, u.TenantID, ActReset2FA, ResUser, u.ID, &change{Before: map[string]bool{"mfaEnabled": true},
		After: map[string]bool{"mfaEnabled": false}, Extra: map[string]any{"sessionsEnded": ended, "via": via}})
}

// ResetTOTPFromCLI is the seed's "administrator must reset 2FA on the back
// end": run by someone with access to the machine and the data folder. It
// is audited with the actor "system (CLI)".
func (s *Service) ResetTOTPFromCLI(email string) (UserView, error) {
	var out store.User
	err := s.write(func(tx *store.Tx) error {
		u, err := tx.UserByEmail(email)
		if err != nil {
			return err
		}
		if u == nil {
			return &Error{Code: NotFound, Message: "There is no user with the e-mail address " + strings.TrimSpace(email) + "."}
		}
		if !u.MFAEnabled {
			return &Error{Code: Conflict, Message: u.Email + " does not have two-factor authentication on; nothing to reset."}
		}
		out, err = s.resetTOTP(tx, u, who{name: "system (CLI)", ip: "cli"}, "gatehouse 2fa reset")
		return err
	})
	if err != nil {
		return UserView{}, s.internal("reset totp (cli)", err)
	}
	return viewUser(&out), nil
}
