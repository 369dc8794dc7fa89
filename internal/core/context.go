package core

import (
	"context"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// Caller is what a transport knows about who is calling: the session token
// it holds (cookie or window memory), and where the call comes from.
type Caller struct {
	Token     string
	IP        string // "desktop" for the window
	UserAgent string
}

type callerKey struct{}

// WithCaller returns ctx carrying the caller.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

func callerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// actor is a resolved, signed-in caller: the session, the user as stored
// now (role and active status are re-read on every call), and the tenant it
// acts in.
type actor struct {
	session store.Session
	user    store.User
	tenant  store.Tenant
	ip      string
}

// can reports whether the actor's role has capability c.
func (a *actor) can(c auth.Capability) bool { return a.user.Role.Can(c) }

// resolve finds the caller's live, fully signed-in session. A session that
// policy holds back until 2FA is set up gets errMFARequired.
func (s *Service) resolve(ctx context.Context) (*actor, error) {
	a, err := s.resolveAny(ctx)
	if err != nil {
		return nil, err
	}
	switch a.session.Stage {
	case "":
		return a, nil
	case stageEnrol:
		return nil, errMFARequired
	}
	return nil, errSignedOut
}

// resolveEnrolling is resolve that also admits a session held back until
// 2FA is set up: for Me and the enrolment calls.
func (s *Service) resolveEnrolling(ctx context.Context) (*actor, error) {
	a, err := s.resolveAny(ctx)
	if err != nil {
		return nil, err
	}
	if a.session.Stage != "" && a.session.Stage != stageEnrol {
		return nil, errSignedOut
	}
	return a, nil
}

var errMFARequired = &Error{Code: MFARequired, Message: "Set up two-factor authentication to continue: your organisation requires it for your role."}

// resolveAny finds the caller's live session in any stage. It refreshes
// the session's last-seen time when it has gone stale.
func (s *Service) resolveAny(ctx context.Context) (*actor, error) {
	c := callerFrom(ctx)
	if !auth.WellFormedToken(c.Token) {
		return nil, errSignedOut
	}
	id := auth.HashToken(c.Token)
	now := s.clock()
	var a actor
	var stale, expired bool
	err := s.db.View(func(tx *store.Tx) error {
		sess, err := tx.Session(id)
		if err != nil || sess == nil {
			return err
		}
		if now.Sub(sess.LastSeenAt) > SessionIdle || now.Sub(sess.CreatedAt) > SessionAbsolute ||
			sess.Stage == stageTOTP && now.Sub(sess.CreatedAt) > pendingTOTPFor {
			expired = true
			return nil
		}
		u, err := tx.User(sess.UserID)
		if err != nil || u == nil || !u.Active {
			return err
		}
		m, err := tx.Membership(u.ID, sess.TenantID)
		if err != nil || m == nil {
			return err
		}
		t, err := tx.Tenant(sess.TenantID)
		if err != nil || t == nil {
			return err
		}
		a = actor{session: *sess, user: *u, tenant: *t, ip: c.IP}
		stale = now.Sub(sess.LastSeenAt) > lastSeenEvery
		return nil
	})
	if err != nil {
		return nil, s.internal("resolve session", err)
	}
	if expired {
		_ = s.write(func(tx *store.Tx) error { return tx.DeleteSession(id) })
		return nil, errSignedOut
	}
	if a.user.ID == 0 {
		return nil, errSignedOut
	}
	if stale {
		err := s.write(func(tx *store.Tx) error {
			sess, err := tx.Session(id)
			if err != nil || sess == nil {
				return err
			}
			sess.LastSeenAt, sess.IP = now, c.IP
			return tx.PutSession(sess)
		})
		if err != nil {
			return nil, s.internal("refresh session", err)
		}
		a.session.LastSeenAt = now
	}
	return &a, nil
}

// require resolves the caller and checks one capability.
func (s *Service) require(ctx context.Context, c auth.Capability) (*actor, error) {
	a, err := s.resolve(ctx)
	if err != nil {
		return nil, err
	}
	if !a.can(c) {
		return nil, errForbidden
	}
	return a, nil
}
