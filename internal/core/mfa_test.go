package core

import (
	"context"
	"encoding/json"
	"gatehouse/internal/store/storetest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// enrol turns 2FA on for ctx's user and returns the secret.
func (e *env) enrol(ctx context.Context) (string, TOTPEnabled) {
	e.t.Helper()
	en, err := e.svc.BeginTOTP(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	code, _ := auth.TOTPCode(en.Secret, e.clock())
	res, err := e.svc.ConfirmTOTP(ctx, ConfirmTOTPInput{Code: code})
	if err != nil {
		e.t.Fatal(err)
	}
	return en.Secret, res
}

func (e *env) code(secret string, offset time.Duration) string {
	c, _ := auth.TOTPCode(secret, e.clock().Add(offset))
	return c
}

func oathtool(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	out, err := exec.Command("oathtool", "--totp", "-b", "--now", at.UTC().Format("2006-01-02 15:04:05 UTC"), secret).Output()
	if err != nil {
		t.Fatalf("oathtool (install it with make deps): %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestEnrolAndSignInWithTOTP(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	other := e.signIn("mitch@kwgroup.uk")
	en, err := e.svc.BeginTOTP(ctx)
	if err != nil || len(en.Secret) != 32 || !strings.HasPrefix(en.QR, "data:image/png;base64,") {
		t.Fatalf("begin: %v", err)
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef", "000000"} {
		_, err := e.svc.ConfirmTOTP(ctx, ConfirmTOTPInput{Code: bad})
		wantCode(t, "confirm with "+bad, err, Invalid, "code")
	}
	// A code computed by oathtool, an independent implementation, turns it on.
	if _, err := e.svc.ConfirmTOTP(ctx, ConfirmTOTPInput{Code: oathtool(t, en.Secret, e.clock())}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Me(other); ErrorCode(err) != Unauthenticated {
		t.Fatalf("another session survived enabling 2FA: %v", err)
	}
	if _, err := e.svc.Me(ctx); err != nil {
		t.Fatalf("the enrolling session ended: %v", err)
	}

	e.advance(time.Minute)
	res, tok, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword})
	if err != nil || res.Step != "totp" || res.Me != nil {
		t.Fatalf("password step: %+v %v", res, err)
	}
	waiting := e.caller(tok)
	if _, err := e.svc.Me(waiting); ErrorCode(err) != Unauthenticated {
		t.Fatalf("a session waiting for its code can act: %v", err)
	}
	for name, code := range map[string]string{"two steps old": e.code(en.Secret, -60*time.Second), "non-digits": "12ab56", "too long": "1234567"} {
		_, _, err := e.svc.SignInTOTP(waiting, SignInTOTPInput{Code: code})
		wantCode(t, name, err, Invalid, "code")
	}
	code := oathtool(t, en.Secret, e.clock())
	me, full, err := e.svc.SignInTOTP(waiting, SignInTOTPInput{Code: code})
	if err != nil || me.User.Email != "mitch@kwgroup.uk" || full == tok {
		t.Fatalf("code step: %v (token rotated: %v)", err, full != tok)
	}
	if _, err := e.svc.Me(e.caller(full)); err != nil {
		t.Fatal(err)
	}
	// The same code (same time step) is refused a second time.
	_, tok2, _ := e.svc.SignIn(e.caller(""), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword})
	_, _, err = e.svc.SignInTOTP(e.caller(tok2), SignInTOTPInput{Code: code})
	wantCode(t, "replayed code", err, Invalid, "code")
	// The waiting session times out after 5 minutes.
	e.advance(6 * time.Minute)
	_, _, err = e.svc.SignInTOTP(e.caller(tok2), SignInTOTPInput{Code: e.code(en.Secret, 0)})
	wantCode(t, "after 5 minutes", err, Unauthenticated, "")
}

func TestDisableAndResetTOTP(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	secret, _ := e.enrol(ctx)
	e.advance(time.Minute)
	_, err := e.svc.DisableTOTP(ctx, DisableTOTPInput{Password: "wrong password", Code: e.code(secret, 0)})
	wantCode(t, "disable with a wrong password", err, Invalid, "password")
	_, err = e.svc.DisableTOTP(ctx, DisableTOTPInput{Password: testPassword, Code: "000000"})
	wantCode(t, "disable with a wrong code", err, Invalid, "code")
	me, err := e.svc.DisableTOTP(ctx, DisableTOTPInput{Password: testPassword, Code: e.code(secret, 0)})
	if err != nil || me.User.MFAEnabled {
		t.Fatalf("disable: %v", err)
	}

	// The CLI reset: 2FA off, sessions ended, audited as system (CLI).
	secret, _ = e.enrol(ctx)
	u, err := e.svc.ResetTOTPFromCLI(" MITCH@kwgroup.uk ")
	if err != nil || u.MFAEnabled {
		t.Fatalf("cli reset: %+v %v", u, err)
	}
	if _, err := e.svc.Me(ctx); ErrorCode(err) != Unauthenticated {
		t.Fatal("the user's session survived the reset")
	}
	if ev := e.events()[0]; ev.Action != ActReset2FA || ev.ActorName != "system (CLI)" || ev.ActorID != 0 {
		t.Fatalf("reset event %+v", ev)
	}
	if _, err := e.svc.ResetTOTPFromCLI("nobody@kwgroup.uk"); ErrorCode(err) != NotFound {
		t.Fatalf("reset of an unknown user: %v", err)
	}
	res, _, _ := e.svc.SignIn(e.caller(""), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword})
	if res.Step != "done" {
		t.Fatalf("sign-in after reset asks for %q", res.Step)
	}
	_ = secret
}

func TestSecurityPolicyOptions(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	emma := e.addUser("Emma", auth.Admin, true)
	on := true
	if _, err := e.svc.UpdateSettings(ctx, SettingsInput{RecoveryCodes: &on, RequireMFAForAdmins: &on}); err != nil {
		t.Fatal(err)
	}
	// An admin without 2FA is sent to enrol, and can do nothing else first.
	res, tok, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: testPassword})
	if err != nil || res.Step != "enrol" || !res.Me.MustEnrol {
		t.Fatalf("policy sign-in: %+v %v", res, err)
	}
	emmaCtx := e.caller(tok)
	_, err = e.svc.ListUsers(emmaCtx, ListUsersInput{})
	wantCode(t, "acting before enrolling", err, MFARequired, "")
	secret, enabled := e.enrol(emmaCtx)
	if len(enabled.RecoveryCodes) != 10 || enabled.Me.MustEnrol {
		t.Fatalf("enabled: %+v", enabled)
	}
	if _, err := e.svc.ListUsers(emmaCtx, ListUsersInput{}); err != nil {
		t.Fatalf("after enrolling: %v", err)
	}
	_, err = e.svc.DisableTOTP(emmaCtx, DisableTOTPInput{Password: testPassword, Code: e.code(secret, 30*time.Second)})
	wantCode(t, "disable under the policy", err, Conflict, "")

	// A recovery code works once.
	_, tok, _ = e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: testPassword})
	if _, _, err := e.svc.SignInTOTP(e.caller(tok), SignInTOTPInput{Code: strings.ToUpper(enabled.RecoveryCodes[3])}); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	_, tok, _ = e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: testPassword})
	_, _, err = e.svc.SignInTOTP(e.caller(tok), SignInTOTPInput{Code: enabled.RecoveryCodes[3]})
	wantCode(t, "a used recovery code", err, Invalid, "code")

	// Reset 2FA on the edit form: off by default, then SUPER_ADMIN with own password.
	_, err = e.svc.ResetUserTOTP(ctx, ResetUserTOTPInput{UserID: emma.ID, Password: testPassword})
	wantCode(t, "reset while the option is off", err, Conflict, "")
	e.svc.UpdateSettings(ctx, SettingsInput{AdminReset2FA: &on})
	_, err = e.svc.ResetUserTOTP(ctx, ResetUserTOTPInput{UserID: emma.ID, Password: "not mine"})
	wantCode(t, "reset with a wrong password", err, Invalid, "password")
	_, err = e.svc.ResetUserTOTP(e.signIn("emma@kwgroup.uk"), ResetUserTOTPInput{UserID: 1, Password: testPassword})
	if ErrorCode(err) != Forbidden && ErrorCode(err) != Unauthenticated {
		t.Fatalf("an admin reset someone's 2FA: %v", err)
	}
	u, err := e.svc.ResetUserTOTP(ctx, ResetUserTOTPInput{UserID: emma.ID, Password: testPassword})
	if err != nil || u.MFAEnabled {
		t.Fatalf("reset: %v", err)
	}
}

