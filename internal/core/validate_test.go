package core

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"gatehouse/internal/auth"
	"gatehouse/internal/mail"
	"gatehouse/internal/mail/mailtest"
	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
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

func TestCleanEmailAcceptsAndRefuses(t *testing.T) {
	for _, c := range []struct {
		in, want string // want "" means refused
		wire     string // the ASCII form mail sends; "" means the same as want
		msg      string // part of the refusal
	}{
		{"mitch@kwgroup.uk", "mitch@kwgroup.uk", "", ""},
		{" Emma.Stone@KWGroup.UK ", "Emma.Stone@kwgroup.uk", "", ""}, // local part kept, domain lower-cased
		{"a.b+tag@sub.example.com", "a.b+tag@sub.example.com", "", ""},
		{"o'brien@example.ie", "o'brien@example.ie", "", ""},
		{"x!#$%&'*+/=?^_`{|}~-@example.com", "x!#$%&'*+/=?^_`{|}~-@example.com", "", ""},
		{"info@bücher.example", "info@bücher.example", "info@xn--bcher-kva.example", ""},
		{"info@Bücher.Example", "info@bücher.example", "info@xn--bcher-kva.example", ""},
		{"info@bu\u0308cher.example", "info@bücher.example", "info@xn--bcher-kva.example", ""},  // NFD
		{"info@xn--bcher-kva.example", "info@bücher.example", "info@xn--bcher-kva.example", ""}, // one canonical form
		{"info@XN--BCHER-KVA.example", "info@bücher.example", "info@xn--bcher-kva.example", ""},
		{"post@straße.de", "post@straße.de", "post@xn--strae-oqa.de", ""},
		{"kontakt@例え.jp", "kontakt@例え.jp", "kontakt@xn--r8jz45g.jp", ""},
		{"a@ｅxample.com", "", "", "not a valid domain"}, // full-width look-alike
		{"a@EXAMPLE.com", "a@example.com", "", ""},
		{"ｅmma@example.com", "", "", "before the @"},   // full-width in the local part
		{"ü@ü.de", "", "", "before the @"},             // non-ASCII local part
		{"emma@exa\u200Bmple.com", "", "", "(U+200B)"}, // zero-width space
		{"emma\u200B@example.com", "", "", "(U+200B)"},
		{"emma@example.com\u202E", "", "", "(U+202E)"}, // right-to-left override
		{"\u202Emoc.elpmaxe@amme", "", "", "(U+202E)"},
		{"emma@exam\u2028ple.com", "", "", "(U+2028)"},
		{"emma@example.com\r\nBcc: all@kw.uk", "", "", "(U+000D)"},
		{"em\x00ma@example.com", "", "", "(U+0000)"},
		{"em ma@example.com", "", "", "spaces"},
		{"\"emma\"@example.com", "", "", "quotes"}, // quoted local part
		{"\"em ma\"@example.com", "", "", "quotes"},
		{"Emma <emma@example.com>", "", "", "spaces"},
		{"<emma@example.com>", "", "", "'<'"},
		{"emma(comment)@example.com", "", "", "'('"},
		{".emma@example.com", "", "", "dot"},
		{"emma.@example.com", "", "", "dot"},
		{"em..ma@example.com", "", "", "dot"},
		{"a@b", "", "", "not a valid domain"},
		{"a@[127.0.0.1]", "", "", "not a valid domain"},
		{"a@example.com.", "", "", "not a valid domain"},
		{"a@-example.com", "", "", "not a valid domain"},
		{"a@exa_mple.com", "", "", "not a valid domain"},
		{"a@xn--abc-.com", "", "", "not a valid domain"},
		{"a@@example.com", "", "", "'@'"},
		{"@example.com", "", "", "before the @"},
		{"emma", "", "", "like name@example.com"},
		{"", "", "", "Enter an e-mail address"},
		{strings.Repeat("a", 65) + "@example.com", "", "", "at most 64"},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 60) + ".uk", "", "", "at most 254"},
	} {
		got, err := cleanEmail("email", c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("%q accepted as %q", c.in, got)
			} else if AsError(err).Field != "email" || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%q: %v, want a message with %q", c.in, err, c.msg)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.in, got, err, c.want)
			continue
		}
		wire, want := "", c.wire
		if want == "" {
			want = c.want
		}
		if wire, err = mail.ASCIIAddress(got); err != nil || wire != want {
			t.Errorf("%q on the wire: %q, %v; want %q", got, wire, err, want)
		}
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
	_, err = e2.svc.Setup(context.Background(), SetupInput{Organisation: "KW", Email: "x\u200B@kw.uk", Name: "X", Password: testPassword})
	wantCode(t, "setup e-mail", err, Invalid, "email")

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
	_, err = e.svc.InviteUser(ctx, InviteInput{Email: "new\u200B@kwgroup.uk", Role: "AGENT"})
	wantCode(t, "invite e-mail", err, Invalid, "email")
	_, _, err = e.accept(res.Link, "New\u2028Bcc: x")
	wantCode(t, "accept name", err, Invalid, "name")
	me, _, err := e.accept(res.Link, "Ne\u0301o")
	if err != nil || me.User.Name != "Néo" || !norm.NFC.IsNormalString(me.User.Name) {
		t.Fatalf("accept: %+v %v", me.User, err)
	}
}

