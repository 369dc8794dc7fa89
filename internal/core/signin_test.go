package core

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

func TestSignInFailuresLookAlike(t *testing.T) {
	e := newEnv(t)
	e.setup()
	e.addUser("Pat", auth.Agent, false)
	cases := []struct{ name, email, password string }{
		{"unknown e-mail", "nobody@kwgroup.uk", testPassword},
		{"wrong password", "mitch@kwgroup.uk", "wrong password"},
		{"deactivated", "pat@kwgroup.uk", testPassword},
		{"garbage", "\x00\xff<>", "x"},
		{"huge e-mail", strings.Repeat("a", 10000), testPassword},
		{"too-long password", "mitch@kwgroup.uk", testPassword + strings.Repeat("x", 100)},
	}
	var msg string
	for _, c := range cases {
		_, tok, err := e.svc.SignIn(e.caller(""), SignInInput{Email: c.email, Password: c.password})
		wantCode(t, c.name, err, Invalid, "")
		if tok != "" {
			t.Fatalf("%s: a token was issued", c.name)
		}
		if msg == "" {
			msg = err.Error()
		} else if err.Error() != msg {
			t.Fatalf("%s: message %q differs from %q", c.name, err, msg)
		}
	}
	reasons := map[string]int{}
	for _, ev := range e.events() {
		if ev.Action == ActSignInFailed {
			var m struct{ Extra map[string]string }
			json.Unmarshal(ev.Meta, &m)
			reasons[m.Extra["reason"]]++
		}
	}
	if reasons["unknown e-mail"] != 3 || reasons["wrong password"] != 2 || reasons["account deactivated"] != 1 {
		t.Fatalf("failed sign-in events: %v", reasons)
	}
}

func TestSignInRequiresBothFields(t *testing.T) {
	e := newEnv(t)
	e.setup()
	_, _, err := e.svc.SignIn(e.caller(""), SignInInput{Password: "x"})
	wantCode(t, "no e-mail", err, Invalid, "email")
	_, _, err = e.svc.SignIn(e.caller(""), SignInInput{Email: "mitch@kwgroup.uk"})
	wantCode(t, "no password", err, Invalid, "password")
}

func TestSessionLifetimes(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	// Used every 11 hours, the session lives until its absolute limit.
	for i := 0; i < 15; i++ {
		e.advance(11 * time.Hour)
		if _, err := e.svc.Me(ctx); err != nil {
			t.Fatalf("after %d×11h: %v", i+1, err)
		}
	}
	e.advance(11 * time.Hour) // 176 h > 7 days
	_, err := e.svc.Me(ctx)
	wantCode(t, "past the absolute limit", err, Unauthenticated, "")

	ctx = e.signIn("mitch@kwgroup.uk")
	e.advance(12*time.Hour + time.Second)
	_, err = e.svc.Me(ctx)
	wantCode(t, "idle for 12 h", err, Unauthenticated, "")
}

func TestSignOutEndsTheSession(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	other := e.signIn("mitch@kwgroup.uk")
	if err := e.svc.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Me(ctx)
	wantCode(t, "after sign-out", err, Unauthenticated, "")
	if _, err := e.svc.Me(other); err != nil {
		t.Fatalf("another session of the same user ended too: %v", err)
	}
	if err := e.svc.SignOut(ctx); err != nil {
		t.Fatalf("signing out twice: %v", err)
	}
	for _, bad := range []string{"", "garbage", auth.NewToken()} {
		_, err := e.svc.Me(e.caller(bad))
		wantCode(t, "token "+bad, err, Unauthenticated, "")
	}
}

func TestDeactivatedUserIsRefusedAtOnce(t *testing.T) {
	e := newEnv(t)
	e.setup()
	u := e.addUser("Emma", auth.Manager, true)
	ctx := e.signIn("emma@kwgroup.uk")
	if _, err := e.svc.ListUsers(ctx, ListUsersInput{}); err != nil {
		t.Fatal(err)
	}
	e.db.Update(func(tx *store.Tx) error { u.Active = false; return tx.UpdateUser(u) })
	_, err := e.svc.ListUsers(ctx, ListUsersInput{})
	wantCode(t, "deactivated", err, Unauthenticated, "")
}

func TestRoleIsReReadOnEveryCall(t *testing.T) {
	e := newEnv(t)
	e.setup()
	u := e.addUser("Emma", auth.Manager, true)
	ctx := e.signIn("emma@kwgroup.uk")
	e.db.Update(func(tx *store.Tx) error { u.Role = auth.Agent; return tx.UpdateUser(u) })
	_, err := e.svc.ListUsers(ctx, ListUsersInput{})
	wantCode(t, "demoted", err, Forbidden, "")
}

func TestAuditHoldsNoSecret(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	e.svc.SignIn(e.caller(""), SignInInput{Email: "mitch@kwgroup.uk", Password: "my-wrong-secret"})
	e.svc.SignOut(ctx)
	for _, ev := range e.events() {
		raw, _ := json.Marshal(ev)
		for _, secret := range []string{testPassword, "my-wrong-secret", "$2a$"} {
			if strings.Contains(string(raw), secret) {
				t.Fatalf("event %s holds a secret: %s", ev.Action, raw)
			}
		}
		if ev.IP != "192.0.2.7" && ev.Action != ActSetup && ev.Action != ActCreate {
			t.Errorf("event %s has IP %q", ev.Action, ev.IP)
		}
	}
}
