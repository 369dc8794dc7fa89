package core

import (
	"strings"
	"testing"

	"gatehouse/internal/auth"
)

// Review: free text over subjects and change summaries stays inside the
// caller's tenant, whichever way the planner reads (merge of a few values,
// or a walk for a short or common term): the trigram index is shared by
// every tenant, the answers are not.
func TestAuditFreeTextNeverFindsAnotherTenantsSubjects(t *testing.T) {
	e, root := tenantEnv(t)
	acme, beta := e.tenant(root, "Acme"), e.tenant(root, "Beta")
	e.addUserIn("Ann", auth.Admin, true, acme)
	e.addUserIn("Bea", auth.Admin, true, beta)
	x := e.addUserIn("Xavier", auth.Agent, true, beta)
	ann, bea := e.signIn("ann@example.com"), e.signIn("bea@example.com")
	if _, err := e.svc.UpdateUser(bea, UpdateUserInput{ID: x.ID, Name: ptr("Xavier Quokka"), Role: ptr("MANAGER")}); err != nil {
		t.Fatal(err)
	}
	e.invite(bea, "zzsecret@beta.example", auth.Agent)
	e.invite(ann, "own@acme.example", auth.Agent)
	for _, term := range []string{"quokka", "Quok", "xavier", "zzsecret", "beta.example", "zz", "q", "MANAGER", "role"} {
		page, err := e.svc.ListAudit(ann, AuditFilter{Text: term})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Events {
			if ev.TenantID != acme || strings.Contains(strings.ToLower(ev.SubjectName+ev.SubjectEmail+ev.Change), "quokka") ||
				strings.Contains(ev.SubjectEmail, "beta.example") {
				t.Errorf("Acme's admin searching %q sees %+v", term, ev)
			}
		}
	}
	// Beta's admin and the SUPER_ADMIN do find them.
	if page, err := e.svc.ListAudit(bea, AuditFilter{Text: "quokka"}); err != nil || len(page.Events) != 1 {
		t.Fatalf("Beta's admin searching quokka: %+v %v", page.Events, err)
	}
	if page, err := e.svc.ListAudit(root, AuditFilter{Text: "zzsecret"}); err != nil || len(page.Events) == 0 {
		t.Fatalf("the super admin searching zzsecret: %+v %v", page.Events, err)
	}
}

// Review: a settings change says which setting changed, not "security
// changed → changed": the records nest (security, smtp), and the summary
// goes into them. The SMTP password shows only as whether one is set.
func TestSettingsChangeSummarySaysWhichSetting(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	on, host, from, pw := true, "mail.kw", "desk@kw.uk", "hunter2-smtp-secret"
	if _, err := e.svc.UpdateSettings(ctx, SettingsInput{RequireMFAForAdmins: &on, SMTPHost: &host, SMTPFromAddress: &from, SMTPPassword: &pw}); err != nil {
		t.Fatal(err)
	}
	var got string
	for _, ev := range e.events() {
		if ev.ResourceType == ResSettings {
			got = ev.Change
		}
	}
	for _, want := range []string{"require mfa for admins off → on", "smtp host none → mail.kw", "smtp has password off → on"} {
		if !strings.Contains(got, want) {
			t.Errorf("settings change summary %q does not say %q", got, want)
		}
	}
	if strings.Contains(got, "changed → changed") || strings.Contains(got, pw) {
		t.Errorf("settings change summary %q", got)
	}
}