// An IDN address is one account whichever way it is typed, and old
// records stored before addresses were cleaned still sign in.
func TestIDNAddressesAreOneAccount(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	v, err := e.svc.CreateUser(ctx, CreateUserInput{Email: "Emma@Bu\u0308cher.Example", Name: "Emma", Role: "AGENT", Password: testPassword})
	if err != nil || v.Email != "Emma@bücher.example" {
		t.Fatalf("create: %+v %v", v, err)
	}
	for _, again := range []string{"emma@xn--bcher-kva.example", "EMMA@BÜCHER.EXAMPLE"} {
		if _, err := e.svc.CreateUser(ctx, CreateUserInput{Email: again, Name: "Emma", Role: "AGENT", Password: testPassword}); err == nil {
			t.Fatalf("%s made a second account", again)
		}
	}
	for _, typed := range []string{"emma@bücher.example", "emma@xn--bcher-kva.example", " EMMA@BU\u0308CHER.EXAMPLE "} {
		e.signIn(typed)
	}

	// Stored as typed before this rule: still found, under that form.
	for _, old := range []string{"zoë@kwgroup.uk", "old@xn--bcher-kva.example"} {
		e.addOldUser(old)
		e.signIn(strings.ToUpper(old[:1]) + old[1:])
	}
}

// addOldUser stores an active agent under an address exactly as given,
// as records made before addresses were cleaned may hold.
func (e *env) addOldUser(email string) {
	e.t.Helper()
	hash, _ := e.svc.hasher.Hash(testPassword)
	u := &store.User{Email: email, Name: "Old", Role: auth.Agent, Active: true, TenantID: 1, DefaultTenantID: 1, CreatedAt: e.clock()}
	if err := e.db.Update(func(tx *store.Tx) error {
		if err := tx.CreateUser(u, store.Credentials{PasswordHash: hash}); err != nil {
			return err
		}
		return tx.PutMembership(store.Membership{UserID: u.ID, TenantID: 1})
	}); err != nil {
		e.t.Fatal(err)
	}
}

// Every form of one address counts against one lock.
func TestIDNFormsShareOneLock(t *testing.T) {
	forms := []string{"emma@bücher.example", "emma@xn--bcher-kva.example", "emma@bu\u0308cher.example", "EMMA@BÜCHER.EXAMPLE"}
	seen := map[string]bool{}
	for _, f := range forms {
		seen[attemptLimiters(emailKey(f), "")[0].key] = true
	}
	if len(seen) != 1 {
		t.Fatalf("%d throttle keys for one address: %v", len(seen), seen)
	}
}

