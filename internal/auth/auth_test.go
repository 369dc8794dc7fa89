package auth

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestPermissionMatrix(t *testing.T) {
	// product.md §3, row by row: every role × every capability.
	want := map[Role][]Capability{
		SuperAdmin: {ManageUsers, ViewAudit, ManageSettings, CrossTenant, OwnProfile},
		Admin:      {ManageUsers, ViewAudit, ManageSettings, OwnProfile},
		Manager:    {ManageUsers, OwnProfile},
		Agent:      {OwnProfile},
		Vendor:     {OwnProfile},
		Customer:   {OwnProfile},
	}
	for _, r := range Roles {
		allowed := map[Capability]bool{}
		for _, c := range want[r] {
			allowed[c] = true
		}
		for _, c := range Capabilities {
			if got := r.Can(c); got != allowed[c] {
				t.Errorf("%s can %s = %v, want %v", r, c, got, allowed[c])
			}
		}
	}
	if Role("ROOT").Can(OwnProfile) {
		t.Error("an unknown role must have no capability")
	}
}

func TestRoleOrder(t *testing.T) {
	cases := []struct {
		who, target Role
		ok          bool
	}{
		{SuperAdmin, SuperAdmin, true}, {Admin, SuperAdmin, false}, {Admin, Admin, true},
		{Manager, Admin, false}, {Manager, Manager, true}, {Manager, Agent, true},
		{Agent, Manager, false}, {Vendor, Customer, true}, {Customer, Vendor, true},
		{Admin, Role("ROOT"), false},
	}
	for _, c := range cases {
		if got := c.who.CanGrant(c.target); got != c.ok {
			t.Errorf("%s grants %s = %v, want %v", c.who, c.target, got, c.ok)
		}
	}
}

func TestPasswordRules(t *testing.T) {
	cases := []struct {
		pw   string
		want error
	}{
		{"1234567", ErrPasswordTooShort},
		{"12345678", nil},
		{"pässwörd", nil},
		{"🔑🔑🔑🔑🔑🔑🔑", ErrPasswordTooShort}, // 7 characters, 28 bytes
		{strings.Repeat("a", 72), nil},
		{strings.Repeat("a", 73), ErrPasswordTooLong},
		{strings.Repeat("é", 37), ErrPasswordTooLong}, // 37 chars, 74 bytes
		{"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", ErrPasswordInvalid},
	}
	for _, c := range cases {
		if got := CheckPassword(c.pw); got != c.want {
			t.Errorf("CheckPassword(%q) = %v, want %v", c.pw, got, c.want)
		}
	}
}

func TestHasherNeverTruncates(t *testing.T) {
	h := NewHasher(4, 2)
	long := strings.Repeat("a", 72)
	hash, err := h.Hash(long)
	if err != nil {
		t.Fatal(err)
	}
	if !h.Verify(hash, long) {
		t.Fatal("the right password must verify")
	}
	if h.Verify(hash, long+"b") {
		t.Fatal("a 73-byte password must not match its 72-byte prefix")
	}
	if _, err := h.Hash(long + "b"); err != ErrPasswordTooLong {
		t.Fatalf("hashing 73 bytes: %v, want ErrPasswordTooLong", err)
	}
	if h.Verify(nil, long) {
		t.Fatal("no hash never verifies")
	}
}

func TestTokens(t *testing.T) {
	a, b := NewToken(), NewToken()
	if a == b || !WellFormedToken(a) || len(HashToken(a)) != 32 {
		t.Fatalf("tokens: %q %q", a, b)
	}
	for _, bad := range []string{"", "x", a + "x", strings.Repeat("!", len(a))} {
		if WellFormedToken(bad) {
			t.Errorf("WellFormedToken(%q) = true", bad)
		}
	}
}

func TestDummyHashIsAValidHashAtTheDefaultCost(t *testing.T) {
	cost, err := bcrypt.Cost([]byte(dummyHash))
	if err != nil || cost != DefaultCost {
		t.Fatalf("dummy hash: cost %d, %v", cost, err)
	}
	if NewHasher(DefaultCost, 1).Verify(nil, "anything at all") {
		t.Fatal("the dummy hash matched a password")
	}
}
