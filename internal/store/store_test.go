package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

func mustUpdate(t *testing.T, db *store.DB, fn func(tx *store.Tx) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func seed(t *testing.T, db *store.DB, n int) (tenant uint64, ids []uint64) {
	t.Helper()
	mustUpdate(t, db, func(tx *store.Tx) error {
		tn := &store.Tenant{Name: "MSP", AdminTenancy: true}
		if err := tx.CreateTenant(tn); err != nil {
			return err
		}
		tenant = tn.ID
		roles := []auth.Role{auth.Agent, auth.Manager, auth.Admin}
		for i := 0; i < n; i++ {
			u := &store.User{Email: fmt.Sprintf("User%03d@Example.com", i), Name: fmt.Sprintf("Person %03d", i),
				Role: roles[i%3], Active: i%4 != 0, TenantID: tenant}
			if err := tx.CreateUser(u, store.Credentials{PasswordHash: []byte("h")}); err != nil {
				return err
			}
			if err := tx.PutMembership(store.Membership{UserID: u.ID, TenantID: tenant}); err != nil {
				return err
			}
			ids = append(ids, u.ID)
		}
		return nil
	})
	return tenant, ids
}

func TestEmailIndexIsCaseInsensitive(t *testing.T) {
	db := storetest.Open(t)
	seed(t, db, 3)
	err := db.Update(func(tx *store.Tx) error {
		return tx.CreateUser(&store.User{Email: "  user001@EXAMPLE.com "}, store.Credentials{})
	})
	if !errors.Is(err, store.ErrEmailTaken) {
		t.Fatalf("duplicate e-mail in other case: %v", err)
	}
	db.View(func(tx *store.Tx) error {
		u, _ := tx.UserByEmail("USER002@example.COM")
		if u == nil || u.Name != "Person 002" {
			t.Fatalf("lookup by folded e-mail: %+v", u)
		}
		return nil
	})
}

func TestDirectoryPagingVisitsEveryRowOnce(t *testing.T) {
	db := storetest.Open(t)
	tenant, _ := seed(t, db, 23)
	for _, desc := range []bool{false, true} {
		for _, sort := range []store.DirectorySort{store.SortByName, store.SortByEmail} {
			var seen []string
			var pages []store.DirectoryPage
			q := store.DirectoryQuery{TenantID: tenant, Sort: sort, Desc: desc, Limit: 5}
			for {
				var p store.DirectoryPage
				db.View(func(tx *store.Tx) (err error) { p, err = tx.Directory(q); return })
				pages = append(pages, p)
				for _, r := range p.Rows {
					seen = append(seen, r.Name)
				}
				if p.Next == nil {
					break
				}
				q.After = p.Next
			}
			if len(seen) != 23 || len(pages) != 5 {
				t.Fatalf("%s desc=%v: %d rows in %d pages", sort, desc, len(seen), len(pages))
			}
			for i := 1; i < len(seen); i++ {
				if (seen[i-1] < seen[i]) == desc {
					t.Fatalf("%s desc=%v: out of order at %d: %q, %q", sort, desc, i, seen[i-1], seen[i])
				}
			}
			// Walking back from the last page returns the pages before it.
			last := pages[len(pages)-1]
			q.After = nil
			q.Before = last.Prev
			var back store.DirectoryPage
			db.View(func(tx *store.Tx) (err error) { back, err = tx.Directory(q); return })
			if fmt.Sprint(back.Rows) != fmt.Sprint(pages[len(pages)-2].Rows) {
				t.Fatalf("%s desc=%v: Prev page differs:\n%v\n%v", sort, desc, back.Rows, pages[len(pages)-2].Rows)
			}
			if pages[0].Prev != nil {
				t.Fatalf("the first page has a Prev cursor")
			}
		}
	}
}

// A query without a total (an export's) pages through the same rows and
// counts nothing: a search's count would walk the whole range each page.
func TestDirectoryWithoutTotal(t *testing.T) {
	db := storetest.Open(t)
	tenant, _ := seed(t, db, 23)
	for _, search := range []string{"", "person"} {
		var counted, uncounted []string
		for _, noTotal := range []bool{false, true} {
			q := store.DirectoryQuery{TenantID: tenant, Search: search, Limit: 4, NoTotal: noTotal}
			for {
				var p store.DirectoryPage
				if err := db.View(func(tx *store.Tx) (err error) { p, err = tx.Directory(q); return }); err != nil {
					t.Fatal(err)
				}
				if noTotal && (p.Total != 0 || p.TotalAtLeast) {
					t.Fatalf("search %q: a page without a total says %d", search, p.Total)
				}
				if !noTotal && p.Total != 23 {
					t.Fatalf("search %q: total %d, want 23", search, p.Total)
				}
				for _, r := range p.Rows {
					if noTotal {
						uncounted = append(uncounted, r.Name)
					} else {
						counted = append(counted, r.Name)
					}
				}
				if p.Next == nil {
					break
				}
				q.After = p.Next
			}
		}
		if len(uncounted) != 23 || fmt.Sprint(counted) != fmt.Sprint(uncounted) {
			t.Fatalf("search %q: %d rows without a total, %d with", search, len(uncounted), len(counted))
		}
	}
}

func TestDirectoryFilters(t *testing.T) {
	db := storetest.Open(t)
	tenant, ids := seed(t, db, 12)
	yes, no := true, false
	cases := []struct {
		name string
		q    store.DirectoryQuery
		want int
	}{
		{"all", store.DirectoryQuery{}, 12},
		{"search name", store.DirectoryQuery{Search: "person 01"}, 2},
		{"search email, any case", store.DirectoryQuery{Search: "USER00"}, 10},
		{"role", store.DirectoryQuery{Role: auth.Manager}, 4},
		{"active", store.DirectoryQuery{Active: &yes}, 9},
		{"inactive managers", store.DirectoryQuery{Active: &no, Role: auth.Manager}, 1},
		{"no match", store.DirectoryQuery{Search: "zz"}, 0},
	}
	for _, c := range cases {
		c.q.TenantID = tenant
		db.View(func(tx *store.Tx) error {
			p, err := tx.Directory(c.q)
			if err != nil || len(p.Rows) != c.want {
				t.Errorf("%s: %d rows (%v), want %d", c.name, len(p.Rows), err, c.want)
			}
			return nil
		})
	}
	// A rename moves the row; the old name no longer matches.
	mustUpdate(t, db, func(tx *store.Tx) error {
		u, _ := tx.User(ids[5])
		u.Name = "Zed"
		return tx.UpdateUser(u)
	})
	db.View(func(tx *store.Tx) error {
		p, _ := tx.Directory(store.DirectoryQuery{TenantID: tenant, Desc: true, Limit: 1})
		if p.Rows[0].Name != "Zed" {
			t.Errorf("first row descending = %q, want Zed", p.Rows[0].Name)
		}
		p, _ = tx.Directory(store.DirectoryQuery{TenantID: tenant, Search: "person 005"})
		if len(p.Rows) != 0 {
			t.Errorf("old name still found")
		}
		return nil
	})
	// A cursor from another tenant is refused.
	db.View(func(tx *store.Tx) error {
		_, err := tx.Directory(store.DirectoryQuery{TenantID: tenant + 1, After: []byte("0123456789abcdefgh")})
		if !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("foreign cursor: %v", err)
		}
		return nil
	})
}

