package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/cli"
	"gatehouse/internal/core"
	"gatehouse/internal/store"
	"gatehouse/internal/web"
)

const (
	deskAdmin = "mitch@kwgroup.uk"
	deskUser  = "sam@kwgroup.uk"
	deskPass  = "password123"
)

// launch opens the data folder as the window does at start and runs during
// with the window's App; the folder is closed again after, so two launches
// are a restart. The password hasher is fast; everything else is as in
// the app (TestRememberedThroughTheCommandLine runs the real start).
func launch(t *testing.T, dir string, during func(app *App, svc *core.Service)) {
	t.Helper()
	sealer := testSealer(t)
	db, err := store.Open(dir, store.Options{LockTimeout: time.Second, AuditKey: sealer.SubKey(auth.AuditChainPurpose)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := core.New(core.Config{DB: db, Sealer: sealer, Hasher: auth.NewHasher(4, 2), Mailer: nullMailer{}, BackupDir: t.TempDir()})
	during(windowApp(cli.Window{Service: svc, DataDir: dir}), svc)
}

// firstLaunch sets Gatehouse up in the window, adds the user Sam, and
// signs Sam in to the window, remembered or not.
func firstLaunch(t *testing.T, dir string, remember bool, then func(app *App, svc *core.Service)) {
	t.Helper()
	launch(t, dir, func(app *App, svc *core.Service) {
		if _, err := app.Setup(core.SetupInput{Organisation: "KW", Email: deskAdmin, Name: "Mitch", Password: deskPass}); err != nil {
			t.Fatal(err)
		}
		no := false
		if _, err := app.CreateUser(core.CreateUserInput{Email: deskUser, Name: "Sam", Role: "AGENT", Password: deskPass, MustChangePassword: &no}); err != nil {
			t.Fatal(err)
		}
		if err := app.SignOut(); err != nil {
			t.Fatal(err)
		}
		if res, err := app.SignIn(core.SignInInput{Email: deskUser, Password: deskPass, Remember: remember}); err != nil || res.Step != "done" {
			t.Fatalf("sign in: %+v %v", res, err)
		}
		if then != nil {
			then(app, svc)
		}
	})
}

// elsewhere signs in on another device (a LAN browser) and returns its caller.
func elsewhere(t *testing.T, svc *core.Service, email string) context.Context {
	t.Helper()
	_, tok, err := svc.SignIn(core.WithCaller(context.Background(), core.Caller{IP: "192.0.2.9", UserAgent: "Firefox"}), core.SignInInput{Email: email, Password: deskPass})
	if err != nil {
		t.Fatal(err)
	}
	return core.WithCaller(context.Background(), core.Caller{Token: tok, IP: "192.0.2.9", UserAgent: "Firefox"})
}

func rememberedPath(dir string) string { return filepath.Join(dir, rememberFile) }

func wantSignedIn(t *testing.T, app *App, email string) {
	t.Helper()
	me, err := app.Me()
	if err != nil || me.User.Email != email {
		t.Fatalf("want %s signed in: %+v %v", email, me.User, err)
	}
}

func wantSignedOut(t *testing.T, app *App, dir string) {
	t.Helper()
	if _, err := app.Me(); core.ErrorCode(err) != core.Unauthenticated {
		t.Fatalf("want signed out, got %v", err)
	}
	if app.session.Token() != "" {
		t.Fatal("the window still holds a token")
	}
	if _, err := os.Stat(rememberedPath(dir)); !os.IsNotExist(err) {
		t.Fatalf("the remembered sign-in is still in the data folder: %v", err)
	}
}

func TestRememberedSignInResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	var token string
	firstLaunch(t, dir, true, func(app *App, _ *core.Service) { token = app.session.Token() })

	// The file is the owner's only, and holds the token sealed: neither the
	// token, nor its bytes, nor the hash the database keys it by.
	info, err := os.Stat(rememberedPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", info.Mode().Perm())
	}
	raw, _ := os.ReadFile(rememberedPath(dir))
	tokenBytes, _ := base64.RawURLEncoding.DecodeString(token)
	for name, clear := range map[string][]byte{"token": []byte(token), "token bytes": tokenBytes,
		"hash": auth.HashToken(token), "hash in hex": []byte(hex.EncodeToString(auth.HashToken(token)))} {
		if bytes.Contains(raw, clear) {
			t.Fatalf("the file holds the %s in clear", name)
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".window-session-*")); len(leftovers) > 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}

	launch(t, dir, func(app *App, _ *core.Service) {
		wantSignedIn(t, app, deskUser)
		if app.session.Token() != token {
			t.Fatal("the window resumed another session")
		}
	})
	// And again: resuming does not spend it.
	launch(t, dir, func(app *App, _ *core.Service) {
		wantSignedIn(t, app, deskUser)
		if err := app.SignOut(); err != nil {
			t.Fatal(err)
		}
		wantSignedOut(t, app, dir)
	})
	launch(t, dir, func(app *App, _ *core.Service) { wantSignedOut(t, app, dir) })
}

