package core

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/auth"
)

func TestListUsersPermission(t *testing.T) {
	e := newEnv(t)
	e.setup()
	for _, r := range auth.Roles[1:] {
		e.addUser(strings.ToLower(string(r)), r, true)
	}
	allowed := map[auth.Role]bool{auth.Admin: true, auth.Manager: true}
	for _, r := range auth.Roles[1:] {
		ctx := e.signIn(strings.ToLower(string(r)) + "@kwgroup.uk")
		_, err := e.svc.ListUsers(ctx, ListUsersInput{})
		if allowed[r] && err != nil {
			t.Errorf("%s: %v", r, err)
		}
		if !allowed[r] {
			wantCode(t, string(r), err, Forbidden, "")
		}
	}
	_, err := e.svc.ListUsers(context.Background(), ListUsersInput{})
	wantCode(t, "no session", err, Unauthenticated, "")
}

func TestListUsersFiltersAndPages(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	for i := 0; i < 30; i++ {
		e.addUser(fmt.Sprintf("Staff%02d", i), auth.Agent, i%3 != 0)
	}
	e.addUser("Emma", auth.Manager, true)

	page, err := e.svc.ListUsers(ctx, ListUsersInput{Search: "STAFF1", Limit: 5})
	if err != nil || len(page.Users) != 5 || page.Next == "" || page.Prev != "" {
		t.Fatalf("first page: %d users, next %q prev %q, %v", len(page.Users), page.Next, page.Prev, err)
	}
	page2, err := e.svc.ListUsers(ctx, ListUsersInput{Search: "STAFF1", Limit: 5, After: page.Next})
	if err != nil || len(page2.Users) != 5 || page2.Next != "" || page2.Prev == "" || page2.Users[0].Name != "Staff15" {
		t.Fatalf("second page: %+v %v", page2, err)
	}
	back, _ := e.svc.ListUsers(ctx, ListUsersInput{Search: "STAFF1", Limit: 5, Before: page2.Prev})
	if fmt.Sprint(back.Users) != fmt.Sprint(page.Users) {
		t.Fatalf("Prev did not return the first page")
	}
	cases := []struct {
		in   ListUsersInput
		want int
	}{
		{ListUsersInput{Role: "MANAGER"}, 1},
		{ListUsersInput{Status: "inactive"}, 10},
		{ListUsersInput{Status: "active", Role: "AGENT"}, 20},
		{ListUsersInput{Search: "kwgroup", Limit: 200}, 32},
		{ListUsersInput{Search: "<script>"}, 0},
	}
	for _, c := range cases {
		p, err := e.svc.ListUsers(ctx, c.in)
		if err != nil || len(p.Users) != c.want {
			t.Errorf("%+v: %d users, %v; want %d", c.in, len(p.Users), err, c.want)
		}
	}
	p, _ := e.svc.ListUsers(ctx, ListUsersInput{Sort: "email", Desc: true, Limit: 1})
	if p.Users[0].Name != "Staff29" {
		t.Errorf("email descending starts with %q", p.Users[0].Name)
	}
	if p.Users[0].LastLoginAt != nil {
		t.Errorf("a user who never signed in has a last login")
	}
}

func TestListUsersRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	otherTenantCursor := encodeCursor(append(make([]byte, 7), 9, 'x', 0, 0, 0, 0, 0, 0, 0, 0, 1))
	cases := []struct {
		name  string
		in    ListUsersInput
		field string
	}{
		{"unknown role", ListUsersInput{Role: "ROOT"}, "role"},
		{"unknown status", ListUsersInput{Status: "deleted"}, "status"},
		{"unknown sort", ListUsersInput{Sort: "password"}, "sort"},
		{"limit 0 is default, 201 is not", ListUsersInput{Limit: 201}, "limit"},
		{"negative limit", ListUsersInput{Limit: -1}, "limit"},
		{"garbage cursor", ListUsersInput{After: "!!!"}, "cursor"},
		{"another tenant's cursor", ListUsersInput{After: otherTenantCursor}, "cursor"},
		{"both cursors", ListUsersInput{After: "AA", Before: "AA"}, "cursor"},
		{"10 KB search", ListUsersInput{Search: strings.Repeat("x", 10240)}, "search"},
	}
	for _, c := range cases {
		_, err := e.svc.ListUsers(ctx, c.in)
		wantCode(t, c.name, err, Invalid, c.field)
	}
}

