package core

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// Every guard under concurrency (issue 10): many goroutines are released
// at once against one limit, one uniqueness rule, one single-use token or
// one rank rule, and the guard must hold exactly.

// together runs n calls released at the same instant and returns their
// errors in order.
func together(n int, call func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = call(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// succeeded counts the nil errors.
func succeeded(errs []error) int {
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
		}
	}
	return n
}

// holdChecks makes every password check wait until the returned release is
// called, so a test can line attempts up behind ones still being verified.
func (e *env) holdChecks() (release func()) {
	gate := make(chan struct{})
	e.hasher.hold.Store(&gate)
	var once sync.Once
	return func() { once.Do(func() { e.hasher.hold.Store(nil); close(gate) }) }
}

// waitVerifying waits until n password checks have started.
func (e *env) waitVerifying(n int64) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.hasher.verified.Load() < n {
		if time.Now().After(deadline) {
			e.t.Fatalf("only %d of %d password checks started", e.hasher.verified.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func isLocked(err error) bool {
	return err != nil && strings.Contains(err.Error(), "Too many failed")
}

// The reproduction: 30 wrong passwords and the right one in
// parallel signed in. Now the five wrong ones being checked hold the whole
// budget, so the right one arriving meanwhile is refused without a check
// ("busy"), and once they have failed the account is locked.
func TestLockoutBypassWithParallelRequests(t *testing.T) {
	e := newEnv(t)
	e.setup()
	e.addUser("Emma", auth.Agent, true)
	e.hasher.verified.Store(0)
	release := e.holdChecks()
	defer release()
	wrong := make(chan error, 30)
	for i := 0; i < 30; i++ {
		go func() {
			_, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: fmt.Sprintf("wrong %d", i)})
			wrong <- err
		}()
	}
	e.waitVerifying(lockAfter)
	_, _, right := e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: testPassword})
	release()
	for i := 0; i < 30; i++ {
		if err := <-wrong; err == nil {
			t.Fatal("a wrong password signed in")
		}
	}
	if right != errBusy {
		t.Fatalf("the right password while five wrong ones were being checked: %v", right)
	}
	if n := e.hasher.verified.Load(); n != lockAfter {
		t.Fatalf("%d passwords checked by bcrypt, want exactly %d", n, lockAfter)
	}
	// The lock stands afterwards too.
	if _, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: testPassword}); !isLocked(err) {
		t.Fatalf("after the flood: %v", err)
	}
}

// Released all at once with nothing held: still at most the limit checked.
func TestParallelWrongPasswordsCheckAtMostTheLimit(t *testing.T) {
	e := newEnv(t)
	e.setup()
	e.addUser("Emma", auth.Agent, true)
	e.hasher.verified.Store(0)
	errs := together(60, func(i int) error {
		_, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: "wrong"})
		return err
	})
	if succeeded(errs) != 0 {
		t.Fatal("a wrong password signed in")
	}
	if n := e.hasher.verified.Load(); n > lockAfter {
		t.Fatalf("%d passwords checked, limit %d", n, lockAfter)
	}
}

// 100 codes at once on one half-session: at most the limit are checked
// (answered "not right"); the others are refused by the lock, and so is
// the right code afterwards.
func TestParallelTOTPCodesCheckAtMostTheLimit(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	secret, _ := e.enrol(ctx)
	e.advance(time.Minute)
	_, tok, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	right := e.code(secret, 0)
	errs := together(100, func(i int) error {
		code := fmt.Sprintf("%06d", i)
		if code == right {
			code = "999999"
		}
		_, _, err := e.svc.SignInTOTP(e.caller(tok), SignInTOTPInput{Code: code})
		return err
	})
	checked, locked := 0, 0
	for _, err := range errs {
		switch {
		case err == errBadCode:
			checked++
		case isLocked(err):
			locked++
		default:
			t.Fatalf("unexpected answer: %v", err)
		}
	}
	if checked > lockAfter || checked+locked != 100 {
		t.Fatalf("%d codes checked and %d refused by the lock; at most %d may be checked", checked, locked, lockAfter)
	}
	if _, _, err := e.svc.SignInTOTP(e.caller(tok), SignInTOTPInput{Code: right}); !isLocked(err) {
		t.Fatalf("the right code after the flood: %v", err)
	}
}

