package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/core"
	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
	"gatehouse/internal/web"
)

// officeNow is the office log's "now" (the same as internal/core's
// benchmarks, so both can share one data folder).
var officeNow = time.Date(2026, 5, 18, 12, 0, 0, 0, time.UTC)

const (
	officeAdmin    = "admin@office.example"
	officePassword = "correct horse" // internal/core's benchmarks set the shared folder up with it
)

// BenchmarkOfficeHTTP measures issue 14's budgets as an admin's browser
// meets them: the real LAN handler on loopback, a signed-in cookie, JSON
// in and out, over an office's data — 10,000 users and 1,000,000 audit
// events over 90 days (storetest.GenerateOfficeAuditLog: ~110,000 distinct
// addresses with a long tail, ~5 % failures, a few heavy actors). The data
// folder is $GATEHOUSE_OFFICE_DB (default $TMPDIR/gatehouse-bench-office,
// shared with internal/core's BenchmarkAuditOffice), built on first use;
// GATEHOUSE_OFFICE_EVENTS=N builds a smaller one in a temporary folder
// instead (make test runs it once that way). Each call reports its p95.
// The garbage collector runs at web.GCPercent, as in gatehouse serve.
//
//	go test -run '^$' -bench OfficeHTTP -benchtime 500x -timeout 60m .
func BenchmarkOfficeHTTP(b *testing.B) {
	events, users := 1_000_000, 10_000
	dir := os.Getenv("GATEHOUSE_OFFICE_DB")
	if n, err := strconv.Atoi(os.Getenv("GATEHOUSE_OFFICE_EVENTS")); err == nil && n > 0 {
		events, users = n, min(users, n/10+100)
		if dir == "" {
			dir = b.TempDir()
		}
	}
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "gatehouse-bench-office")
	}
	// The garbage collector as gatehouse serve sets it (unless GOGC is set).
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(web.GCPercent))
	}
	url, db := officeServer(b, dir, events, users)
	c := officeClient(b, url)
	month := officeNow.Add(-30 * 24 * time.Hour)
	// Each call's first answer is decoded and checked in full; the calls
	// measured then read the whole answer as a page does, and leave the
	// decoding to the client (a browser's JSON.parse, not Go's reflection).
	call := func(method string, min int, args ...any) func() error {
		checked := false
		return func() error {
			if !checked {
				checked = true
				return c.call(method, min, args...)
			}
			return c.fetch(method, args...)
		}
	}
	list := func(f core.AuditFilter, min int) func() error { f.Limit = 50; return call("ListAudit", min, f) }
	b.Run("newest50", func(b *testing.B) { storetest.MeasureP95(b, list(core.AuditFilter{}, 50)) })
	b.Run("action+resource", func(b *testing.B) {
		storetest.MeasureP95(b, list(core.AuditFilter{Action: "deactivate", Resource: "user"}, 50))
	})
	b.Run("actor+time-range", func(b *testing.B) {
		storetest.MeasureP95(b, list(core.AuditFilter{User: "person2@client2.example", Since: month.Format(time.RFC3339), Until: month.Add(14 * 24 * time.Hour).Format(time.RFC3339)}, 1))
	})
	b.Run("text-common-fail", func(b *testing.B) { storetest.MeasureP95(b, list(core.AuditFilter{Text: "fail"}, 50)) })
	b.Run("text-address-prefix", func(b *testing.B) { storetest.MeasureP95(b, list(core.AuditFilter{Text: "10.1"}, 50)) })
	b.Run("text-rare-old", func(b *testing.B) { storetest.MeasureP95(b, list(core.AuditFilter{Text: storetest.RareIP}, 1)) })
	b.Run("text-change-role", func(b *testing.B) { storetest.MeasureP95(b, list(core.AuditFilter{Text: "role agent"}, 10)) })
	b.Run("stats-24h", func(b *testing.B) { storetest.MeasureP95(b, call("GetAuditStats", 0, 0)) })
	b.Run("page-open-options", func(b *testing.B) { storetest.MeasureP95(b, call("GetAuditOptions", 0, 0)) })
	b.Run("users-search", func(b *testing.B) {
		storetest.MeasureP95(b, call("ListUsers", 0, core.ListUsersInput{Search: "person 12", Limit: 50}))
	})
	b.Run("users-first-page", func(b *testing.B) {
		storetest.MeasureP95(b, call("ListUsers", 0, core.ListUsersInput{Sort: "lastLogin", Limit: 50}))
	})
	if st, err := os.Stat(db); err == nil {
		b.ReportMetric(float64(st.Size())/(1<<20), "file-MiB")
	}
}

