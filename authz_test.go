package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/core"
	"gatehouse/internal/mail"
	"gatehouse/internal/store"
)

// The generated authorisation matrix (issue 10): every bound method × every
// role × every kind of target — the caller's own tenant, another tenant, a
// user who holds only a shadow membership here, a user listed here whose
// home is elsewhere, a user who outranks the caller, and the caller
// themself. The expected answer is computed from the permission table
// (auth.Role.Can, CanGrant) and the tenant rules of product.md §13, never
// copied from what the code answers; each case runs on its own copy of one
// prepared database, so a change in one case cannot help another.

// scope is what a call is aimed at, relative to the caller.
type scope string

const (
	atNothing scope = "-"      // no target
	atSelf    scope = "self"   // the caller themself
	atOwn     scope = "own"    // a CUSTOMER (or an invitation) of the caller's tenant
	atOther   scope = "other"  // something of another customer tenant
	atShadow  scope = "shadow" // a user whose only membership here is a shadow one
	atListed  scope = "listed" // a user listed here whose home is another tenant
	atHigher  scope = "higher" // a user or invitation whose role is above the caller's
	atPeer    scope = "peer"   // another user of the caller's tenant with the caller's role
)

// guard is who may call a method at all.
type guard struct {
	public   bool            // anyone, signed in or not
	cap      auth.Capability // "" with !public: any signed-in user
	platform bool            // administrators of the admin tenancy only
}

// target is how a method's answer depends on what it is aimed at.
type target int

const (
	noTarget     target = iota
	userToRead          // sees a user
	userToChange        // changes a user
	userTakeOver        // sets a user's credentials (could then sign in as them)
	invitation          // uses an invitation's powers (always needs CanGrant)
	tenantScoped        // reads or writes in a tenant given by id
	roleGiven           // gives a role, in a tenant given by id
	memberOf            // works in a tenant given by id: its members, or cross-tenant power
	switchTo            // moves the session into a tenant: its members only
	ownSession          // works on one of the caller's own sessions
)

// authzRow is one method of App in the matrix.
type authzRow struct {
	guard  guard
	target target
	// self says whether the method may be aimed at the caller themself
	// (for user targets), once the guard lets them in.
	self bool
	// call invokes the method on app, aimed at id (a user, invitation,
	// tenant or session depending on target; role for roleGiven).
	call func(app *App, c *authzCase) error
}

// authzCase is one call of the matrix.
type authzCase struct {
	id     uint64
	tenant uint64
	role   auth.Role
	sessID string
	dir    string
}

var (
	anyone    = guard{public: true}
	signedIn  = guard{}
	platform  = guard{cap: auth.ManageSettings, platform: true}
	needsUser = guard{cap: auth.ManageUsers}
	needsLog  = guard{cap: auth.ViewAudit}
	needsX    = guard{cap: auth.CrossTenant}
)

func ignore[T any](_ T, err error) error { return err }

func ptr[T any](v T) *T { return &v }