// Search folds case and accents, both ways (issue 13): an admin typing on
// a keyboard without accents finds Zoë, and "ZOË" finds Zoe.
func TestSearchFoldsAccentsAndCase(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup()
	for _, name := range []string{"Zoë Ångström", "Zoe Smith", "Renée Straße", "Bjørn Ølsen"} {
		if _, err := e.svc.CreateUser(ctx, CreateUserInput{Email: fmt.Sprintf("u%d@kwgroup.uk", len(name)), Name: name, Role: "AGENT", Password: testPassword}); err != nil {
			t.Fatal(err)
		}
	}
	for term, want := range map[string]int{"zoe": 2, "ZOË": 2, "angstrom": 1, "renee": 1, "strasse": 1, "ølsen": 1, "olsen": 0} {
		page, err := e.svc.ListUsers(ctx, ListUsersInput{Search: term})
		if err != nil || len(page.Users) != want {
			t.Errorf("search %q: %d users, want %d (%v)", term, len(page.Users), want, err)
		}
	}
}

// Each row says whether the caller may change that user, and why not, so
// the list offers only what will work (issue 13).
func TestRowsSayWhatTheCallerMayDo(t *testing.T) {
	e := newEnv(t)
	e.setup()
	e.addUser("Ada", auth.Admin, true)
	e.addUser("Max", auth.Manager, true)
	e.addUser("Ann", auth.Agent, true)
	mgr := e.signIn("max@kwgroup.uk")
	page, err := e.svc.ListUsers(mgr, ListUsersInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Users {
		want := r.Role != auth.Admin && r.Role != auth.SuperAdmin
		if r.CanChange != want {
			t.Errorf("%s (%s): canChange %v, want %v", r.Name, r.Role, r.CanChange, want)
		}
		if !r.CanChange && r.Why == "" {
			t.Errorf("%s: no reason given", r.Name)
		}
	}
}

// Every column sorts, both ways, with keyset paging; the page carries the
// total for the filters (issue 13).
func TestEveryColumnSortsAndTheTotalIsKept(t *testing.T) {
	e := newEnv(t)
	ctx := e.setup() // Mitch, SUPER_ADMIN, signed in: has a last login
	e.addUser("Ann", auth.Agent, true)
	e.addUser("Bob", auth.Manager, false)
	e.addUser("Cat", auth.Admin, true)
	e.addUser("Dan", auth.Customer, true)
	e.signIn("cat@kwgroup.uk")
	e.advance(time.Minute)
	e.signIn("ann@kwgroup.uk")
	names := func(p UserPage) string {
		var out []string
		for _, u := range p.Users {
			out = append(out, u.Name)
		}
		return strings.Join(out, ",")
	}
	for sort, want := range map[string]string{
		"name":      "Ann,Bob,Cat,Dan,Mitch",
		"email":     "Ann,Bob,Cat,Dan,Mitch",
		"role":      "Mitch,Cat,Bob,Ann,Dan",
		"status":    "Ann,Cat,Dan,Mitch,Bob",
		"mfa":       "Ann,Bob,Cat,Dan,Mitch",
		"lastLogin": "Bob,Dan,Cat,Mitch,Ann",
	} {
		page, err := e.svc.ListUsers(ctx, ListUsersInput{Sort: sort})
		if err != nil || names(page) != want || page.Total != 5 {
			t.Errorf("sort %s: %s (total %d), want %s: %v", sort, names(page), page.Total, want, err)
		}
		// Paged two at a time, descending, the pages join up to the reverse.
		var got []string
		in := ListUsersInput{Sort: sort, Desc: true, Limit: 2}
		for i := 0; i < 5; i++ {
			p, err := e.svc.ListUsers(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, names(p))
			if p.Next == "" {
				break
			}
			in.After = p.Next
		}
		rev := strings.Split(want, ",")
		for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
			rev[i], rev[j] = rev[j], rev[i]
		}
		if strings.Join(got, ",") != strings.Join(rev, ",") {
			t.Errorf("sort %s descending in pages: %v, want %v", sort, got, rev)
		}
	}
	for in, want := range map[ListUsersInput]int{
		{Limit: 2}:                             5,
		{Status: "active"}:                     4,
		{Status: "inactive"}:                   1,
		{Role: "AGENT"}:                        1,
		{Search: "kwgroup", Status: "active"}:  4,
		{Search: "zzz"}:                        0,
		{Search: "a", Role: "ADMIN", Limit: 1}: 1,
	} {
		page, err := e.svc.ListUsers(ctx, in)
		if err != nil || page.Total != want || page.TotalAtLeast {
			t.Errorf("%+v: total %d, want %d (%v)", in, page.Total, want, err)
		}
	}
	// A searched total is the same on every page, forward and back, either order.
	for _, desc := range []bool{false, true} {
		in := ListUsersInput{Search: "kwgroup", Limit: 2, Desc: desc}
		var prev string
		for i := 0; i < 3; i++ {
			p, err := e.svc.ListUsers(ctx, in)
			if err != nil || p.Total != 5 {
				t.Fatalf("desc %v page %d: total %d, %v", desc, i, p.Total, err)
			}
			prev = p.Prev
			if p.Next == "" {
				break
			}
			in.After = p.Next
		}
		back, err := e.svc.ListUsers(ctx, ListUsersInput{Search: "kwgroup", Limit: 2, Desc: desc, Before: prev})
		if err != nil || back.Total != 5 {
			t.Fatalf("desc %v, back: total %d, %v", desc, back.Total, err)
		}
	}
	if _, err := e.svc.ListUsers(ctx, ListUsersInput{Sort: "shoe size"}); ErrorCode(err) != Invalid {
		t.Fatalf("bad sort: %v", err)
	}
}

