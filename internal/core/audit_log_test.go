package core

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/auth"
)

func TestAuditPermissionAndTenantScope(t *testing.T) {
	e, ctx := tenantEnv(t)
	acme := e.tenant(ctx, "Acme")
	cora := e.addUserIn("Cora", auth.Admin, true, acme)
	e.addUserIn("Max", auth.Manager, true, acme)
	coraCtx := e.signIn("cora@example.com")
	if _, err := e.svc.UpdateUser(coraCtx, UpdateUserInput{ID: cora.ID, Name: ptr("Cora Acme")}); err != nil {
		t.Fatal(err)
	}
	// A MANAGER may not open the audit log.
	_, err := e.svc.ListAudit(e.signIn("max@example.com"), AuditFilter{})
	wantCode(t, "manager", err, Forbidden, "")
	_, err = e.svc.GetAuditStats(e.signIn("max@example.com"), 0)
	wantCode(t, "manager stats", err, Forbidden, "")

	// Acme's admin sees only Acme's events; asking for the MSP's is refused.
	page, err := e.svc.ListAudit(coraCtx, AuditFilter{Limit: 500})
	if err != nil || len(page.Events) == 0 {
		t.Fatalf("acme admin: %d events, %v", len(page.Events), err)
	}
	for _, ev := range page.Events {
		if ev.TenantID != acme {
			t.Fatalf("acme admin saw an event of tenant %d: %s", ev.TenantID, ev.Action)
		}
	}
	_, err = e.svc.ListAudit(coraCtx, AuditFilter{TenantID: 1})
	wantCode(t, "acme admin asks for the MSP", err, NotFound, "")
	// The SUPER_ADMIN sees every tenant, or one.
	all, _ := e.svc.ListAudit(ctx, AuditFilter{Limit: 500})
	onlyAcme, _ := e.svc.ListAudit(ctx, AuditFilter{TenantID: acme, Limit: 500})
	if len(all.Events) <= len(onlyAcme.Events) || len(onlyAcme.Events) != len(page.Events) {
		t.Fatalf("super admin: %d in all, %d in Acme; Acme's admin sees %d", len(all.Events), len(onlyAcme.Events), len(page.Events))
	}
	st, _ := e.svc.GetAuditStats(coraCtx, 0)
	if st.Events != len(page.Events) || st.ActiveUsers < 1 {
		t.Fatalf("acme stats %+v for %d events", st, len(page.Events))
	}
	opts, _ := e.svc.GetAuditOptions(coraCtx, 0)
	if strings.Join(opts.Actions, ",") == "" || len(opts.Users) != 0 {
		t.Fatalf("acme options %+v", opts)
	}
	// The user filter's suggestions: Acme's actors only, by e-mail or name.
	for _, c := range []struct {
		ctx    context.Context
		prefix string
		want   string
	}{
		{coraCtx, "cora@", "cora@example.com=Cora"}, // the name recorded by her first event
		{coraCtx, "CORA", "cora@example.com=Cora"},
		{coraCtx, "mitch", ""}, // the MSP's admin acted in the MSP's log, not Acme's
		{ctx, "mitch", "mitch@kwgroup.uk=Mitch"},
	} {
		got, err := e.svc.SuggestAuditUsers(c.ctx, 0, c.prefix)
		var s []string
		for _, u := range got {
			s = append(s, u.Email+"="+u.Name)
		}
		if err != nil || !strings.HasPrefix(strings.Join(s, " "), c.want) || c.want == "" && len(s) != 0 {
			t.Errorf("suggestions for %q: %v %v, want %s", c.prefix, s, err, c.want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestAuditWorkflowFilterByUserThenTimeRange(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	emma := e.addUser("Emma", auth.Agent, true)
	e.advance(2 * time.Hour)
	start := e.clock()
	role := "ADMIN"
	e.svc.UpdateUser(ctx, UpdateUserInput{ID: emma.ID, Role: &role})
	e.advance(2 * time.Hour)
	e.svc.UpdateUser(ctx, UpdateUserInput{ID: emma.ID, Name: ptr("Emma W")})
	ctx = e.signIn("mitch@kwgroup.uk")

	byMitch, _ := e.svc.ListAudit(ctx, AuditFilter{User: "MITCH@kwgroup.uk"})
	inRange, err := e.svc.ListAudit(ctx, AuditFilter{User: "mitch@kwgroup.uk", Since: start.Format(time.RFC3339), Until: start.Add(time.Hour).Format(time.RFC3339)})
	if err != nil || len(inRange.Events) != 1 || len(byMitch.Events) < 4 {
		t.Fatalf("by user %d, in range %d, %v", len(byMitch.Events), len(inRange.Events), err)
	}
	ev := inRange.Events[0]
	var meta struct{ Before, After map[string]any }
	json.Unmarshal(ev.Meta, &meta)
	if ev.Action != ActUpdate || meta.Before["role"] != "AGENT" || meta.After["role"] != "ADMIN" {
		t.Fatalf("the role change event: %+v %s", ev, ev.Meta)
	}
	// Paging with a cursor walks the same events.
	p1, _ := e.svc.ListAudit(ctx, AuditFilter{Limit: 2})
	p2, _ := e.svc.ListAudit(ctx, AuditFilter{Limit: 2, Cursor: p1.Next})
	all, _ := e.svc.ListAudit(ctx, AuditFilter{Limit: 4})
	if p1.Next == "" || p2.Events[0].ID != all.Events[2].ID || p2.Events[1].ID != all.Events[3].ID {
		t.Fatalf("paging: %v / %v / %v", p1.Events, p2.Events, all.Events)
	}
}

func TestAuditBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	cases := []struct {
		name  string
		f     AuditFilter
		field string
	}{
		{"malformed since", AuditFilter{Since: "yesterday"}, "since"},
		{"malformed until", AuditFilter{Until: "2026-13-45"}, "until"},
		{"range backwards", AuditFilter{Since: "2026-05-18T10:00:00Z", Until: "2026-05-18T09:00:00Z"}, "until"},
		{"unknown action", AuditFilter{Action: "explode"}, "action"},
		{"unknown resource", AuditFilter{Resource: "<script>"}, "resource"},
		{"10 KB search", AuditFilter{Text: strings.Repeat("x", 10240)}, "text"},
		{"tampered cursor", AuditFilter{Cursor: "AAAA"}, "cursor"},
		{"garbage cursor", AuditFilter{Cursor: "!!!"}, "cursor"},
		{"limit", AuditFilter{Limit: 100000}, "limit"},
	}
	for _, c := range cases {
		_, err := e.svc.ListAudit(ctx, c.f)
		wantCode(t, c.name, err, Invalid, c.field)
	}
	_, err := e.svc.ExportAudit(ctx, AuditFilter{}, "xlsx", &bytes.Buffer{})
	wantCode(t, "export format", err, Invalid, "format")
}

func TestAuditExportDefusesHostileCells(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	e.svc.SignIn(e.caller(""), SignInInput{Email: "=cmd|' /C calc'!A0@evil.example", Password: "x"})
	var buf bytes.Buffer
	n, err := e.svc.ExportAudit(ctx, AuditFilter{}, FormatCSV, &buf)
	if err != nil || n < 3 {
		t.Fatalf("export: %d %v", n, err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != n+1 || rows[0][0] != "time" {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}
	for _, r := range rows[1:] {
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
				t.Fatalf("a cell starts with a formula character: %q", cell)
			}
		}
	}
	buf.Reset()
	n2, _ := e.svc.ExportAudit(ctx, AuditFilter{Action: ActSignInFailed}, FormatJSONL, &buf)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var first AuditEventView
	if n2 != 1 || len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &first) != nil || first.Action != ActSignInFailed {
		t.Fatalf("jsonl: %d %q", n2, buf.String())
	}
}

func TestRetentionPrunesAuditsAndVerifies(t *testing.T) {
	e := newEnv(t)
	e.setup()
	e.addUser("Emma", auth.Agent, true)
	for i := 0; i < 5; i++ {
		e.svc.SignIn(e.caller(""), SignInInput{Email: "emma@kwgroup.uk", Password: testPassword})
	}
	e.advance(40 * 24 * time.Hour)
	ctx := e.signIn("mitch@kwgroup.uk")
	days := 30
	if _, err := e.svc.UpdateSettings(ctx, SettingsInput{RetentionDays: &days}); err != nil {
		t.Fatal(err)
	}
	bad := -1
	_, err := e.svc.UpdateSettings(ctx, SettingsInput{RetentionDays: &bad})
	wantCode(t, "negative retention", err, Invalid, "retentionDays")
	n, err := e.svc.PruneAudit(context.Background())
	if err != nil || n < 7 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	evs := e.events()
	if evs[0].Action != ActPrune || !strings.Contains(string(evs[0].Meta), `"keepDays":30`) {
		t.Fatalf("newest event %s %s", evs[0].Action, evs[0].Meta)
	}
	for _, ev := range evs {
		if ev.Time.Before(e.clock().AddDate(0, 0, -30)) {
			t.Fatalf("an old event survived: %s %v", ev.Action, ev.Time)
		}
	}
	rep, err := e.svc.VerifyAudit(ctx)
	if err != nil || !rep.OK || rep.Pruned != uint64(n) {
		t.Fatalf("verify after pruning: %+v %v", rep, err)
	}
}

// An audit row answers "who changed that?": whom the event is about, as
// recorded at the time, and a one-line summary of the change, both found
// by the free text, accents folded.
func TestAuditRowsSayWhomAndWhatChanged(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	zoe := e.addUser("Zoe", auth.Agent, true)
	if _, err := e.svc.UpdateUser(ctx, UpdateUserInput{ID: zoe.ID, Name: ptr("Zoë Adams")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateUser(ctx, UpdateUserInput{ID: zoe.ID, Role: ptr("MANAGER")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DeactivateUser(ctx, zoe.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.InviteUser(ctx, InviteInput{Email: "newbie@kwgroup.uk", Role: "AGENT"}); err != nil {
		t.Fatal(err)
	}
	// A later rename does not rewrite history.
	if _, err := e.svc.ReactivateUser(ctx, zoe.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.UpdateUser(ctx, UpdateUserInput{ID: zoe.ID, Name: ptr("Zoe Brown")}); err != nil {
		t.Fatal(err)
	}

	rows := func(text string) []string {
		t.Helper()
		page, err := e.svc.ListAudit(ctx, AuditFilter{Text: text, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ev := range page.Events {
			out = append(out, ev.Action+" | "+ev.SubjectName+" <"+ev.SubjectEmail+"> | "+ev.Change)
		}
		return out
	}
	for _, c := range []struct{ text, want string }{
		{"role", "update | Zoë Adams <zoe@kwgroup.uk> | role AGENT → MANAGER"},
		{"AGENT → manager", "update | Zoë Adams <zoe@kwgroup.uk> | role AGENT → MANAGER"},
		{"deactivated", "deactivate | Zoë Adams <zoe@kwgroup.uk> | deactivated"},
		{"newbie", "invite |  <newbie@kwgroup.uk> | invited as AGENT"},
		{"zoë adams", "update | Zoe Brown <zoe@kwgroup.uk> | name Zoë Adams → Zoe Brown\n" +
			"reactivate | Zoë Adams <zoe@kwgroup.uk> | reactivated\n" +
			"deactivate | Zoë Adams <zoe@kwgroup.uk> | deactivated\n" +
			"update | Zoë Adams <zoe@kwgroup.uk> | role AGENT → MANAGER\n" +
			"update | Zoë Adams <zoe@kwgroup.uk> | name Zoe → Zoë Adams"},
	} {
		if got := strings.Join(rows(c.text), "\n"); got != c.want {
			t.Errorf("search %q:\n%s\nwant\n%s", c.text, got, c.want)
		}
	}
	// "zoe" finds every event about her, whatever her name was then.
	if got := rows("ZOE"); len(got) != 5 {
		t.Errorf("search ZOE: %d rows, want 5:\n%s", len(got), strings.Join(got, "\n"))
	}
	// Events about the actor themselves name no subject: the row names them.
	for _, ev := range e.events() {
		if ev.Action == ActSignIn && (ev.SubjectName != "" || ev.SubjectEmail != "") {
			t.Errorf("sign-in names a subject: %+v", ev)
		}
	}
	// The export carries both, defused like every cell.
	var buf bytes.Buffer
	if _, err := e.svc.ExportAudit(ctx, AuditFilter{Text: "role"}, "csv", &buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("export: %v %v", recs, err)
	}
	head, row := recs[0], recs[1]
	got := map[string]string{}
	for i, h := range head {
		got[h] = row[i]
	}
	if got["subject_name"] != "Zoë Adams" || got["subject_email"] != "zoe@kwgroup.uk" || got["change"] != "role AGENT → MANAGER" {
		t.Errorf("export row %v", got)
	}
}