// authzRows is the permission table as the matrix reads it. Adding a method
// to App without a row here fails TestAuthorisationMatrix.
var authzRows = map[string]authzRow{
	"SetupStatus": {guard: anyone, call: func(a *App, _ *authzCase) error { return ignore(a.SetupStatus()) }},
	"Setup": {guard: anyone, call: func(a *App, _ *authzCase) error {
		return ignore(a.Setup(core.SetupInput{Organisation: "Rogue", Email: "rogue@example.com", Name: "Rogue", Password: "rogue password 1"}))
	}},
	"SignIn": {guard: anyone, call: func(a *App, _ *authzCase) error {
		return ignore(a.SignIn(core.SignInInput{Email: "nobody@example.com", Password: "wrong password"}))
	}},
	"SignInTOTP":     {guard: anyone, call: func(a *App, _ *authzCase) error { return ignore(a.SignInTOTP(core.SignInTOTPInput{Code: "123456"})) }},
	"InvitationInfo": {guard: anyone, call: func(a *App, _ *authzCase) error { return ignore(a.InvitationInfo(auth.NewToken())) }},
	"AcceptInvitation": {guard: anyone, call: func(a *App, _ *authzCase) error {
		return ignore(a.AcceptInvitation(core.AcceptInput{Token: auth.NewToken(), Name: "X", Password: "a long password"}))
	}},
	// Signing out is idempotent: without a session it is already done.
	"RequestPasswordReset": {guard: anyone, call: func(a *App, _ *authzCase) error {
		return a.RequestPasswordReset(core.ForgotPasswordInput{Email: "acme-agent@example.com"})
	}},
	"PasswordResetInfo": {guard: anyone, call: func(a *App, _ *authzCase) error { return ignore(a.PasswordResetInfo(auth.NewToken())) }},
	"ResetPassword": {guard: anyone, call: func(a *App, _ *authzCase) error {
		return ignore(a.ResetPassword(core.ResetPasswordInput{Token: auth.NewToken(), Password: "a long new password"}))
	}},
	"SignOut":           {guard: anyone, call: func(a *App, _ *authzCase) error { return a.SignOut() }},
	"Me":                {guard: signedIn, call: func(a *App, _ *authzCase) error { return ignore(a.Me()) }},
	"ListMySessions":    {guard: signedIn, call: func(a *App, _ *authzCase) error { return ignore(a.ListMySessions()) }},
	"SignOutEverywhere": {guard: signedIn, call: func(a *App, _ *authzCase) error { return a.SignOutEverywhere() }},
	"SignOutSession":    {guard: signedIn, target: ownSession, call: func(a *App, c *authzCase) error { return a.SignOutSession(c.sessID) }},
	"BeginTOTP":         {guard: signedIn, call: func(a *App, _ *authzCase) error { return ignore(a.BeginTOTP()) }},
	"ConfirmTOTP":       {guard: signedIn, call: func(a *App, _ *authzCase) error { return ignore(a.ConfirmTOTP(core.ConfirmTOTPInput{Code: "123456"})) }},
	"DisableTOTP": {guard: signedIn, call: func(a *App, _ *authzCase) error {
		return ignore(a.DisableTOTP(core.DisableTOTPInput{Password: matrixPassword, Code: "123456"}))
	}},
	"NewRecoveryCodes": {guard: signedIn, call: func(a *App, _ *authzCase) error {
		return ignore(a.NewRecoveryCodes(core.NewRecoveryCodesInput{Password: matrixPassword}))
	}},
	"ChangePassword": {guard: signedIn, call: func(a *App, _ *authzCase) error {
		return a.ChangePassword(core.ChangePasswordInput{Current: matrixPassword, New: "another long passphrase"})
	}},
	"SwitchTenant": {guard: signedIn, target: switchTo, call: func(a *App, c *authzCase) error { return ignore(a.SwitchTenant(c.tenant)) }},

	"ListUsers": {guard: needsUser, target: memberOf, call: func(a *App, c *authzCase) error {
		return ignore(a.ListUsers(core.ListUsersInput{TenantID: c.tenant}))
	}},
	"SaveUsersExport": {guard: needsUser, target: memberOf, call: func(a *App, c *authzCase) error {
		return ignore(a.SaveUsersExport(core.ListUsersInput{TenantID: c.tenant}))
	}},
	"GetUser": {guard: needsUser, target: userToRead, self: true, call: func(a *App, c *authzCase) error { return ignore(a.GetUser(c.id)) }},
	"UpdateUser": {guard: needsUser, target: userToChange, self: true, call: func(a *App, c *authzCase) error {
		return ignore(a.UpdateUser(core.UpdateUserInput{ID: c.id, Name: ptr("Renamed Person")}))
	}},
	"DeactivateUser":    {guard: needsUser, target: userToChange, call: func(a *App, c *authzCase) error { return ignore(a.DeactivateUser(c.id)) }},
	"ReactivateUser":    {guard: needsUser, target: userToChange, self: true, call: func(a *App, c *authzCase) error { return ignore(a.ReactivateUser(c.id)) }},
	"UnlockUser":        {guard: needsUser, target: userToChange, call: func(a *App, c *authzCase) error { return ignore(a.UnlockUser(c.id)) }},
	"SendPasswordReset": {guard: needsUser, target: userTakeOver, call: func(a *App, c *authzCase) error { return ignore(a.SendPasswordReset(c.id)) }},
	"SetTemporaryPassword": {guard: needsUser, target: userTakeOver, call: func(a *App, c *authzCase) error {
		return ignore(a.SetTemporaryPassword(core.SetTemporaryPasswordInput{UserID: c.id, Password: "a temporary password"}))
	}},
	"BulkUsers": {guard: needsUser, target: userToChange, call: func(a *App, c *authzCase) error {
		res, err := a.BulkUsers(core.BulkInput{IDs: []uint64{c.id}, Action: "deactivate"})
		if err == nil && len(res.Refused) > 0 {
			return &core.Error{Code: core.Forbidden, Message: res.Refused[0].Why}
		}
		return err
	}},
	"ListUserSessions": {guard: needsUser, target: userToChange, self: true, call: func(a *App, c *authzCase) error { return ignore(a.ListUserSessions(c.id)) }},
	"EndUserSession": {guard: needsUser, target: userToChange, self: true, call: func(a *App, c *authzCase) error {
		err := a.EndUserSession(core.EndUserSessionInput{UserID: c.id, SessionID: "0000000000000000"})
		if core.ErrorCode(err) == core.NotFound && err.Error() == "That session has already ended." {
			return nil // the guard let it through; there was no such session
		}
		return err
	}},
	"CreateUser": {guard: needsUser, target: roleGiven, call: func(a *App, c *authzCase) error {
		return ignore(a.CreateUser(core.CreateUserInput{Email: "new.person@example.com", Name: "New Person", Role: string(c.role), Password: "a long temporary password", TenantID: c.tenant}))
	}},
	"InviteUser": {guard: needsUser, target: roleGiven, call: func(a *App, c *authzCase) error {
		return ignore(a.InviteUser(core.InviteInput{Email: "invited.person@example.com", Role: string(c.role), TenantID: c.tenant}))
	}},
	"SendUnsentInvitations": {guard: needsUser, call: func(a *App, _ *authzCase) error { return ignore(a.SendUnsentInvitations()) }},
	"ListInvitations": {guard: needsUser, call: func(a *App, _ *authzCase) error {
		return ignore(a.ListInvitations(core.ListInvitationsInput{All: true}))
	}},
	"InvitationLink":   {guard: needsUser, target: invitation, call: func(a *App, c *authzCase) error { return ignore(a.InvitationLink(c.id)) }},
	"ResendInvitation": {guard: needsUser, target: invitation, call: func(a *App, c *authzCase) error { return ignore(a.ResendInvitation(c.id)) }},
	"BulkResendInvitations": {guard: needsUser, target: invitation, call: func(a *App, c *authzCase) error {
		res, err := a.BulkResendInvitations(core.ResendInvitationsInput{IDs: []uint64{c.id}})
		if err == nil && len(res.Refused) > 0 {
			return &core.Error{Code: core.Forbidden, Message: res.Refused[0].Why}
		}
		return err
	}},
	"RevokeInvitation": {guard: needsUser, target: invitation, call: func(a *App, c *authzCase) error { return ignore(a.RevokeInvitation(c.id)) }},

	"GetUserMemberships": {guard: needsX, target: userToRead, self: true, call: func(a *App, c *authzCase) error { return ignore(a.GetUserMemberships(c.id)) }},
	"SetUserMemberships": {guard: needsX, target: userToChange, self: true, call: func(a *App, c *authzCase) error {
		ms, err := a.GetUserMemberships(c.id)
		if err != nil {
			return err
		}
		in := core.SetMembershipsInput{UserID: c.id}
		for _, m := range ms {
			if m.Member {
				in.TenantIDs = append(in.TenantIDs, m.ID)
			}
			if m.Default {
				in.DefaultTenantID = m.ID
			}
		}
		return ignore(a.SetUserMemberships(in))
	}},
	"ResetUserTOTP": {guard: needsX, target: userToChange, call: func(a *App, c *authzCase) error {
		return ignore(a.ResetUserTOTP(core.ResetUserTOTPInput{UserID: c.id, Password: matrixPassword}))
	}},

	"ListAudit":       {guard: needsLog, target: tenantScoped, call: func(a *App, c *authzCase) error { return ignore(a.ListAudit(core.AuditFilter{TenantID: c.tenant})) }},
	"GetAuditStats":   {guard: needsLog, target: tenantScoped, call: func(a *App, c *authzCase) error { return ignore(a.GetAuditStats(c.tenant)) }},
	"GetAuditOptions": {guard: needsLog, target: tenantScoped, call: func(a *App, c *authzCase) error { return ignore(a.GetAuditOptions(c.tenant)) }},
	"SuggestAuditUsers": {guard: needsLog, target: tenantScoped, call: func(a *App, c *authzCase) error {
		return ignore(a.SuggestAuditUsers(c.tenant, "a"))
	}},
	"SaveAuditExport": {guard: needsLog, target: tenantScoped, call: func(a *App, c *authzCase) error {
		return ignore(a.SaveAuditExport(core.AuditFilter{TenantID: c.tenant}, "csv"))
	}},

	"GetSettings": {guard: platform, call: func(a *App, _ *authzCase) error { return ignore(a.GetSettings()) }},
	"UpdateSettings": {guard: platform, call: func(a *App, _ *authzCase) error {
		return ignore(a.UpdateSettings(core.SettingsInput{RetentionDays: ptr(400)}))
	}},
	"SettingsImpact": {guard: platform, call: func(a *App, _ *authzCase) error {
		return ignore(a.SettingsImpact(core.SettingsInput{RequireMFAForAdmins: ptr(true), RetentionDays: ptr(1)}))
	}},
	"SendTestEmail": {guard: platform, call: func(a *App, _ *authzCase) error { return ignore(a.SendTestEmail("it@example.com")) }},
	"ListTenants":   {guard: platform, call: func(a *App, _ *authzCase) error { return ignore(a.ListTenants()) }},
	"CreateTenant":  {guard: platform, call: func(a *App, _ *authzCase) error { return ignore(a.CreateTenant("Gamma Ltd")) }},
	"RenameTenant": {guard: platform, target: tenantScoped, call: func(a *App, c *authzCase) error {
		return ignore(a.RenameTenant(core.RenameTenantInput{ID: c.tenant, Name: "Renamed Ltd"}))
	}},
	"VerifyAudit": {guard: platform, call: func(a *App, _ *authzCase) error { return ignore(a.VerifyAudit()) }},
	"BackupNow":   {guard: platform, call: func(a *App, _ *authzCase) error { return ignore(a.BackupNow()) }},
	"SaveBackup": {guard: platform, call: func(a *App, _ *authzCase) error {
		return ignore(a.SaveBackup("a long enough passphrase"))
	}},
	"NewBackupRecoveryKey": {guard: platform, call: func(a *App, _ *authzCase) error { return ignore(a.NewBackupRecoveryKey()) }},
	"SetLANCertificate": {guard: platform, call: func(a *App, _ *authzCase) error {
		return ignore(a.SetLANCertificate(core.LANCertificateInput{CertPEM: "x", KeyPEM: "y"}))
	}},
}