// An invitation to an IDN address goes out with the ASCII form in the
// envelope and the headers, to a real SMTP server, without SMTPUTF8.
func TestIDNInvitationGoesOutAsPunycode(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	now := time.Date(2026, 5, 18, 9, 30, 0, 0, time.UTC)
	svc := New(Config{DB: storetest.Open(t), Sealer: testSealer(), Hasher: auth.NewHasher(4, 4), Now: func() time.Time { return now }, Mailer: &mail.Sender{Timeout: 5 * time.Second}})
	if _, err := svc.Setup(context.Background(), SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	_, tok, _ := svc.SignIn(context.Background(), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword})
	ctx := WithCaller(context.Background(), Caller{Token: tok})
	host, from, sec, port := "127.0.0.1", "gatehouse@Straße.de", "none", srv.Port
	st, err := svc.UpdateSettings(ctx, SettingsInput{SMTPHost: &host, SMTPPort: &port, SMTPSecurity: &sec, SMTPFromAddress: &from})
	if err != nil || st.SMTP.FromAddress != "gatehouse@straße.de" {
		t.Fatalf("settings: %+v %v", st.SMTP, err)
	}
	res, err := svc.InviteUser(ctx, InviteInput{Email: "info@bücher.example", Role: "AGENT"})
	if err != nil || res.Invitation.Email != "info@bücher.example" {
		t.Fatalf("invite: %+v %v", res.Invitation, err)
	}
	if _, err := svc.DeliverDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait(1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("received %d messages", len(got))
	}
	if got[0].From != "gatehouse@xn--strae-oqa.de" || len(got[0].To) != 1 || got[0].To[0] != "info@xn--bcher-kva.example" {
		t.Fatalf("envelope: MAIL FROM %q RCPT TO %q", got[0].From, got[0].To)
	}
	data := string(got[0].Data)
	for i := 0; i < len(data); i++ {
		if data[i] >= 0x80 {
			t.Fatalf("8-bit byte at %d in the message", i)
		}
	}
	if !strings.Contains(data, "To: <info@xn--bcher-kva.example>") || !strings.Contains(data, "<gatehouse@xn--strae-oqa.de>") {
		t.Fatalf("headers:\n%s", data[:strings.Index(data, "\r\n\r\n")])
	}
}

// A sign-in with a crafted address is recorded with the invisible
// characters written out (lower-cased, like every recorded address), so
// the audit log reads as what was typed.
func TestUnknownSignInIsLoggedVisibly(t *testing.T) {
	e := newEnv(t)
	e.setup()
	for typed, want := range map[string]string{
		"gpj\u202E@kwgroup.uk":         "gpj<u+202e>@kwgroup.uk",
		"no\u200Bbody@KWGroup.uk":      "no<u+200b>body@kwgroup.uk",
		"nobody@xn--bcher-kva.example": "nobody@bücher.example",
	} {
		_, _, err := e.svc.SignIn(e.caller(""), SignInInput{Email: typed, Password: "wrong password"})
		wantCode(t, typed, err, ErrorCode(errBadSignIn), "")
		ev := e.events()[0]
		if ev.Action != ActSignInFailed || ev.ActorEmail != want || strings.ContainsFunc(ev.ActorEmail, invisible) {
			t.Fatalf("%q recorded as %s by %q, want %q", typed, ev.Action, ev.ActorEmail, want)
		}
	}
}

// "Forgot password?" finds an IDN account however its address is typed,
// and an account stored before addresses were cleaned.
func TestForgotPasswordFindsIDNAndOlderAddresses(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()
	e.configureSMTP(admin)
	if _, err := e.svc.CreateUser(admin, CreateUserInput{Email: "emma@bücher.example", Name: "Emma", Role: "AGENT", Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	e.addOldUser("old@xn--strae-oqa.de")
	for _, typed := range []string{"emma@xn--bcher-kva.example", "old@xn--strae-oqa.de"} {
		if err := e.svc.RequestPasswordReset(e.caller(""), ForgotPasswordInput{Email: typed}); err != nil {
			t.Fatalf("%s: %v", typed, err)
		}
	}
	e.deliver()
	var to []string
	for _, m := range e.mailer.messages() {
		to = append(to, m.To)
	}
	if strings.Join(to, " ") != "emma@bücher.example old@xn--strae-oqa.de" && strings.Join(to, " ") != "old@xn--strae-oqa.de emma@bücher.example" {
		t.Fatalf("reset mail went to %q", to)
	}
}

// Names that draw as blank or hold unassigned or private-use code points
// are refused (found by the hostile review).
func TestNamesThatLookBlankAreRefused(t *testing.T) {
	for _, name := range []string{"\u3164", "\u2800\u2800", "Ann\uFE0F\u3164", "\u0301\u0302", "\uE000Boss", "Ann\uFFFE", "\U000E0001x", "\u115F"} {
		if _, err := cleanName("name", name); ErrorCode(err) != Invalid {
			t.Errorf("%+q accepted", name)
		}
	}
	for _, name := range []string{"Zoë", "José María", "李小龍", "O'Brien-Smith", "Emma 🌟 Watts", "Åsa"} {
		if _, err := cleanName("name", name); err != nil {
			t.Errorf("%q refused: %v", name, err)
		}
	}
}
