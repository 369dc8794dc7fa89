package core

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// exportUsers exports and parses the CSV, header checked and dropped.
func exportUsers(t *testing.T, e *env, ctx context.Context, in ListUsersInput) ([][]string, error) {
	t.Helper()
	var buf bytes.Buffer
	n, err := e.svc.ExportUsers(ctx, in, &buf)
	if err != nil {
		if buf.Len() != 0 {
			t.Fatalf("a refused export wrote %d bytes: %q", buf.Len(), buf.String())
		}
		return nil, err
	}
	rows, perr := csv.NewReader(&buf).ReadAll()
	if perr != nil || len(rows) == 0 || !slices.Equal(rows[0], usersExportHeader) {
		t.Fatalf("not the users CSV (%v): %q", perr, buf.String())
	}
	if len(rows)-1 != n {
		t.Fatalf("export says %d users and wrote %d rows", n, len(rows)-1)
	}
	return rows[1:], nil
}

// listedEmails pages through ListUsers and returns the e-mails in order.
func listedEmails(t *testing.T, e *env, ctx context.Context, in ListUsersInput) []string {
	t.Helper()
	var out []string
	in.Limit = 200
	for {
		p, err := e.svc.ListUsers(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range p.Users {
			out = append(out, u.Email)
		}
		if p.Next == "" {
			return out
		}
		in.After = p.Next
	}
}

func column(rows [][]string, i int) []string {
	out := make([]string, len(rows))
	for j, r := range rows {
		out[j] = r[i]
	}
	return out
}

// The export is the users list the caller sees, with the same filters and
// order: another tenant's users never appear, nor the admin tenancy's staff
// who hold only a shadow membership; a MANAGER gets what their list shows.
func TestUsersExportIsTheListTheCallerSees(t *testing.T) {
	e, root := tenantEnv(t)
	acme, beta := e.tenant(root, "Acme"), e.tenant(root, "Beta")
	e.addUserIn("Mia", auth.Manager, true, 1) // admin-tenancy staff: a shadow member of Acme and Beta
	for i, r := range []auth.Role{auth.Admin, auth.Manager, auth.Agent, auth.Agent, auth.Customer} {
		e.addUserIn(fmt.Sprintf("Acme%d", i), r, i != 3, acme)
	}
	listed := e.addUserIn("Lena", auth.Agent, true, beta) // Beta's, listed in Acme too
	if err := e.db.Update(func(tx *store.Tx) error {
		return tx.PutMembership(store.Membership{UserID: listed.ID, TenantID: acme})
	}); err != nil {
		t.Fatal(err)
	}
	e.addUserIn("Bruno", auth.Agent, true, beta)

	acmeAdmin, acmeManager := e.signIn("acme0@example.com"), e.signIn("acme1@example.com")
	filters := []ListUsersInput{
		{},
		{Sort: "email", Desc: true},
		{Role: "AGENT"},
		{Status: "inactive"},
		{Search: "ACME", Sort: "role"},
		{Search: "lena"},
	}
	for _, who := range []struct {
		name string
		ctx  context.Context
	}{{"Acme's admin", acmeAdmin}, {"Acme's manager", acmeManager}} {
		for _, f := range filters {
			rows, err := exportUsers(t, e, who.ctx, f)
			if err != nil {
				t.Fatalf("%s %+v: %v", who.name, f, err)
			}
			got, want := column(rows, 1), listedEmails(t, e, who.ctx, f)
			if !slices.Equal(got, want) {
				t.Errorf("%s %+v: exported %v, the list shows %v", who.name, f, got, want)
			}
			for _, email := range got {
				if email == "bruno@example.com" || email == "mia@example.com" || email == "mitch@kwgroup.uk" {
					t.Errorf("%s %+v: exported %s, who is not listed in Acme", who.name, f, email)
				}
			}
		}
		all, _ := exportUsers(t, e, who.ctx, ListUsersInput{})
		if len(all) != 6 { // five of Acme's own and Lena
			t.Errorf("%s exported %d users, want 6: %v", who.name, len(all), column(all, 1))
		}
		// Another tenant by id: the same answer as a tenant that does not exist, and no bytes.
		_, err := exportUsers(t, e, who.ctx, ListUsersInput{TenantID: beta})
		_, errMissing := exportUsers(t, e, who.ctx, ListUsersInput{TenantID: 987654})
		if ErrorCode(err) != NotFound || err.Error() != errMissing.Error() {
			t.Errorf("%s exports Beta: %v; a missing tenant: %v", who.name, err, errMissing)
		}
	}
	// The SUPER_ADMIN exports another tenant as their list shows it.
	rows, err := exportUsers(t, e, root, ListUsersInput{TenantID: beta})
	if err != nil || !slices.Equal(column(rows, 1), listedEmails(t, e, root, ListUsersInput{TenantID: beta})) || len(rows) != 2 {
		t.Fatalf("super admin exports Beta: %v %v", rows, err)
	}
	// Those without the users list get nothing.
	e.addUserIn("Agnes", auth.Agent, true, acme)
	_, err = exportUsers(t, e, e.signIn("agnes@example.com"), ListUsersInput{})
	wantCode(t, "agent export", err, Forbidden, "")
	_, err = exportUsers(t, e, context.Background(), ListUsersInput{})
	wantCode(t, "no session", err, Unauthenticated, "")
	// Bad filters are refused as the list refuses them.
	for field, in := range map[string]ListUsersInput{
		"role":   {Role: "GOD"},
		"status": {Status: "asleep"},
		"sort":   {Sort: "salary"},
		"search": {Search: strings.Repeat("x", maxSearchChars+1)},
	} {
		_, err := exportUsers(t, e, acmeAdmin, in)
		wantCode(t, "export with a bad "+field, err, Invalid, field)
	}
}

// Every column, as the CSV has it: codes and display names, ISO 8601 UTC
// times, and cells a spreadsheet would run as formulas defused.
func TestUsersExportColumnsAndFormulaDefusing(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	hostile := map[string]string{
		"=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0",
		"+SUM(A1:A9)":        "'+SUM(A1:A9)",
		"-2+3":               "'-2+3",
		"@HYPERLINK(x)":      "'@HYPERLINK(x)",
	}
	i := 0
	for name := range hostile {
		i++
		u := &store.User{Email: fmt.Sprintf("=%d@evil.example", i), Name: name, Role: auth.Vendor, Active: true, TenantID: 1, DefaultTenantID: 1}
		if err := e.db.Update(func(tx *store.Tx) error {
			if err := tx.CreateUser(u, store.Credentials{PasswordHash: []byte("x")}); err != nil {
				return err
			}
			return tx.PutMembership(store.Membership{UserID: u.ID, TenantID: 1})
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.advance(time.Hour)
	e.signIn("mitch@kwgroup.uk") // a last login to show
	rows, err := exportUsers(t, e, ctx, ListUsersInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows: %v", len(rows), rows)
	}
	for _, r := range rows {
		for _, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("a cell starts with a formula character: %q", cell)
			}
		}
		if r[0] == "Mitch" {
			continue
		}
		if want, ok := hostile[r[0][1:]]; !ok || r[0] != want || !strings.HasPrefix(r[1], "'=") {
			t.Errorf("hostile row not defused as expected: %q", r)
		}
		if r[2] != "VENDOR" || r[3] != "Contractor / Vendor" || r[4] != "active" || r[5] != "off" || r[6] != "" {
			t.Errorf("vendor row: %q", r)
		}
	}
	var mitch []string
	for _, r := range rows {
		if r[0] == "Mitch" {
			mitch = r
		}
	}
	want := []string{"Mitch", "mitch@kwgroup.uk", "SUPER_ADMIN", "Super admin", "active", "off", "2026-05-18T10:30:00Z", "2026-05-18T09:30:00Z"}
	if !slices.Equal(mitch, want) {
		t.Fatalf("Mitch's row %q, want %q", mitch, want)
	}
}

// An export of more users than one page reads every row once, in order,
// in several read transactions: a user added while the client waits after
// the first page is in a later page (one transaction for the whole export
// would not show them).
func TestUsersExportPagesWithoutHoldingATransaction(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	const many = 2*exportPage + 300
	for start := 0; start < many; start += 200 { // a transaction of 200: the etcd engine's limits allow it
		if err := e.db.Update(func(tx *store.Tx) error {
			for i := start; i < min(many, start+200); i++ {
				u := &store.User{Email: fmt.Sprintf("p%04d@kwgroup.uk", i), Name: fmt.Sprintf("Person %04d", i), Role: auth.Agent,
					Active: true, TenantID: 1, DefaultTenantID: 1, CreatedAt: e.clock()}
				if err := tx.CreateUser(u, store.Credentials{PasswordHash: []byte("x")}); err != nil {
					return err
				}
				if err := tx.PutMembership(store.Membership{UserID: u.ID, TenantID: 1}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	w := &heldWriter{started: make(chan struct{}), resume: make(chan struct{})}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := e.svc.ExportUsers(ctx, ListUsersInput{Search: "person"}, w)
		done <- result{n, err}
	}()
	select {
	case <-w.started:
	case r := <-done:
		t.Fatalf("the export ended before the client stopped reading: %+v", r)
	case <-time.After(10 * time.Second):
		t.Fatal("the export wrote nothing in 10 s")
	}
	late := e.addUser("Person zz late", auth.Agent, true) // sorts last
	close(w.resume)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	rows, err := csv.NewReader(&w.buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	names := column(rows[1:], 0)
	if r.n != many+1 || len(names) != many+1 || names[len(names)-1] != late.Name {
		t.Fatalf("exported %d users (%d rows), last %q; want %d ending with the one added meanwhile", r.n, len(names), names[len(names)-1], many+1)
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Fatal("rows out of order or repeated across pages")
	}
}

// heldWriter holds its first Write until resume is closed: a client that
// has stopped reading.
type heldWriter struct {
	once    sync.Once
	started chan struct{}
	resume  chan struct{}
	buf     bytes.Buffer
}

func (h *heldWriter) Write(p []byte) (int, error) {
	h.once.Do(func() { close(h.started); <-h.resume })
	return h.buf.Write(p)
}
