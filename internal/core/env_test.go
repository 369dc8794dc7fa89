package core

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/mail"
	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

// env is a fresh Gatehouse for one scenario: temp DB, fake clock, cheap bcrypt.
type env struct {
	t      *testing.T
	db     *store.DB
	svc    *Service
	mailer *recordingMailer
	hasher *countingHasher
	mu     sync.Mutex
	now    time.Time
}

// recordingMailer keeps what would have been sent; fail makes it refuse.
type recordingMailer struct {
	mu   sync.Mutex
	sent []mail.Message
	fail error
}

func (m *recordingMailer) Send(_ context.Context, _ mail.Config, msg mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.sent = append(m.sent, msg)
	return nil
}

func (m *recordingMailer) messages() []mail.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]mail.Message(nil), m.sent...)
}

const testPassword = "correct horse"

// countingHasher counts the passwords actually checked, so tests can prove
// a limit holds; hold, when set, keeps each check waiting until it closes.
type countingHasher struct {
	*auth.Hasher
	verified atomic.Int64
	hold     atomic.Pointer[chan struct{}]
}

func (h *countingHasher) Verify(hash []byte, pw string) bool {
	h.verified.Add(1)
	if c := h.hold.Load(); c != nil {
		<-*c
	}
	return h.Hasher.Verify(hash, pw)
}

// testSealer seals with a fixed key, as a data folder's key file would.
func testSealer() *auth.Sealer {
	s, err := auth.NewSealer(auth.HashToken("test sealing key"))
	if err != nil {
		panic(err)
	}
	return s
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, db: storetest.Open(t), now: time.Date(2026, 5, 18, 9, 30, 0, 0, time.UTC), mailer: &recordingMailer{}}
	e.hasher = &countingHasher{Hasher: auth.NewHasher(4, 4)}
	e.svc = New(Config{DB: e.db, Sealer: testSealer(), Hasher: e.hasher, Now: e.clock, Mailer: e.mailer, BaseURL: "https://gatehouse.test:8420"})
	return e
}

func (e *env) clock() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now }

func (e *env) advance(d time.Duration) { e.mu.Lock(); e.now = e.now.Add(d); e.mu.Unlock() }

// setup creates the first SUPER_ADMIN and returns a context signed in as them.
func (e *env) setup() context.Context {
	e.t.Helper()
	if _, err := e.svc.Setup(context.Background(), SetupInput{Organisation: "KW Group", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: testPassword}); err != nil {
		e.t.Fatal(err)
	}
	return e.signIn("mitch@kwgroup.uk")
}

func (e *env) signIn(email string) context.Context {
	e.t.Helper()
	_, tok, err := e.svc.SignIn(e.caller(""), SignInInput{Email: email, Password: testPassword})
	if err != nil {
		e.t.Fatalf("sign in %s: %v", email, err)
	}
	return e.caller(tok)
}

func (e *env) caller(token string) context.Context {
	return WithCaller(context.Background(), Caller{Token: token, IP: "192.0.2.7", UserAgent: "test"})
}

// addUser stores a member of the admin tenancy directly.
func (e *env) addUser(name string, role auth.Role, active bool) *store.User {
	e.t.Helper()
	hash, _ := e.svc.hasher.Hash(testPassword)
	u := &store.User{Email: strings.ToLower(name) + "@kwgroup.uk", Name: name, Role: role, Active: active, TenantID: 1, DefaultTenantID: 1, CreatedAt: e.clock()}
	err := e.db.Update(func(tx *store.Tx) error {
		if err := tx.CreateUser(u, store.Credentials{PasswordHash: hash}); err != nil {
			return err
		}
		return tx.PutMembership(store.Membership{UserID: u.ID, TenantID: 1})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// events returns the whole audit log, newest first.
func (e *env) events() []store.Event {
	var out []store.Event
	e.db.View(func(tx *store.Tx) error {
		return tx.ScanAudit(store.AuditQuery{}, func(ev store.Event) (bool, error) { out = append(out, ev); return true, nil })
	})
	return out
}

// wantCode fails unless err has the given code (and, for field errors, field).
func wantCode(t *testing.T, what string, err error, code Code, field string) {
	t.Helper()
	if ErrorCode(err) != code {
		t.Fatalf("%s: error %v (%s), want %s", what, err, ErrorCode(err), code)
	}
	if field != "" && AsError(err).Field != field {
		t.Fatalf("%s: field %q, want %q", what, AsError(err).Field, field)
	}
}

// configureSMTP saves SMTP settings as an admin would.
func (e *env) configureSMTP(ctx context.Context) {
	e.t.Helper()
	host, from, sec := "smtp.kwgroup.uk", "gatehouse@kwgroup.uk", "starttls"
	if _, err := e.svc.UpdateSettings(ctx, SettingsInput{SMTPHost: &host, SMTPFromAddress: &from, SMTPSecurity: &sec}); err != nil {
		e.t.Fatal(err)
	}
}

// deliver runs the outbox once.
func (e *env) deliver() {
	e.t.Helper()
	if _, err := e.svc.DeliverDue(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

// tokenOf pulls the token out of an invitation link.
func tokenOf(link string) string {
	_, tok, _ := strings.Cut(link, "token=")
	return tok
}

// accept accepts an invitation with the test password.
func (e *env) accept(link, name string) (Me, context.Context, error) {
	res, tok, err := e.svc.AcceptInvitation(e.caller(""), AcceptInput{Token: tokenOf(link), Name: name, Password: testPassword})
	var me Me
	if res.Me != nil {
		me = *res.Me
	}
	return me, e.caller(tok), err
}

// invitations lists the first page of the current tenant's invitations.
func (e *env) invitations(ctx context.Context, in ListInvitationsInput) ([]InvitationView, error) {
	return listInvitations(e.svc, ctx, in)
}

func listInvitations(svc *Service, ctx context.Context, in ListInvitationsInput) ([]InvitationView, error) {
	list, err := svc.ListInvitations(ctx, in)
	return list.Invitations, err
}
