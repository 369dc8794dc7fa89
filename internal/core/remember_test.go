package core

import (
	"bytes"
	"context"
	"testing"
	"time"

	"gatehouse/internal/auth"
)

func (e *env) signInRemembered(email string) (string, error) {
	_, tok, err := e.svc.SignIn(e.desktop(""), SignInInput{Email: email, Password: testPassword, Remember: true})
	return tok, err
}

// A remembered session outlives a night (12 h idle) and lives 30 days from
// its last use, 90 days at most; a plain one keeps its 12 h.
func TestRememberedSessionLifetimes(t *testing.T) {
	e := newEnv(t)
	e.setup()
	tok, err := e.signInRemembered("mitch@kwgroup.uk")
	if err != nil {
		t.Fatal(err)
	}
	plain := e.signIn("mitch@kwgroup.uk")
	kept := e.desktop(tok)
	e.advance(3 * 24 * time.Hour) // a long weekend
	if _, err := e.svc.Me(kept); err != nil {
		t.Fatalf("the remembered session ended after 3 idle days: %v", err)
	}
	_, err = e.svc.Me(plain)
	wantCode(t, "a plain session after 3 idle days", err, Unauthenticated, "")

	// Used every 29 days, it lives until its absolute limit.
	for i := 0; i < 3; i++ {
		e.advance(29 * 24 * time.Hour)
		if _, err := e.svc.Me(kept); err != nil {
			t.Fatalf("after 3 d + %d×29 d: %v", i+1, err)
		}
	}
	e.advance(29 * 24 * time.Hour) // 93 days since it began
	_, err = e.svc.Me(kept)
	wantCode(t, "past 90 days", err, Unauthenticated, "")

	tok, _ = e.signInRemembered("mitch@kwgroup.uk")
	e.advance(RememberedIdle + time.Second)
	_, err = e.svc.Me(e.desktop(tok))
	wantCode(t, "idle for 30 days", err, Unauthenticated, "")
}

// "Keep me signed in", asked at the password step, holds for the session
// the 2FA code step starts.
func TestRememberedSurvivesTheCodeStep(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	secret, _ := e.enrol(ctx)
	e.advance(time.Minute)
	for _, remember := range []bool{true, false} {
		res, tok, err := e.svc.SignIn(e.desktop(""), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword, Remember: remember})
		if err != nil || res.Step != "totp" {
			t.Fatalf("password step: %+v %v", res, err)
		}
		_, full, err := e.svc.SignInTOTP(e.desktop(tok), SignInTOTPInput{Code: e.code(secret, 0)})
		if err != nil {
			t.Fatal(err)
		}
		e.advance(13 * time.Hour)
		_, err = e.svc.Me(e.desktop(full))
		if remember && err != nil {
			t.Fatalf("the remembered session ended after 13 idle hours: %v", err)
		}
		if !remember {
			wantCode(t, "a plain session after 13 idle hours", err, Unauthenticated, "")
		}
	}
}

// The sealed token opens only with the data folder's key and unaltered.
func TestSealedSessionToken(t *testing.T) {
	e := newEnv(t)
	tok := auth.NewToken()
	sealed := e.svc.SealSessionToken(tok)
	if bytes.Contains(sealed, []byte(tok)) {
		t.Fatal("the sealed token holds the token in clear")
	}
	if got, err := e.svc.OpenSessionToken(sealed); err != nil || got != tok {
		t.Fatalf("open: %q %v", got, err)
	}
	other, _ := auth.NewSealer(auth.HashToken("another data folder"))
	for name, b := range map[string][]byte{
		"empty":       nil,
		"truncated":   sealed[:len(sealed)-1],
		"flipped bit": append(append([]byte(nil), sealed[:30]...), append([]byte{sealed[30] ^ 1}, sealed[31:]...)...),
		"another key": other.Seal([]byte(tok), rememberedContext),
		"not a token": e.svc.sealer.Seal([]byte("not a token"), rememberedContext),
		"other place": e.svc.sealer.Seal([]byte(tok), "smtp-password"),
	} {
		if got, err := e.svc.OpenSessionToken(b); err != ErrRememberedDamaged || got != "" {
			t.Errorf("%s: %q %v", name, got, err)
		}
	}
}

func (e *env) desktop(token string) context.Context {
	return WithCaller(context.Background(), Caller{Token: token, IP: "desktop", UserAgent: "Gatehouse desktop"})
}

// Review: only the window remembers, and core holds to it whatever the
// transport in front of it passes on. A LAN caller asking for "Keep me
// signed in" gets a plain session (12 h idle), and a remembered session's
// token, should it leave the window's sealed file, is no use on the LAN.
func TestOnlyTheWindowIsRemembered(t *testing.T) {
	e := newEnv(t)
	e.setup()
	_, lan, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword, Remember: true})
	if err != nil {
		t.Fatal(err)
	}
	_, kept, err := e.svc.SignIn(e.desktop(""), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword, Remember: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Me(e.caller(kept))
	wantCode(t, "the window's remembered session used from the LAN", err, Unauthenticated, "")
	e.advance(13 * time.Hour)
	_, err = e.svc.Me(e.caller(lan))
	wantCode(t, "a LAN session that asked to be remembered, after 13 idle hours", err, Unauthenticated, "")
	if _, err := e.svc.Me(e.desktop(kept)); err != nil {
		t.Fatalf("the window's remembered session after 13 idle hours: %v", err)
	}
}
