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

// ChangePasswordInput is Profile → Security's form.
type ChangePasswordInput struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// ChangePassword replaces the caller's password after checking the current
// one; every other session of the caller ends.
func (s *Service) ChangePassword(ctx context.Context, in ChangePasswordInput) error {
	a, err := s.resolve(ctx)
	if err != nil {
		return err
	}
	if err := checkPassword("new", in.New); err != nil {
		return err
	}
	if in.New == in.Current {
		return fieldError("new", "Choose a password different from the current one.")
	}
	if in.Current == "" {
		return fieldError("current", "Enter your current password.")
	}
	if err := s.checkOwnPassword(ctx, a, in.Current); err != nil {
		if e := AsError(err); e.Field == "password" {
			e2 := *e
			e2.Field = "current"
			return &e2
		}
		return err
	}
	hash, err := s.hasher.Hash(in.New)
	if err != nil {
		return s.internal("hash", err)
	}
	err = s.write(func(tx *store.Tx) error {
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
		return record(tx, s.clock(), a.who(), a.user.TenantID, ActChangePassword, ResUser, a.user.ID, &change{Extra: map[string]any{"sessionsEnded": ended}})
	})
	return s.internal("change password", err)
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
	a, err := s.resolve(ctx)
	if err != nil {
		return nil, err
	}
	out := []SessionView{}
	err = s.db.View(func(tx *store.Tx) error {
		ss, err := tx.UserSessions(a.user.ID)
		if err != nil {
			return err
		}
		now := s.clock()
		for _, sess := range ss {
			if sess.Stage != "" || now.Sub(sess.LastSeenAt) > SessionIdle || now.Sub(sess.CreatedAt) > SessionAbsolute {
				continue
			}
			out = append(out, SessionView{ID: sessionHandle(sess.ID), Device: deviceName(sess.UserAgent), IP: sess.IP,
				CreatedAt: sess.CreatedAt, LastSeenAt: sess.LastSeenAt, Current: string(sess.ID) == string(a.session.ID)})
		}
		return nil
	})
	sortSessions(out)
	return out, s.internal("list sessions", err)
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
	a, err := s.resolve(ctx)
	if err != nil {
		return err
	}
	err = s.write(func(tx *store.Tx) error {
		ss, err := tx.UserSessions(a.user.ID)
		if err != nil {
			return err
		}
		for _, sess := range ss {
			if sessionHandle(sess.ID) == id {
				if err := tx.DeleteSession(sess.ID); err != nil {
					return err
				}
				return record(tx, s.clock(), a.who(), a.user.TenantID, ActEndSession, ResSession, a.user.ID, &change{Extra: map[string]any{"device": deviceName(sess.UserAgent), "ip": sess.IP}})
			}
		}
		return &Error{Code: NotFound, Message: "That session has already ended."}
	})
	return s.internal("sign out session", err)
}

// SignOutEverywhere ends every session of the caller, this one included.
func (s *Service) SignOutEverywhere(ctx context.Context) error {
	a, err := s.resolve(ctx)
	if err != nil {
		return err
	}
	err = s.write(func(tx *store.Tx) error {
		n, err := tx.DeleteUserSessions(a.user.ID)
		if err != nil {
			return err
		}
		return record(tx, s.clock(), a.who(), a.user.TenantID, ActSignOut, ResSession, a.user.ID, &change{Extra: map[string]any{"everywhere": true, "sessionsEnded": n}})
	})
	return s.internal("sign out everywhere", err)
}

// UnlockUser clears a user's sign-in lock (users admins of their tenant).
func (s *Service) UnlockUser(ctx context.Context, id uint64) (UserView, error) {
	a, err := s.require(ctx, auth.ManageUsers)
	if err != nil {
		return UserView{}, err
	}
	var out store.User
	err = s.write(func(tx *store.Tx) error {
		u, err := tenantUser(tx, a, id)
		if err != nil {
			return err
		}
		key := store.AccountKey(u.Email)
		v, err := tx.Throttle(key)
		if err != nil {
			return err
		}
		out = *u
		if lockedUntil(v, s.clock()).IsZero() {
			return &Error{Code: Conflict, Message: u.Name + " is not locked."}
		}
		v.LockedUntil, v.Failures, v.WindowStart, v.Locks = time.Time{}, 0, time.Time{}, 0
		if err := tx.PutThrottle(key, v); err != nil {
			return err
		}
		return record(tx, s.clock(), a.who(), u.TenantID, ActUnlock, ResUser, u.ID, nil)
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
