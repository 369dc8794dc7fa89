package core

import (
	"context"
	"encoding/json"
	"fmt"
	"gatehouse/internal/store/storetest"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

func TestInviteAcceptAndSignIn(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	e.configureSMTP(ctx)
	res, err := e.svc.InviteUser(ctx, InviteInput{Email: "  Emma@KWGroup.uk ", Role: "AGENT"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Link, "https://gatehouse.test:8420/invite/accept?token=") || !auth.WellFormedToken(tokenOf(res.Link)) {
		t.Fatalf("link %q", res.Link)
	}
	if res.Invitation.State != "pending" || res.Invitation.Mail.State != "queued" || !res.Invitation.ExpiresAt.Equal(e.clock().Add(7*24*time.Hour)) {
		t.Fatalf("invitation %+v", res.Invitation)
	}
	e.deliver()
	sent := e.mailer.messages()
	if len(sent) != 1 || sent[0].To != "Emma@kwgroup.uk" || !strings.Contains(sent[0].Text, res.Link) || !strings.Contains(sent[0].HTML, "Accept the invitation") {
		t.Fatalf("sent %+v", sent)
	}
	list, _ := e.invitations(ctx, ListInvitationsInput{})
	if len(list) != 1 || list[0].Mail.State != "sent" {
		t.Fatalf("after delivery: %+v", list)
	}

	info, _ := e.svc.InvitationInfo(context.Background(), tokenOf(res.Link))
	if info.State != "pending" || info.InviterName != "Mitch" || info.TenantName != "KW Group" || info.Role != auth.Agent {
		t.Fatalf("info %+v", info)
	}
	me, emma, err := e.accept(res.Link, "Emma 🌟 Watts")
	if err != nil || me.User.Role != auth.Agent || me.User.Name != "Emma 🌟 Watts" {
		t.Fatalf("accept: %+v %v", me, err)
	}
	if _, err := e.svc.Me(emma); err != nil {
		t.Fatalf("the new user is not signed in: %v", err)
	}
	e.signIn("emma@kwgroup.uk")
	page, _ := e.svc.ListUsers(ctx, ListUsersInput{Search: "emma"})
	if len(page.Users) != 1 {
		t.Fatalf("the new user is not listed")
	}
	if list, _ := e.invitations(ctx, ListInvitationsInput{}); len(list) != 0 {
		t.Fatalf("an accepted invitation is still pending: %+v", list)
	}
	if list, _ := e.invitations(ctx, ListInvitationsInput{All: true}); len(list) != 1 || list[0].State != "accepted" {
		t.Fatalf("all invitations: %+v", list)
	}
}

func TestInvitationLinksThatNoLongerWork(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	invite := func(email string) InviteResult {
		res, err := e.svc.InviteUser(ctx, InviteInput{Email: email, Role: "AGENT"})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	used, revoked, expired, resent := invite("used@kwgroup.uk"), invite("revoked@kwgroup.uk"), invite("expired@kwgroup.uk"), invite("resent@kwgroup.uk")
	if _, _, err := e.accept(used.Link, "Used"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RevokeInvitation(ctx, revoked.Invitation.ID); err != nil {
		t.Fatal(err)
	}
	fresh, err := e.svc.ResendInvitation(ctx, resent.Invitation.ID)
	if err != nil || fresh.Link == resent.Link {
		t.Fatalf("resend: %v", err)
	}
	e.advance(7*24*time.Hour + time.Second) // every link made above is now past its 7 days
	ctx = e.signIn("mitch@kwgroup.uk")      // the admin's session idled out meanwhile
	cases := []struct {
		name, link, state, msg string
	}{
		{"used", used.Link, "accepted", "already been used"},
		{"revoked", revoked.Link, "revoked", "withdrawn"},
		{"expired", expired.Link, "expired", "expired"},
		{"old link after resend", resent.Link, "unknown", "not valid"},
		{"unknown", "x?token=" + auth.NewToken(), "unknown", "not valid"},
		{"garbage", "x?token=<script>", "unknown", "not valid"},
	}
	for _, c := range cases {
		info, _ := e.svc.InvitationInfo(context.Background(), tokenOf(c.link))
		if info.State != c.state {
			t.Errorf("%s: state %q, want %q", c.name, info.State, c.state)
		}
		_, _, err := e.accept(c.link, "Someone")
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: accept gave %v, want %q", c.name, err, c.msg)
		}
	}
	if n := countUsers(e); n != 2 {
		t.Fatalf("%d users, want 2 (nothing created by dead links)", n)
	}
	// The re-sent link was made before the clock moved, so it has expired too.
	if info, _ := e.svc.InvitationInfo(context.Background(), tokenOf(fresh.Link)); info.State != "expired" {
		t.Fatalf("re-sent link: %q", info.State)
	}
	// Resending an expired invitation brings it back with a new link.
	again, err := e.svc.ResendInvitation(ctx, expired.Invitation.ID)
	if err != nil || again.Invitation.State != "pending" {
		t.Fatalf("resend expired: %+v %v", again, err)
	}
	if _, _, err := e.accept(again.Link, "Expired No More"); err != nil {
		t.Fatal(err)
	}
}

func countUsers(e *env) int {
	var n int
	e.db.View(func(tx *store.Tx) error { n = tx.CountUsers(); return nil })
	return n
}

func TestInviteValidation(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	if _, err := e.svc.InviteUser(ctx, InviteInput{Email: "pending@kwgroup.uk", Role: "AGENT"}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		in    InviteInput
		field string
	}{
		{"empty e-mail", InviteInput{Role: "AGENT"}, "email"},
		{"malformed", InviteInput{Email: "emma@", Role: "AGENT"}, "email"},
		{"CRLF", InviteInput{Email: "emma@kw.uk\r\nBcc: all@kw.uk", Role: "AGENT"}, "email"},
		{"existing user, other case and spaces", InviteInput{Email: " MITCH@kwgroup.UK ", Role: "AGENT"}, "email"},
		{"pending invitation", InviteInput{Email: "Pending@kwgroup.uk", Role: "AGENT"}, "email"},
		{"no role", InviteInput{Email: "a@kw.uk"}, "role"},
		{"customer is not offered", InviteInput{Email: "a@kw.uk", Role: "CUSTOMER"}, "role"},
		{"super admin is not offered", InviteInput{Email: "a@kw.uk", Role: "SUPER_ADMIN"}, "role"},
		{"1 MB e-mail", InviteInput{Email: strings.Repeat("a", 1<<20) + "@kw.uk", Role: "AGENT"}, "email"},
	}
	for _, c := range cases {
		_, err := e.svc.InviteUser(ctx, c.in)
		wantCode(t, c.name, err, Invalid, c.field)
	}
	// A tenant that does not exist is refused like one the caller is not in.
	_, err := e.svc.InviteUser(ctx, InviteInput{Email: "a@kw.uk", Role: "AGENT", TenantID: 99})
	wantCode(t, "another tenant", err, Forbidden, "tenantId")
	if list, _ := e.invitations(ctx, ListInvitationsInput{All: true}); len(list) != 1 {
		t.Fatalf("refused invitations were stored: %d", len(list))
	}
}

func TestConcurrentInvitationsOfOneAddressLeaveOne(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.svc.InviteUser(ctx, InviteInput{Email: fmt.Sprintf("Same@KWgroup.uk%s", strings.Repeat(" ", i)), Role: "AGENT"})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	if list, _ := e.invitations(ctx, ListInvitationsInput{}); ok != 1 || len(list) != 1 {
		t.Fatalf("%d succeeded, %d pending; want exactly 1", ok, len(list))
	}
}

func TestCreateNow(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	good := CreateUserInput{Email: "jamie@kwgroup.uk", Name: "Jamie", Role: "AGENT", Password: testPassword,
		JobTitle: "Engineer", OfficeAddress: "1 High St\nLeeds", Notes: "Starts Monday.\n\tDesk 4"}
	cases := []struct {
		name  string
		edit  func(*CreateUserInput)
		field string
	}{
		{"7-character password", func(in *CreateUserInput) { in.Password = "1234567" }, "password"},
		{"73-byte password", func(in *CreateUserInput) { in.Password = strings.Repeat("p", 73) }, "password"},
		{"script in the name", func(in *CreateUserInput) { in.Name = "<script>alert(1)</script>" }, "name"},
		{"empty name", func(in *CreateUserInput) { in.Name = " " }, "name"},
		{"1 MB notes", func(in *CreateUserInput) { in.Notes = strings.Repeat("n", 1<<20) }, "notes"},
		{"control character in the title", func(in *CreateUserInput) { in.JobTitle = "Boss\x07" }, "jobTitle"},
		{"long office address", func(in *CreateUserInput) { in.OfficeAddress = strings.Repeat("o", 301) }, "officeAddress"},
		{"existing e-mail", func(in *CreateUserInput) { in.Email = "Mitch@KWGroup.uk" }, "email"},
		{"bad role", func(in *CreateUserInput) { in.Role = "ROOT" }, "role"},
	}
	for _, c := range cases {
		in := good
		c.edit(&in)
		_, err := e.svc.CreateUser(ctx, in)
		wantCode(t, c.name, err, Invalid, c.field)
	}
	if countUsers(e) != 1 {
		t.Fatal("a refused Create now stored a user")
	}
	good.Name = "Jamie 🚀"
	u, err := e.svc.CreateUser(ctx, good)
	if err != nil || u.Notes != good.Notes || u.OfficeAddress != good.OfficeAddress || !u.Active {
		t.Fatalf("create now: %+v %v", u, err)
	}
	me, err := e.svc.Me(e.signIn("jamie@kwgroup.uk"))
	if err != nil || me.User.Name != "Jamie 🚀" {
		t.Fatalf("the new account does not work at once: %v", err)
	}
}

func TestCreateNowWithdrawsAPendingInvitation(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	res, _ := e.svc.InviteUser(ctx, InviteInput{Email: "jamie@kwgroup.uk", Role: "AGENT"})
	if _, err := e.svc.CreateUser(ctx, CreateUserInput{Email: "JAMIE@kwgroup.uk", Name: "Jamie", Role: "AGENT", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	if info, _ := e.svc.InvitationInfo(context.Background(), tokenOf(res.Link)); info.State != "revoked" {
		t.Fatalf("the invitation is %s", info.State)
	}
}

func TestUsersAdminPermissionMatrix(t *testing.T) {
	e := newEnv(t)
	e.setup()
	ctxs := map[auth.Role]context.Context{}
	for _, r := range auth.Roles[1:] {
		e.addUser(strings.ToLower(string(r)), r, true)
		ctxs[r] = e.signIn(strings.ToLower(string(r)) + "@kwgroup.uk")
	}
	ctxs[auth.SuperAdmin] = e.signIn("mitch@kwgroup.uk")
	target := e.addUser("Target", auth.Agent, true)
	actions := map[string]struct {
		need auth.Capability
		call func(ctx context.Context) error
	}{
		"invite": {auth.ManageUsers, func(ctx context.Context) error {
			_, err := e.svc.InviteUser(ctx, InviteInput{Email: auth.NewToken()[:8] + "@x.uk", Role: "AGENT"})
			return err
		}},
		"create now": {auth.ManageUsers, func(ctx context.Context) error {
			_, err := e.svc.CreateUser(ctx, CreateUserInput{Email: auth.NewToken()[:8] + "@x.uk", Name: "N", Role: "AGENT", Password: testPassword})
			return err
		}},
		"invitations": {auth.ManageUsers, func(ctx context.Context) error {
			_, err := e.invitations(ctx, ListInvitationsInput{})
			return err
		}},
		"get user": {auth.ManageUsers, func(ctx context.Context) error { _, err := e.svc.GetUser(ctx, target.ID); return err }},
		"rename": {auth.ManageUsers, func(ctx context.Context) error {
			n := "Target " + auth.NewToken()[:4]
			_, err := e.svc.UpdateUser(ctx, UpdateUserInput{ID: target.ID, Name: &n})
			return err
		}},
		"deactivate":   {auth.ManageUsers, func(ctx context.Context) error { _, err := e.svc.DeactivateUser(ctx, target.ID); return err }},
		"reactivate":   {auth.ManageUsers, func(ctx context.Context) error { _, err := e.svc.ReactivateUser(ctx, target.ID); return err }},
		"get settings": {auth.ManageSettings, func(ctx context.Context) error { _, err := e.svc.GetSettings(ctx); return err }},
		"set settings": {auth.ManageSettings, func(ctx context.Context) error {
			u := ""
			_, err := e.svc.UpdateSettings(ctx, SettingsInput{BaseURL: &u})
			return err
		}},
	}
	for _, r := range auth.Roles {
		for name, act := range actions {
			err := act.call(ctxs[r])
			if r.Can(act.need) && err != nil {
				t.Errorf("%s %s: %v", r, name, err)
			}
			if !r.Can(act.need) && ErrorCode(err) != Forbidden {
				t.Errorf("%s %s: %v, want forbidden", r, name, err)
			}
		}
	}
}

func TestGuardrails(t *testing.T) {
	e := newEnv(t)
	super := e.setup()
	admin := e.addUser("Ada", auth.Admin, true)
	mgr := e.addUser("Max", auth.Manager, true)
	agent := e.addUser("Al", auth.Agent, true)
	adminCtx, mgrCtx := e.signIn("ada@kwgroup.uk"), e.signIn("max@kwgroup.uk")
	role := func(r auth.Role) *string { s := string(r); return &s }
	var mitch uint64 = 1

	cases := []struct {
		name string
		err  error
		code Code
	}{
		{"manager invites an admin", second(e.svc.InviteUser(mgrCtx, InviteInput{Email: "n@kw.uk", Role: "ADMIN"})), Forbidden},
		{"manager promotes to admin", second(e.svc.UpdateUser(mgrCtx, UpdateUserInput{ID: agent.ID, Role: role(auth.Admin)})), Forbidden},
		{"manager renames an admin", second(e.svc.UpdateUser(mgrCtx, UpdateUserInput{ID: admin.ID, Name: ptr("X")})), Forbidden},
		{"manager deactivates an admin", second(e.svc.DeactivateUser(mgrCtx, admin.ID)), Forbidden},
		{"admin makes a super admin", second(e.svc.UpdateUser(adminCtx, UpdateUserInput{ID: agent.ID, Role: role(auth.SuperAdmin)})), Forbidden},
		{"admin demotes the super admin", second(e.svc.UpdateUser(adminCtx, UpdateUserInput{ID: mitch, Role: role(auth.Agent)})), Forbidden},
		{"own role", second(e.svc.UpdateUser(adminCtx, UpdateUserInput{ID: admin.ID, Role: role(auth.Agent)})), Forbidden},
		{"deactivate yourself", second(e.svc.DeactivateUser(mgrCtx, mgr.ID)), Forbidden},
		{"last super admin demotes himself", second(e.svc.UpdateUser(super, UpdateUserInput{ID: mitch, Role: role(auth.Admin)})), Conflict},
		{"last super admin deactivates himself", second(e.svc.DeactivateUser(super, mitch)), Conflict},
		{"unknown user", second(e.svc.DeactivateUser(super, 999)), NotFound},
	}
	for _, c := range cases {
		if ErrorCode(c.err) != c.code {
			t.Errorf("%s: %v (%s), want %s", c.name, c.err, ErrorCode(c.err), c.code)
		}
	}
	// Renaming yourself is fine; a manager may promote an agent to manager.
	if _, err := e.svc.UpdateUser(mgrCtx, UpdateUserInput{ID: mgr.ID, Name: ptr("Max Power")}); err != nil {
		t.Error(err)
	}
	if _, err := e.svc.UpdateUser(mgrCtx, UpdateUserInput{ID: agent.ID, Role: role(auth.Manager)}); err != nil {
		t.Error(err)
	}
	// With a second super admin, the first may step down, and then the
	// second is the last one and cannot be deactivated.
	if _, err := e.svc.UpdateUser(super, UpdateUserInput{ID: admin.ID, Role: role(auth.SuperAdmin)}); err != nil {
		t.Fatal(err)
	}
	ada := e.signIn("ada@kwgroup.uk")
	if _, err := e.svc.UpdateUser(ada, UpdateUserInput{ID: mitch, Role: role(auth.Admin)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DeactivateUser(e.signIn("mitch@kwgroup.uk"), admin.ID); ErrorCode(err) != Forbidden {
		t.Fatalf("an admin deactivated the last super admin: %v", err)
	}
}

func second[T any](_ T, err error) error { return err }
func ptr(s string) *string               { return &s }

func TestDeactivateEndsEverySessionAtOnce(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()
	pat := e.addUser("Pat", auth.Manager, true)
	window, lan := e.signIn("pat@kwgroup.uk"), e.signIn("pat@kwgroup.uk")
	if _, err := e.svc.DeactivateUser(admin, pat.ID); err != nil {
		t.Fatal(err)
	}
	for _, ctx := range []context.Context{window, lan} {
		_, err := e.svc.ListUsers(ctx, ListUsersInput{})
		wantCode(t, "after deactivation", err, Unauthenticated, "")
	}
	var n int
	e.db.View(func(tx *store.Tx) error { ss, _ := tx.UserSessions(pat.ID); n = len(ss); return nil })
	if n != 0 {
		t.Fatalf("%d sessions left", n)
	}
	_, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: "pat@kwgroup.uk", Password: testPassword})
	wantCode(t, "sign in while inactive", err, Invalid, "")
	if _, err := e.svc.ReactivateUser(admin, pat.ID); err != nil {
		t.Fatal(err)
	}
	e.signIn("pat@kwgroup.uk")
	var last store.Event
	for _, ev := range e.events() {
		if ev.Action == ActDeactivate {
			last = ev
		}
	}
	var meta struct {
		Before, After userAudit
		Extra         map[string]any
	}
	json.Unmarshal(last.Meta, &meta)
	if !meta.Before.Active || meta.After.Active || meta.Extra["sessionsEnded"] != float64(2) || last.ResourceID != fmt.Sprint(pat.ID) {
		t.Fatalf("deactivate event %s", last.Meta)
	}
}

func TestPromoteToAdminIsAudited(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	emma := e.addUser("Emma", auth.Agent, true)
	role := "ADMIN"
	if _, err := e.svc.UpdateUser(ctx, UpdateUserInput{ID: emma.ID, Role: &role}); err != nil {
		t.Fatal(err)
	}
	ev := e.events()[0]
	if ev.Action != ActUpdate || ev.ResourceType != ResUser || ev.ActorEmail != "mitch@kwgroup.uk" ||
		!strings.Contains(string(ev.Meta), `"before":{"email":"emma@kwgroup.uk","name":"Emma","role":"AGENT"`) ||
		!strings.Contains(string(ev.Meta), `"after":{"email":"emma@kwgroup.uk","name":"Emma","role":"ADMIN"`) {
		t.Fatalf("event %+v %s", ev, ev.Meta)
	}
	// Saving without a change writes nothing.
	n := len(e.events())
	e.svc.UpdateUser(ctx, UpdateUserInput{ID: emma.ID, Role: &role})
	if len(e.events()) != n {
		t.Fatal("an unchanged save was audited")
	}
}

func TestNoSecretInTheAuditOrTheFile(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	smtpPassword := "smtp-Pa55word-XYZ"
	host, from := "smtp.kwgroup.uk", "gatehouse@kwgroup.uk"
	if _, err := e.svc.UpdateSettings(ctx, SettingsInput{SMTPHost: &host, SMTPFromAddress: &from, SMTPPassword: &smtpPassword}); err != nil {
		t.Fatal(err)
	}
	res, _ := e.svc.InviteUser(ctx, InviteInput{Email: "emma@kwgroup.uk", Role: "AGENT"})
	again, _ := e.svc.ResendInvitation(ctx, res.Invitation.ID)
	e.deliver()
	e.accept(again.Link, "Emma")
	e.svc.CreateUser(ctx, CreateUserInput{Email: "j@kw.uk", Name: "J", Role: "AGENT", Password: "create-now-secret"})
	secrets := []string{smtpPassword, tokenOf(res.Link), tokenOf(again.Link), testPassword, "create-now-secret"}
	for _, ev := range e.events() {
		raw, _ := json.Marshal(ev)
		for _, s := range secrets {
			if strings.Contains(string(raw), s) {
				t.Fatalf("event %s holds a secret: %s", ev.Action, raw)
			}
		}
	}
	settings, _ := e.svc.GetSettings(ctx)
	if raw, _ := json.Marshal(settings); strings.Contains(string(raw), smtpPassword) || !settings.SMTP.HasPassword {
		t.Fatalf("settings view: %s", raw)
	}
	file := storetest.RawContent(t, e.db)
	for _, s := range secrets[:3] {
		if strings.Contains(string(file), s) {
			t.Fatalf("the database file holds %q in clear", s)
		}
	}
}
