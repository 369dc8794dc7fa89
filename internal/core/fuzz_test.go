package core

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"gatehouse/internal/auth"
	"gatehouse/internal/mail"
)

// Accepted e-mail addresses are clean: trimmed, NFC, no invisible or
// control character (Cc, Cf, Zl, Zp: no line breaks for header injection,
// no bidi overrides or zero-width characters), an ASCII part before the @,
// at most 254 bytes, stable, and ASCII on the wire.
func FuzzCleanEmail(f *testing.F) {
	for _, s := range []string{"mitch@kwgroup.uk", " Emma@KW.uk ", "a@b", "x@y.z\r\nBcc: all@kw.uk", "<a@b.c>", "Mitch <m@kw.uk>", "\"q\"@kw.uk", "a@[127.0.0.1]", strings.Repeat("a", 300) + "@b.c", "ü@ü.de", "",
		"info@bücher.example", "info@xn--bcher-kva.example", "info@Bu\u0308cher.example", "a@ｅxample.com", "a\u200b@kw.uk", "a@kw\u202e.uk", "a@kw.uk\u2028", "post@straße.de", "a@例え.jp", "a@\u0627\u0644\u0639\u0631\u0628\u064a\u0629.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := cleanEmail("email", in)
		if err != nil {
			if AsError(err).Field != "email" || AsError(err).Message == "" {
				t.Fatalf("error without field or message: %v", err)
			}
			return
		}
		at := strings.LastIndexByte(out, '@')
		if len(out) > maxEmailBytes || strings.ContainsFunc(out, invisibleRune) || at < 1 || out != strings.TrimSpace(out) || !norm.NFC.IsNormalString(out) || !isASCII(out[:at]) {
			t.Fatalf("accepted %q as %q", in, out)
		}
		if again, err := cleanEmail("email", out); err != nil || again != out {
			t.Fatalf("not stable: %q → %q (%v)", out, again, err)
		}
		wire, err := mail.ASCIIAddress(out)
		if err != nil || !isASCII(wire) || len(wire) > maxEmailBytes || wire[:strings.LastIndexByte(wire, '@')] != out[:at] {
			t.Fatalf("%q goes on the wire as %q (%v)", out, wire, err)
		}
		if back, err := cleanEmail("email", wire); err != nil || back != out {
			t.Fatalf("%q on the wire reads back as %q (%v)", wire, back, err)
		}
	})
}

// invisibleRune is what no validated output may hold: Unicode Cc, Cf, Zl
// and Zp, spelled out independently of the code under test.
func invisibleRune(r rune) bool {
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Accepted names and free text are NFC, trimmed, within their limits and
// stable, and hold no invisible or control character (free text that may
// span lines keeps only tab, CR and LF).
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{"Mitch", " Zoë ", "Zoe\u0308", "Emma\u202Egpj.exe", "Em\u200Bma", "a\u2028b", "a\u2029b", "\x00", "a\tb", "a\r\nb", "\uFEFF", "\u00AD", "<b>", "محمد", "\xff", strings.Repeat("e\u0301", 120), ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if out, err := cleanName("name", in); err != nil {
			if AsError(err).Field != "name" || AsError(err).Message == "" {
				t.Fatalf("error without field or message: %v", err)
			}
		} else if out == "" || strings.ContainsFunc(out, invisibleRune) || !norm.NFC.IsNormalString(out) || out != strings.TrimSpace(out) || utf8.RuneCountInString(out) > maxNameChars || strings.ContainsAny(out, "<>") {
			t.Fatalf("name %q accepted as %q", in, out)
		} else if again, err := cleanName("name", out); err != nil || again != out {
			t.Fatalf("name not stable: %q → %q (%v)", out, again, err)
		}
		for _, multiline := range []bool{false, true} {
			out, err := cleanText("notes", in, maxNotes, multiline)
			if err != nil {
				continue
			}
			bad := strings.ContainsFunc(out, func(r rune) bool { return invisibleRune(r) && !(multiline && strings.ContainsRune("\t\r\n", r)) })
			if bad || !norm.NFC.IsNormalString(out) || utf8.RuneCountInString(out) > maxNotes {
				t.Fatalf("text %q (multiline %v) accepted as %q", in, multiline, out)
			}
			if again, err := cleanText("notes", out, maxNotes, multiline); err != nil || again != out {
				t.Fatalf("text not stable: %q → %q (%v)", out, again, err)
			}
		}
	})
}

// Whatever a browser puts in the session cookie, resolving it never panics
// and never signs anyone in.
func FuzzSessionToken(f *testing.F) {
	e := newEnv(&testing.T{})
	for _, s := range []string{"", "x", auth.NewToken(), strings.Repeat("A", 43), "../../etc/passwd", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		_, err := e.svc.Me(e.caller(token))
		if ErrorCode(err) != Unauthenticated {
			t.Fatalf("token %q: %v", token, err)
		}
	})
}

// Whatever arrives as an invitation token, the accept page's lookup never
// panics and knows nothing for a token nobody was given.
func FuzzInvitationToken(f *testing.F) {
	e := newEnv(&testing.T{})
	for _, s := range []string{"", "abc", auth.NewToken(), strings.Repeat("-", 43), "%00", "<script>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		info, err := e.svc.InvitationInfo(context.Background(), token)
		if err != nil || info.State != "unknown" || info.Email != "" {
			t.Fatalf("token %q: %+v %v", token, info, err)
		}
		if _, _, err := e.svc.AcceptInvitation(context.Background(), AcceptInput{Token: token, Name: "N", Password: testPassword}); ErrorCode(err) != NotFound {
			t.Fatalf("accept with %q: %v", token, err)
		}
	})
}

// A CSV cell round-trips, and never starts with a character a spreadsheet
// would run as a formula.
func FuzzCSVExportCell(f *testing.F) {
	for _, s := range []string{"=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "a,b", "\"quoted\"", "line\nbreak", "plain", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cell := csvSafe(s)
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Fatalf("%q exported as %q", s, cell)
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write([]string{cell, "next"})
		w.Flush()
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(rows) != 1 || len(rows[0]) != 2 || rows[0][1] != "next" {
			t.Fatalf("%q does not round-trip: %v %v", s, rows, err)
		}
		want := strings.ReplaceAll(cell, "\r\n", "\n")
		if got := rows[0][0]; got != want && got != strings.ReplaceAll(want, "\r", "\n") {
			t.Fatalf("%q read back as %q", cell, got)
		}
	})
}