func TestLockoutAfterFailures(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	emma := e.addUser("Emma", auth.Agent, true)
	e.hasher.verified.Store(0)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: "wrong password"})
		}()
	}
	wg.Wait()
	// Exactly the limit was checked by bcrypt; the rest were refused by the
	// lock without a check and without a write.
	if n := e.hasher.verified.Load(); n != lockAfter {
		t.Fatalf("%d passwords checked by bcrypt, want %d", n, lockAfter)
	}
	count := func() (failed, locks, blocked int, attempts float64) {
		for _, ev := range e.events() {
			switch {
			case ev.Action == ActSignInFailed && ev.ActorEmail == "emma@kwgroup.uk":
				failed++
			case ev.Action == ActLock && ev.ResourceType == ResUser:
				locks++
			case ev.Action == ActSignInBlocked && ev.ResourceType == ResUser:
				blocked++
				var m struct{ Extra map[string]any }
				json.Unmarshal(ev.Meta, &m)
				attempts = m.Extra["attempts"].(float64)
			}
		}
		return
	}
	var th store.Throttle
	e.db.View(func(tx *store.Tx) (err error) { th, err = tx.Throttle(store.AccountKey("emma@kwgroup.uk")); return })
	if failed, locks, _, _ := count(); failed != lockAfter || th.Total != lockAfter || locks != 1 {
		t.Fatalf("%d failure events, %d counted, %d locks; want %d, %d, 1", failed, th.Total, locks, lockAfter, lockAfter)
	}
	_, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: testPassword})
	if err == nil || !strings.Contains(err.Error(), "Too many failed sign-ins") {
		t.Fatalf("right password while locked: %v", err)
	}
	if n := e.hasher.verified.Load(); n != lockAfter {
		t.Fatalf("a locked sign-in was checked by bcrypt (%d checks)", n)
	}
	page, _ := e.svc.ListUsers(ctx, ListUsersInput{Search: "emma"})
	if page.Users[0].LockedUntil == nil || !page.Users[0].LockedUntil.Equal(e.clock().Add(15*time.Minute)) {
		t.Fatalf("users list lock: %v", page.Users[0].LockedUntil)
	}
	if err := e.svc.flushBlocked(); err != nil {
		t.Fatal(err)
	}
	if _, _, blocked, _ := count(); blocked != 0 {
		t.Fatalf("a summary was written while the lock lasts")
	}
	if _, err := e.svc.UnlockUser(ctx, emma.ID); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if _, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: testPassword}); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	if ev := e.events()[1]; ev.Action != ActUnlock || ev.ActorEmail != "mitch@kwgroup.uk" {
		t.Fatalf("unlock not audited: %+v", ev)
	}
	// The attempts refused by the lock are summarised once, after the
	// lock's end (those refused while the five were being checked were not
	// attempts on a locked account, and cost nothing either). At least the
	// right password after the flood is among them.
	e.advance(16 * time.Minute)
	if err := e.svc.flushBlocked(); err != nil {
		t.Fatal(err)
	}
	if _, _, blocked, attempts := count(); blocked != 1 || attempts < 1 || attempts > 46 {
		t.Fatalf("%d summaries of %v refused attempts, want 1 of 1 to 46", blocked, attempts)
	}
}

