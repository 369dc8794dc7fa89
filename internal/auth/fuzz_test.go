package auth

import (
	"strings"
	"testing"
	"time"
)

// TOTP codes from a form: only six digits (spaces allowed) are ever matched.
func FuzzTOTPCode(f *testing.F) {
	key, _ := NewTOTPKey("Gatehouse", "a@b.c")
	now := time.Unix(1_800_000_000, 0)
	good, _ := TOTPCode(key.Secret, now)
	for _, s := range []string{good, good[:3] + " " + good[3:], "", "12345", "1234567", "abcdef", "１２３４５６", "000000", strings.Repeat("9", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		clean, err := CheckTOTPFormat(code)
		if err == nil && (len(clean) != 6 || strings.Trim(clean, "0123456789") != "") {
			t.Fatalf("%q accepted as %q", code, clean)
		}
		if _, ok := MatchTOTP(key.Secret, code, now); ok && err != nil {
			t.Fatalf("%q matched although it is not six digits", code)
		}
	})
}

// Tokens from links and cookies: only the exact shape of NewToken passes.
func FuzzToken(f *testing.F) {
	for _, s := range []string{NewToken(), "", "x", strings.Repeat("A", 43), strings.Repeat("+", 43), NewToken() + "="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if WellFormedToken(s) && len(s) != 43 {
			t.Fatalf("%q passed", s)
		}
		if len(HashToken(s)) != 32 {
			t.Fatal("hash length")
		}
	})
}
