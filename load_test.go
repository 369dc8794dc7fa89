package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/core"
	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
	"gatehouse/internal/web"
)

// BenchmarkLANLoad drives the LAN server on loopback with 50 concurrent
// clients for 30 s (GATEHOUSE_LOAD_SECONDS), mixing the users list (78%),
// the audit log (20%) and sign-ins (2%, real bcrypt cost 12), over 2,000
// users and 20,000 audit events. Nothing may fail and nothing may be
// logged as an error.
//
//	go test -run '^$' -bench LANLoad -benchtime 1x .
func BenchmarkLANLoad(b *testing.B) {
	seconds := 30
	if n, err := strconv.Atoi(os.Getenv("GATEHOUSE_LOAD_SECONDS")); err == nil && n > 0 {
		seconds = n
	}
	db, err := store.Open(b.TempDir(), store.Options{AuditKey: []byte("load")})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil))
	svc := core.New(core.Config{DB: db, Sealer: testSealer(b), Logger: logger})
	// The log first, up to now: the setup's events come after it (event
	// keys never go back in time).
	if err := storetest.GenerateAuditLog(db, 20000, time.Now(), 30*24*time.Hour); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Setup(context.Background(), core.SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: "password123"}); err != nil {
		b.Fatal(err)
	}
	hash, _ := auth.NewHasher(auth.DefaultCost, 1).Hash("password123")
	err = db.Update(func(tx *store.Tx) error {
		for i := 0; i < 2000; i++ {
			u := &store.User{Email: fmt.Sprintf("staff%04d@kwgroup.uk", i), Name: fmt.Sprintf("Staff Member %04d", i), Role: auth.Admin, Active: true, TenantID: 1, DefaultTenantID: 1}
			if err := tx.CreateUser(u, store.Credentials{PasswordHash: hash}); err != nil {
				return err
			}
			if err := tx.PutMembership(store.Membership{UserID: u.ID, TenantID: 1}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	h, _ := web.New(web.Config{NewApp: func(s web.Session, ip, ua string) any { return newApp(svc, s, ip, ua) }, Logger: logger})
	srv := httptest.NewServer(h)
	defer srv.Close()

	type sample struct {
		call string
		d    time.Duration
	}
	var mu sync.Mutex
	var samples []sample
	var failures []string
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < 50; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(c)))
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Jar: jar, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			email := fmt.Sprintf("staff%04d@kwgroup.uk", c)
			do := func(call string, args ...any) {
				t := time.Now()
				res, body := postB(client, srv.URL, call, args...)
				mu.Lock()
				samples = append(samples, sample{call, time.Since(t)})
				if res == nil || res.StatusCode != 200 {
					failures = append(failures, fmt.Sprintf("%s: %v %s", call, res, body))
				}
				mu.Unlock()
			}
			do("SignIn", core.SignInInput{Email: email, Password: "password123"})
			for time.Now().Before(deadline) {
				switch r := rng.Intn(100); {
				case r < 78:
					do("ListUsers", core.ListUsersInput{Search: fmt.Sprintf("member %02d", rng.Intn(100)), Limit: 50})
				case r < 98:
					do("ListAudit", core.AuditFilter{Action: []string{"", "update", "sign_in"}[rng.Intn(3)], Limit: 50})
				default:
					do("SignIn", core.SignInInput{Email: email, Password: "password123"})
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(failures) > 0 {
		b.Fatalf("%d calls failed, first: %s", len(failures), failures[0])
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		b.Fatalf("errors were logged:\n%s", logs.String())
	}
	by := map[string][]time.Duration{}
	for _, s := range samples {
		by[s.call] = append(by[s.call], s.d)
	}
	b.ReportMetric(float64(len(samples))/elapsed.Seconds(), "calls/s")
	for call, ds := range by {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, call+"-p99-ms")
		b.ReportMetric(float64(len(ds))/elapsed.Seconds(), call+"/s")
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func postB(c *http.Client, url, method string, args ...any) (*http.Response, string) {
	body, _ := jsonMarshal(args)
	req, _ := http.NewRequest("POST", url+"/api/App."+method, bytes.NewReader(body))
	req.Header.Set("X-Gatehouse", "1")
	res, err := c.Do(req)
	if err != nil {
		return nil, err.Error()
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	return res, buf.String()
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