func TestLocksGrowAndUnknownAddressesLockAlike(t *testing.T) {
	e := newEnv(t)
	e.setup()
	fail := func(email string) error {
		_, _, err := e.svc.SignIn(WithCaller(context.Background(), Caller{IP: "198.51.100." + email[:1]}), SignInInput{Email: email, Password: "nope nope"})
		return err
	}
	var known, unknown []string
	for i := 0; i < 6; i++ {
		known = append(known, fail("mitch@kwgroup.uk").Error())
		unknown = append(unknown, fail("nobody@kwgroup.uk").Error())
	}
	if strings.Join(known, "|") != strings.Join(unknown, "|") {
		t.Fatalf("a real account and a missing one answer differently:\n%v\n%v", known, unknown)
	}
	// The second lock in a row lasts 30 minutes.
	e.advance(16 * time.Minute)
	for i := 0; i < 5; i++ {
		fail("mitch@kwgroup.uk")
	}
	var th store.Throttle
	e.db.View(func(tx *store.Tx) (err error) { th, err = tx.Throttle(store.AccountKey("mitch@kwgroup.uk")); return })
	if got := th.LockedUntil.Sub(e.clock()); got != 30*time.Minute {
		t.Fatalf("second lock lasts %v", got)
	}
}

func TestWrongTOTPCodesCountTowardTheLock(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	e.enrol(ctx)
	e.advance(time.Minute)
	_, tok, _ := e.svc.SignIn(e.caller(""), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword})
	for i := 0; i < 5; i++ {
		e.svc.SignInTOTP(e.caller(tok), SignInTOTPInput{Code: "000000"})
	}
	_, _, err := e.svc.SignInTOTP(e.caller(tok), SignInTOTPInput{Code: "111111"})
	if err == nil || !strings.Contains(err.Error(), "Too many failed sign-ins") {
		t.Fatalf("after 5 wrong codes: %v", err)
	}
}

