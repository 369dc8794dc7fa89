package core

import (
	"fmt"
	"strings"
	"testing"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// resetLinkIn pulls the reset link out of an e-mail's text.
func resetLinkIn(t *testing.T, text string) string {
	t.Helper()
	i := strings.Index(text, "https://")
	if i < 0 {
		t.Fatalf("no link in %q", text)
	}
	return strings.Fields(text[i:])[0]
}

func TestForgotPasswordEndToEnd(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()
	e.configureSMTP(admin)
	e.addUser("Emma", auth.Agent, true)
	emma := e.signIn("emma@kwgroup.uk")
	// Locked out by her own guesses.
	for i := 0; i < lockAfter; i++ {
		e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: "forgotten"})
	}
	if err := e.svc.RequestPasswordReset(e.caller(""), ForgotPasswordInput{Email: " Emma@KWgroup.uk "}); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	msgs := e.mailer.messages()
	if len(msgs) != 1 || msgs[0].To != "emma@kwgroup.uk" || msgs[0].Subject != "Reset your Gatehouse password" {
		t.Fatalf("mail: %+v", msgs)
	}
	link := resetLinkIn(t, msgs[0].Text)
	if !strings.HasPrefix(link, "https://gatehouse.test:8420/reset-password?token=") {
		t.Fatalf("link %q", link)
	}
	token := tokenOf(link)
	if info, err := e.svc.PasswordResetInfo(e.caller(""), token); err != nil || info.State != "valid" || info.Email != "emma@kwgroup.uk" {
		t.Fatalf("info: %+v %v", info, err)
	}
	res, err := e.svc.ResetPassword(e.caller(""), ResetPasswordInput{Token: token, Password: "a fresh passphrase"})
	if err != nil || res.Email != "emma@kwgroup.uk" {
		t.Fatalf("reset: %+v %v", res, err)
	}
	// Sessions ended, lock cleared, the new password works, the link is spent.
	if _, err := e.svc.Me(emma); ErrorCode(err) != Unauthenticated {
		t.Fatalf("old session after reset: %v", err)
	}
	if _, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: "a fresh passphrase"}); err != nil {
		t.Fatalf("sign in with the new password: %v", err)
	}
	if _, err := e.svc.ResetPassword(e.caller(""), ResetPasswordInput{Token: token, Password: "yet another passphrase"}); err != errResetUnknown {
		t.Fatalf("second use of the link: %v", err)
	}
	if info, _ := e.svc.PasswordResetInfo(e.caller(""), token); info.State != "unknown" {
		t.Fatalf("info after use: %+v", info)
	}
	var actions []string
	for _, ev := range e.events() {
		actions = append(actions, ev.Action)
		if strings.Contains(string(ev.Meta), token) || strings.Contains(string(ev.Meta), "fresh passphrase") {
			t.Fatalf("a secret in the audit log: %s", ev.Meta)
		}
	}
	got := strings.Join(actions, ",")
	for _, want := range []string{ActResetRequested, ActEmailSent, ActPasswordReset} {
		if !strings.Contains(got, want) {
			t.Fatalf("no %s event in %s", want, got)
		}
	}
}

func TestForgotPasswordAnswersUnknownAddressesAlike(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()
	e.configureSMTP(admin)
	e.addUser("Emma", auth.Agent, true)
	e.addUser("Gone", auth.Agent, false)
	answers := map[string]string{}
	for _, email := range []string{"emma@kwgroup.uk", "nobody@kwgroup.uk", "gone@kwgroup.uk"} {
		for i := 0; i < resetPerAddress+1; i++ {
			err := e.svc.RequestPasswordReset(e.caller(""), ForgotPasswordInput{Email: email})
			answers[email] += fmt.Sprintf("%v|", err)
		}
	}
	if answers["emma@kwgroup.uk"] != answers["nobody@kwgroup.uk"] || answers["emma@kwgroup.uk"] != answers["gone@kwgroup.uk"] {
		t.Fatalf("answers differ:\n%v", answers)
	}
	if !strings.Contains(answers["nobody@kwgroup.uk"], "Too many reset requests") {
		t.Fatalf("the fourth request in the window was not throttled: %s", answers["nobody@kwgroup.uk"])
	}
	e.deliver()
	for _, m := range e.mailer.messages() {
		if m.To != "emma@kwgroup.uk" {
			t.Fatalf("mail went to %s", m.To)
		}
	}
	// Only the newest of Emma's three links works.
	if n := len(e.mailer.messages()); n != 1 {
		t.Fatalf("%d e-mails sent for three requests; replaced links are not sent", n)
	}
}