// One recovery code, presented at once from twenty half-sessions: one sign-in.
func TestRecoveryCodeIsSingleUseUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	on := true
	if _, err := e.svc.UpdateSettings(ctx, SettingsInput{RecoveryCodes: &on}); err != nil {
		t.Fatal(err)
	}
	_, enabled := e.enrol(ctx)
	e.advance(time.Minute)
	const n = 20
	tokens := make([]string, n)
	for i := range tokens {
		// From different addresses, so the address limit stays out of it.
		c := WithCaller(context.Background(), Caller{IP: fmt.Sprintf("198.51.100.%d", i+1)})
		_, tok, err := e.svc.SignIn(c, SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword})
		if err != nil {
			t.Fatal(err)
		}
		tokens[i] = tok
	}
	code := enabled.RecoveryCodes[0]
	errs := together(n, func(i int) error {
		c := WithCaller(context.Background(), Caller{Token: tokens[i], IP: fmt.Sprintf("198.51.100.%d", i+1)})
		_, _, err := e.svc.SignInTOTP(c, SignInTOTPInput{Code: code})
		return err
	})
	if ok := succeeded(errs); ok != 1 {
		t.Fatalf("one recovery code signed in %d times", ok)
	}
}

// Re-checks of the current password count against the same limit as
// sign-in: a stolen session cannot guess the password, in parallel or not.
func TestPasswordRechecksHonourTheLock(t *testing.T) {
	for name, recheck := range map[string]func(e *env, ctx context.Context, pw string) error{
		"ChangePassword": func(e *env, ctx context.Context, pw string) error {
			return e.svc.ChangePassword(ctx, ChangePasswordInput{Current: pw, New: "a brand new passphrase"})
		},
		"NewRecoveryCodes": func(e *env, ctx context.Context, pw string) error {
			return second(e.svc.NewRecoveryCodes(ctx, NewRecoveryCodesInput{Password: pw}))
		},
		"DisableTOTP": func(e *env, ctx context.Context, pw string) error {
			return second(e.svc.DisableTOTP(ctx, DisableTOTPInput{Password: pw, Code: "000000"}))
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			ctx := e.setup()
			on := true
			if _, err := e.svc.UpdateSettings(ctx, SettingsInput{RecoveryCodes: &on}); err != nil {
				t.Fatal(err)
			}
			e.enrol(ctx)
			e.hasher.verified.Store(0)
			errs := together(30, func(int) error { return recheck(e, ctx, "not my password") })
			if succeeded(errs) != 0 {
				t.Fatal("a wrong password passed the re-check")
			}
			if n := e.hasher.verified.Load(); n > lockAfter {
				t.Fatalf("%d guesses checked, limit %d", n, lockAfter)
			}
			if err := recheck(e, ctx, testPassword); !isLocked(err) {
				t.Fatalf("the right password after 30 guesses: %v", err)
			}
			// The lock is the account's: sign-in is refused too.
			if _, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword}); !isLocked(err) {
				t.Fatalf("sign-in after the guesses: %v", err)
			}
		})
	}
}

// Wrong codes in DisableTOTP, with the right password, count too.
func TestDisableTOTPCountsWrongCodes(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	secret, _ := e.enrol(ctx)
	for i := 0; i < lockAfter; i++ {
		_, err := e.svc.DisableTOTP(ctx, DisableTOTPInput{Password: testPassword, Code: "000000"})
		wantCode(t, "wrong code", err, Invalid, "code")
	}
	_, err := e.svc.DisableTOTP(ctx, DisableTOTPInput{Password: testPassword, Code: e.code(secret, 0)})
	if !isLocked(err) {
		t.Fatalf("right code after %d wrong ones: %v", lockAfter, err)
	}
}

// Thirty first-run setups at once, each for a different person: one
// organisation, one SUPER_ADMIN.
func TestParallelSetupMakesExactlyOneSuperAdmin(t *testing.T) {
	for round := 0; round < 5; round++ {
		e := newEnv(t)
		errs := together(30, func(i int) error {
			return second(e.svc.Setup(context.Background(), SetupInput{Organisation: "KW Group", Email: fmt.Sprintf("boss%d@kwgroup.uk", i), Name: "Boss", Password: testPassword}))
		})
		if ok := succeeded(errs); ok != 1 {
			t.Fatalf("round %d: %d setups succeeded", round, ok)
		}
		var users, tenants int
		e.db.View(func(tx *store.Tx) error {
			var err error
			users, err = tx.CountActive(auth.SuperAdmin, 100)
			ts, _ := tx.Tenants()
			tenants = len(ts)
			return err
		})
		if users != 1 || tenants != 1 {
			t.Fatalf("round %d: %d super admins, %d tenants", round, users, tenants)
		}
	}
}

// Two admins creating the same address at once: one account.
func TestParallelCreateOfOneAddressMakesOneAccount(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	errs := together(20, func(i int) error {
		return second(e.svc.CreateUser(ctx, CreateUserInput{Email: "Sam@kwgroup.uk", Name: fmt.Sprintf("Sam %d", i), Role: "AGENT", Password: testPassword}))
	})
	if ok := succeeded(errs); ok != 1 {
		t.Fatalf("%d accounts created for one address", ok)
	}
	for _, err := range errs {
		if err != nil {
			wantCode(t, "second create", err, Invalid, "email")
		}
	}
}

