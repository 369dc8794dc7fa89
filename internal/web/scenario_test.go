package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"gatehouse/internal/auth"
	"gatehouse/internal/core"
	"gatehouse/internal/store/storetest"
)

// scenarioApp is a small App over a real core.Service: the few methods the
// scenarios call, each a one-line call as in package main's App.
type scenarioApp struct {
	svc *core.Service
	s   Session
	ip  string
}

func (a scenarioApp) ctx() context.Context {
	return core.WithCaller(context.Background(), core.Caller{Token: a.s.Token(), IP: a.ip})
}
func (a scenarioApp) Me() (core.Me, error) { return a.svc.Me(a.ctx()) }
func (a scenarioApp) ListUsers(in core.ListUsersInput) (core.UserPage, error) {
	return a.svc.ListUsers(a.ctx(), in)
}
func (a scenarioApp) CreateUser(in core.CreateUserInput) (core.UserView, error) {
	return a.svc.CreateUser(a.ctx(), in)
}
func (a scenarioApp) UpdateSettings(in core.SettingsInput) (core.Settings, error) {
	return a.svc.UpdateSettings(a.ctx(), in)
}
func (a scenarioApp) ListAudit(f core.AuditFilter) (core.AuditPage, error) {
	return a.svc.ListAudit(a.ctx(), f)
}

// apiScenario is one request and what must come back (PocketBase's
// ApiScenario): the caller is "" (anonymous) or a role signed in.
type apiScenario struct {
	name    string
	method  string // default POST
	url     string
	caller  auth.Role
	body    string            // default "[]" for POST
	header  map[string]string // over the defaults (X-Gatehouse: 1); "" removes one
	status  int
	want    []string // body fragments
	notWant []string
}

// scenarioEnv is a fresh service with one signed-in user per role.
type scenarioEnv struct {
	srv    *httptest.Server
	tokens map[auth.Role]string
}

