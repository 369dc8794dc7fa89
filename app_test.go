package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gatehouse/internal/auth"
	"gatehouse/internal/core"
	"gatehouse/internal/store/storetest"
	"gatehouse/internal/web"
)

// testCode is the setup code of the service behind the last newTestServer.
var testCode string

func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	svc := core.New(core.Config{DB: storetest.Open(t), Sealer: testSealer(t), Hasher: auth.NewHasher(4, 4)})
	testCode = svc.SetupCode()
	h, err := web.New(web.Config{
		NewApp:   func(s web.Session, ip, ua string) any { return newApp(svc, s, ip, ua) },
		Frontend: frontend(),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func newHTTPServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// boundMethods lists what Wails binds: every exported method of *App.
func boundMethods() []string {
	t := reflect.TypeOf(&App{})
	var out []string
	for i := 0; i < t.NumMethod(); i++ {
		out = append(out, "POST /api/App."+t.Method(i).Name)
	}
	sort.Strings(out)
	return out
}

func TestEveryBoundMethodHasOneRoute(t *testing.T) {
	svc := core.New(core.Config{DB: storetest.Open(t), Sealer: testSealer(t)})
	h, err := web.New(web.Config{NewApp: func(s web.Session, ip, ua string) any { return newApp(svc, s, ip, ua) }})
	if err != nil {
		t.Fatal(err)
	}
	routes := h.Routes()
	sort.Strings(routes)
	bound := boundMethods()
	if !reflect.DeepEqual(routes, bound) {
		t.Fatalf("routes and bound methods differ:\nroutes: %v\nbound:  %v", routes, bound)
	}
	if len(bound) < 6 {
		t.Fatalf("only %d bound methods", len(bound))
	}
}

type client struct {
	t   *testing.T
	srv *httptest.Server
	c   *http.Client
}

func newClient(t *testing.T, srv *httptest.Server) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, srv: srv, c: &http.Client{Jar: jar}}
}

func (c *client) raw(method string, body []byte) (*http.Response, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.srv.URL+"/api/App."+method, bytes.NewReader(body))
	req.Header.Set("X-Gatehouse", "1")
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res, out
}

func (c *client) call(method string, args ...any) (*http.Response, map[string]any) {
	if args == nil {
		args = []any{}
	}
	b, _ := json.Marshal(args)
	return c.raw(method, b)
}

func TestHTTPSignInUsesAStrictCookie(t *testing.T) {
	srv := newTestServer(t)
	c := newClient(t, srv)
	res, body := c.call("Setup", core.SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: "password123", Code: testCode})
	if res.StatusCode != 200 {
		t.Fatalf("setup: %d %v", res.StatusCode, body)
	}
	var cookie *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == web.CookieName {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Fatalf("session cookie %+v", cookie)
	}
	if strings.Contains(toJSON(body), cookie.Value) {
		t.Fatal("the session token is in the response body")
	}
	res, body = c.call("ListUsers", core.ListUsersInput{})
	if res.StatusCode != 200 || len(body["users"].([]any)) != 1 {
		t.Fatalf("list: %d %v", res.StatusCode, body)
	}
	c.call("SignOut")
	res, body = c.call("ListUsers", core.ListUsersInput{})
	if res.StatusCode != 401 || body["code"] != "unauthenticated" {
		t.Fatalf("after sign-out: %d %v", res.StatusCode, body)
	}
}

// Every route answers malformed or oversized input with a 4xx and a
// message, never a 500 or a crash.
func TestEveryRouteRefusesMalformedInput(t *testing.T) {
	srv := newTestServer(t)
	c := newClient(t, srv)
	c.call("Setup", core.SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: "password123", Code: testCode})
	bodies := [][]byte{
		[]byte("{"), []byte(`{"a":1}`), []byte(`"x"`), []byte(`[1,2,3,4,5]`), []byte(`[[]]`),
		[]byte(`[{"email":7}]`), []byte("\xff\xfe"), bytes.Repeat([]byte(" "), web.MaxBody+1),
	}
	for _, route := range boundMethods() {
		name := strings.TrimPrefix(route, "POST /api/App.")
		for _, b := range bodies {
			res, body := c.raw(name, b)
			if res.StatusCode == 200 && (string(b) == "[[]]" || string(b) == `[{"email":7}]`) {
				// A method without parameters, or one taking an object, may
				// accept these; others must refuse.
				continue
			}
			if res.StatusCode < 400 || res.StatusCode >= 500 || body["message"] == nil {
				t.Errorf("%s with %.20q: %d %v", name, b, res.StatusCode, body)
			}
		}
	}
}

func TestHistoryRoutingServesTheAppShell(t *testing.T) {
	srv := newTestServer(t)
	for path, want := range map[string]int{"/admin/users": 200, "/invite/accept": 200, "/": 200, "/assets/missing.js": 404, "/api/App.Nope": 404} {
		method := "GET"
		if strings.HasPrefix(path, "/api/") {
			method = "POST"
		}
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Header.Set("X-Gatehouse", "1")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s %s: %d, want %d", method, path, res.StatusCode, want)
		}
		if res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: security headers missing: %v", path, res.Header)
		}
	}
}

func toJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestSaveAuditExportIsForTheWindow(t *testing.T) {
	srv := newTestServer(t)
	c := newClient(t, srv)
	c.call("Setup", core.SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: "password123", Code: testCode})
	res, body := c.call("SaveAuditExport", core.AuditFilter{}, "csv")
	if res.StatusCode != 409 || !strings.Contains(body["message"].(string), "Download CSV") {
		t.Fatalf("over the LAN: %d %v", res.StatusCode, body)
	}
	// In the window, the chosen file receives the export.
	svc := core.New(core.Config{DB: storetest.Open(t), Sealer: testSealer(t), Hasher: auth.NewHasher(4, 1)})
	svc.Setup(context.Background(), core.SetupInput{Organisation: "KW", Email: "m@kw.uk", Name: "M", Password: "password123"})
	app := newApp(svc, newWindowSession(svc, t.TempDir()), "desktop", "test")
	if _, err := app.SignIn(core.SignInInput{Email: "m@kw.uk", Password: "password123"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "audit.csv")
	app.saveFile = func(_, _ string) (string, error) { return path, nil }
	out, err := app.SaveAuditExport(core.AuditFilter{}, "csv")
	data, _ := os.ReadFile(path)
	if err != nil || out.Events < 2 || !strings.HasPrefix(string(data), "time,actor_name") {
		t.Fatalf("window export: %+v %v %q", out, err, data)
	}
	asked := false
	app.saveFile = func(_, _ string) (string, error) { asked = true; return path, nil }
	if _, err := app.SaveAuditExport(core.AuditFilter{Since: "yesterday"}, "csv"); core.AsError(err).Field != "since" || asked {
		t.Fatalf("a bad filter: %v (dialog shown: %v)", err, asked)
	}
	app.saveFile = func(_, _ string) (string, error) { return "", nil } // the user cancelled
	if out, err := app.SaveAuditExport(core.AuditFilter{}, "csv"); err != nil || !out.Cancelled {
		t.Fatalf("cancelled: %+v %v", out, err)
	}
}

func TestSaveUsersExportIsForTheWindow(t *testing.T) {
	srv := newTestServer(t)
	c := newClient(t, srv)
	c.call("Setup", core.SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: "password123", Code: testCode})
	res, body := c.call("SaveUsersExport", core.ListUsersInput{})
	if res.StatusCode != 409 || !strings.Contains(body["message"].(string), "Export CSV") {
		t.Fatalf("over the LAN: %d %v", res.StatusCode, body)
	}
	// In the window, the chosen file receives the list, filtered.
	svc := core.New(core.Config{DB: storetest.Open(t), Sealer: testSealer(t), Hasher: auth.NewHasher(4, 1)})
	svc.Setup(context.Background(), core.SetupInput{Organisation: "KW", Email: "m@kw.uk", Name: "M", Password: "password123"})
	app := newApp(svc, newWindowSession(svc, t.TempDir()), "desktop", "test")
	if _, err := app.SignIn(core.SignInInput{Email: "m@kw.uk", Password: "password123"}); err != nil {
		t.Fatal(err)
	}
	keep := false
	for _, name := range []string{"=Ann", "Bob"} {
		if _, err := app.CreateUser(core.CreateUserInput{Email: strings.Trim(strings.ToLower(name), "=") + "@kw.uk", Name: name, Role: "AGENT", Password: "password123", MustChangePassword: &keep}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "users.csv")
	var offered string
	app.saveFile = func(_, name string) (string, error) { offered = name; return path, nil }
	out, err := app.SaveUsersExport(core.ListUsersInput{Role: "AGENT", Sort: "name", Desc: true})
	data, _ := os.ReadFile(path)
	want := "name,email,role,role_name,status,two_factor,last_login,created\nBob,bob@kw.uk,AGENT,Agent,active,off,,"
	if err != nil || out.Users != 2 || out.Path != path || offered != "gatehouse-users.csv" || !strings.HasPrefix(string(data), want) ||
		!strings.Contains(string(data), "\n'=Ann,ann@kw.uk,AGENT,") {
		t.Fatalf("window export: %+v %v %q", out, err, data)
	}
	asked := false
	app.saveFile = func(_, _ string) (string, error) { asked = true; return path, nil }
	if _, err := app.SaveUsersExport(core.ListUsersInput{Status: "asleep"}); core.AsError(err).Field != "status" || asked {
		t.Fatalf("a bad filter: %v (dialog shown: %v)", err, asked)
	}
	app.saveFile = func(_, _ string) (string, error) { return "", nil } // the user cancelled
	if out, err := app.SaveUsersExport(core.ListUsersInput{}); err != nil || !out.Cancelled {
		t.Fatalf("cancelled: %+v %v", out, err)
	}
}

func TestLANSetupNeedsTheCodePrintedAtStart(t *testing.T) {
	srv := newTestServer(t)
	c := newClient(t, srv)
	_, status := c.call("SetupStatus")
	if status["needed"] != true || status["codeRequired"] != true {
		t.Fatalf("status %v", status)
	}
	for _, code := range []string{"", "WRONGWRONG12", strings.ToLower(testCode) + "x"} {
		res, body := c.call("Setup", core.SetupInput{Organisation: "KW", Email: "eve@evil.example", Name: "Eve", Password: "password123", Code: code})
		if res.StatusCode != 400 || body["field"] != "code" {
			t.Fatalf("setup with code %q: %d %v", code, res.StatusCode, body)
		}
	}
	res, body := c.call("Setup", core.SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: "password123", Code: strings.ToLower(testCode)})
	if res.StatusCode != 200 {
		t.Fatalf("setup with the code: %d %v", res.StatusCode, body)
	}
}
