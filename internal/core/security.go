package core

import (
	"context"
	"encoding/hex"
	"strings"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// Security audit actions.
const (
	ActChangePassword = "change_password"
	ActEndSession     = "end_session"
)

// ChangePasswordInput is the form of Account settings → Security.
type ChangePasswordInput struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// ChangePassword replaces the caller's password after checking the current
// one; every other session of the caller ends. It is also the one thing a
// user held at the change-password step may do.
func (s *Service) ChangePassword(ctx context.Context, in ChangePasswordInput) error {
	if err := checkPassword("new", in.New); err != nil {
		return err
	}
	if in.New == in.Current {
		return fieldError("new", "Choose a password different from the current one.")
	}
	if in.Current == "" {
		return fieldError("current", "Enter your current password.")
	}
	g := holding(stagePassword)
	proof, err := s.recheckPassword(ctx, g, "current", in.Current)
	if err != nil {
		return err
	}
	hash, err := s.hasher.Hash(in.New)
	if err != nil {
		s.release(proof)
		return s.internal("hash", err)
	}
	err = s.update(ctx, g, func(tx *store.Tx, a *actor) error {
		if err := proof.settle(tx, a); err != nil {
			return err
		}
		return s.setPassword(tx, a, hash)
	})
	if err != nil {
		s.release(proof)
	}
	return s.internal("change password", err)
}

// setPassword stores the actor's new password hash, ends their other
// sessions, lets the current one leave the change-password step, and
// records it.
func (s *Service) setPassword(tx *store.Tx, a *actor, hash []byte) error {
	c, err := tx.Credentials(a.user.ID)
	if err != nil {
		return err
	}
	c.PasswordHash = hash
	if err := tx.PutCredentials(a.user.ID, c); err != nil {
		return err
	}
	ended, err := endOtherSessions(tx, a.user.ID, a.session.ID)
	if err != nil {
		return err
	}
	extra := map[string]any{"sessionsEnded": ended}
	if a.user.MustChangePassword {
		a.user.MustChangePassword, a.user.UpdatedAt = false, a.now
		if err := tx.UpdateUser(&a.user); err != nil {
			return err
		}
		extra["temporaryReplaced"] = true
	}
	if a.session.Stage == stagePassword {
		// Next, whatever else policy asks first (2FA enrolment), if anything.
		if a.session.Stage, err = s.heldStage(tx, &a.user); err != nil {
			return err
		}
		if err := tx.PutSession(&a.session); err != nil {
			return err
		}
	}
	return record(tx, a.now, a.who(), a.user.TenantID, ActChangePassword, ResUser, a.user.ID, &change{Extra: extra})
}

// SessionView is one of the caller's sessions. ID is a short public handle,
// not the token or its hash.
type SessionView struct {
	ID         string    `json:"id"`
	Device     string    `json:"device"`
	IP         string    `json:"ip"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
	Current    bool      `json:"current"`
}

func sessionHandle(id []byte) string { return hex.EncodeToString(id[:8]) }

// ListMySessions lists the caller's signed-in sessions, newest first.
func (s *Service) ListMySessions(ctx context.Context) ([]SessionView, error) {
	out := []SessionView{}
	err := s.view(ctx, signedIn, func(tx *store.Tx, a *actor) (err error) {
		out, err = sessionsOf(tx, a.user.ID, a.session.ID, a.now)
		return err
	})
	return out, s.internal("list sessions", err)
}

// sessionsOf lists a user's live, signed-in sessions, newest first;
// current marks the caller's own.
func sessionsOf(tx *store.Tx, userID uint64, current []byte, now time.Time) ([]SessionView, error) {
	ss, err := tx.UserSessions(userID)
	if err != nil {
		return nil, err
	}
	out := []SessionView{}
	for _, sess := range ss {
		if sess.Stage != "" || sessionExpired(&sess, now) {
			continue
		}
		out = append(out, SessionView{ID: sessionHandle(sess.ID), Device: deviceName(sess.UserAgent), IP: sess.IP,
			CreatedAt: sess.CreatedAt, LastSeenAt: sess.LastSeenAt, Current: string(sess.ID) == string(current)})
	}
	sortSessions(out)
	return out, nil
}

func sortSessions(ss []SessionView) {
	for i := 1; i < len(ss); i++ {
		for j := i; j > 0 && ss[j].LastSeenAt.After(ss[j-1].LastSeenAt); j-- {
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
}

// deviceName turns a user agent into words a person recognises.
func deviceName(ua string) string {
	if ua == "Gatehouse desktop" {
		return "Gatehouse desktop app"
	}
	browser := "Browser"
	for _, b := range []struct{ key, name string }{{"Edg/", "Edge"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}} {
		if strings.Contains(ua, b.key) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, o := range []struct{ key, name string }{{"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"Android", "Android"}, {"iPhone", "iPhone"}, {"Linux", "Linux"}} {
		if strings.Contains(ua, o.key) {
			system = o.name
			break
		}
	}
	if ua == "" {
		return "Unknown device"
	}
	if system == "" {
		return browser
	}
	return browser + " on " + system
}

// SignOutSession ends one of the caller's sessions.
func (s *Service) SignOutSession(ctx context.Context, id string) error {
	err := s.update(ctx, signedIn, func(tx *store.Tx, a *actor) error {
		return s.endSession(tx, a, &a.user, id)
	})
	return s.internal("sign out session", err)
}

// endSession ends u's session with the public handle id.
func (s *Service) endSession(tx *store.Tx, a *actor, u *store.User, id string) error {
	ss, err := tx.UserSessions(u.ID)
	if err != nil {
		return err
	}
	for _, sess := range ss {
		if sessionHandle(sess.ID) == id {
			if err := tx.DeleteSession(sess.ID); err != nil {
				return err
			}
			return record(tx, a.now, a.who(), u.TenantID, ActEndSession, ResSession, u.ID, &change{Extra: map[string]any{"device": deviceName(sess.UserAgent), "ip": sess.IP}})
		}
	}
	return &Error{Code: NotFound, Message: "That session has already ended."}
}

// ListUserSessions lists another user's signed-in sessions for the edit
// form: to those who may change that user (the rules of editing).
func (s *Service) ListUserSessions(ctx context.Context, userID uint64) ([]SessionView, error) {
	out := []SessionView{}
	err := s.view(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		u, err := targetUser(tx, a, userID, toChange)
		if err != nil {
			return err
		}
		out, err = sessionsOf(tx, u.ID, a.session.ID, a.now)
		return err
	})
	return out, s.internal("list user sessions", err)
}

// EndUserSessionInput names one session of a user.
type EndUserSessionInput struct {
	UserID    uint64 `json:"userId"`
	SessionID string `json:"sessionId"`
}

// EndUserSession signs a user out of one device (the rules of editing).
func (s *Service) EndUserSession(ctx context.Context, in EndUserSessionInput) error {
	err := s.update(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		u, err := targetUser(tx, a, in.UserID, toChange)
		if err != nil {
			return err
		}
		return s.endSession(tx, a, u, in.SessionID)
	})
	return s.internal("end user session", err)
}

// SignOutEverywhere ends every session of the caller, this one included.
func (s *Service) SignOutEverywhere(ctx context.Context) error {
	err := s.update(ctx, signedIn, func(tx *store.Tx, a *actor) error {
		n, err := tx.DeleteUserSessions(a.user.ID)
		if err != nil {
			return err
		}
		return record(tx, a.now, a.who(), a.user.TenantID, ActSignOut, ResSession, a.user.ID, &change{Extra: map[string]any{"everywhere": true, "sessionsEnded": n}})
	})
	return s.internal("sign out everywhere", err)
}

// UnlockUser clears a user's sign-in lock: for those who may change the
// user (same rules as editing them).
var errOwnUnlock = &Error{Code: Forbidden, Message: "You cannot unlock your own account. Ask another administrator, or wait until the lock ends."}

func (s *Service) UnlockUser(ctx context.Context, id uint64) (UserView, error) {
	var out store.User
	err := s.update(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		u, err := targetUser(tx, a, id, toChange)
		if err != nil {
			return err
		}
		if u.ID == a.user.ID {
			// The lock guards the password re-checks of a session too:
			// clearing it yourself would lift the limit on guesses.
			return errOwnUnlock
		}
		out = *u
		if was, err := unlock(tx, u.Email, a.now); err != nil {
			return err
		} else if !was {
			return &Error{Code: Conflict, Message: u.Name + " is not locked."}
		}
		return record(tx, a.now, a.who(), u.TenantID, ActUnlock, ResUser, u.ID, nil)
	})
	if err != nil {
		return UserView{}, s.internal("unlock", err)
	}
	return viewUser(&out), nil
}

// accountLock returns when a user's sign-in lock ends, or nil.
func accountLock(tx *store.Tx, email string, now time.Time) (*time.Time, error) {
	v, err := tx.Throttle(store.AccountKey(email))
	if err != nil {
		return nil, err
	}
	return optTime(lockedUntil(v, now)), nil
}

// ActRestore is recorded when a restored database is first opened.
const ActRestore = "restore"

// EndSessionsAfterRestore ends every session a restored database brought
// back: a backup holds the sessions live when it was taken, and some were
// ended since (sign out everywhere, a deactivation, a lost laptop's device
// signed out). Everyone signs in again, which no revocation can undo. It
// runs once, from restore, in one write transaction with its audit event.
func (s *Service) EndSessionsAfterRestore() (int, error) {
	var ended int
	err := s.write(func(tx *store.Tx) error {
		ended = 0
		var after []byte
		for {
			next, n, err := tx.SweepSessions(after, sweepBatch, func(*store.Session) bool { return true })
			if err != nil {
				return err
			}
			ended += n
			if next == nil {
				break
			}
			after = next
		}
		return record(tx, s.clock(), cliWho, 0, ActRestore, "database", 0, &change{Extra: map[string]any{"sessionsEnded": ended}})
	})
	return ended, s.internal("end sessions after restore", err)
}
