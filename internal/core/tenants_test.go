package core

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// tenantEnv is an MSP (the admin tenancy, tenant 1) with multi-tenant on.
func tenantEnv(t *testing.T) (*env, context.Context) {
	e := newEnv(t)
	ctx := e.setup()
	on := true
	if _, err := e.svc.UpdateSettings(ctx, SettingsInput{MultiTenant: &on}); err != nil {
		t.Fatal(err)
	}
	return e, ctx
}

func (e *env) tenant(ctx context.Context, name string) uint64 {
	e.t.Helper()
	tv, err := e.svc.CreateTenant(ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return tv.ID
}

// addUserIn stores a user whose own organisation is tenant.
func (e *env) addUserIn(name string, role auth.Role, active bool, tenant uint64) *store.User {
	e.t.Helper()
	hash, _ := e.svc.hasher.Hash(testPassword)
	u := &store.User{Email: strings.ToLower(name) + "@example.com", Name: name, Role: role, Active: active, TenantID: tenant, DefaultTenantID: tenant}
	err := e.db.Update(func(tx *store.Tx) error {
		if err := tx.CreateUser(u, store.Credentials{PasswordHash: hash}); err != nil {
			return err
		}
		return tx.PutMembership(store.Membership{UserID: u.ID, TenantID: tenant})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *env) membership(user, tenant uint64) *store.Membership {
	var m *store.Membership
	e.db.View(func(tx *store.Tx) (err error) { m, err = tx.Membership(user, tenant); return })
	return m
}

func TestShadowMembershipSeeding(t *testing.T) {
	e, ctx := tenantEnv(t)
	acme := e.tenant(ctx, "Acme")
	mspAgent := e.addUserIn("Sam", auth.Agent, true, 1)
	mspGone := e.addUserIn("Gone", auth.Agent, false, 1)
	acmeUser := e.addUserIn("Cora", auth.Admin, true, acme)
	beta := e.tenant(ctx, "Beta")

	cases := []struct {
		name   string
		user   uint64
		tenant uint64
		want   string // "shadow", "listed" or "none"
	}{
		{"the SUPER_ADMIN present at setup", 1, acme, "shadow"},
		{"an active MSP agent, in a tenant made after them", mspAgent.ID, beta, "shadow"},
		{"an inactive MSP user", mspGone.ID, beta, "none"},
		{"a customer-tenancy user", acmeUser.ID, beta, "none"},
		{"a customer user in their own tenant", acmeUser.ID, acme, "listed"},
	}
	check := func() {
		for _, c := range cases {
			m := e.membership(c.user, c.tenant)
			got := "none"
			if m != nil && m.Shadow {
				got = "shadow"
			} else if m != nil {
				got = "listed"
			}
			if got != c.want {
				t.Errorf("%s: %s, want %s", c.name, got, c.want)
			}
		}
	}
	check()

	// Later joiners of the admin tenancy: invited, created, re-activated.
	res, _ := e.svc.InviteUser(ctx, InviteInput{Email: "ivy@kwgroup.uk", Role: "AGENT"})
	ivy, _, err := e.accept(res.Link, "Ivy")
	if err != nil {
		t.Fatal(err)
	}
	jo, err := e.svc.CreateUser(ctx, CreateUserInput{Email: "jo@kwgroup.uk", Name: "Jo", Role: "AGENT", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ReactivateUser(ctx, mspGone.ID); err != nil {
		t.Fatal(err)
	}
	cases = append(cases[:0],
		struct {
			name   string
			user   uint64
			tenant uint64
			want   string
		}{"invited into the MSP later", ivy.User.ID, acme, "shadow"},
		struct {
			name   string
			user   uint64
			tenant uint64
			want   string
		}{"created in the MSP later", jo.ID, beta, "shadow"},
		struct {
			name   string
			user   uint64
			tenant uint64
			want   string
		}{"re-activated in the MSP", mspGone.ID, beta, "shadow"},
	)
	check()
	// Someone invited into a customer tenancy gets no shadows.
	res, _ = e.svc.InviteUser(ctx, InviteInput{Email: "cust@acme.example", Role: "AGENT", TenantID: acme})
	cust, _, err := e.accept(res.Link, "Cust")
	if err != nil {
		t.Fatal(err)
	}
	if e.membership(cust.User.ID, 1) != nil || e.membership(cust.User.ID, beta) != nil || cust.Tenant.ID != acme {
		t.Fatalf("a customer invitee got memberships beyond Acme, or landed in %d", cust.Tenant.ID)
	}
}

func TestShadowMembersCanSwitchInButAreNotListed(t *testing.T) {
	e, ctx := tenantEnv(t)
	e.addUserIn("Sam", auth.Agent, true, 1)
	acme := e.tenant(ctx, "Acme")
	e.addUserIn("Cora", auth.Admin, true, acme)
	sam := e.signIn("sam@example.com")
	me, err := e.svc.SwitchTenant(sam, acme)
	if err != nil || me.Tenant.Name != "Acme" {
		t.Fatalf("switch: %+v %v", me.Tenant, err)
	}
	var names []string
	for _, m := range me.Memberships {
		names = append(names, fmt.Sprintf("%s/%v", m.Name, m.Shadow))
	}
	if strings.Join(names, ",") != "KW Group/false,Acme/true" {
		t.Fatalf("memberships %v", names)
	}
	// The admin, switched into Acme, sees Acme's own users only.
	if _, err := e.svc.SwitchTenant(ctx, acme); err != nil {
		t.Fatal(err)
	}
	page, _ := e.svc.ListUsers(ctx, ListUsersInput{})
	if len(page.Users) != 1 || page.Users[0].Name != "Cora" {
		t.Fatalf("Acme's list: %+v", page.Users)
	}
	// Invitations and Create now act on the current tenant.
	u, err := e.svc.CreateUser(ctx, CreateUserInput{Email: "new@acme.example", Name: "New", Role: "AGENT", Password: testPassword})
	if err != nil || u.TenantID != acme {
		t.Fatalf("create now in Acme: %+v %v", u, err)
	}
}

func TestTenantBadInput(t *testing.T) {
	e, ctx := tenantEnv(t)
	acme := e.tenant(ctx, "Acme")
	beta := e.tenant(ctx, "Beta")
	cora := e.addUserIn("Cora", auth.Admin, true, acme)
	_, err := e.svc.CreateTenant(ctx, " ACME ")
	wantCode(t, "duplicate name, other case", err, Invalid, "name")
	_, err = e.svc.CreateTenant(ctx, "")
	wantCode(t, "empty name", err, Invalid, "name")
	_, err = e.svc.CreateTenant(ctx, strings.Repeat("x", 10240))
	wantCode(t, "10 KB name", err, Invalid, "name")
	_, err = e.svc.RenameTenant(ctx, RenameTenantInput{ID: beta, Name: "acme"})
	wantCode(t, "rename onto another", err, Invalid, "name")
	if _, err := e.svc.RenameTenant(ctx, RenameTenantInput{ID: beta, Name: "Beta Ltd"}); err != nil {
		t.Fatal(err)
	}
	coraCtx := e.signIn("cora@example.com")
	_, err = e.svc.SwitchTenant(coraCtx, beta)
	wantCode(t, "switch to a tenant you are not in", err, NotFound, "")
	_, err = e.svc.SetUserMemberships(ctx, SetMembershipsInput{UserID: cora.ID, TenantIDs: []uint64{acme}, DefaultTenantID: beta})
	wantCode(t, "default not ticked", err, Invalid, "defaultTenantId")
	_, err = e.svc.SetUserMemberships(ctx, SetMembershipsInput{UserID: cora.ID, TenantIDs: []uint64{beta}, DefaultTenantID: beta})
	wantCode(t, "own organisation unticked", err, Invalid, "tenantIds")
	_, err = e.svc.SetUserMemberships(ctx, SetMembershipsInput{UserID: cora.ID, TenantIDs: []uint64{acme, 999}, DefaultTenantID: acme})
	wantCode(t, "unknown tenant", err, Invalid, "tenantIds")
	ms, _ := e.svc.GetUserMemberships(ctx, cora.ID)
	for _, m := range ms {
		if m.Member != (m.ID == acme) {
			t.Fatalf("refused panels changed memberships: %+v", ms)
		}
	}
	tenants, _ := e.svc.ListTenants(ctx)
	if len(tenants) != 3 || tenants[0].Name != "KW Group" || !tenants[0].AdminTenancy || tenants[2].Name != "Beta Ltd" {
		t.Fatalf("tenants %+v", tenants)
	}
}

func TestDefaultTenantDecidesWhereSignInLands(t *testing.T) {
	e, ctx := tenantEnv(t)
	acme := e.tenant(ctx, "Acme")
	dana := e.addUserIn("Dana", auth.Agent, true, acme)
	if me, _ := e.svc.Me(e.signIn("dana@example.com")); me.Tenant.ID != acme {
		t.Fatalf("landed in %d", me.Tenant.ID)
	}
	ms, err := e.svc.SetUserMemberships(ctx, SetMembershipsInput{UserID: dana.ID, TenantIDs: []uint64{1, acme}, DefaultTenantID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ms[0].ID != 1 || !ms[0].Member || ms[0].Shadow || !ms[0].Default {
		t.Fatalf("panel after save: %+v", ms)
	}
	if me, _ := e.svc.Me(e.signIn("dana@example.com")); me.Tenant.ID != 1 {
		t.Fatalf("landed in %d, want the default", me.Tenant.ID)
	}
	// Only a SUPER_ADMIN has the panel.
	cora := e.addUserIn("Cora", auth.Admin, true, 1)
	_ = cora
	_, err = e.svc.GetUserMemberships(e.signIn("cora@example.com"), dana.ID)
	wantCode(t, "admin opens the panel", err, Forbidden, "")
}

func TestMultiTenantOffHidesTenants(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	_, err := e.svc.CreateTenant(ctx, "Acme")
	wantCode(t, "create with multi-tenant off", err, Conflict, "")
	me, _ := e.svc.Me(ctx)
	if me.MultiTenant || len(me.Memberships) != 1 {
		t.Fatalf("me %+v", me)
	}
	on := true
	e.svc.UpdateSettings(ctx, SettingsInput{MultiTenant: &on})
	ev := e.events()[0]
	var meta struct{ Before, After Settings }
	json.Unmarshal(ev.Meta, &meta)
	if ev.Action != ActUpdate || ev.ResourceType != ResSettings || meta.Before.MultiTenant || !meta.After.MultiTenant {
		t.Fatalf("turning multi-tenant on was not audited: %s", ev.Meta)
	}
}

// Every tenant-scoped method, called by each role of tenant Acme with
// Beta's ids, is refused with the same answer as a missing id.
func TestTenantIsolation(t *testing.T) {
	e, ctx := tenantEnv(t)
	acme, beta := e.tenant(ctx, "Acme"), e.tenant(ctx, "Beta")
	betaUser := e.addUserIn("Bob", auth.Agent, true, beta)
	if _, err := e.svc.SwitchTenant(ctx, beta); err != nil {
		t.Fatal(err)
	}
	betaInv, err := e.svc.InviteUser(ctx, InviteInput{Email: "x@beta.example", Role: "AGENT"})
	if err != nil {
		t.Fatal(err)
	}
	const missing = 987654
	calls := map[string]func(ctx context.Context, userID, invID uint64) error{
		"GetUser": func(c context.Context, u, _ uint64) error { return second(e.svc.GetUser(c, u)) },
		"UpdateUser": func(c context.Context, u, _ uint64) error {
			return second(e.svc.UpdateUser(c, UpdateUserInput{ID: u, Name: ptr("Hacked")}))
		},
		"DeactivateUser":   func(c context.Context, u, _ uint64) error { return second(e.svc.DeactivateUser(c, u)) },
		"ReactivateUser":   func(c context.Context, u, _ uint64) error { return second(e.svc.ReactivateUser(c, u)) },
		"InvitationLink":   func(c context.Context, _, i uint64) error { return second(e.svc.InvitationLink(c, i)) },
		"ResendInvitation": func(c context.Context, _, i uint64) error { return second(e.svc.ResendInvitation(c, i)) },
		"RevokeInvitation": func(c context.Context, _, i uint64) error { return second(e.svc.RevokeInvitation(c, i)) },
	}
	for _, role := range []auth.Role{auth.Admin, auth.Manager} {
		e.addUserIn("Acme"+string(role), role, true, acme)
		actor := e.signIn("acme" + strings.ToLower(string(role)) + "@example.com")
		for name, call := range calls {
			crafted := call(actor, betaUser.ID, betaInv.Invitation.ID)
			absent := call(actor, missing, missing)
			if ErrorCode(crafted) != NotFound || crafted.Error() != absent.Error() {
				t.Errorf("%s %s with Beta's ids: %v; with a missing id: %v", role, name, crafted, absent)
			}
		}
		// A crafted tenant id in a request.
		_, err := e.svc.ListUsers(actor, ListUsersInput{TenantID: beta})
		_, errMissing := e.svc.ListUsers(actor, ListUsersInput{TenantID: missing})
		if ErrorCode(err) != NotFound || err.Error() != errMissing.Error() {
			t.Errorf("%s ListUsers of Beta: %v vs %v", role, err, errMissing)
		}
		for name, err := range map[string]error{
			"InviteUser": second(e.svc.InviteUser(actor, InviteInput{Email: "y@beta.example", Role: "AGENT", TenantID: beta})),
			"CreateUser": second(e.svc.CreateUser(actor, CreateUserInput{Email: "y@beta.example", Name: "Y", Role: "AGENT", Password: testPassword, TenantID: beta})),
		} {
			wantCode(t, string(role)+" "+name+" into Beta", err, Forbidden, "tenantId")
		}
		_, err = e.svc.SwitchTenant(actor, beta)
		_, errMissing = e.svc.SwitchTenant(actor, missing)
		if ErrorCode(err) != NotFound || err.Error() != errMissing.Error() {
			t.Errorf("%s SwitchTenant to Beta: %v vs %v", role, err, errMissing)
		}
		for name, err := range map[string]error{
			"ListTenants":    second(e.svc.ListTenants(actor)),
			"CreateTenant":   second(e.svc.CreateTenant(actor, "Mine")),
			"GetSettings":    second(e.svc.GetSettings(actor)),
			"GetMemberships": second(e.svc.GetUserMemberships(actor, betaUser.ID)),
		} {
			wantCode(t, string(role)+" "+name, err, Forbidden, "")
		}
	}
	// Nothing in Beta changed.
	e.db.View(func(tx *store.Tx) error {
		u, _ := tx.User(betaUser.ID)
		if u.Name != "Bob" || !u.Active {
			t.Errorf("Beta's user changed: %+v", u)
		}
		return nil
	})
	// The SUPER_ADMIN manages across tenants, with the users-list filter.
	page, err := e.svc.ListUsers(ctx, ListUsersInput{TenantID: acme})
	if err != nil || len(page.Users) != 2 {
		t.Fatalf("super admin lists Acme: %d users, %v", len(page.Users), err)
	}
}

func TestTheLANCanBeTurnedOffInSettings(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	if on, err := e.svc.LANEnabled(); !on || err != nil {
		t.Fatalf("the LAN is off by default: %v", err)
	}
	off := false
	got, err := e.svc.UpdateSettings(ctx, SettingsInput{LANEnabled: &off})
	if on, lerr := e.svc.LANEnabled(); err != nil || lerr != nil || got.LANEnabled || on {
		t.Fatalf("turning the LAN off: %+v %v", got.LANEnabled, err)
	}
}

// The memberships panel as documented (issue 11): newly ticked tenants
// become listed, ticked shadow memberships stay shadow, unticked ones are
// removed, and each customer tenant's log names only itself.
func TestSetMembershipsTicksKeepsAndRemoves(t *testing.T) {
	e, ctx := tenantEnv(t)
	acme, beta, gamma := e.tenant(ctx, "Acme"), e.tenant(ctx, "Beta"), e.tenant(ctx, "Gamma")
	sam := e.addUserIn("Sam", auth.Agent, true, 1)
	// Sam joined the admin tenancy after the tenants existed: no shadows yet.
	if err := e.db.Update(func(tx *store.Tx) error {
		return tx.PutMembership(store.Membership{UserID: sam.ID, TenantID: beta, Shadow: true})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetUserMemberships(ctx, SetMembershipsInput{UserID: sam.ID, TenantIDs: []uint64{1, acme, beta}, DefaultTenantID: 1}); err != nil {
		t.Fatal(err)
	}
	if m := e.membership(sam.ID, acme); m == nil || m.Shadow {
		t.Fatalf("newly ticked Acme: %+v", m)
	}
	if m := e.membership(sam.ID, beta); m == nil || !m.Shadow {
		t.Fatalf("ticked shadow Beta must stay shadow: %+v", m)
	}
	if _, err := e.svc.SetUserMemberships(ctx, SetMembershipsInput{UserID: sam.ID, TenantIDs: []uint64{1, gamma}, DefaultTenantID: 1}); err != nil {
		t.Fatal(err)
	}
	if e.membership(sam.ID, acme) != nil || e.membership(sam.ID, beta) != nil {
		t.Fatal("unticked tenants were kept")
	}
	if m := e.membership(sam.ID, gamma); m == nil || m.Shadow {
		t.Fatalf("Gamma: %+v", m)
	}
	names := map[uint64]string{acme: "Acme", beta: "Beta", gamma: "Gamma"}
	for tenant, own := range names {
		for _, ev := range e.eventsOf(tenant) {
			if ev.Action != ActMemberships {
				continue
			}
			for other, name := range names {
				if other != tenant && strings.Contains(string(ev.Meta), name) {
					t.Errorf("%s's log names %s: %s", own, name, ev.Meta)
				}
			}
		}
	}
}