// One invitation link opened twenty times at once: one account.
func TestInvitationTokenIsSingleUseUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	res, err := e.svc.InviteUser(ctx, InviteInput{Email: "new@kwgroup.uk", Role: "AGENT"})
	if err != nil {
		t.Fatal(err)
	}
	errs := together(20, func(i int) error {
		_, _, err := e.accept(res.Link, fmt.Sprintf("New %d", i))
		return err
	})
	if ok := succeeded(errs); ok != 1 {
		t.Fatalf("one invitation accepted %d times", ok)
	}
	page, _ := e.svc.ListUsers(ctx, ListUsersInput{Search: "new@"})
	if len(page.Users) != 1 {
		t.Fatalf("%d accounts for one invitation", len(page.Users))
	}
}

// The last active SUPER_ADMIN guard, reached: alone, a SUPER_ADMIN cannot
// step down; two SUPER_ADMINs demoting (or deactivating) each other at the
// same instant leave exactly one.
func TestLastActiveSuperAdminStays(t *testing.T) {
	e := newEnv(t)
	mitch := e.setup()
	_, err := e.svc.UpdateUser(mitch, UpdateUserInput{ID: 1, Role: ptr("ADMIN")})
	if err != errLastSuper {
		t.Fatalf("the only super admin demoting himself: %v", err)
	}
	_, err = e.svc.DeactivateUser(mitch, 1)
	if err != errLastSuper {
		t.Fatalf("the only super admin deactivating himself: %v", err)
	}
	for round := 0; round < 20; round++ {
		e := newEnv(t)
		mitch := e.setup()
		sara := e.addUser("Sara", auth.SuperAdmin, true)
		saraCtx := e.signIn("sara@kwgroup.uk")
		act := func(ctx context.Context, id uint64) error {
			if round%2 == 0 {
				return second(e.svc.UpdateUser(ctx, UpdateUserInput{ID: id, Role: ptr("ADMIN")}))
			}
			return second(e.svc.DeactivateUser(ctx, id))
		}
		errs := together(2, func(i int) error {
			if i == 0 {
				return act(mitch, sara.ID)
			}
			return act(saraCtx, 1)
		})
		var supers int
		e.db.View(func(tx *store.Tx) (err error) { supers, err = tx.CountActive(auth.SuperAdmin, 100); return })
		if supers != 1 {
			t.Fatalf("round %d: %d active super admins left (%v)", round, supers, errs)
		}
		if succeeded(errs) != 1 {
			t.Fatalf("round %d: %v", round, errs)
		}
	}
}

// The code step offers recovery codes only when they are on and the user
// has some left (issue 12, item 6).
func TestCodeStepSaysWhetherRecoveryCodesAreThere(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	e.enrol(ctx)
	step := func() SignInResult {
		t.Helper()
		res, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword})
		if err != nil || res.Step != stageTOTP {
			t.Fatalf("sign-in: %+v %v", res, err)
		}
		return res
	}
	if step().RecoveryCodes {
		t.Fatal("recovery codes offered while the policy is off")
	}
	on := true
	if _, err := e.svc.UpdateSettings(ctx, SettingsInput{RecoveryCodes: &on}); err != nil {
		t.Fatal(err)
	}
	if step().RecoveryCodes {
		t.Fatal("recovery codes offered to a user who has none")
	}
	if _, err := e.svc.NewRecoveryCodes(ctx, NewRecoveryCodesInput{Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	if !step().RecoveryCodes {
		t.Fatal("recovery codes not offered to a user who has them")
	}
}

// The same right password sent many times at once (a double-click, a
// script) is not an attack: at most the limit are checked at a time, the
// rest are asked to try again, and nothing locks.
func TestParallelRightPasswordsDoNotLock(t *testing.T) {
	e := newEnv(t)
	e.setup()
	e.addUser("Emma", auth.Agent, true)
	errs := together(12, func(int) error {
		_, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: testPassword})
		return err
	})
	if succeeded(errs) == 0 {
		t.Fatal("no sign-in succeeded")
	}
	for _, err := range errs {
		if err != nil && err != errBusy {
			t.Fatalf("a right password was refused with: %v", err)
		}
	}
	if _, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: testPassword}); err != nil {
		t.Fatalf("afterwards: %v", err)
	}
	for _, ev := range e.events() {
		if ev.Action == ActLock {
			t.Fatalf("right passwords locked the account: %+v", ev)
		}
	}
}

// A right password whose use case is refused for another reason is given
// back, never counted as a failure: five such refusals do not lock.
func TestRefusedUseCaseDoesNotCountARightPassword(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	for i := 0; i < lockAfter+2; i++ {
		// 2FA is off: "already off" after a right password.
		if _, err := e.svc.DisableTOTP(ctx, DisableTOTPInput{Password: testPassword, Code: "123456"}); ErrorCode(err) != Conflict {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	e.advance(2 * pendingFor)
	if _, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword}); err != nil {
		t.Fatalf("sign-in after refused use cases with the right password: %v", err)
	}
}
