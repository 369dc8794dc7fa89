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
	early, err := s.check(ctx, holding(stageEnrol))
	if err != nil {
		return TOTPEnrolment{}, err
	}
	key, err := auth.NewTOTPKey("Gatehouse", early.user.Email)
	if err != nil {
		return TOTPEnrolment{}, s.internal("totp key", err)
	}
	err = s.update(ctx, holding(stageEnrol), func(tx *store.Tx, a *actor) error {
		if a.user.MFAEnabled {
			return errTOTPOn
		}
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

var errTOTPOn = &Error{Code: Conflict, Message: "Two-factor authentication is already on."}

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
// sessions of the user end; the current one continues (and leaves the
// enrol step, if policy held it there).
func (s *Service) ConfirmTOTP(ctx context.Context, in ConfirmTOTPInput) (TOTPEnabled, error) {
	if _, err := auth.CheckTOTPFormat(in.Code); err != nil {
		return TOTPEnabled{}, fieldError("code", "%s", err.Error())
	}
	var out TOTPEnabled
	err := s.update(ctx, holding(stageEnrol), func(tx *store.Tx, a *actor) error {
		out = TOTPEnabled{}
		u := &a.user
		if u.MFAEnabled {
			return errTOTPOn
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
		u.MFAEnabled, u.UpdatedAt = true, now
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		ended, err := endOtherSessions(tx, u.ID, a.session.ID)
		if err != nil {
			return err
		}
		if a.session.Stage == stageEnrol {
			a.session.Stage = ""
			if err := tx.PutSession(&a.session); err != nil {
				return err
			}
		}
		if err := record(tx, now, a.who(), u.TenantID, ActEnable2FA, ResUser, u.ID, &change{Before: map[string]bool{"mfaEnabled": false},
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

var errTOTPTimedOut = &Error{Code: Unauthenticated, Message: "Your sign-in has timed out. Enter your e-mail and password again."}

// SignInTOTP completes a sign-in that is waiting for its code. On success
// the waiting session is replaced by a full one under a new token. The
// lock check, the code check and the count of a wrong code happen in one
// write transaction, so parallel guesses are checked one at a time and no
// more than the limit are ever checked.
func (s *Service) SignInTOTP(ctx context.Context, in SignInTOTPInput) (Me, string, error) {
	code := strings.TrimSpace(in.Code)
	if code == "" || len(code) > 20 {
		return Me{}, "", fieldError("code", "Enter the 6-digit code from your authenticator app.")
	}
	c := callerFrom(ctx)
	token := auth.NewToken()
	var me Me
	var hit *lockHit
	var failed bool
	var blockedUser store.User
	err := s.update(ctx, holding(stageTOTP), func(tx *store.Tx, a *actor) error {
		me, hit, failed = Me{}, nil, false
		if a.session.Stage != stageTOTP {
			return errTOTPTimedOut
		}
		u := &a.user
		blockedUser = *u
		lims := attemptLimiters(u.Email, c.IP)
		now := s.clock()
		var err error
		if hit, err = reserve(tx, lims, now); err != nil || hit != nil {
			if err == nil && hit.started {
				err = recordLocks(tx, now, u.Email, u, c.IP, []lockHit{*hit})
			}
			return err
		}
		creds, err := tx.Credentials(u.ID)
		if err != nil {
			return err
		}
		g, _, err := readSettings(tx)
		if err != nil {
			return err
		}
		method, ok := s.checkSecondFactor(&creds, code, g.Security.RecoveryCodes, now)
		if !ok {
			failed = true
			started, err := settleFailure(tx, lims, now)
			if err != nil {
				return err
			}
			return recordFailure(tx, now, u.Email, u, c.IP, "wrong code", started)
		}
		if _, err := settleSuccess(tx, lims, now, clearAccount); err != nil {
			return err
		}
		if err := tx.PutCredentials(u.ID, creds); err != nil {
			return err
		}
		if err := tx.DeleteSession(a.session.ID); err != nil {
			return err
		}
		full, err := s.signedIn(tx, u, token, rememberedIf(c, a.session.Remembered), now, "password + "+method)
		if err != nil {
			return err
		}
		me, err = s.viewMe(tx, &full)
		return err
	})
	switch {
	case ErrorCode(err) == Unauthenticated || ErrorCode(err) == MFARequired || ErrorCode(err) == PasswordChangeRequired:
		return Me{}, "", errTOTPTimedOut
	case err != nil:
		return Me{}, "", s.internal("sign in totp", err)
	case hit != nil:
		if !hit.started && !hit.busy {
			s.noteBlocked(hit, blockedUser.Email, &blockedUser, c.IP)
		}
		return Me{}, "", hit.err()
	case failed:
		return Me{}, "", errBadCode
	}
	return me, token, nil
}

// DisableTOTPInput asks for the password and a current code.
type DisableTOTPInput struct {
	Password string `json:"password"`
	Code     string `json:"code"`
}

// DisableTOTP turns the caller's 2FA off; other sessions end. The password
// and the code are both checked against the sign-in limits.
func (s *Service) DisableTOTP(ctx context.Context, in DisableTOTPInput) (Me, error) {
	proof, err := s.recheckPassword(ctx, signedIn, "password", in.Password)
	if err != nil {
		return Me{}, err
	}
	c := callerFrom(ctx)
	var me Me
	var failed bool
	err = s.update(ctx, signedIn, func(tx *store.Tx, a *actor) error {
		me, failed = Me{}, false
		if err := proof.settle(tx, a); err != nil {
			return err
		}
		if !a.user.MFAEnabled {
			return &Error{Code: Conflict, Message: "Two-factor authentication is already off."}
		}
		g, _, err := readSettings(tx)
		if err != nil {
			return err
		}
		if g.Security.RequireMFAForAdmins && (a.user.Role == auth.Admin || a.user.Role == auth.SuperAdmin) {
			return &Error{Code: Conflict, Message: "Your organisation requires two-factor authentication for your role, so it cannot be turned off."}
		}
		creds, err := tx.Credentials(a.user.ID)
		if err != nil {
			return err
		}
		now := s.clock()
		lims := attemptLimiters(a.user.Email, c.IP)
		if hit, err := reserve(tx, lims, now); err != nil {
			return err
		} else if hit != nil {
			return hit.err() // the password's own check just passed, so this is rare
		}
		if _, ok := s.checkSecondFactor(&creds, in.Code, false, now); !ok {
			failed = true
			started, err := settleFailure(tx, lims, now)
			if err != nil {
				return err
			}
			return recordFailure(tx, now, a.user.Email, &a.user, c.IP, "wrong code (turning 2FA off)", started)
		}
		if _, err := settleSuccess(tx, lims, now, refundAttempt); err != nil {
			return err
		}
		ended, err := s.turnOffTOTP(tx, &a.user, a.session.ID)
		if err != nil {
			return err
		}
		if err := record(tx, now, a.who(), a.user.TenantID, ActDisable2FA, ResUser, a.user.ID, &change{Before: map[string]bool{"mfaEnabled": true},
			After: map[string]bool{"mfaEnabled": false}, Extra: map[string]any{"sessionsEnded": ended}}); err != nil {
			return err
		}
		me, err = s.viewMe(tx, a)
		return err
	})
	if err != nil {
		s.release(proof)
		return Me{}, s.internal("disable totp", err)
	}
	if failed {
		return Me{}, errBadCode
	}
	return me, nil
}

// turnOffTOTP clears u's 2FA (u is updated and stored) and ends their
// sessions except keep.
func (s *Service) turnOffTOTP(tx *store.Tx, u *store.User, keep []byte) (int, error) {
	c, err := tx.Credentials(u.ID)
	if err != nil {
		return 0, err
	}
	c.SealedTOTP, c.LastTOTPStep, c.PendingTOTP, c.RecoveryCodes = nil, 0, nil, nil
	if err := tx.PutCredentials(u.ID, c); err != nil {
		return 0, err
	}
	u.MFAEnabled, u.UpdatedAt = false, s.clock()
	if err := tx.UpdateUser(u); err != nil {
		return 0, err
	}
	return endOtherSessions(tx, u.ID, keep)
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

// passwordProof is a re-check of the caller's own password that passed.
// Its attempt stays reserved until settle, which the use case calls in its
// own transaction: a lock that began meanwhile refuses the use case.
type passwordProof struct {
	userID uint64
	lims   []limiter
}

// recheckPassword verifies the caller's password (a sensitive change asks
// for it again) against the same limits as a sign-in: reserved in a write
// transaction that checks the lock, verified outside any transaction,
// counted when wrong. field names the form field a wrong password is about.
func (s *Service) recheckPassword(ctx context.Context, g gate, field, password string) (*passwordProof, error) {
	if password == "" {
		return nil, fieldError(field, "Enter your password.")
	}
	early, err := s.check(ctx, g)
	if err != nil {
		return nil, err
	}
	c := callerFrom(ctx)
	lims := attemptLimiters(early.user.Email, c.IP)
	user, hash, hit, err := s.reservePassword(lims, early.user.Email, c.IP, func(tx *store.Tx) (*store.User, error) {
		return tx.User(early.user.ID)
	})
	if err != nil {
		return nil, err
	}
	if hit != nil {
		return nil, hit.err()
	}
	if !s.hasher.Verify(hash, password) || user == nil {
		if err := s.failAttempt(lims, early.user.Email, user, c.IP, "wrong password (re-check)"); err != nil {
			return nil, err
		}
		return nil, fieldError(field, "That password is not right.")
	}
	return &passwordProof{userID: early.user.ID, lims: lims}, nil
}

// release gives back a right password's reserved attempt when its use case
// did not commit (refused for another reason, so its settle was rolled
// back): a right password must never count as a failure.
func (s *Service) release(p *passwordProof) {
	err := s.write(func(tx *store.Tx) error {
		_, err := settleSuccess(tx, p.lims, s.clock(), refundAttempt)
		return err
	})
	if err != nil {
		s.log.Error("release a password re-check", "err", err)
	}
}

// settle commits the re-check inside the use case's transaction.
func (p *passwordProof) settle(tx *store.Tx, a *actor) error {
	if a.user.ID != p.userID {
		return errSignedOut
	}
	hit, err := settleSuccess(tx, p.lims, a.now, refundAttempt)
	if err != nil {
		return err
	}
	if hit != nil {
		return hit.err()
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
	proof, err := s.recheckPassword(ctx, signedIn, "password", in.Password)
	if err != nil {
		return nil, err
	}
	var codes []string
	err = s.update(ctx, signedIn, func(tx *store.Tx, a *actor) error {
		codes = nil
		if err := proof.settle(tx, a); err != nil {
			return err
		}
		if !a.user.MFAEnabled {
			return &Error{Code: Conflict, Message: "Turn on two-factor authentication first."}
		}
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
	if err != nil {
		s.release(proof)
	}
	return codes, s.internal("recovery codes", err)
}

// ResetUserTOTPInput is the edit form's "Reset 2FA": the SUPER_ADMIN
// confirms with their own password.
type ResetUserTOTPInput struct {
	UserID   uint64 `json:"userId"`
	Password string `json:"password"`
}

var errOwnReset = &Error{Code: Forbidden, Message: "To turn off your own 2FA, use Account settings → Security."}

// ResetUserTOTP turns another user's 2FA off and ends their sessions
// (SUPER_ADMIN, when the policy offers it).
func (s *Service) ResetUserTOTP(ctx context.Context, in ResetUserTOTPInput) (UserView, error) {
	proof, err := s.recheckPassword(ctx, needs(auth.CrossTenant), "password", in.Password)
	if err != nil {
		return UserView{}, err
	}
	var out store.User
	err = s.update(ctx, needs(auth.CrossTenant), func(tx *store.Tx, a *actor) error {
		if err := proof.settle(tx, a); err != nil {
			return err
		}
		g, _, err := readSettings(tx)
		if err != nil {
			return err
		}
		if !g.Security.AdminReset2FA {
			return &Error{Code: Conflict, Message: "Resetting 2FA from the edit form is off. Turn it on in Settings → Security, or use gatehouse 2fa reset."}
		}
		u, err := targetUser(tx, a, in.UserID, toChange)
		if err != nil {
			return err
		}
		if u.ID == a.user.ID {
			return errOwnReset
		}
		if !u.MFAEnabled {
			return &Error{Code: Conflict, Message: "This user does not have two-factor authentication on."}
		}
		out, err = s.resetTOTP(tx, u, a.who(), "edit form")
		return err
	})
	if err != nil {
		s.release(proof)
		return UserView{}, s.internal("reset totp", err)
	}
	return viewUser(&out), nil
}

// resetTOTP turns u's 2FA off, ends their sessions and records who did it.
func (s *Service) resetTOTP(tx *store.Tx, u *store.User, w who, via string) (store.User, error) {
	ended, err := s.turnOffTOTP(tx, u, nil)
	if err != nil {
		return store.User{}, err
	}
	return *u, record(tx, s.clock(), w, u.TenantID, ActReset2FA, ResUser, u.ID, &change{Before: map[string]bool{"mfaEnabled": true},
		After: map[string]bool{"mfaEnabled": false}, Extra: map[string]any{"sessionsEnded": ended, "via": via}})
}

// ResetTOTPFromCLI is the seed's "administrator must reset 2FA on the back
// end": run by someone with access to the machine and the data folder. It
// is audited with the actor "system (CLI)".
func (s *Service) ResetTOTPFromCLI(email string) (UserView, error) {
	var out store.User
	err := s.write(func(tx *store.Tx) error {
		u, err := userByEmail(tx, email)
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
