package auth

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// invisible is what no validated output may hold: Unicode control (Cc),
// format (Cf), line and paragraph separator (Zl, Zp) characters.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
}

// TOTP codes from a form: only six digits (spaces allowed) are ever matched.
func FuzzTOTPCode(f *testing.F) {
	key, _ := NewTOTPKey("Gatehouse", "a@b.c")
	now := time.Unix(1_800_000_000, 0)
	good, _ := TOTPCode(key.Secret, now)
	for _, s := range []string{good, good[:3] + " " + good[3:], "", "12345", "1234567", "abcdef", "１２３４５６", "000000", strings.Repeat("9", 100),
		good[:3] + "\u200b" + good[3:], "\u202e" + good, good + "\u2028", good[:3] + "\t" + good[3:], good + "\x00", "\ufeff" + good} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		clean, err := CheckTOTPFormat(code)
		if err == nil && (len(clean) != 6 || strings.Trim(clean, "0123456789") != "" || strings.ContainsFunc(clean, invisible)) {
			t.Fatalf("%q accepted as %q", code, clean)
		}
		if _, ok := MatchTOTP(key.Secret, code, now); ok && err != nil {
			t.Fatalf("%q matched although it is not six digits", code)
		}
	})
}

// Tokens from links and cookies: only the exact shape of NewToken passes.
func FuzzToken(f *testing.F) {
	for _, s := range []string{NewToken(), "", "x", strings.Repeat("A", 43), strings.Repeat("+", 43), NewToken() + "=",
		NewToken()[:42] + "\u200b", "\u202e" + NewToken()[1:], NewToken()[:42] + "\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if WellFormedToken(s) && (len(s) != 43 || strings.ContainsFunc(s, invisible) || strings.ContainsFunc(s, func(r rune) bool { return r >= utf8.RuneSelf })) {
			t.Fatalf("%q passed", s)
		}
		if len(HashToken(s)) != 32 {
			t.Fatal("hash length")
		}
	})
}