// officeServer opens (building, if short) the office data folder and
// serves it on loopback; it returns the server's URL and the file's path.
func officeServer(b *testing.B, dir string, events, users int) (string, string) {
	b.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	key, err := auth.LoadOrCreateKey(filepath.Join(dir, auth.KeyFile))
	if err != nil {
		b.Fatal(err)
	}
	sealer, err := auth.NewSealer(key)
	if err != nil {
		b.Fatal(err)
	}
	db, err := store.Open(dir, store.Options{AuditKey: sealer.SubKey(auth.AuditChainPurpose), CheckKey: core.KeyCheck(sealer)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	svc := core.New(core.Config{DB: db, Sealer: sealer, Hasher: auth.NewHasher(4, 2), Now: func() time.Time { return officeNow }})
	if err := svc.CheckKey(); err != nil {
		b.Fatal(err)
	}
	// The log first: its events lead up to now, and the admin's setup
	// events come after them (keys never go back in time).
	var have uint64
	db.View(func(tx *store.Tx) (err error) { have, err = tx.CountEvents(); return err })
	if have < uint64(events) {
		b.Logf("generating %d audit events in %s …", events-int(have), dir)
		start := time.Now()
		if err := storetest.GenerateOfficeAuditLog(db, storetest.OfficeLog{Events: events - int(have)}, officeNow); err != nil {
			b.Fatal(err)
		}
		b.Logf("generated in %v", time.Since(start))
	}
	if st, _ := svc.SetupStatus(context.Background()); st.Needed {
		if _, err := svc.Setup(context.Background(), core.SetupInput{Organisation: "Office", Email: officeAdmin, Name: "Office Admin", Password: officePassword}); err != nil {
			b.Fatal(err)
		}
	}
	var listed int
	db.View(func(tx *store.Tx) error { listed = tx.DirectoryCount(1, "", nil); return nil })
	if listed < users {
		if err := storetest.GenerateOfficeUsers(db, users-listed, 1, officeNow); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.WaitChecked(); err != nil { // steady state: Open's background check is over
		b.Fatal(err)
	}
	h, err := web.New(web.Config{NewApp: func(s web.Session, ip, ua string) any { return newApp(svc, s, ip, ua) }})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv.URL, db.Path()
}

// officeHTTP is a browser's session with the LAN server: one cookie, one
// kept-alive connection.
type officeHTTP struct {
	url string
	c   *http.Client
}

func officeClient(b *testing.B, url string) *officeHTTP {
	jar, _ := cookiejar.New(nil)
	c := &officeHTTP{url: url, c: &http.Client{Jar: jar, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}}
	if err := c.call("SignIn", 0, core.SignInInput{Email: officeAdmin, Password: officePassword}); err != nil {
		b.Fatal(err)
	}
	return c
}

// fetch posts one method and reads the whole answer, as a page does.
func (c *officeHTTP) fetch(method string, args ...any) error {
	res, body := postB(c.c, c.url, method, args...)
	if res == nil || res.StatusCode != http.StatusOK || len(body) == 0 {
		return fmt.Errorf("%s: %v %s", method, res, body)
	}
	return nil
}

// call is fetch, and a list's answer must hold at least min events.
func (c *officeHTTP) call(method string, min int, args ...any) error {
	res, body := postB(c.c, c.url, method, args...)
	if res == nil || res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %v %s", method, res, body)
	}
	if min > 0 {
		var page core.AuditPage
		if err := json.Unmarshal([]byte(body), &page); err != nil || len(page.Events) < min {
			return fmt.Errorf("%s: %d events, want at least %d (%v)", method, len(page.Events), min, err)
		}
	}
	return nil
}
