package main

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/core"
	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

// gateWriter holds its first Write until resume is closed: a client that
// has stopped reading.
type gateWriter struct {
	once    sync.Once
	started chan struct{}
	resume  chan struct{}
	buf     bytes.Buffer
}

func (g *gateWriter) Write(p []byte) (int, error) {
	g.once.Do(func() { close(g.started); <-g.resume })
	return g.buf.Write(p)
}

// An audit export reads in pages, each in its own read transaction, so a
// client that stops reading holds none open: events pruned while it waits
// are gone from the pages read afterwards, and the pruning is not held up.
// (One transaction for the whole export showed every event, or blocked a
// write that had to grow the file.)
func TestAuditExportHoldsNoTransactionWhileTheClientWaits(t *testing.T) {
	db := storetest.Open(t)
	now := time.Date(2026, 5, 18, 12, 0, 0, 0, time.UTC)
	const old = 2500
	if err := db.Update(func(tx *store.Tx) error {
		for i := range old {
			e := &store.Event{Time: now.AddDate(0, 0, -100).Add(time.Duration(i) * time.Second), ActorName: "Person", ActorEmail: fmt.Sprintf("p%d@kwgroup.uk", i%50),
				Action: "update", ResourceType: "user", ResourceID: fmt.Sprint(i), IP: "10.0.0.1", TenantID: 1, Meta: []byte(`{"after":{"name":"New name"}}`)}
			if err := tx.AppendEvent(e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	svc := core.New(core.Config{DB: db, Sealer: testSealer(t), Hasher: auth.NewHasher(4, 4), Now: func() time.Time { return now }})
	ctx := context.Background()
	in := core.SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: "password123", Code: svc.SetupCode()}
	if _, err := svc.Setup(ctx, in); err != nil {
		t.Fatal(err)
	}
	_, token, err := svc.SignIn(core.WithCaller(ctx, core.Caller{IP: "test"}), core.SignInInput{Email: in.Email, Password: in.Password})
	if err != nil {
		t.Fatal(err)
	}
	admin := core.WithCaller(ctx, core.Caller{Token: token, IP: "test"})
	keep := 30
	if _, err := svc.UpdateSettings(admin, core.SettingsInput{RetentionDays: &keep}); err != nil {
		t.Fatal(err)
	}
	var total int
	if err := db.View(func(tx *store.Tx) error { n, err := tx.CountEvents(); total = int(n); return err }); err != nil {
		t.Fatal(err)
	}

	w := &gateWriter{started: make(chan struct{}), resume: make(chan struct{})}
	type result struct {
		n   int
		err error
	}
	exported := make(chan result, 1)
	go func() {
		n, err := svc.ExportAudit(admin, core.AuditFilter{}, core.FormatJSONL, w)
		exported <- result{n, err}
	}()
	select {
	case <-w.started:
	case r := <-exported:
		t.Fatalf("the export ended before writing: %+v", r)
	case <-time.After(10 * time.Second):
		t.Fatal("the export wrote nothing in 10 s")
	}
	pruned := make(chan result, 1)
	go func() {
		n, err := svc.PruneAudit(ctx)
		pruned <- result{n, err}
	}()
	select {
	case r := <-pruned:
		if r.err != nil || r.n != old {
			t.Errorf("pruned %d (%v), want %d", r.n, r.err, old)
		}
	case <-time.After(10 * time.Second):
		t.Error("pruning waited 10 s behind the export's read transaction")
	}
	close(w.resume)
	r := <-exported
	if r.err != nil {
		t.Fatal(r.err)
	}
	lines := bytes.Count(w.buf.Bytes(), []byte("\n"))
	if lines != r.n {
		t.Fatalf("%d lines for %d events", lines, r.n)
	}
	if r.n >= total {
		t.Fatalf("the export wrote all %d events, those pruned while it waited too: it read them all in one transaction", r.n)
	}
	if r.n < 1000 {
		t.Fatalf("the export wrote only %d events", r.n)
	}
}
