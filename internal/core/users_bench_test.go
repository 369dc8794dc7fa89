package core

import (
	"context"
	"fmt"
	"testing"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
	"gatehouse/internal/store/storetest"
)

// benchDB opens a fresh database as the app does (fsync on, no rehearsals).
func benchDB(b *testing.B) *store.DB {
	b.Helper()
	db, err := store.Open(b.TempDir(), store.Options{AuditKey: []byte("bench")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// benchUsers fills a tenant with n users (storetest.UserBatch per
// transaction) and returns a
// context signed in as its SUPER_ADMIN.
func benchUsers(b *testing.B, n int) (*Service, context.Context) {
	b.Helper()
	db := benchDB(b)
	svc := New(Config{DB: db, Sealer: testSealer(), Hasher: auth.NewHasher(4, 4), Now: time.Now})
	if _, err := svc.Setup(context.Background(), SetupInput{Organisation: "KW", Email: "mitch@kwgroup.uk", Name: "Mitch", Password: testPassword}); err != nil {
		b.Fatal(err)
	}
	first := []string{"Emma", "Jamie", "Pat", "Alex", "Sam", "Chris", "Robin", "Jo", "Charlie", "Morgan"}
	last := []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker"}
	roles := []auth.Role{auth.Agent, auth.Agent, auth.Agent, auth.Manager, auth.Vendor, auth.Customer, auth.Admin}
	for start := 0; start < n; start += storetest.UserBatch {
		err := db.Update(func(tx *store.Tx) error {
			for i := start; i < min(n, start+storetest.UserBatch); i++ {
				u := &store.User{Email: fmt.Sprintf("user%05d@client%d.example", i, i%40), Name: fmt.Sprintf("%s %s %d", first[i%10], last[(i/10)%10], i),
					Role: roles[i%len(roles)], Active: i%9 != 0, TenantID: 1, LastLoginAt: time.Now().Add(-time.Duration(i) * time.Minute)}
				if err := tx.CreateUser(u, store.Credentials{PasswordHash: []byte("x")}); err != nil {
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
	}
	_, tok, err := svc.SignIn(WithCaller(context.Background(), Caller{IP: "bench"}), SignInInput{Email: "mitch@kwgroup.uk", Password: testPassword})
	if err != nil {
		b.Fatal(err)
	}
	return svc, WithCaller(context.Background(), Caller{Token: tok, IP: "bench"})
}

// A page of 50 with a substring search over name and e-mail, at 10,000 users.
func BenchmarkListUsersSearch10k(b *testing.B) {
	svc, ctx := benchUsers(b, 10000)
	for _, term := range []string{"taylor", "client7.", "zzz-no-match"} {
		b.Run(term, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := svc.ListUsers(ctx, ListUsersInput{Search: term, Limit: 50}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Page 100 of 50, sorted by name, at 10,000 users: keyset, not offset.
func BenchmarkListUsersPage100ByName10k(b *testing.B) {
	svc, ctx := benchUsers(b, 10000)
	in := ListUsersInput{Sort: "name", Limit: 50}
	for p := 1; p < 100; p++ {
		page, err := svc.ListUsers(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		in.After = page.Next
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		page, err := svc.ListUsers(ctx, in)
		if err != nil || len(page.Users) != 50 {
			b.Fatal(err, len(page.Users))
		}
	}
}