func newScenarioEnv(t *testing.T) *scenarioEnv {
	t.Helper()
	svc := core.New(core.Config{DB: storetest.Open(t), Sealer: testSealer(t), Hasher: auth.NewHasher(4, 4)})
	h, err := New(Config{
		NewApp: func(s Session, ip, _ string) any { return scenarioApp{svc, s, ip} },
		Logger: slog.New(slog.DiscardHandler),
		Export: func(r *http.Request, s Session, ip string, f core.AuditFilter, format string, w http.ResponseWriter) (int, error) {
			return svc.ExportAudit(core.WithCaller(r.Context(), core.Caller{Token: s.Token(), IP: ip}), f, format, w)
		},
		ExportUsers: func(r *http.Request, s Session, ip string, in core.ListUsersInput, w http.ResponseWriter) (int, error) {
			return svc.ExportUsers(core.WithCaller(r.Context(), core.Caller{Token: s.Token(), IP: ip}), in, w)
		},
		Backup: func(r *http.Request, s Session, ip, passphrase string, w io.Writer) (int64, error) {
			return svc.DownloadBackup(core.WithCaller(r.Context(), core.Caller{Token: s.Token(), IP: ip}), passphrase, w)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	env := &scenarioEnv{srv: httptest.NewServer(h), tokens: map[auth.Role]string{}}
	t.Cleanup(env.srv.Close)

	ctx := core.WithCaller(context.Background(), core.Caller{IP: "192.0.2.1"})
	const password = "password123"
	if _, err := svc.Setup(ctx, core.SetupInput{Organisation: "KW", Email: "super@kwgroup.uk", Name: "Super", Password: password, Code: svc.SetupCode()}); err != nil {
		t.Fatal(err)
	}
	signIn := func(role auth.Role, email string) {
		res, token, err := svc.SignIn(ctx, core.SignInInput{Email: email, Password: password})
		if err != nil || res.Step != "done" {
			t.Fatalf("sign in as %s: %+v %v", role, res, err)
		}
		env.tokens[role] = token
	}
	signIn(auth.SuperAdmin, "super@kwgroup.uk")
	super := core.WithCaller(ctx, core.Caller{Token: env.tokens[auth.SuperAdmin], IP: "192.0.2.1"})
	for _, role := range []auth.Role{auth.Admin, auth.Manager, auth.Agent} {
		email := strings.ToLower(string(role)) + "@kwgroup.uk"
		keep := false
		if _, err := svc.CreateUser(super, core.CreateUserInput{Email: email, Name: string(role), Role: string(role), Password: password, MustChangePassword: &keep}); err != nil {
			t.Fatalf("create %s: %v", role, err)
		}
		signIn(role, email)
	}
	return env
}

func (env *scenarioEnv) run(t *testing.T, sc apiScenario) {
	t.Helper()
	method, body := sc.method, sc.body
	if method == "" {
		method = http.MethodPost
	}
	if body == "" && method == http.MethodPost {
		body = "[]"
	}
	req, err := http.NewRequest(method, env.srv.URL+sc.url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(CSRFHeader, "1")
	for k, v := range sc.header {
		if v == "" {
			req.Header.Del(k)
		} else if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, strings.ReplaceAll(v, "{server}", strings.TrimPrefix(env.srv.URL, "http://")))
		}
	}
	if sc.caller != "" {
		req.AddCookie(&http.Cookie{Name: CookieName, Value: env.tokens[sc.caller]})
	}
	status, got := roundTrip(t, env.srv, req)
	if status != sc.status {
		t.Errorf("status %d, want %d: %.300s", status, sc.status, got)
	}
	for _, w := range sc.want {
		if !strings.Contains(got, w) {
			t.Errorf("the body lacks %q: %.300s", w, got)
		}
	}
	for _, w := range sc.notWant {
		if strings.Contains(got, w) {
			t.Errorf("the body has %q: %.300s", w, got)
		}
	}
}

func TestAPIScenarios(t *testing.T) {
	env := newScenarioEnv(t)
	for _, sc := range []apiScenario{
		// Sessions.
		{name: "anonymous Me", url: "/api/App.Me", status: 401, want: []string{`"code":"unauthenticated"`}},
		{name: "agent Me", url: "/api/App.Me", caller: auth.Agent, status: 200, want: []string{`"role":"AGENT"`}},
		{name: "unknown session", url: "/api/App.Me", header: map[string]string{"Cookie": CookieName + "=forged"}, status: 401},

		// CSRF.
		{name: "no CSRF header", url: "/api/App.Me", caller: auth.Admin, header: map[string]string{CSRFHeader: ""}, status: 403,
			want: []string{"missing the X-Gatehouse: 1 header"}, notWant: []string{`"role"`}},
		{name: "wrong CSRF header", url: "/api/App.Me", caller: auth.Admin, header: map[string]string{CSRFHeader: "true"}, status: 403},
		{name: "cross-site Origin", url: "/api/App.Me", caller: auth.Admin, header: map[string]string{"Origin": "http://evil.example"}, status: 403,
			want: []string{"Requests from other sites are not accepted."}},
		{name: "cross-scheme Origin", url: "/api/App.Me", caller: auth.Admin, header: map[string]string{"Origin": "https://{server}"}, status: 403},
		{name: "same Origin", url: "/api/App.Me", caller: auth.Admin, header: map[string]string{"Origin": "http://{server}"}, status: 200},
		{name: "cross-site write refused before it runs", url: "/api/App.CreateUser", caller: auth.SuperAdmin, header: map[string]string{"Origin": "null"},
			body: `[{"email":"csrf@kwgroup.uk","name":"CSRF","role":"AGENT","password":"password123"}]`, status: 403},
		{name: "forged Host", url: "/api/App.Me", caller: auth.Admin, header: map[string]string{"Host": "rebind.evil.example"}, status: 421},

		// Bad requests.
		{name: "bad JSON", url: "/api/App.ListUsers", caller: auth.Admin, body: `{not json`, status: 400,
			want: []string{`"code":"invalid"`, "must be a JSON array of arguments: invalid JSON at byte 2."}},
		{name: "wrong argument type", url: "/api/App.ListUsers", caller: auth.Admin, body: `[{"limit":"ten"}]`, status: 400,
			want: []string{`Argument 1 of ListUsers is not right: the field \"limit\" must be a number.`}},
		{name: "wrong argument count", url: "/api/App.ListUsers", caller: auth.Admin, status: 400, want: []string{"ListUsers takes 1 argument(s), got 0."}},
		{name: "unknown method", url: "/api/App.DropDatabase", caller: auth.SuperAdmin, status: 404, want: []string{"There is no such API method."}},
		{name: "GET on the API", method: "GET", url: "/api/App.Me", caller: auth.Admin, status: 405},
		{name: "body too large", url: "/api/App.ListUsers", caller: auth.Admin, body: `[{"search":"` + strings.Repeat("x", MaxBody) + `"}]`, status: 413},

		// Permissions.
		{name: "agent lists users", url: "/api/App.ListUsers", caller: auth.Agent, body: `[{}]`, status: 403, want: []string{`"code":"forbidden"`}},
		{name: "manager lists users", url: "/api/App.ListUsers", caller: auth.Manager, body: `[{}]`, status: 200, want: []string{"agent@kwgroup.uk"}},
		{name: "manager creates an admin", url: "/api/App.CreateUser", caller: auth.Manager,
			body: `[{"email":"new-admin@kwgroup.uk","name":"New","role":"ADMIN","password":"password123"}]`, status: 403,
			want: []string{"You cannot give someone a role above your own.", `"field":"role"`}},
		{name: "agent creates a user", url: "/api/App.CreateUser", caller: auth.Agent,
			body: `[{"email":"new-agent@kwgroup.uk","name":"New","role":"AGENT","password":"password123"}]`, status: 403},
		{name: "manager changes settings", url: "/api/App.UpdateSettings", caller: auth.Manager, body: `[{"multiTenant":true}]`, status: 403},
		{name: "agent reads the audit log", url: "/api/App.ListAudit", caller: auth.Agent, body: `[{}]`, status: 403},
		{name: "admin reads the audit log", url: "/api/App.ListAudit", caller: auth.Admin, body: `[{}]`, status: 200, want: []string{`"action":"sign_in"`}},

		// The audit download.
		{name: "download anonymous", method: "GET", url: "/download/audit?format=csv", status: 401, want: []string{`"code":"unauthenticated"`}},
		{name: "download as agent", method: "GET", url: "/download/audit?format=csv", caller: auth.Agent, status: 403, notWant: []string{"actor_email"}},
		{name: "download as manager", method: "GET", url: "/download/audit", caller: auth.Manager, status: 403},
		{name: "download CSV", method: "GET", url: "/download/audit?format=csv", caller: auth.Admin, status: 200,
			want: []string{"time,actor_name,actor_email,action,resource_type,resource_id,ip,tenant_id,event_id,meta,subject_name,subject_email,change\n", ",sign_in,"}},
		{name: "download JSON Lines", method: "GET", url: "/download/audit?format=jsonl&action=sign_in", caller: auth.SuperAdmin, status: 200,
			want: []string{`"action":"sign_in"`}, notWant: []string{`"action":"create"`}},
		{name: "download in another format", method: "GET", url: "/download/audit?format=xml", caller: auth.Admin, status: 400, want: []string{"Choose csv or jsonl."}},
		{name: "download with a bad tenant", method: "GET", url: "/download/audit?tenant=acme", caller: auth.Admin, status: 400, want: []string{"The tenant must be a number."}},
		{name: "download by POST", url: "/download/audit", caller: auth.Admin, status: 405},
		{name: "download for a forged Host", method: "GET", url: "/download/audit", caller: auth.Admin, header: map[string]string{"Host": "rebind.evil.example:80"}, status: 421},
		// The users download: who may see the list, as the list filters it.
		{name: "users download anonymous", method: "GET", url: "/download/users", status: 401, want: []string{`"code":"unauthenticated"`}},
		{name: "users download as agent", method: "GET", url: "/download/users", caller: auth.Agent, status: 403, notWant: []string{"role_name"}},
		{name: "users download as manager", method: "GET", url: "/download/users", caller: auth.Manager, status: 200,
			want: []string{"name,email,role,role_name,status,two_factor,last_login,created\n", "AGENT,agent@kwgroup.uk,AGENT,Agent,active,off,", "Super,super@kwgroup.uk,SUPER_ADMIN,Super admin,active,off,20"}},
		{name: "users download searched", method: "GET", url: "/download/users?q=MANAGER&sort=email&desc=1", caller: auth.Admin, status: 200,
			want: []string{"manager@kwgroup.uk"}, notWant: []string{"agent@kwgroup.uk", "super@kwgroup.uk"}},
		{name: "users download by role", method: "GET", url: "/download/users?role=ADMIN&status=active", caller: auth.Admin, status: 200,
			want: []string{"admin@kwgroup.uk"}, notWant: []string{"manager@kwgroup.uk"}},
		{name: "users download with a bad filter", method: "GET", url: "/download/users?status=asleep", caller: auth.Admin, status: 400, want: []string{"Choose Active or Inactive.", `"field":"status"`}},
		{name: "users download with a bad tenant", method: "GET", url: "/download/users?tenant=beta", caller: auth.Admin, status: 400, want: []string{"The tenant must be a number."}},
		{name: "users download of another tenant", method: "GET", url: "/download/users?tenant=99", caller: auth.Admin, status: 404, notWant: []string{"role_name"}},
		{name: "users download by POST", url: "/download/users", caller: auth.Admin, status: 405},
		// Backups: platform admins only, the passphrase in the body.
		{name: "backup by a manager", url: "/download/backup", caller: auth.Manager, body: backupForm, header: formHeader, status: 403, notWant: []string{"age-encryption"}},
		{name: "backup by an agent", url: "/download/backup", caller: auth.Agent, body: backupForm, header: formHeader, status: 403},
		{name: "backup signed out", url: "/download/backup", body: backupForm, header: formHeader, status: 401},
		{name: "backup with a short passphrase", url: "/download/backup", caller: auth.Admin, body: "passphrase=short", header: formHeader, status: 400, want: []string{`"field":"passphrase"`}},
		{name: "backup by GET", method: "GET", url: "/download/backup?passphrase=a+long+enough+one", caller: auth.Admin, status: 405},
		{name: "backup without the CSRF header", url: "/download/backup", caller: auth.SuperAdmin, body: backupForm, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", CSRFHeader: ""}, status: 403},
		{name: "backup from another site", url: "/download/backup", caller: auth.SuperAdmin, body: backupForm, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://evil.example"}, status: 403},
		{name: "backup by an admin", url: "/download/backup", caller: auth.Admin, body: backupForm, header: formHeader, status: 200, want: []string{"age-encryption.org/v1\n-> scrypt"}},
	} {
		t.Run(sc.name, func(t *testing.T) { env.run(t, sc) })
	}
}

const backupForm = "passphrase=a+long+enough+passphrase"

var formHeader = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

// testSealer seals with a fixed key, as a data folder's key file would.
func testSealer(t testing.TB) *auth.Sealer {
	s, err := auth.NewSealer(auth.HashToken("test sealing key"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The users download is a named CSV file, never cached.
func TestUsersDownloadIsACSVFile(t *testing.T) {
	env := newScenarioEnv(t)
	req, _ := http.NewRequest(http.MethodGet, env.srv.URL+"/download/users?sort=role", nil)
	req.AddCookie(&http.Cookie{Name: CookieName, Value: env.tokens[auth.Manager]})
	res, err := env.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	h := res.Header
	if res.StatusCode != 200 || h.Get("Content-Type") != "text/csv; charset=utf-8" || h.Get("Cache-Control") != "no-store" ||
		!regexp.MustCompile(`^attachment; filename="gatehouse-users-\d{4}-\d\d-\d\d\.csv"$`).MatchString(h.Get("Content-Disposition")) {
		t.Fatalf("%d %v", res.StatusCode, h)
	}
	lines := strings.Split(strings.TrimSpace(string(body)), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[1], "Super,") || !strings.HasPrefix(lines[4], "AGENT,") {
		t.Fatalf("by role, most powerful first: %q", lines)
	}
}
