package main

import (
	"context"
	"sync"

	"gatehouse/internal/core"
	"gatehouse/internal/web"
)

// App is the method set bound to the window (Wails) and served to LAN
// browsers (internal/web, one route per method). Each method is a thin call
// into core; the caller's session and address travel in the context.
type App struct {
	core      *core.Service
	session   web.Session
	ip        string
	userAgent string
	base      context.Context
}

// newApp returns an App for one caller.
func newApp(svc *core.Service, s web.Session, ip, userAgent string) *App {
	return &App{core: svc, session: s, ip: ip, userAgent: userAgent, base: context.Background()}
}

func (a *App) ctx() context.Context {
	return core.WithCaller(a.base, core.Caller{Token: a.session.Token(), IP: a.ip, UserAgent: a.userAgent})
}

// SetupStatus says whether first-run setup is still to do.
func (a *App) SetupStatus() (core.SetupStatus, error) { return a.core.SetupStatus(a.ctx()) }

// Setup creates the admin tenancy and the first SUPER_ADMIN, then signs in.
func (a *App) Setup(in core.SetupInput) (core.Me, error) {
	if _, err := a.core.Setup(a.ctx(), in); err != nil {
		return core.Me{}, err
	}
	return a.SignIn(core.SignInInput{Email: in.Email, Password: in.Password})
}

// SignIn checks the password and starts a session.
func (a *App) SignIn(in core.SignInInput) (core.Me, error) {
	me, token, err := a.core.SignIn(a.ctx(), in)
	if err == nil {
		a.session.Keep(token)
	}
	return me, err
}

// SignOut ends the session.
func (a *App) SignOut() error {
	err := a.core.SignOut(a.ctx())
	a.session.Forget()
	return err
}

// Me returns the signed-in user.
func (a *App) Me() (core.Me, error) { return a.core.Me(a.ctx()) }

// ListUsers returns a page of the current tenant's users.
func (a *App) ListUsers(in core.ListUsersInput) (core.UserPage, error) {
	return a.core.ListUsers(a.ctx(), in)
}

// memorySession keeps the window's session token in memory: it never
// touches the disk or the web view.
type memorySession struct {
	mu    sync.Mutex
	token string
}

func (m *memorySession) Token() string     { m.mu.Lock(); defer m.mu.Unlock(); return m.token }
func (m *memorySession) Keep(token string) { m.mu.Lock(); m.token = token; m.mu.Unlock() }
func (m *memorySession) Forget()           { m.Keep("") }
