package store

import (
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/auth"
)

// TestSearchPlanAnswersAsTheWalk: every searched page the trigram planner
// answers — filters, every order both ways, paging forward and back — is
// the page walking the whole list gives, with the same exact total, after
// renames, role and status changes and departures.
func TestSearchPlanAnswersAsTheWalk(t *testing.T) {
	db, err := Open(t.TempDir(), Options{AuditKey: []byte("k"), RerunWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewSource(7))
	surnames := []string{"Smith", "Núñez", "Zoë", "O'Brien", "Kowalski", "Nakamura", "Ådeyemi", "Müller", "Taylor"}
	roles := []auth.Role{auth.Agent, auth.Manager, auth.Admin, auth.Vendor, auth.Customer}
	var tenants [2]uint64
	var users []*User
	err = db.Update(func(tx *Tx) error {
		tenants, users = [2]uint64{}, nil
		for i := range tenants {
			tn := &Tenant{Name: fmt.Sprintf("T%d", i), AdminTenancy: i == 0}
			if err := tx.CreateTenant(tn); err != nil {
				return err
			}
			tenants[i] = tn.ID
		}
		for i := 0; i < 600; i++ {
			home := tenants[i%7/6] // one in seven in the second tenant
			u := &User{Email: fmt.Sprintf("p%d.%s@client%d.example", i, strings.ToLower(surnames[i%9][:2]), i%5), Name: fmt.Sprintf("Person %d %s", i, surnames[rng.Intn(9)]),
				Role: roles[rng.Intn(5)], Active: rng.Intn(5) > 0, MFAEnabled: rng.Intn(3) == 0, TenantID: home}
			if rng.Intn(2) == 0 {
				u.LastLoginAt = time.Unix(1_700_000_000+int64(rng.Intn(1e6)), 0).UTC()
			}
			if err := tx.CreateUser(u, Credentials{PasswordHash: []byte("h")}); err != nil {
				return err
			}
			if err := tx.PutMembership(Membership{UserID: u.ID, TenantID: home}); err != nil {
				return err
			}
			users = append(users, u)
		}
		// Changes after the rows were first indexed.
		for i := 0; i < 600; i += 11 {
			u := *users[i]
			u.Name, u.Role, u.Active = "Renamed "+u.Name, roles[i%5], !u.Active
			if err := tx.UpdateUser(&u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	active, inactive := true, false
	terms := []string{"person 12", "zoe", "ZOË", "núñ", "nun", "renamed", "client3", "p42.", "o'b", "taylor", "xyz", "son 5", "@client", "ab", "smith kow"}
	sorts := []DirectorySort{SortByName, SortByEmail, SortByRole, SortByMFA, SortByStatus, SortByLastLogin}
	planned := 0
	for _, tenant := range tenants {
		for _, term := range terms {
			for _, s := range sorts {
				for _, desc := range []bool{false, true} {
					for _, f := range []struct {
						role   auth.Role
						active *bool
					}{{"", nil}, {auth.Agent, nil}, {"", &active}, {auth.Manager, &inactive}} {
						q := DirectoryQuery{TenantID: tenant, Search: term, Sort: s, Desc: desc, Role: f.role, Active: f.active, Limit: 7}
						if n := comparePlans(t, db, q); n {
							planned++
						}
					}
				}
			}
		}
	}
	if planned == 0 {
		t.Fatal("the planner answered no query: the test compares nothing")
	}
	for _, err := range db.Check() {
		t.Error(err)
	}
}

// comparePlans pages through q with the planner and with the walk, forward
// to the end and back again, and fails on any difference. It reports
// whether the planner took the query.
func comparePlans(t *testing.T, db *DB, q DirectoryQuery) bool {
	t.Helper()
	page := func(q DirectoryQuery, plan bool) (p DirectoryPage) {
		usePlanner = plan
		defer func() { usePlanner = true }()
		if err := db.View(func(tx *Tx) (err error) { p, err = tx.Directory(q); return err }); err != nil {
			t.Fatal(err)
		}
		return p
	}
	took := false
	for cur, steps := q, 0; steps < 200; steps++ {
		a, b := page(cur, true), page(cur, false)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%+v: planner %d rows (total %d, next %x, prev %x), walk %d rows (total %d, next %x, prev %x)",
				cur, len(a.Rows), a.Total, a.Next, a.Prev, len(b.Rows), b.Total, b.Next, b.Prev)
		}
		err := db.View(func(tx *Tx) error {
			s := []byte(SearchFold(cur.Search))
			if len(s) >= 3 {
				took = took || readU64(tx.b(bucketDirGramN).Get(join(u64(cur.TenantID), s[:3]))) > 0
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if a.Next == nil {
			if cur.After == nil || a.Prev == nil {
				break
			}
			// At the end: walk back from here once.
			back := q
			back.Before = a.Prev
			x, y := page(back, true), page(back, false)
			if !reflect.DeepEqual(x, y) {
				t.Fatalf("%+v back: planner %d rows, walk %d rows", back, len(x.Rows), len(y.Rows))
			}
			break
		}
		cur.After, cur.Before = a.Next, nil
	}
	return took
}
