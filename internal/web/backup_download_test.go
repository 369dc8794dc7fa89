package web

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The backup download streams: the first bytes reach the browser while the
// rest is still being written, with no length known in advance, and a
// failure after the start cuts the response instead of ending it cleanly.
func TestBackupDownloadStreams(t *testing.T) {
	firstRead := make(chan struct{})
	var fail error
	h, err := New(Config{NewApp: func(Session, string, string) any { return fuzzApp{} }, Logger: slog.New(slog.DiscardHandler),
		Backup: func(r *http.Request, s Session, ip, passphrase string, w io.Writer) (int64, error) {
			if passphrase != "a long enough passphrase" {
				t.Errorf("passphrase %q", passphrase)
			}
			if _, err := w.Write(bytes.Repeat([]byte("a"), 64<<10)); err != nil {
				return 0, err
			}
			select {
			case <-firstRead:
			case <-time.After(10 * time.Second):
				t.Error("the client got nothing while the backup was being written: not streamed")
			}
			if fail != nil {
				return 0, fail
			}
			_, err := w.Write(bytes.Repeat([]byte("b"), 64<<10))
			return 128 << 10, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func() (*http.Response, error) {
		req, _ := http.NewRequest("POST", srv.URL+"/download/backup", strings.NewReader("passphrase=a+long+enough+passphrase"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(CSRFHeader, "1")
		return http.DefaultClient.Do(req)
	}
	res, err := get()
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.ContentLength != -1 || !strings.Contains(res.Header.Get("Content-Disposition"), `attachment; filename="gatehouse-backup-`) || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %d %v", res.StatusCode, res.ContentLength, res.Header)
	}
	first := make([]byte, 1024)
	if _, err := io.ReadFull(res.Body, first); err != nil {
		t.Fatal(err)
	}
	close(firstRead)
	rest, err := io.ReadAll(res.Body)
	if err != nil || len(rest)+len(first) != 128<<10 {
		t.Fatalf("%d bytes, %v", len(rest)+len(first), err)
	}

	firstRead = make(chan struct{})
	fail = errors.New("disk went away")
	res, err = get()
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	io.ReadFull(res.Body, first)
	close(firstRead)
	if _, err := io.ReadAll(res.Body); err == nil {
		t.Fatal("a backup that failed midway ended like a whole one")
	}
}
