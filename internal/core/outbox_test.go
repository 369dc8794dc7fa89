package core

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/mail"
	"gatehouse/internal/mail/mailtest"
	"gatehouse/internal/store/storetest"
)

func TestWithoutSMTPTheLinkStillWorks(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	res, err := e.svc.InviteUser(ctx, InviteInput{Email: "emma@kwgroup.uk", Role: "AGENT"})
	if err != nil {
		t.Fatal(err)
	}
	e.deliver()
	list, _ := e.invitations(ctx, ListInvitationsInput{})
	if m := list[0].Mail; m.State != "failed" || !strings.Contains(m.Error, "not set up") {
		t.Fatalf("mail status %+v", m)
	}
	if len(e.mailer.messages()) != 0 {
		t.Fatal("something was sent without SMTP settings")
	}
	if _, _, err := e.accept(res.Link, "Emma"); err != nil {
		t.Fatalf("the copied link does not work: %v", err)
	}
}

func TestFailedSendsAreRetriedWithBackoff(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	e.configureSMTP(ctx)
	e.mailer.fail = errors.New("cannot connect to smtp.kwgroup.uk:587: connection refused")
	res, _ := e.svc.InviteUser(ctx, InviteInput{Email: "emma@kwgroup.uk", Role: "AGENT"})
	var waits []time.Duration
	for i := 0; i < maxAttempts; i++ {
		next, err := e.svc.DeliverDue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if next.IsZero() {
			break
		}
		waits = append(waits, next.Sub(e.clock()))
		e.advance(next.Sub(e.clock()))
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute}
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	list, _ := e.invitations(ctx, ListInvitationsInput{})
	if m := list[0].Mail; m.State != "failed" || m.Attempts != maxAttempts || !strings.Contains(m.Error, "connection refused") {
		t.Fatalf("after giving up: %+v", m)
	}
	var failed int
	for _, ev := range e.events() {
		if ev.Action == ActEmailFailed && ev.ResourceID == "1" {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d email_failed events, want 1", failed)
	}
	// Resend queues a fresh message, which goes out once the server works.
	e.mailer.fail = nil
	if _, err := e.svc.ResendInvitation(ctx, res.Invitation.ID); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	if n := len(e.mailer.messages()); n != 1 {
		t.Fatalf("%d messages after resend", n)
	}
}

func TestRevokedInvitationIsNotMailed(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	e.configureSMTP(ctx)
	res, _ := e.svc.InviteUser(ctx, InviteInput{Email: "emma@kwgroup.uk", Role: "AGENT"})
	e.svc.RevokeInvitation(ctx, res.Invitation.ID)
	e.deliver()
	if n := len(e.mailer.messages()); n != 0 {
		t.Fatalf("%d messages for a revoked invitation", n)
	}
	list, _ := e.invitations(ctx, ListInvitationsInput{All: true})
	if list[0].State != "revoked" || list[0].Mail.State != "cancelled" {
		t.Fatalf("%+v %+v", list[0], list[0].Mail)
	}
}

// A real SMTP server that is down when the invitation is made and comes
// back later: the message is sent then, exactly once.
func TestRealSMTPServerDownThenBack(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	srv.Stop()
	now := time.Date(2026, 5, 18, 9, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	svc := New(Config{DB: storetest.Open(t), Sealer: testSealer(), Hasher: auth.NewHasher(4, 4), Now: clock, Mailer: &mail.Sender{Timeout: 2 * time.Second}})
	if _, err := svc.Setup(context.Background(), SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	_, tok, _ := svc.SignIn(context.Background(), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword})
	ctx := WithCaller(context.Background(), Caller{Token: tok})
	host, from, sec, port := "127.0.0.1", "gatehouse@kwgroup.uk", "none", srv.Port
	if _, err := svc.UpdateSettings(ctx, SettingsInput{SMTPHost: &host, SMTPPort: &port, SMTPSecurity: &sec, SMTPFromAddress: &from}); err != nil {
		t.Fatal(err)
	}
	res, err := svc.InviteUser(ctx, InviteInput{Email: "emma@kwgroup.uk", Role: "AGENT"})
	if err != nil {
		t.Fatal(err)
	}
	next, err := svc.DeliverDue(context.Background())
	if err != nil || next.IsZero() {
		t.Fatalf("first attempt: next %v, %v", next, err)
	}
	list, _ := listInvitations(svc, ctx, ListInvitationsInput{})
	if m := list[0].Mail; m.State != "queued" || m.Attempts != 1 || !strings.Contains(m.Error, "cannot connect") || m.NextAttemptAt == nil {
		t.Fatalf("after the failed attempt: %+v", m)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	now = next
	for i := 0; i < 3; i++ {
		if _, err := svc.DeliverDue(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	got := srv.Wait(1, 5*time.Second)
	if len(got) != 1 || !strings.Contains(string(got[0].Data), "invite/accept?token=") || got[0].To[0] != "emma@kwgroup.uk" {
		t.Fatalf("received %d messages", len(got))
	}
	if !strings.Contains(strings.ReplaceAll(string(got[0].Data), "=\r\n", ""), strings.ReplaceAll(tokenOf(res.Link), "=", "=3D")) {
		t.Fatal("the e-mail does not carry the invitation's link")
	}
	list, _ = listInvitations(svc, ctx, ListInvitationsInput{})
	if m := list[0].Mail; m.State != "sent" || m.Attempts != 2 || m.SentAt == nil {
		t.Fatalf("after delivery: %+v", m)
	}
}

func TestSettingsValidation(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	s := func(v string) *string { return &v }
	n := func(v int) *int { return &v }
	cases := []struct {
		name  string
		in    SettingsInput
		field string
	}{
		{"base URL without scheme", SettingsInput{BaseURL: s("gatehouse.local")}, "baseUrl"},
		{"base URL with a query", SettingsInput{BaseURL: s("https://gh.local/?x=1")}, "baseUrl"},
		{"javascript base URL", SettingsInput{BaseURL: s("javascript:alert(1)")}, "baseUrl"},
		{"port too big", SettingsInput{SMTPPort: n(70000)}, "smtpPort"},
		{"unknown security", SettingsInput{SMTPSecurity: s("ssl3")}, "smtpSecurity"},
		{"host with spaces", SettingsInput{SMTPHost: s("smtp kw uk")}, "smtpHost"},
		{"CRLF in sender name", SettingsInput{SMTPFromName: s("Gatehouse\r\nBcc: x@y.z")}, "smtpFromName"},
		{"bad sender address", SettingsInput{SMTPFromAddress: s("gatehouse@")}, "smtpFromAddress"},
		{"host without sender", SettingsInput{SMTPHost: s("smtp.kw.uk")}, "smtpFromAddress"},
	}
	for _, c := range cases {
		_, err := e.svc.UpdateSettings(ctx, c.in)
		wantCode(t, c.name, err, Invalid, c.field)
	}
	got, _ := e.svc.GetSettings(ctx)
	if got.SMTP.Host != "" || got.BaseURL != "" {
		t.Fatalf("refused settings were stored: %+v", got)
	}
	got, err := e.svc.UpdateSettings(ctx, SettingsInput{BaseURL: s("https://gatehouse.kwgroup.uk/"), SMTPHost: s("smtp.kwgroup.uk"), SMTPFromAddress: s("gh@kwgroup.uk"), SMTPSecurity: s("tls")})
	if err != nil || got.BaseURL != "https://gatehouse.kwgroup.uk" || got.SMTP.Port != 465 || !got.SMTP.Configured {
		t.Fatalf("saved: %+v %v", got, err)
	}
	res, _ := e.svc.InviteUser(ctx, InviteInput{Email: "emma@kwgroup.uk", Role: "AGENT"})
	if !strings.HasPrefix(res.Link, "https://gatehouse.kwgroup.uk/invite/accept?token=") {
		t.Fatalf("link %q ignores the base URL setting", res.Link)
	}
}

func TestSendTestEmail(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	_, err := e.svc.SendTestEmail(ctx, "mitch@kwgroup.uk")
	wantCode(t, "before SMTP is set", err, Conflict, "")
	e.configureSMTP(ctx)
	_, err = e.svc.SendTestEmail(ctx, "not-an-address")
	wantCode(t, "bad address", err, Invalid, "to")
	res, err := e.svc.SendTestEmail(ctx, "mitch@kwgroup.uk")
	if err != nil || !res.Sent || len(e.mailer.messages()) != 1 {
		t.Fatalf("test e-mail: %+v %v", res, err)
	}
	e.mailer.fail = errors.New("the server refused the username or password: 535 no")
	res, err = e.svc.SendTestEmail(ctx, "mitch@kwgroup.uk")
	if err != nil || res.Sent || !strings.Contains(res.Error, "535") {
		t.Fatalf("failing test e-mail: %+v %v", res, err)
	}
	if ev := e.events()[0]; ev.Action != ActEmailFailed || ev.ResourceType != ResEmail {
		t.Fatalf("last event %s %s", ev.Action, ev.ResourceType)
	}
}

// Invitations made before e-mail was set up are marked as such (not as
// delivery failures), counted, and sent on request once it is (issue 12).
func TestUnsentInvitationsAreSentOnceMailIsSetUp(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	for _, email := range []string{"a@kwgroup.uk", "b@kwgroup.uk"} {
		if _, err := e.svc.InviteUser(ctx, InviteInput{Email: email, Role: "AGENT"}); err != nil {
			t.Fatal(err)
		}
	}
	e.deliver()
	list, err := e.svc.ListInvitations(ctx, ListInvitationsInput{})
	if err != nil || list.Unsent != 2 || list.Invitations[0].Mail.Reason != reasonNoSMTP {
		t.Fatalf("before SMTP: %+v %v", list, err)
	}
	if _, err := e.svc.SendUnsentInvitations(ctx); ErrorCode(err) != Conflict {
		t.Fatalf("sending without SMTP: %v", err)
	}
	e.configureSMTP(ctx)
	n, err := e.svc.SendUnsentInvitations(ctx)
	if err != nil || n != 2 {
		t.Fatalf("send unsent: %d %v", n, err)
	}
	e.deliver()
	if got := len(e.mailer.messages()); got != 2 {
		t.Fatalf("%d e-mails sent", got)
	}
	list, _ = e.svc.ListInvitations(ctx, ListInvitationsInput{})
	if list.Unsent != 0 || list.Invitations[0].Mail.State != "sent" {
		t.Fatalf("after: %+v", list)
	}
}
