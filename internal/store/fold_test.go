package store

import (
	"math/rand"
	"testing"
)

// SearchFold's shortcut folds as the Unicode path does: ASCII, and the
// symbols it lets through.
func TestSearchFoldShortcutFoldsAsUnicodeDoes(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.Intn(12))
		for j := range b {
			b[j] = byte(rng.Intn(128))
		}
		if s := string(b); SearchFold(s) != searchFoldUnicode(s) {
			t.Fatalf("%q: %q, want %q", s, SearchFold(s), searchFoldUnicode(s))
		}
	}
	through := 0
	for r := rune(0x80); r <= 0x10ffff; r++ {
		if r > 0xffff && r%61 != 0 { // the other planes, sampled
			continue
		}
		if s := "Ab" + string(r) + "Cd"; foldsAsLowerCase(s) {
			through++
			if SearchFold(s) != searchFoldUnicode(s) {
				t.Fatalf("%q (U+%04X): %q, want %q", s, r, SearchFold(s), searchFoldUnicode(s))
			}
		}
	}
	if !foldsAsLowerCase("role AGENT → MANAGER") || foldsAsLowerCase("Zoë") || foldsAsLowerCase("≠") {
		t.Error("the shortcut takes the wrong strings")
	}
	t.Logf("%d code points through the shortcut", through)
}
