package web

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

// hostServer serves a Server over a real loopback connection, so requests
// carry the address they reached.
func hostServer(t *testing.T, baseURL string) (*httptest.Server, string) {
	t.Helper()
	h, err := New(Config{NewApp: func(Session, string, string) any { return fuzzApp{} },
		Frontend: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}},
		BaseURL:  func() (string, error) { return baseURL, nil }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	return srv, port
}

func send(t *testing.T, srv *httptest.Server, method, path, host string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader("[]"))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return roundTrip(t, srv, req)
}

// roundTrip sends req and returns the status and the whole body.
func roundTrip(t *testing.T, srv *httptest.Server, req *http.Request) (int, string) {
	t.Helper()
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}

// A Host that is not one of the server's own addresses (DNS rebinding) is
// refused with 421 on every path, signed in or not; the base URL's host is
// accepted, as a proxy in front of Gatehouse sends it.
func TestForeignHostIsRefused(t *testing.T) {
	srv, port := hostServer(t, "https://gatehouse.kwgroup.uk")
	cases := []struct {
		host string
		want int
	}{
		{"", 200}, // as dialled: 127.0.0.1:port
		{"localhost:" + port, 200},
		{"LOCALHOST:" + port, 200},
		{"[::1]:" + port, 200},
		{"gatehouse.kwgroup.uk", 200},
		{"gatehouse.kwgroup.uk:443", 200},
		{"gatehouse.kwgroup.uk:" + port, 421}, // the base URL names port 443
		{"evil.example:" + port, 421},
		{"evil.example", 421},
		{"127.0.0.1:1", 421},
		{"localhost", 421}, // port 80 is not this server's
		{"192.0.2.7:" + port, 421},
	}
	for _, c := range cases {
		for _, path := range []string{"/api/App.Nothing", "/", "/download/audit"} {
			method := "GET"
			if strings.HasPrefix(path, "/api/") {
				method = "POST"
			}
			status, body := send(t, srv, method, path, c.host, map[string]string{CSRFHeader: "1"})
			if c.want == 421 && (status != 421 || !strings.Contains(body, `"message":"This address is not one of this Gatehouse's own`)) {
				t.Errorf("Host %q %s: %d %s; want 421 with a JSON message", c.host, path, status, body)
			}
			if c.want == 200 && status == 421 {
				t.Errorf("Host %q %s: refused: %s", c.host, path, body)
			}
		}
	}
}

// The Origin of an API call must match scheme, host and port of the
// server's own address, or the base URL exactly.
func TestCrossOriginCallsAreRefused(t *testing.T) {
	srv, port := hostServer(t, "https://gatehouse.kwgroup.uk")
	cases := []struct {
		origin string
		want   int
	}{
		{"", 200},
		{"http://127.0.0.1:" + port, 200},
		{"http://localhost:" + port, 200},
		{"https://gatehouse.kwgroup.uk", 200},
		{"https://gatehouse.kwgroup.uk:443", 200},
		{"https://127.0.0.1:" + port, 403},         // another scheme
		{"http://gatehouse.kwgroup.uk", 403},       // the base URL over another scheme
		{"https://gatehouse.kwgroup.uk:8443", 403}, // another port
		{"http://127.0.0.1:1", 403},
		{"http://evil.example:" + port, 403},
		{"null", 403},
		{"file://", 403},
	}
	for _, c := range cases {
		h := map[string]string{CSRFHeader: "1"}
		if c.origin != "" {
			h["Origin"] = c.origin
		}
		status, body := send(t, srv, "POST", "/api/App.Nothing", "", h)
		if status != c.want {
			t.Errorf("Origin %q: %d %s; want %d", c.origin, status, body, c.want)
		}
		if c.want == 403 && !strings.Contains(body, "other sites") {
			t.Errorf("Origin %q: %s", c.origin, body)
		}
	}
	for _, v := range []string{"", "0", "yes"} {
		if status, body := send(t, srv, "POST", "/api/App.Nothing", "", map[string]string{CSRFHeader: v}); status != 403 || !strings.Contains(body, CSRFHeader) {
			t.Errorf("%s: %q: %d %s", CSRFHeader, v, status, body)
		}
	}
}