func TestSecretsAreSealedInTheFile(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	secret, _ := e.enrol(ctx)
	pw, host, from := "smtp-secret-Pa55", "smtp.kwgroup.uk", "gh@kwgroup.uk"
	e.svc.UpdateSettings(ctx, SettingsInput{SMTPHost: &host, SMTPFromAddress: &from, SMTPPassword: &pw})
	raw := storetest.RawContent(t, e.db)
	for _, s := range []string{secret, pw} {
		if strings.Contains(string(raw), s) {
			t.Fatalf("the database file holds %q in clear", s)
		}
	}
}

func TestChangePasswordAndSessions(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	other := e.signIn("mitch@kwgroup.uk")
	third := e.signIn("mitch@kwgroup.uk")
	sessions, err := e.svc.ListMySessions(ctx)
	if err != nil || len(sessions) != 3 {
		t.Fatalf("sessions: %d %v", len(sessions), err)
	}
	var otherID string
	current := 0
	for _, s := range sessions {
		if s.Current {
			current++
		} else if otherID == "" {
			otherID = s.ID
		}
		if s.IP != "192.0.2.7" || s.Device != "Browser" && s.Device != "Unknown device" {
			t.Errorf("session %+v", s)
		}
	}
	if current != 1 {
		t.Fatalf("%d current sessions", current)
	}
	if err := e.svc.SignOutSession(ctx, otherID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SignOutSession(ctx, otherID); ErrorCode(err) != NotFound {
		t.Fatalf("ending it twice: %v", err)
	}
	cases := []struct {
		in    ChangePasswordInput
		field string
	}{
		{ChangePasswordInput{Current: testPassword, New: "short"}, "new"},
		{ChangePasswordInput{Current: testPassword, New: strings.Repeat("x", 73)}, "new"},
		{ChangePasswordInput{Current: testPassword, New: testPassword}, "new"},
		{ChangePasswordInput{Current: "not it at all", New: "a brand new one"}, "current"},
	}
	for _, c := range cases {
		wantCode(t, "change password "+c.field, e.svc.ChangePassword(ctx, c.in), Invalid, c.field)
	}
	if err := e.svc.ChangePassword(ctx, ChangePasswordInput{Current: testPassword, New: "a brand new one"}); err != nil {
		t.Fatal(err)
	}
	alive := 0
	for _, c := range []context.Context{ctx, other, third} {
		if _, err := e.svc.Me(c); err == nil {
			alive++
		}
	}
	if alive != 1 {
		t.Fatalf("%d sessions alive after the change, want only the one that changed it", alive)
	}
	if _, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "mitch@kwgroup.uk", Password: "a brand new one"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SignOutEverywhere(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Me(ctx); ErrorCode(err) != Unauthenticated {
		t.Fatal("sign out everywhere left this session")
	}
}

func TestOwnCertificateMustBeAUsablePair(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	before := e.svc.LANInfo()
	cases := map[string]LANCertificateInput{
		"garbage":       {CertPEM: "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----", KeyPEM: "x"},
		"key only":      {KeyPEM: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"},
		"huge":          {CertPEM: strings.Repeat("A", 70<<10), KeyPEM: "x"},
		"mismatch-like": {CertPEM: "not pem at all", KeyPEM: "not pem either"},
	}
	for name, in := range cases {
		_, err := e.svc.SetLANCertificate(ctx, in)
		wantCode(t, name, err, Invalid, "certPem")
	}
	if after := e.svc.LANInfo(); after.CustomCert != before.CustomCert {
		t.Fatal("a refused certificate changed the LAN server")
	}
}