func TestUnrememberedSignInEndsWithTheWindow(t *testing.T) {
	dir := t.TempDir()
	firstLaunch(t, dir, false, func(app *App, _ *core.Service) {
		if _, err := os.Stat(rememberedPath(dir)); !os.IsNotExist(err) {
			t.Fatalf("a sign-in not asked to be remembered was written: %v", err)
		}
	})
	launch(t, dir, func(app *App, _ *core.Service) {
		wantSignedOut(t, app, dir)
		// A remembered sign-in is replaced by a later one that was not.
		if _, err := app.SignIn(core.SignInInput{Email: deskUser, Password: deskPass, Remember: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := app.SignIn(core.SignInInput{Email: deskAdmin, Password: deskPass}); err != nil {
			t.Fatal(err)
		}
		wantSignedIn(t, app, deskAdmin)
	})
	launch(t, dir, func(app *App, _ *core.Service) { wantSignedOut(t, app, dir) })
}

// Every rule that ends a session ends a remembered one: the next launch
// finds it ended and removes the file.
func TestEveryRevocationEndsTheRememberedSignIn(t *testing.T) {
	admin := func(t *testing.T, svc *core.Service) context.Context { return elsewhere(t, svc, deskAdmin) }
	samID := func(t *testing.T, svc *core.Service, ctx context.Context) uint64 {
		page, err := svc.ListUsers(ctx, core.ListUsersInput{Search: "sam"})
		if err != nil || len(page.Users) != 1 {
			t.Fatalf("find Sam: %+v %v", page, err)
		}
		return page.Users[0].ID
	}
	for _, c := range []struct {
		name   string
		revoke func(t *testing.T, app *App, svc *core.Service)
	}{
		{"signed out in the window", func(t *testing.T, app *App, _ *core.Service) {
			if err := app.SignOut(); err != nil {
				t.Fatal(err)
			}
		}},
		{"signed out everywhere in the window", func(t *testing.T, app *App, _ *core.Service) {
			if err := app.SignOutEverywhere(); err != nil {
				t.Fatal(err)
			}
		}},
		{"signed out everywhere on another device", func(t *testing.T, _ *App, svc *core.Service) {
			if err := svc.SignOutEverywhere(elsewhere(t, svc, deskUser)); err != nil {
				t.Fatal(err)
			}
		}},
		{"ended by an administrator", func(t *testing.T, _ *App, svc *core.Service) {
			ctx := admin(t, svc)
			id := samID(t, svc, ctx)
			ss, err := svc.ListUserSessions(ctx, id)
			if err != nil || len(ss) != 1 || ss[0].IP != "desktop" {
				t.Fatalf("Sam's devices: %+v %v", ss, err)
			}
			if err := svc.EndUserSession(ctx, core.EndUserSessionInput{UserID: id, SessionID: ss[0].ID}); err != nil {
				t.Fatal(err)
			}
		}},
		{"deactivated, then reactivated", func(t *testing.T, _ *App, svc *core.Service) {
			ctx := admin(t, svc)
			id := samID(t, svc, ctx)
			if _, err := svc.DeactivateUser(ctx, id); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.ReactivateUser(ctx, id); err != nil {
				t.Fatal(err)
			}
		}},
		{"password changed on another device", func(t *testing.T, _ *App, svc *core.Service) {
			if err := svc.ChangePassword(elsewhere(t, svc, deskUser), core.ChangePasswordInput{Current: deskPass, New: "another-password-1"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"temporary password set by an administrator", func(t *testing.T, _ *App, svc *core.Service) {
			ctx := admin(t, svc)
			if _, err := svc.SetTemporaryPassword(ctx, core.SetTemporaryPasswordInput{UserID: samID(t, svc, ctx), Password: "temporary-pass-1"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"2FA turned on on another device", func(t *testing.T, _ *App, svc *core.Service) {
			ctx := elsewhere(t, svc, deskUser)
			en, err := svc.BeginTOTP(ctx)
			if err != nil {
				t.Fatal(err)
			}
			code, _ := auth.TOTPCode(en.Secret, time.Now())
			if _, err := svc.ConfirmTOTP(ctx, core.ConfirmTOTPInput{Code: code}); err != nil {
				t.Fatal(err)
			}
		}},
		{"2FA reset by an administrator", func(t *testing.T, app *App, svc *core.Service) {
			en, err := app.BeginTOTP() // in the window, which stays signed in
			if err != nil {
				t.Fatal(err)
			}
			code, _ := auth.TOTPCode(en.Secret, time.Now())
			if _, err := app.ConfirmTOTP(core.ConfirmTOTPInput{Code: code}); err != nil {
				t.Fatal(err)
			}
			wantSignedIn(t, app, deskUser)
			ctx := admin(t, svc)
			on := true
			if _, err := svc.UpdateSettings(ctx, core.SettingsInput{AdminReset2FA: &on}); err != nil {
				t.Fatal(err)
			}
			if _, err := svc.ResetUserTOTP(ctx, core.ResetUserTOTPInput{UserID: samID(t, svc, ctx), Password: deskPass}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			firstLaunch(t, dir, true, func(app *App, svc *core.Service) { c.revoke(t, app, svc) })
			launch(t, dir, func(app *App, _ *core.Service) { wantSignedOut(t, app, dir) })
		})
	}
}

// With 2FA on, "Keep me signed in" asked at the password step holds for
// the session the code step starts.
func TestRememberedThroughTheCodeStep(t *testing.T) {
	dir := t.TempDir()
	var secret string
	firstLaunch(t, dir, false, func(app *App, _ *core.Service) {
		en, err := app.BeginTOTP()
		if err != nil {
			t.Fatal(err)
		}
		secret = en.Secret
		code, _ := auth.TOTPCode(secret, time.Now())
		if _, err := app.ConfirmTOTP(core.ConfirmTOTPInput{Code: code}); err != nil {
			t.Fatal(err)
		}
		if err := app.SignOut(); err != nil {
			t.Fatal(err)
		}
		res, err := app.SignIn(core.SignInInput{Email: deskUser, Password: deskPass, Remember: true})
		if err != nil || res.Step != "totp" {
			t.Fatalf("password step: %+v %v", res, err)
		}
		code, _ = auth.TOTPCode(secret, time.Now().Add(auth.TOTPPeriod*time.Second)) // the next step: codes are used once
		if _, err := app.SignInTOTP(core.SignInTOTPInput{Code: code}); err != nil {
			t.Fatal(err)
		}
	})
	launch(t, dir, func(app *App, _ *core.Service) { wantSignedIn(t, app, deskUser) })
}

// A remembered file that does not open is removed at start, without a
// panic, and the window starts signed out.
func TestDamagedRememberedFileIsRemoved(t *testing.T) {
	dir := t.TempDir()
	firstLaunch(t, dir, true, nil)
	good, err := os.ReadFile(rememberedPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := auth.NewSealer(auth.HashToken("another data folder"))
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	for name, content := range map[string][]byte{
		"empty":         {},
		"garbage":       []byte("not a sealed token at all"),
		"truncated":     good[:len(good)-3],
		"one bit wrong": flipped,
		"another key":   other.Seal([]byte(auth.NewToken()), "remembered window session"),
		"longer":        append(bytes.Clone(good), 0),
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(rememberedPath(dir), content, 0o600); err != nil {
				t.Fatal(err)
			}
			launch(t, dir, func(app *App, _ *core.Service) { wantSignedOut(t, app, dir) })
		})
	}
	// A well-sealed token of no session is just as ended.
	launch(t, dir, func(app *App, svc *core.Service) {
		if err := os.WriteFile(rememberedPath(dir), svc.SealSessionToken(auth.NewToken()), 0o600); err != nil {
			t.Fatal(err)
		}
	})
	launch(t, dir, func(app *App, _ *core.Service) { wantSignedOut(t, app, dir) })
}

// A LAN browser's "remember" is not the window's: its session keeps the
// usual 12-hour idle limit, and nothing is written to the data folder.
func TestLANSignInIsNeverRemembered(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	dir := t.TempDir()
	sealer := testSealer(t)
	db, err := store.Open(dir, store.Options{LockTimeout: time.Second, AuditKey: sealer.SubKey(auth.AuditChainPurpose)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := core.New(core.Config{DB: db, Sealer: sealer, Hasher: auth.NewHasher(4, 2), Mailer: nullMailer{}, Now: clock})
	h, err := web.New(web.Config{NewApp: func(s web.Session, ip, ua string) any { return newApp(svc, s, ip, ua) }, Frontend: frontend()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, srv)
	if res, body := c.call("Setup", core.SetupInput{Organisation: "KW", Email: deskAdmin, Name: "Mitch", Password: deskPass, Code: svc.SetupCode()}); res.StatusCode != 200 {
		t.Fatalf("setup: %d %v", res.StatusCode, body)
	}
	c.call("SignOut")
	if res, body := c.call("SignIn", map[string]any{"email": deskAdmin, "password": deskPass, "remember": true}); res.StatusCode != 200 {
		t.Fatalf("sign in: %d %v", res.StatusCode, body)
	}
	mu.Lock()
	now = now.Add(core.SessionIdle + time.Minute)
	mu.Unlock()
	if res, _ := c.call("Me"); res.StatusCode != 401 {
		t.Fatalf("a LAN session asked to be remembered outlived 12 idle hours: %d", res.StatusCode)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("the data folder holds more than the database: %v", entries)
	}
}

// The real start: the key file and the remembered file are read from the
// data folder by the command line, as a double-click does.
func TestRememberedThroughTheCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("bcrypt at cost 12")
	}
	dir := t.TempDir()
	run := func(during func(app *App)) {
		t.Helper()
		var stderr bytes.Buffer
		code := cli.Main(cli.Env{
			Args: []string{"--data", dir, "--no-lan"}, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &stderr,
			Frontend: frontend(), Getenv: func(string) string { return "" },
			NewApp: func(svc *core.Service, s web.Session, ip, ua string) any { return newApp(svc, s, ip, ua) },
			Window: func(w cli.Window) error { during(windowApp(w)); return nil },
		})
		if code != cli.ExitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	}
	run(func(app *App) {
		if _, err := app.Setup(core.SetupInput{Organisation: "KW", Email: deskAdmin, Name: "Mitch", Password: deskPass}); err != nil {
			t.Fatal(err)
		}
		if _, err := app.SignIn(core.SignInInput{Email: deskAdmin, Password: deskPass, Remember: true}); err != nil {
			t.Fatal(err)
		}
	})
	run(func(app *App) { wantSignedIn(t, app, deskAdmin) })
}