// An administrator sees a user's devices on the edit form and signs them
// out of one, under the rules of editing (issue 13).
func TestAdminEndsOneSessionOfAUser(t *testing.T) {
	e := newEnv(t)
	admin := e.setup()
	emma := e.addUser("Emma", auth.Agent, true)
	e.addUser("Max", auth.Manager, true)
	phone := e.signIn("emma@kwgroup.uk")
	laptop := e.signIn("emma@kwgroup.uk")
	ss, err := e.svc.ListUserSessions(admin, emma.ID)
	if err != nil || len(ss) != 2 {
		t.Fatalf("sessions: %+v %v", ss, err)
	}
	if err := e.svc.EndUserSession(admin, EndUserSessionInput{UserID: emma.ID, SessionID: ss[0].ID}); err != nil {
		t.Fatal(err)
	}
	_, err1 := e.svc.Me(phone)
	_, err2 := e.svc.Me(laptop)
	if (err1 == nil) == (err2 == nil) {
		t.Fatalf("exactly one device must be signed out: %v / %v", err1, err2)
	}
	// A manager may not look at the super admin's devices.
	max := e.signIn("max@kwgroup.uk")
	if _, err := e.svc.ListUserSessions(max, 1); err != errOutranked {
		t.Fatalf("manager listing the super admin's sessions: %v", err)
	}
	if err := e.svc.EndUserSession(admin, EndUserSessionInput{UserID: emma.ID, SessionID: "nonsense"}); ErrorCode(err) != NotFound {
		t.Fatalf("unknown session: %v", err)
	}
}
