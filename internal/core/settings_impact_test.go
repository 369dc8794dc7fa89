package core

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/backup"
	"gatehouse/internal/store"
)

// addPerson stores a user whose own organisation is tenant, with 2FA on
// or off, listed in tenant (and, non-shadow, in each of also).
func (e *env) addPerson(name string, role auth.Role, active, mfa bool, tenant uint64, also ...uint64) *store.User {
	e.t.Helper()
	u := &store.User{Email: strings.ToLower(name) + "@example.com", Name: name, Role: role, Active: active, MFAEnabled: mfa, TenantID: tenant, DefaultTenantID: tenant}
	err := e.db.Update(func(tx *store.Tx) error {
		hash, _ := e.svc.hasher.Hash(testPassword)
		if err := tx.CreateUser(u, store.Credentials{PasswordHash: hash}); err != nil {
			return err
		}
		for _, t := range append([]uint64{tenant}, also...) {
			if err := tx.PutMembership(store.Membership{UserID: u.ID, TenantID: t}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// setMFA marks a user's 2FA as on, as enrolment would.
func (e *env) setMFA(id uint64) {
	e.t.Helper()
	if err := e.db.Update(func(tx *store.Tx) error {
		u, err := tx.User(id)
		if err != nil {
			return err
		}
		u.MFAEnabled = true
		return tx.UpdateUser(u)
	}); err != nil {
		e.t.Fatal(err)
	}
}

// impact asks for the impact of in and fails the test on an error.
func (e *env) impact(ctx context.Context, in SettingsInput) []SettingsRisk {
	e.t.Helper()
	out, err := e.svc.SettingsImpact(ctx, in)
	if err != nil {
		e.t.Fatalf("impact of %+v: %v", in, err)
	}
	if out.Risks == nil {
		e.t.Fatal("risks is null, not an empty list")
	}
	return out.Risks
}

// oneRisk fails unless risks is exactly one risk of setting with count n
// whose message holds each of says.
func oneRisk(t *testing.T, what string, risks []SettingsRisk, setting string, n int, says ...string) SettingsRisk {
	t.Helper()
	if len(risks) != 1 || risks[0].Setting != setting || risks[0].Count != n {
		t.Fatalf("%s: %+v, want one %s risk counting %d", what, risks, setting, n)
	}
	for _, s := range says {
		if !strings.Contains(risks[0].Message, s) {
			t.Errorf("%s: %q does not say %q", what, risks[0].Message, s)
		}
	}
	return risks[0]
}

func noRisk(t *testing.T, what string, risks []SettingsRisk) {
	t.Helper()
	if len(risks) != 0 {
		t.Fatalf("%s: %+v, want nothing to confirm", what, risks)
	}
}

// Turning "require 2FA for admins" on counts the active ADMINs and
// SUPER_ADMINs without 2FA in every tenant, each once, and nobody else.
func TestImpactOfRequiring2FACountsAdminsWithout2FA(t *testing.T) {
	e, root := tenantEnv(t) // root: Mitch, SUPER_ADMIN without 2FA
	acme := e.tenant(root, "Acme")
	e.addPerson("Ada", auth.Admin, true, false, 1)
	e.addPerson("Abe", auth.Admin, true, false, 1, acme) // also listed in Acme: counted once
	sueUser := e.addPerson("Sue", auth.SuperAdmin, true, false, 1)
	sue := e.signIn("sue@example.com")
	e.setMFA(sueUser.ID)                               // has 2FA (turned on after signing in, to skip the code step here)
	e.addPerson("Ina", auth.Admin, false, false, 1)    // inactive
	e.addPerson("Max", auth.Manager, true, false, 1)   // not an admin
	e.addPerson("Cora", auth.Admin, true, false, acme) // a customer tenant's admin: the policy covers them too
	e.addPerson("Vic", auth.Vendor, true, false, acme)
	before := len(e.events())

	on := true
	risk := oneRisk(t, "policy on", e.impact(root, SettingsInput{RequireMFAForAdmins: &on}), "requireMfaForAdmins", 4,
		"4 admins without 2FA will have to set it up at their next sign-in", "You are one of them")
	if risk.Title == "" {
		t.Error("no question to ask")
	}
	if len(e.events()) != before {
		t.Fatal("asking for the impact wrote an audit event")
	}
	if s, _ := e.svc.GetSettings(root); s.Security.RequireMFAForAdmins {
		t.Fatal("asking for the impact saved the setting")
	}

	// A SUPER_ADMIN with 2FA is not told they are one of them.
	if r := e.impact(sue, SettingsInput{RequireMFAForAdmins: &on}); len(r) != 1 || strings.Contains(r[0].Message, "one of them") {
		t.Fatalf("as Sue: %+v", r)
	}
	// Already on, or asked to stay off: nothing to confirm.
	if _, err := e.svc.UpdateSettings(root, SettingsInput{RequireMFAForAdmins: &on}); err != nil {
		t.Fatal(err)
	}
	noRisk(t, "already on", e.impact(sue, SettingsInput{RequireMFAForAdmins: &on}))
	off := false
	noRisk(t, "turning it off", e.impact(sue, SettingsInput{RequireMFAForAdmins: &off}))
}

func TestImpactOfRequiring2FAWhenEveryAdminHasIt(t *testing.T) {
	e := newEnv(t)
	root := e.setup()
	on := true
	oneRisk(t, "only the caller lacks it", e.impact(root, SettingsInput{RequireMFAForAdmins: &on}), "requireMfaForAdmins", 1,
		"You are the only admin without 2FA: you will have to set it up at your next sign-in.")
	e.setMFA(1)
	e.addPerson("Agnes", auth.Agent, true, false, 1)
	noRisk(t, "every admin has 2FA", e.impact(root, SettingsInput{RequireMFAForAdmins: &on}))
}

// Turning multi-tenant off names the customer tenants it hides and counts
// their listed members (the Tenants page's figures).
func TestImpactOfMultiTenantOff(t *testing.T) {
	e, root := tenantEnv(t)
	off := false
	noRisk(t, "no customer tenants", e.impact(root, SettingsInput{MultiTenant: &off}))
	acme := e.tenant(root, "acme")
	oneRisk(t, "one tenant, nobody in it", e.impact(root, SettingsInput{MultiTenant: &off}), "multiTenant", 1, "hides 1 tenant (acme) from the tenant switcher")
	beta := e.tenant(root, "Beta Ltd")
	e.addPerson("Cora", auth.Admin, true, false, acme)
	e.addPerson("Carl", auth.Agent, true, false, acme)
	e.addPerson("Bea", auth.Customer, false, false, beta)
	oneRisk(t, "two tenants", e.impact(root, SettingsInput{MultiTenant: &off}), "multiTenant", 2,
		"hides 2 tenants (acme, Beta Ltd; 3 members)", "nothing is deleted")
	for _, n := range []string{"Gamma", "Delta"} {
		e.tenant(root, n)
	}
	oneRisk(t, "four tenants", e.impact(root, SettingsInput{MultiTenant: &off}), "multiTenant", 4, "(acme, Beta Ltd, Delta and 1 more; 3 members)")
	on := true
	noRisk(t, "staying on", e.impact(root, SettingsInput{MultiTenant: &on}))
	if _, err := e.svc.UpdateSettings(root, SettingsInput{MultiTenant: &off}); err != nil {
		t.Fatal(err)
	}
	noRisk(t, "already off", e.impact(root, SettingsInput{MultiTenant: &off}))
}

// Shortening retention counts exactly the events the next retention run
// removes; lengthening it, or keeping everything, removes nothing.
func TestImpactOfShorterRetentionCountsWhatPruningRemoves(t *testing.T) {
	e := newEnv(t)
	root := e.setup()
	for day := 0; day < 40; day++ {
		e.addUser(fmt.Sprintf("Day%02d", day), auth.Agent, true)
		e.signIn("mitch@kwgroup.uk") // one sign-in event a day
		e.advance(24*time.Hour + 7*time.Minute)
	}
	e.signIn("mitch@kwgroup.uk")
	root = e.signIn("mitch@kwgroup.uk")
	cutoff := e.clock().AddDate(0, 0, -30)
	want := 0
	for _, ev := range e.events() {
		if ev.Time.Before(cutoff) {
			want++
		}
	}
	if want < 10 {
		t.Fatalf("only %d old events: the test does not test", want)
	}
	thirty, sixty, none := 30, 60, 0
	risk := oneRisk(t, "0 → 30 days", e.impact(root, SettingsInput{RetentionDays: &thirty}), "retentionDays", want,
		"older than 30 days will be removed within the hour")
	if _, err := e.svc.UpdateSettings(root, SettingsInput{RetentionDays: &sixty}); err != nil {
		t.Fatal(err)
	}
	noRisk(t, "60 days: nothing is that old", e.impact(root, SettingsInput{RetentionDays: &sixty}))
	oneRisk(t, "60 → 30 days", e.impact(root, SettingsInput{RetentionDays: &thirty}), "retentionDays", want)
	noRisk(t, "keep everything", e.impact(root, SettingsInput{RetentionDays: &none}))

	if _, err := e.svc.UpdateSettings(root, SettingsInput{RetentionDays: &thirty}); err != nil {
		t.Fatal(err)
	}
	removed, err := e.svc.PruneAudit(context.Background())
	if err != nil || removed != risk.Count {
		t.Fatalf("retention removed %d (%v); the confirmation said %d", removed, err, risk.Count)
	}
	noRisk(t, "after pruning", e.impact(root, SettingsInput{RetentionDays: &thirty}))
}

// Turning the LAN off counts the people signed in from other computers
// (not the window, not a session waiting for its code).
func TestImpactOfLANOffCountsPeopleOnTheLAN(t *testing.T) {
	e := newEnv(t)
	root := e.setup() // signed in from 192.0.2.7
	e.addUser("Sam", auth.Agent, true)
	e.addUser("Dee", auth.Agent, true)
	e.signIn("sam@kwgroup.uk")
	e.signIn("sam@kwgroup.uk") // a second device: still one person
	if _, _, err := e.svc.SignIn(WithCaller(context.Background(), Caller{IP: "desktop"}), SignInInput{Email: "dee@kwgroup.uk", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	off := false
	oneRisk(t, "LAN off", e.impact(root, SettingsInput{LANEnabled: &off}), "lanEnabled", 2,
		"2 people are signed in from other computers, you among them, and will lose access")

	// From the window, with nobody else on the LAN.
	e.advance(SessionIdle + time.Minute)
	_, tok, err := e.svc.SignIn(WithCaller(context.Background(), Caller{IP: "desktop"}), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	window := WithCaller(context.Background(), Caller{Token: tok, IP: "desktop"})
	oneRisk(t, "nobody on the LAN", e.impact(window, SettingsInput{LANEnabled: &off}), "lanEnabled", 0, "Nobody is signed in from another computer")
	e.signIn("sam@kwgroup.uk")
	oneRisk(t, "Sam on the LAN", e.impact(window, SettingsInput{LANEnabled: &off}), "lanEnabled", 1, "1 person is signed in from another computer, and will lose access")
	on := true
	noRisk(t, "staying on", e.impact(window, SettingsInput{LANEnabled: &on}))
	e.advance(SessionIdle + time.Minute)
	oneRisk(t, "only the caller on the LAN", e.impact(e.signIn("mitch@kwgroup.uk"), SettingsInput{LANEnabled: &off}), "lanEnabled", 1, "You are signed in from another computer")
}

// Keeping daily backups fewer days counts the scheduled backups the next
// check deletes, never the newest.
func TestImpactOfFewerBackupDays(t *testing.T) {
	e := newEnv(t)
	e.svc.backupDir = filepath.Join(t.TempDir(), "backups")
	root := e.setup()
	if _, err := e.svc.NewBackupRecoveryKey(root); err != nil {
		t.Fatal(err)
	}
	ten, three := 10, 3
	noRisk(t, "no backups yet", e.impact(root, SettingsInput{BackupKeepDays: &three}))
	if err := os.MkdirAll(e.svc.backupDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for d := 1; d <= 8; d++ {
		name := scheduledPrefix + e.clock().AddDate(0, 0, -d).Format(stampLayout) + backup.Ext
		if err := os.WriteFile(filepath.Join(e.svc.backupDir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(e.svc.backupDir, "renamed-by-hand"+backup.Ext), []byte("x"), 0o600)
	if _, err := e.svc.UpdateSettings(root, SettingsInput{BackupKeepDays: &ten}); err != nil {
		t.Fatal(err)
	}
	oneRisk(t, "10 → 3 days", e.impact(root, SettingsInput{BackupKeepDays: &three}), "backupKeepDays", 5, "5 daily backups older than 3 days")
	noRisk(t, "10 → 10 days", e.impact(root, SettingsInput{BackupKeepDays: &ten}))
	one := 1
	// Every backup is older than a day, but the newest stays.
	oneRisk(t, "10 → 1 day", e.impact(root, SettingsInput{BackupKeepDays: &one}), "backupKeepDays", 7)
}

// Several risky changes at once: each is listed.
func TestImpactListsEachRisk(t *testing.T) {
	e, root := tenantEnv(t)
	e.tenant(root, "Acme")
	on, off := true, false
	risks := e.impact(root, SettingsInput{RequireMFAForAdmins: &on, MultiTenant: &off, LANEnabled: &off})
	var got []string
	for _, r := range risks {
		got = append(got, r.Setting)
	}
	if strings.Join(got, ",") != "requireMfaForAdmins,multiTenant,lanEnabled" {
		t.Fatalf("risks %v", got)
	}
}

// The impact is checked as the save is: the same field errors, and the
// same gate — a MANAGER, a customer tenant's ADMIN and a signed-out caller
// learn nothing, not even another tenant's counts.
func TestImpactIsCheckedLikeTheSave(t *testing.T) {
	e, root := tenantEnv(t)
	acme := e.tenant(root, "Acme")
	e.addPerson("Ada", auth.Admin, true, false, 1)
	e.addPerson("Max", auth.Manager, true, false, 1)
	e.addPerson("Cora", auth.Admin, true, false, acme)
	e.addPerson("Cid", auth.SuperAdmin, true, false, acme) // a SUPER_ADMIN of a customer tenant is a platform admin
	on, off := true, false
	ask := SettingsInput{RequireMFAForAdmins: &on, MultiTenant: &off}

	for _, c := range []struct {
		who  string
		ctx  context.Context
		code Code
	}{
		{"a MANAGER of the admin tenancy", e.signIn("max@example.com"), Forbidden},
		{"an ADMIN of a customer tenant", e.signIn("cora@example.com"), Forbidden},
		{"signed out", e.caller(""), Unauthenticated},
	} {
		out, err := e.svc.SettingsImpact(c.ctx, ask)
		wantCode(t, c.who, err, c.code, "")
		if len(out.Risks) != 0 {
			t.Fatalf("%s was told %+v", c.who, out.Risks)
		}
	}
	if r := e.impact(e.signIn("ada@example.com"), ask); len(r) != 2 || r[0].Count != 4 {
		t.Fatalf("a platform ADMIN: %+v", r)
	}

	bad, big, from := -1, 70000, "gatehouse@kwgroup.uk"
	for _, c := range []struct {
		in    SettingsInput
		field string
	}{
		{SettingsInput{RetentionDays: &bad}, "retentionDays"},
		{SettingsInput{BackupKeepDays: &bad}, "backupKeepDays"},
		{SettingsInput{SMTPPort: &big}, "smtpPort"},
		{SettingsInput{SMTPFromAddress: &from}, "smtpHost"},
	} {
		_, err := e.svc.SettingsImpact(root, c.in)
		wantCode(t, c.field, err, Invalid, c.field)
		_, serr := e.svc.UpdateSettings(root, c.in)
		if AsError(serr).Message != AsError(err).Message {
			t.Errorf("%s: the impact says %q, the save %q", c.field, AsError(err).Message, AsError(serr).Message)
		}
	}
}

func TestCountedWritesNumbersAsEnGB(t *testing.T) {
	for n, want := range map[int]string{0: "0 events", 1: "1 event", 36: "36 events", 1204: "1,204 events", 1000000: "1,000,000 events"} {
		if got := counted(n, "event", "events"); got != want {
			t.Errorf("counted(%d) = %q, want %q", n, got, want)
		}
	}
}