func TestShadowMembersAreNotListed(t *testing.T) {
	db := storetest.Open(t)
	_, ids := seed(t, db, 2)
	var other uint64
	mustUpdate(t, db, func(tx *store.Tx) error {
		tn := &store.Tenant{Name: "Acme"}
		if err := tx.CreateTenant(tn); err != nil {
			return err
		}
		other = tn.ID
		return tx.PutMembership(store.Membership{UserID: ids[0], TenantID: other, Shadow: true})
	})
	db.View(func(tx *store.Tx) error {
		p, _ := tx.Directory(store.DirectoryQuery{TenantID: other})
		m, _ := tx.Membership(ids[0], other)
		if len(p.Rows) != 0 || m == nil || !m.Shadow {
			t.Errorf("shadow member listed (%d rows) or missing (%v)", len(p.Rows), m)
		}
		return nil
	})
}

func TestSessionsByUser(t *testing.T) {
	db := storetest.Open(t)
	_, ids := seed(t, db, 2)
	mustUpdate(t, db, func(tx *store.Tx) error {
		for i, uid := range []uint64{ids[0], ids[0], ids[1]} {
			if err := tx.PutSession(&store.Session{ID: auth.HashToken(fmt.Sprint(i)), UserID: uid}); err != nil {
				return err
			}
		}
		n, err := tx.DeleteUserSessions(ids[0])
		if n != 2 {
			t.Errorf("deleted %d sessions, want 2", n)
		}
		return err
	})
	db.View(func(tx *store.Tx) error {
		s, _ := tx.Session(auth.HashToken("2"))
		gone, _ := tx.Session(auth.HashToken("0"))
		if s == nil || gone != nil {
			t.Error("the wrong sessions were deleted")
		}
		return nil
	})
}

func TestSecondOpenFailsFast(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = store.Open(dir, store.Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

func TestADamagedFileIsRefusedNotCrashedOn(t *testing.T) {
	dir := t.TempDir()
	db, _ := store.Open(dir, store.Options{})
	db.Close()
	path := filepath.Join(dir, store.FileName)
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, raw[:len(raw)/2], 0o600)
	if _, err := store.Open(dir, store.Options{}); !errors.Is(err, store.ErrDamaged) || !strings.Contains(err.Error(), "cut short") {
		t.Fatalf("truncated database: %v", err)
	}
}