func TestForgotPasswordNeedsMailSetUp(t *testing.T) {
	e := newEnv(t)
	e.setup()
	err := e.svc.RequestPasswordReset(e.caller(""), ForgotPasswordInput{Email: "mitch@kwgroup.uk"})
	if err != errNoMailForReset {
		t.Fatalf("without SMTP: %v", err)
	}
	if _, err := e.svc.ResetPassword(e.caller(""), ResetPasswordInput{Token: "not a token", Password: "a long password"}); err != errResetUnknown {
		t.Fatalf("a malformed token: %v", err)
	}
}

func TestResetLinkExpiresAfterAnHourAndIsReplaced(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()
	emma := e.addUser("Emma", auth.Agent, true)
	first, err := e.svc.SendPasswordReset(admin, emma.ID)
	if err != nil || first.Emailed {
		t.Fatalf("first link: %+v %v", first, err)
	}
	second, err := e.svc.SendPasswordReset(admin, emma.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ResetPassword(e.caller(""), ResetPasswordInput{Token: tokenOf(first.Link), Password: "a fresh passphrase"}); err != errResetUnknown {
		t.Fatalf("a replaced link: %v", err)
	}
	e.advance(resetTTL)
	if info, _ := e.svc.PasswordResetInfo(e.caller(""), tokenOf(second.Link)); info.State != "expired" {
		t.Fatalf("after an hour: %+v", info)
	}
	if _, err := e.svc.ResetPassword(e.caller(""), ResetPasswordInput{Token: tokenOf(second.Link), Password: "a fresh passphrase"}); err != errResetExpired {
		t.Fatalf("an expired link: %v", err)
	}
	// The hourly sweep removes it.
	if _, err := e.svc.Sweep(); err != nil {
		t.Fatal(err)
	}
	if info, _ := e.svc.PasswordResetInfo(e.caller(""), tokenOf(second.Link)); info.State != "unknown" {
		t.Fatalf("after the sweep: %+v", info)
	}
}

func TestResetLinkIsSingleUseUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()
	emma := e.addUser("Emma", auth.Agent, true)
	link, err := e.svc.SendPasswordReset(admin, emma.ID)
	if err != nil {
		t.Fatal(err)
	}
	errs := together(20, func(i int) error {
		return second(e.svc.ResetPassword(e.caller(""), ResetPasswordInput{Token: tokenOf(link.Link), Password: fmt.Sprintf("passphrase number %d", i)}))
	})
	if ok := succeeded(errs); ok != 1 {
		t.Fatalf("one reset link used %d times", ok)
	}
}

func TestResetKeepsTwoFactorOn(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()
	e.addUser("Emma", auth.Agent, true)
	emma := e.signIn("emma@kwgroup.uk")
	e.enrol(emma)
	link, err := e.svc.SendPasswordReset(admin, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ResetPassword(e.caller(""), ResetPasswordInput{Token: tokenOf(link.Link), Password: "a fresh passphrase"}); err != nil {
		t.Fatal(err)
	}
	res, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: "a fresh passphrase"})
	if err != nil || res.Step != stageTOTP {
		t.Fatalf("sign-in after a reset must still ask for the code: %+v %v", res, err)
	}
}

