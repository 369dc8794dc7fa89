package core

import (
	"context"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// Caller is what a transport knows about who is calling: the session token
// it holds (cookie or window memory), and where the call comes from.
type Caller struct {
	Token     string
	IP        string // "desktop" for the window
	UserAgent string
	// remember: the sign-in under way asked to be kept (SignInInput.Remember,
	// then the code step inherits it). Set by core only.
	remember bool
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
// acts in. An actor is only ever resolved inside the transaction that uses
// it, so what it says is what that transaction sees.
type actor struct {
	session store.Session
	user    store.User
	tenant  store.Tenant
	ip      string
	now     time.Time // the use case's clock, read once when resolved
}

// can reports whether the actor's role has capability c.
func (a *actor) can(c auth.Capability) bool { return a.user.Role.Can(c) }

// gate says which callers may run a use case.
type gate struct {
	cap      auth.Capability // "" : any signed-in user
	platform bool            // administrators of the admin tenancy only
	// held lists the session stages admitted besides a full sign-in: the
	// enrol step (policy requires 2FA first), the change-password step, and
	// the waiting-for-code step.
	held []string
}

var (
	// signedIn admits any fully signed-in user.
	signedIn = gate{}
	// anyStage admits any live session, whatever step it is at.
	anyStage = gate{held: []string{stageTOTP, stageEnrol, stagePassword}}
	// platformAdmin admits ADMIN and SUPER_ADMIN of the admin tenancy.
	platformGate = gate{cap: auth.ManageSettings, platform: true}
)

// needs admits fully signed-in users whose role has capability c.
func needs(c auth.Capability) gate { return gate{cap: c} }

// holding admits, besides full sessions, sessions held at these stages.
func holding(stages ...string) gate { return gate{held: stages} }

func (g gate) admits(stage string) bool {
	if stage == "" {
		return true
	}
	for _, h := range g.held {
		if h == stage {
			return true
		}
	}
	return false
}

var (
	errMFARequired      = &Error{Code: MFARequired, Message: "Set up two-factor authentication to continue: your organisation requires it for your role."}
	errPasswordRequired = &Error{Code: PasswordChangeRequired, Message: "Choose a new password to continue (Account settings → Security)."}
	errNotPlatform      = &Error{Code: Forbidden, Message: "Only administrators of the admin tenancy can do this."}
)

// resolution is what resolving a caller found besides the actor: a session
// to delete (expired) or to refresh (last seen long ago).
type resolution struct {
	expired bool
	stale   bool
}

// actorIn resolves the caller inside tx and checks the gate. It reads only.
func (s *Service) actorIn(tx *store.Tx, c Caller, g gate) (*actor, resolution, error) {
	var res resolution
	if !auth.WellFormedToken(c.Token) {
		return nil, res, errSignedOut
	}
	now := s.clock()
	sess, err := tx.Session(auth.HashToken(c.Token))
	if err != nil {
		return nil, res, err
	}
	if sess == nil {
		return nil, res, errSignedOut
	}
	if sessionExpired(sess, now) {
		res.expired = true
		return nil, res, errSignedOut
	}
	if sess.Remembered && remote(c) {
		// The window's remembered session is the window's: its token, were
		// it taken from the sealed file, opens nothing on the LAN.
		return nil, res, errSignedOut
	}
	u, err := tx.User(sess.UserID)
	if err != nil {
		return nil, res, err
	}
	if u == nil || !u.Active {
		return nil, res, errSignedOut
	}
	m, err := tx.Membership(u.ID, sess.TenantID)
	if err != nil {
		return nil, res, err
	}
	t, err := tx.Tenant(sess.TenantID)
	if err != nil {
		return nil, res, err
	}
	if m == nil || t == nil {
		return nil, res, errSignedOut
	}
	a := &actor{session: *sess, user: *u, tenant: *t, ip: c.IP, now: now}
	res.stale = now.Sub(sess.LastSeenAt) > lastSeenEvery
	if !g.admits(sess.Stage) {
		switch sess.Stage {
		case stageEnrol:
			return nil, res, errMFARequired
		case stagePassword:
			return nil, res, errPasswordRequired
		}
		return nil, res, errSignedOut
	}
	if g.cap != "" && !a.can(g.cap) {
		return nil, res, errForbidden
	}
	if g.platform {
		ok, err := s.platformAdmin(tx, a)
		if err != nil {
			return nil, res, err
		}
		if !ok {
			return nil, res, errNotPlatform
		}
	}
	return a, res, nil
}

// update runs one use case in one write transaction. The caller is resolved
// inside it, so a user deactivated or demoted a moment ago cannot commit,
// and fn sees the actor as the transaction sees the database. fn must change
// nothing outside the transaction (a write may run it more than once): it
// assigns its results to variables the use case reads after commit.
func (s *Service) update(ctx context.Context, g gate, fn func(tx *store.Tx, a *actor) error) error {
	c := callerFrom(ctx)
	var expired bool
	err := s.write(func(tx *store.Tx) error {
		expired = false
		a, res, err := s.actorIn(tx, c, g)
		if res.expired {
			expired = true
			return tx.DeleteSession(auth.HashToken(c.Token))
		}
		if err != nil {
			return err
		}
		if res.stale {
			if err := s.touchSession(tx, a); err != nil {
				return err
			}
		}
		return fn(tx, a)
	})
	if err == nil && expired {
		return errSignedOut
	}
	return err
}

// view runs a read-only use case with the caller resolved in the same read
// transaction. A stale session is refreshed afterwards, at most once a
// minute, so reads do not each cost a write.
func (s *Service) view(ctx context.Context, g gate, fn func(tx *store.Tx, a *actor) error) error {
	c := callerFrom(ctx)
	var res resolution
	err := s.db.View(func(tx *store.Tx) error {
		a, r, err := s.actorIn(tx, c, g)
		res = r
		if err != nil {
			return err
		}
		return fn(tx, a)
	})
	switch {
	case res.expired:
		if werr := s.write(func(tx *store.Tx) error { return tx.DeleteSession(auth.HashToken(c.Token)) }); werr != nil {
			return s.internal("end expired session", werr)
		}
	case res.stale && err == nil:
		werr := s.write(func(tx *store.Tx) error {
			a, _, err := s.actorIn(tx, c, anyStage)
			if err != nil {
				return nil // gone meanwhile: nothing to refresh
			}
			return s.touchSession(tx, a)
		})
		if werr != nil {
			return s.internal("refresh session", werr)
		}
	}
	return err
}

// check resolves the caller for an early refusal, before slow work (bcrypt)
// that must happen outside the transaction. It decides nothing: the use
// case's own transaction resolves and checks the caller again.
func (s *Service) check(ctx context.Context, g gate) (*actor, error) {
	var out *actor
	err := s.view(ctx, g, func(_ *store.Tx, a *actor) error { out = a; return nil })
	return out, err
}

// touchSession records that the session was used now, from this address.
func (s *Service) touchSession(tx *store.Tx, a *actor) error {
	sess := a.session
	sess.LastSeenAt, sess.IP = s.clock(), a.ip
	a.session = sess
	return tx.PutSession(&sess)
}
