package web

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gatehouse/internal/core"
)

// exportServer serves a Server whose export writes size bytes of rows and
// then fails with fail (nil: succeeds).
func exportServer(t *testing.T, size int, fail error) *httptest.Server {
	t.Helper()
	h, err := New(Config{NewApp: func(Session, string, string) any { return fuzzApp{} }, Logger: slog.New(slog.DiscardHandler),
		Export: func(r *http.Request, s Session, ip string, f core.AuditFilter, format string, w http.ResponseWriter) (int, error) {
			row := "2026-05-18T09:30:00Z,Mitch,mitch@kwgroup.uk,update,user,7,10.0.0.1,1,42,{}\n"
			n := 0
			for written := 0; written < size; written += len(row) {
				if _, err := io.WriteString(w, row); err != nil {
					return n, err
				}
				n++
			}
			return n, fail
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// A failure after the first byte of an export aborts the response, so the
// client sees a broken download (unexpected EOF), never a complete-looking
// file; a failure before it is a proper JSON error.
func TestExportFailureMidwayAbortsTheDownload(t *testing.T) {
	broken := errors.New("disk read failed")
	for _, c := range []struct {
		name    string
		size    int
		fail    error
		wantErr bool
		status  int
	}{
		{"complete", 200 << 10, nil, false, 200},
		{"fails after 200 KB", 200 << 10, broken, true, 0},
		{"fails after 100 bytes", 100, broken, true, 0},
		{"refused before the first byte", 0, &core.Error{Code: core.Forbidden, Message: "Your role does not allow this."}, false, 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := exportServer(t, c.size, c.fail)
			res, err := srv.Client().Get(srv.URL + "/download/audit?format=csv")
			var body []byte
			if err == nil {
				body, err = io.ReadAll(res.Body)
				res.Body.Close()
			}
			if c.wantErr {
				if err == nil {
					t.Fatalf("the client received a complete-looking file of %d bytes (status %d)", len(body), res.StatusCode)
				}
				if c.size > 64<<10 && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("want unexpected EOF, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != c.status || c.status == 200 && len(body) < c.size ||
				c.status != 200 && !strings.Contains(string(body), `"code":"forbidden"`) {
				t.Fatalf("%d, %d bytes: %.200s", res.StatusCode, len(body), body)
			}
		})
	}
}