// A temporary password (set by an admin, or Create now's default) lets its
// holder do nothing but choose their own.
func TestTemporaryPasswordForcesTheChangeStep(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()
	created, err := e.svc.CreateUser(admin, CreateUserInput{Email: "sam@kwgroup.uk", Name: "Sam", Role: "AGENT", Password: testPassword})
	if err != nil || !created.MustChangePassword {
		t.Fatalf("Create now without a choice: %+v %v", created, err)
	}
	kept, err := e.svc.CreateUser(admin, CreateUserInput{Email: "kim@kwgroup.uk", Name: "Kim", Role: "MANAGER", Password: testPassword, MustChangePassword: new(bool)})
	if err != nil || kept.MustChangePassword {
		t.Fatalf("Create now keeping the password: %+v %v", kept, err)
	}
	if res, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "kim@kwgroup.uk", Password: testPassword}); err != nil || res.Step != "done" {
		t.Fatalf("Kim: %+v %v", res, err)
	}
	kim := e.signIn("kim@kwgroup.uk")
	if _, err := e.svc.SetTemporaryPassword(kim, SetTemporaryPasswordInput{UserID: created.ID, Password: "temporary one 1"}); err != nil {
		t.Fatalf("a manager setting an agent's temporary password: %v", err)
	}
	res, tok, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "sam@kwgroup.uk", Password: "temporary one 1"})
	if err != nil || res.Step != stagePassword || res.Me == nil || !res.Me.MustChangePassword {
		t.Fatalf("Sam's sign-in: %+v %v", res, err)
	}
	sam := e.caller(tok)
	for name, err := range map[string]error{
		"ListMySessions": second(e.svc.ListMySessions(sam)),
		"BeginTOTP":      second(e.svc.BeginTOTP(sam)),
		"SwitchTenant":   second(e.svc.SwitchTenant(sam, 1)),
	} {
		wantCode(t, name+" before choosing a password", err, PasswordChangeRequired, "")
	}
	if _, err := e.svc.Me(sam); err != nil {
		t.Fatalf("Me must answer at the change step: %v", err)
	}
	if err := e.svc.ChangePassword(sam, ChangePasswordInput{Current: "temporary one 1", New: "sam's own passphrase"}); err != nil {
		t.Fatal(err)
	}
	me, err := e.svc.Me(sam)
	if err != nil || me.MustChangePassword || me.User.MustChangePassword {
		t.Fatalf("after choosing: %+v %v", me, err)
	}
	if _, err := e.svc.ListMySessions(sam); err != nil {
		t.Fatalf("after choosing, the session works: %v", err)
	}
	// Never on oneself: that is Account settings → Security.
	if _, err := e.svc.SetTemporaryPassword(admin, SetTemporaryPasswordInput{UserID: 1, Password: "temporary one 1"}); err != errOwnPassword {
		t.Fatalf("own temporary password: %v", err)
	}
}

func TestPasswordRecoveryFromTheCommandLine(t *testing.T) {
	e := newEnv(t)
	e.setup()
	e.addUser("Emma", auth.Agent, true)
	link, err := e.svc.PasswordResetLinkFromCLI("EMMA@kwgroup.uk")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ResetPassword(e.caller(""), ResetPasswordInput{Token: tokenOf(link), Password: "a fresh passphrase"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetTemporaryPasswordFromCLI("emma@kwgroup.uk", "short"); ErrorCode(err) != Invalid {
		t.Fatalf("a short temporary password: %v", err)
	}
	if err := e.svc.SetTemporaryPasswordFromCLI("emma@kwgroup.uk", "temporary one 1"); err != nil {
		t.Fatal(err)
	}
	res, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: "temporary one 1"})
	if err != nil || res.Step != stagePassword {
		t.Fatalf("after the CLI's temporary password: %+v %v", res, err)
	}
	if _, err := e.svc.PasswordResetLinkFromCLI("nobody@kwgroup.uk"); ErrorCode(err) != NotFound {
		t.Fatalf("unknown address: %v", err)
	}
	if ev := e.events()[1]; ev.Action != ActTempPassword || ev.ActorName != "system (CLI)" {
		t.Fatalf("not audited as the CLI: %+v", ev)
	}
	var u *store.User
	e.db.View(func(tx *store.Tx) (err error) { u, err = tx.UserByEmail("emma@kwgroup.uk"); return })
	if !u.MustChangePassword {
		t.Fatal("flag not stored")
	}
}
