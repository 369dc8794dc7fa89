package core

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"gatehouse/internal/auth"
)

func TestCleanNameAcceptsAndRefuses(t *testing.T) {
	for _, c := range []struct {
		in, want string // want "" means refused
		msg      string // part of the refusal
	}{
		{"Mitch", "Mitch", ""},
		{"  Zoë Brontë  ", "Zoë Brontë", ""},
		{"Zoe\u0308", "Zoë", ""}, // NFD → NFC
		{"Ørsted Ltd", "Ørsted Ltd", ""},
		{"محمد", "محمد", ""},
		{"山田 太郎", "山田 太郎", ""},
		{"O'Brien-Smith", "O'Brien-Smith", ""},
		{"Emma\u202Egpj.exe", "", "(U+202E); remove it"}, // right-to-left override
		{"Em\u200Bma", "", "(U+200B)"},                   // zero-width space
		{"Emma\u2028Bcc", "", "(U+2028)"},                // line separator
		{"Emma\u2029x", "", "(U+2029)"},                  // paragraph separator
		{"Em\x00ma", "", "(U+0000)"},
		{"Em\tma", "", "(U+0009)"},
		{"Em\nma", "", "(U+000A)"},
		{"Em\u00ADma", "", "(U+00AD)"},  // soft hyphen
		{"\uFEFFEmma", "", "(U+FEFF)"},  // BOM
		{"Emma\u2066x", "", "(U+2066)"}, // bidi isolate
		{"Em\xffma", "", "not valid text"},
		{"", "", "Enter a name"},
		{" \t ", "", "Enter a name"},
		{strings.Repeat("é", maxNameChars), strings.Repeat("é", maxNameChars), ""},
		{strings.Repeat("e\u0301", maxNameChars), strings.Repeat("é", maxNameChars), ""}, // counted after NFC
		{strings.Repeat("x", maxNameChars+1), "", "at most 100"},
		{"<script>", "", "< or >"},
	} {
		got, err := cleanName("name", c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("%q accepted as %q", c.in, got)
			} else if AsError(err).Field != "name" || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%q: %v (field %q), want a message with %q", c.in, err, AsError(err).Field, c.msg)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCleanNameMessageSaysWhatToFix(t *testing.T) {
	_, err := cleanName("name", "Emma\u202Egpj.exe")
	if want := "The name contains an invisible or control character (U+202E); remove it."; AsError(err).Message != want {
		t.Fatalf("message %q, want %q", AsError(err).Message, want)
	}
}

func TestCleanTextKeepsLineBreaksOnlyWhereMultiline(t *testing.T) {
	if got, err := cleanText("notes", "Line one\r\nLine\ttwo", maxNotes, true); err != nil || got != "Line one\r\nLine\ttwo" {
		t.Fatalf("multiline: %q %v", got, err)
	}
	for _, in := range []string{"a\u2028b", "a\u2029b", "a\u202Eb", "a\u200Bb", "a\x1bb"} {
		if _, err := cleanText("notes", in, maxNotes, true); err == nil {
			t.Errorf("multiline accepted %q", in)
		}
	}
	for _, in := range []string{"a\nb", "a\tb", "a\u200Db"} {
		if _, err := cleanText("jobTitle", in, maxJobTitle, false); err == nil || AsError(err).Field != "jobTitle" {
			t.Errorf("single line accepted %q: %v", in, err)
		}
	}
	if got, _ := cleanText("jobTitle", "Caf\u0065\u0301 manager", maxJobTitle, false); got != "Café manager" {
		t.Fatalf("not NFC: %q", got)
	}
}

// Names are checked the same way wherever one is accepted.
func TestEveryNameFieldRefusesInvisibleCharacters(t *testing.T) {
	e, ctx := tenantEnv(t)
	bad := "Acme\u202Egpj.exe"
	_, err := e.svc.Setup(context.Background(), SetupInput{Organisation: "KW", Email: "x@kw.uk", Name: "X", Password: testPassword})
	if err == nil {
		t.Fatal("setup ran twice")
	}
	e2 := newEnv(t)
	_, err = e2.svc.Setup(context.Background(), SetupInput{Organisation: bad, Email: "x@kw.uk", Name: "X", Password: testPassword})
	wantCode(t, "setup organisation", err, Invalid, "organisation")
	_, err = e2.svc.Setup(context.Background(), SetupInput{Organisation: "KW", Email: "x@kw.uk", Name: "Em\u200Bma", Password: testPassword})
	wantCode(t, "setup name", err, Invalid, "name")

	_, err = e.svc.CreateTenant(ctx, bad)
	wantCode(t, "create tenant", err, Invalid, "name")
	id := e.tenant(ctx, "Acme")
	_, err = e.svc.RenameTenant(ctx, RenameTenantInput{ID: id, Name: "Acme\u2028Corp"})
	wantCode(t, "rename tenant", err, Invalid, "name")

	_, err = e.svc.CreateUser(ctx, CreateUserInput{Email: "emma@kwgroup.uk", Name: bad, Role: "AGENT", Password: testPassword})
	wantCode(t, "create user", err, Invalid, "name")
	_, err = e.svc.CreateUser(ctx, CreateUserInput{Email: "emma@kwgroup.uk", Name: "Emma", Role: "AGENT", Password: testPassword, JobTitle: "Boss\u200B"})
	wantCode(t, "job title", err, Invalid, "jobTitle")
	_, err = e.svc.CreateUser(ctx, CreateUserInput{Email: "emma@kwgroup.uk", Name: "Emma", Role: "AGENT", Password: testPassword, Notes: "a\u2029b"})
	wantCode(t, "notes", err, Invalid, "notes")
	_, err = e.svc.CreateUser(ctx, CreateUserInput{Email: "emma@kwgroup.uk", Name: "Emma", Role: "AGENT", Password: testPassword, OfficeAddress: "1 High St\u202E"})
	wantCode(t, "office", err, Invalid, "officeAddress")

	u := e.addUser("Zoe", auth.Agent, true)
	name := "Zo\u200Be"
	_, err = e.svc.UpdateUser(ctx, UpdateUserInput{ID: u.ID, Name: &name})
	wantCode(t, "rename user", err, Invalid, "name")

	from := "Gatehouse\u202E"
	_, err = e.svc.UpdateSettings(ctx, SettingsInput{SMTPFromName: &from})
	wantCode(t, "sender name", err, Invalid, "smtpFromName")
	if !strings.Contains(err.Error(), "U+202E") {
		t.Fatalf("sender name message: %v", err)
	}

	res, err := e.svc.InviteUser(ctx, InviteInput{Email: "new@kwgroup.uk", Role: "AGENT"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.accept(res.Link, "New\u2028Bcc: x")
	wantCode(t, "accept name", err, Invalid, "name")
	me, _, err := e.accept(res.Link, "Ne\u0301o")
	if err != nil || me.User.Name != "Néo" || !norm.NFC.IsNormalString(me.User.Name) {
		t.Fatalf("accept: %+v %v", me.User, err)
	}
}