const matrixPassword = "matrix password 1"

// matrixCaller is one signed-in caller of the matrix.
type matrixCaller struct {
	name  string // e.g. acme-MANAGER
	role  auth.Role
	home  string // msp (the admin tenancy) or acme (a customer tenant)
	token string
	sess  string // the id of their session, as ListMySessions shows it
}

// matrixWorld is the prepared database every case starts from.
type matrixWorld struct {
	raw     []byte // the database file
	tenants map[string]uint64
	users   map[string]uint64
	invites map[string]uint64 // tenant-role
	callers []*matrixCaller
}

type nullMailer struct{}

func (nullMailer) Send(context.Context, mail.Config, mail.Message) error { return nil }

var matrixKey = []byte("matrix audit chain key")

// testSealer seals with a fixed key, as a data folder's key file would.
func testSealer(t testing.TB) *auth.Sealer {
	s, err := auth.NewSealer(auth.HashToken("test sealing key"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openMatrixDB(t testing.TB, dir string) *store.DB {
	db, err := store.Open(dir, store.Options{LockTimeout: time.Second, RerunWrites: true, AuditKey: matrixKey})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// buildMatrixWorld makes the admin tenancy (msp), two customer tenants
// (acme, beta), a user of every role at home in msp and in acme, targets,
// listed and shadow memberships, and invitations of every role.
func buildMatrixWorld(t *testing.T) *matrixWorld {
	dir := t.TempDir()
	db := openMatrixDB(t, dir)
	defer db.Close()
	hasher := auth.NewHasher(4, 2)
	svc := core.New(core.Config{DB: db, Sealer: testSealer(t), Hasher: hasher, Mailer: nullMailer{}, BackupDir: t.TempDir()})
	w := &matrixWorld{tenants: map[string]uint64{}, users: map[string]uint64{}, invites: map[string]uint64{}}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	anon := core.WithCaller(context.Background(), core.Caller{IP: "192.0.2.1"})
	must("setup", ignore(svc.Setup(anon, core.SetupInput{Organisation: "MSP", Email: "msp-super_admin@msp.example", Name: "Root", Password: matrixPassword, Code: svc.SetupCode()})))
	_, rootTok, err := svc.SignIn(anon, core.SignInInput{Email: "msp-super_admin@msp.example", Password: matrixPassword})
	must("sign in root", err)
	root := core.WithCaller(context.Background(), core.Caller{Token: rootTok, IP: "192.0.2.1"})
	must("settings", ignore(svc.UpdateSettings(root, core.SettingsInput{MultiTenant: ptr(true), AdminReset2FA: ptr(true)})))
	w.tenants["msp"] = 1
	hash, err := hasher.Hash(matrixPassword)
	must("hash", err)
	addUser := func(name string, role auth.Role, home string) {
		u := &store.User{Email: strings.ToLower(name) + "@example.com", Name: name, Role: role, Active: true,
			TenantID: w.tenants[home], DefaultTenantID: w.tenants[home], CreatedAt: time.Now()}
		must("add "+name, db.Update(func(tx *store.Tx) error {
			if err := tx.CreateUser(u, store.Credentials{PasswordHash: hash}); err != nil {
				return err
			}
			return tx.PutMembership(store.Membership{UserID: u.ID, TenantID: w.tenants[home], CreatedAt: time.Now()})
		}))
		w.users[name] = u.ID
	}
	// The admin tenancy's people exist before the customer tenants, so
	// creating those gives them shadow memberships there.
	w.users["msp-SUPER_ADMIN"] = 1
	for _, r := range auth.Roles[1:] {
		addUser("msp-"+string(r), r, "msp")
	}
	for _, r := range auth.Roles {
		addUser("msp-peer-"+string(r), r, "msp")
	}
	addUser("msp-target", auth.Customer, "msp")
	addUser("msp-listed", auth.Customer, "msp")
	for _, name := range []string{"Acme Ltd", "Beta Ltd"} {
		tv, err := svc.CreateTenant(root, name)
		must("tenant "+name, err)
		w.tenants[strings.ToLower(strings.Fields(name)[0])] = tv.ID
	}
	for _, r := range auth.Roles {
		addUser("acme-"+string(r), r, "acme")
		addUser("acme-peer-"+string(r), r, "acme")
	}
	addUser("acme-target", auth.Customer, "acme")
	addUser("beta-target", auth.Customer, "beta")
	addUser("beta-listed", auth.Customer, "beta")
	listed := func(user, tenant string) {
		must("list "+user, db.Update(func(tx *store.Tx) error {
			return tx.PutMembership(store.Membership{UserID: w.users[user], TenantID: w.tenants[tenant], CreatedAt: time.Now()})
		}))
	}
	listed("msp-listed", "acme") // replaces the shadow membership seeded with the tenant
	listed("beta-listed", "msp")
	for _, tn := range []string{"msp", "acme", "beta"} {
		for _, r := range []auth.Role{auth.Admin, auth.Manager, auth.Agent} {
			res, err := svc.InviteUser(root, core.InviteInput{Email: fmt.Sprintf("inv-%s-%s@example.com", tn, strings.ToLower(string(r))), Role: string(r), TenantID: w.tenants[tn]})
			must("invite", err)
			w.invites[tn+"-"+string(r)] = res.Invitation.ID
		}
	}
	for _, home := range []string{"msp", "acme"} {
		for _, r := range auth.Roles {
			name := home + "-" + string(r)
			email := strings.ToLower(name) + "@example.com"
			if name == "msp-SUPER_ADMIN" {
				email = "msp-super_admin@msp.example"
			}
			_, tok, err := svc.SignIn(anon, core.SignInInput{Email: email, Password: matrixPassword})
			must("sign in "+name, err)
			ctx := core.WithCaller(context.Background(), core.Caller{Token: tok, IP: "192.0.2.1"})
			ss, err := svc.ListMySessions(ctx)
			must("sessions", err)
			c := &matrixCaller{name: name, role: r, home: home, token: tok}
			for _, s := range ss {
				if s.Current {
					c.sess = s.ID
				}
			}
			w.callers = append(w.callers, c)
		}
	}
	copyPath := filepath.Join(t.TempDir(), "template.db")
	_, err = db.BackupTo(copyPath, nil)
	must("template", err)
	w.raw, err = os.ReadFile(copyPath)
	must("read template", err)
	return w
}

// next is the lowest role above r, if any.
func next(r auth.Role) (auth.Role, bool) {
	for i := len(auth.Roles) - 1; i >= 0; i-- {
		if auth.Roles[i].Rank() > r.Rank() {
			return auth.Roles[i], true
		}
	}
	return "", false
}

// scopesOf lists the targets a method is tried against, with what each aims at.
func (w *matrixWorld) scopesOf(row authzRow, c *matrixCaller) map[scope]authzCase {
	here := c.home
	out := map[scope]authzCase{}
	up, hasUp := next(c.role)
	switch row.target {
	case noTarget:
		out[atNothing] = authzCase{}
	case ownSession:
		out[atOwn] = authzCase{sessID: c.sess}
		for _, o := range w.callers {
			if o != c {
				out[atOther] = authzCase{sessID: o.sess}
				break
			}
		}
	case userToRead, userToChange, userTakeOver:
		out[atSelf] = authzCase{id: w.users[c.name]}
		out[atPeer] = authzCase{id: w.users[here+"-peer-"+string(c.role)]}
		out[atOwn] = authzCase{id: w.users[here+"-target"]}
		out[atOther] = authzCase{id: w.users["beta-target"]}
		if here == "acme" {
			out[atShadow] = authzCase{id: w.users["msp-target"]}
			out[atListed] = authzCase{id: w.users["msp-listed"]}
		} else {
			out[atListed] = authzCase{id: w.users["beta-listed"]}
		}
		if hasUp {
			out[atHigher] = authzCase{id: w.users[here+"-"+string(up)]}
		}
	case invitation:
		out[atOwn] = authzCase{id: w.invites[here+"-AGENT"]}
		out[atOther] = authzCase{id: w.invites["beta-AGENT"]}
		if hasUp && (up == auth.Admin || up == auth.Manager) {
			out[atHigher] = authzCase{id: w.invites[here+"-"+string(up)]}
		}
	case tenantScoped:
		out[atOwn] = authzCase{tenant: w.tenants[here]}
		out[atOther] = authzCase{tenant: w.tenants["beta"]}
	case roleGiven:
		out[atOwn] = authzCase{tenant: w.tenants[here], role: auth.Agent}
		out[atOther] = authzCase{tenant: w.tenants["beta"], role: auth.Agent}
		if hasUp && up != auth.SuperAdmin { // nobody is invited or created as SUPER_ADMIN
			out[atHigher] = authzCase{tenant: w.tenants[here], role: up}
		}
	case memberOf, switchTo:
		out[atOwn] = authzCase{tenant: w.tenants[here]}
		out[atOther] = authzCase{tenant: w.tenants["beta"]}
	}
	return out
}

// allowed is the expected answer, read from the permission table and the
// tenant rules; nil caller is someone who is not signed in.
func allowed(row authzRow, c *matrixCaller, at scope) bool {
	if row.guard.public {
		return true
	}
	if c == nil {
		return false
	}
	r := c.role
	if row.guard.cap != "" && !r.Can(row.guard.cap) {
		return false
	}
	if row.guard.platform && !(r == auth.SuperAdmin || c.home == "msp") {
		return false
	}
	cross := r.Can(auth.CrossTenant)
	switch row.target {
	case ownSession:
		return at == atOwn // nobody ends someone else's session by id
	case memberOf, switchTo:
		if cross && row.target == memberOf {
			return true
		}
		// Admin-tenancy staff hold a shadow membership of every customer
		// tenant (§5): they may switch into it and operate there.
		return at == atOwn || c.home == "msp"
	case tenantScoped:
		return at == atOwn || cross || row.guard.platform
	case roleGiven:
		if at == atHigher {
			return false // nobody gives a role above their own
		}
		// In another tenant: with cross-tenant power, or as admin-tenancy
		// staff, whose shadow membership lets them operate there (§5).
		return at == atOwn || cross || c.home == "msp"
	case invitation:
		switch at {
		case atHigher:
			return false
		case atOther:
			return cross
		}
		return true
	case userToRead, userToChange, userTakeOver:
		switch at {
		case atPeer:
			// Equals may change each other; taking over a peer's sign-in
			// needs a higher role (a SUPER_ADMIN has every power already).
			return row.target != userTakeOver || r == auth.SuperAdmin
		case atSelf:
			return row.self
		case atOwn:
			return true
		case atOther, atShadow:
			return cross // no membership of any kind makes them a target here
		case atListed:
			return cross || row.target == userToRead // seen, but changed only by their home
		case atHigher:
			return row.target == userToRead
		}
	}
	return true
}

// refusal reports whether err is an authorisation refusal.
func refusal(err error) bool {
	switch core.ErrorCode(err) {
	case core.Forbidden, core.NotFound, core.Unauthenticated:
		return true
	}
	return false
}

func TestAuthorisationMatrix(t *testing.T) {
	appType := reflect.TypeOf(&App{})
	var methods []string
	for i := 0; i < appType.NumMethod(); i++ {
		methods = append(methods, appType.Method(i).Name)
	}
	for _, m := range methods {
		if _, ok := authzRows[m]; !ok {
			t.Errorf("App.%s has no row in authzRows: say who may call it", m)
		}
	}
	for m := range authzRows {
		if _, ok := appType.MethodByName(m); !ok {
			t.Errorf("authzRows has %s, which App does not have", m)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	w := buildMatrixWorld(t)
	sealer := testSealer(t)
	sort.Strings(methods)
	var mu sync.Mutex
	counts := map[bool]int{}
	for _, m := range methods {
		row := authzRows[m]
		t.Run(m, func(t *testing.T) {
			t.Parallel()
			run := func(c *matrixCaller, at scope, ac authzCase) error {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, store.FileName), w.raw, 0o600); err != nil {
					t.Fatal(err)
				}
				db := openMatrixDB(t, dir)
				defer db.Close()
				svc := core.New(core.Config{DB: db, Sealer: sealer, Hasher: auth.NewHasher(4, 1), Mailer: nullMailer{}, BackupDir: dir})
				sess := newWindowSession(svc, dir)
				if c != nil {
					sess.token = c.token
				}
				app := newApp(svc, sess, "192.0.2.1", "matrix")
				app.saveFile = func(_, name string) (string, error) { return filepath.Join(dir, name), nil }
				ac.dir = dir
				return row.call(app, &ac)
			}
			var publicAnswer map[string]core.Code
			if row.guard.public {
				publicAnswer = map[string]core.Code{}
			}
			for _, c := range append([]*matrixCaller{nil}, w.callers...) {
				scopes := map[scope]authzCase{atNothing: {}}
				name := "anonymous"
				if c != nil {
					scopes = w.scopesOf(row, c)
					name = c.name
				} else if row.target != noTarget {
					scopes = w.scopesOf(row, w.callers[0])
				}
				for at, ac := range scopes {
					err := run(c, at, ac)
					want := allowed(row, c, at)
					if core.ErrorCode(err) == core.Internal {
						t.Errorf("%s as %s at %s: internal error %v", m, name, at, err)
						continue
					}
					if publicAnswer != nil {
						publicAnswer[name] = core.ErrorCode(err)
					}
					if row.guard.public {
						continue // judged below: the same answer for everyone
					}
					if got := !refusal(err); got != want {
						t.Errorf("%s as %s aimed at %s: allowed=%v (%v), the permission table says %v", m, name, at, got, err, want)
					}
					mu.Lock()
					counts[want]++
					mu.Unlock()
				}
			}
			// A public method answers everyone alike: who calls it changes nothing.
			var first *core.Code
			for who, code := range publicAnswer {
				if first == nil {
					first = &code
				} else if code != *first && who != "anonymous" {
					t.Errorf("%s answers %s with %q but others with %q", m, who, code, *first)
				}
			}
		})
	}
	t.Cleanup(func() {
		if counts[true] == 0 || counts[false] == 0 {
			t.Errorf("the matrix ran %d allowed and %d refused calls; both must be exercised", counts[true], counts[false])
		}
	})
}
