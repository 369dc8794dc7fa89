package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"gatehouse/internal/cli"
	"gatehouse/internal/core"
)

// rememberFile is where the window keeps a remembered sign-in ("Keep me
// signed in on this computer"): the session token sealed with the data
// folder's key, readable by its owner only.
const rememberFile = "window-session.sealed"

// windowSession keeps the window's session token in memory and, when the
// sign-in asked to be remembered, sealed in the data folder, so that the
// next launch can take it up again. The token never reaches the web view
// or the log.
type windowSession struct {
	mu       sync.Mutex
	token    string
	remember bool // the sign-in under way asked to be remembered
	path     string
	svc      *core.Service
}

func newWindowSession(svc *core.Service, dataDir string) *windowSession {
	return &windowSession{svc: svc, path: filepath.Join(dataDir, rememberFile)}
}

func (w *windowSession) Token() string { w.mu.Lock(); defer w.mu.Unlock(); return w.token }

// Keep holds a new session's token, and remembers it on disk only if its
// sign-in asked to: any other sign-in replaces a remembered one.
func (w *windowSession) Keep(token string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.token = token
	if w.remember && token != "" {
		w.save(token)
	} else {
		w.drop()
	}
}

// Forget drops the session from memory and from the data folder.
func (w *windowSession) Forget() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.token, w.remember = "", false
	w.drop()
}

// rememberNext records whether the sign-in under way asked to be
// remembered; its 2FA code step, if any, keeps the choice.
func (w *windowSession) rememberNext(on bool) {
	w.mu.Lock()
	w.remember = on
	w.mu.Unlock()
}

// save writes the sealed token beside the database: a new file, then a
// rename, so a crash leaves the old file or the new one, never half of one.
func (w *windowSession) save(token string) {
	f, err := os.CreateTemp(filepath.Dir(w.path), ".window-session-*") // 0600
	if err != nil {
		slog.Warn("cannot remember the window's sign-in; it lasts until the window closes", "err", err)
		return
	}
	_, err = f.Write(w.svc.SealSessionToken(token))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), w.path)
	}
	if err != nil {
		os.Remove(f.Name())
		slog.Warn("cannot remember the window's sign-in; it lasts until the window closes", "err", err)
	}
}

func (w *windowSession) drop() {
	if err := os.Remove(w.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		slog.Warn("cannot remove the remembered sign-in", "file", w.path, "err", err)
	}
}

// resume takes up the sign-in remembered in the data folder, if any, by
// using it as any call does (App.Me): a session ended meanwhile — signed
// out, signed out everywhere, ended by an administrator, its user
// deactivated, its password or 2FA changed, expired — is refused there,
// and its file is removed. So is a file that does not open (damaged,
// altered, or sealed with another key).
func resume(app *App, w *windowSession) {
	raw, err := os.ReadFile(w.path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		slog.Warn("cannot read the remembered sign-in; sign in again", "file", w.path, "err", err)
		return
	}
	token, err := w.svc.OpenSessionToken(raw)
	if err != nil {
		slog.Warn("the remembered sign-in could not be opened and is removed; sign in again", "file", w.path)
		w.Forget()
		return
	}
	w.mu.Lock()
	w.token, w.remember = token, true
	w.mu.Unlock()
	if _, err := app.Me(); core.ErrorCode(err) == core.Unauthenticated {
		slog.Info("the remembered sign-in has ended; sign in again")
		w.Forget()
	}
}

// windowApp is the window's App: its calls are recorded with the IP
// "desktop", and it takes up the sign-in remembered in the data folder, if
// that still works.
func windowApp(w cli.Window) *App {
	session := newWindowSession(w.Service, w.DataDir)
	app := newApp(w.Service, session, "desktop", "Gatehouse desktop")
	resume(app, session)
	return app
}
