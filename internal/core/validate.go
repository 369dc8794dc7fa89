package core

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"gatehouse/internal/auth"
	"gatehouse/internal/mail"
	"gatehouse/internal/store"
)

// Input limits.
const (
	maxEmailBytes = 254 // RFC 5321 path limit
	maxLocalBytes = 64  // RFC 5321 local-part limit
	maxNameChars  = 100
)

// Every name and free-text field is normalised to NFC and holds no
// invisible or control character: Unicode categories Cc (control, including
// tab and line breaks), Cf (format: bidi overrides such as U+202E,
// zero-width characters such as U+200B, the BOM) and Zl, Zp (line and
// paragraph separators U+2028, U+2029). Such characters let a name read
// differently from what it is (a reversed "gpj.exe", two look-alike
// accounts) or break the lines of a mail header, a log or a CSV file.

// invisible reports whether r is one of the characters no name may hold:
// besides Cc, Cf, Zl and Zp, private-use and unassigned code points
// (including noncharacters such as U+FFFE), and the letters that draw as
// blank space (Hangul fillers, the blank Braille pattern).
func invisible(r rune) bool {
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co, unicode.Cs) {
		return true
	}
	switch r {
	case 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800:
		return true
	}
	// Unassigned (Cn): in no category Go's tables know.
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// visible reports whether a name has something to see: a letter, digit,
// punctuation or symbol, not only spaces and combining marks.
func visible(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S) })
}

// cleanUnicode trims s, checks it is UTF-8, and returns it in NFC with
// no invisible character other than those allow lets through (nil: none).
// subject starts the error message ("The name").
func cleanUnicode(field, subject, s string, allow func(rune) bool) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", fieldError(field, "%s is not valid text; type it again.", subject)
	}
	s = norm.NFC.String(s)
	for _, r := range s {
		if invisible(r) && (allow == nil || !allow(r)) {
			return "", fieldError(field, "%s contains an invisible or control character (U+%04X); remove it.", subject, r)
		}
	}
	return s, nil
}

// cleanName trims, checks and returns a person's or tenant's name.
func cleanName(field, s string) (string, error) {
	if len(s) > 16*maxNameChars && len(strings.TrimSpace(s)) > 16*maxNameChars {
		return "", fieldError(field, "A name can be at most %d characters.", maxNameChars)
	}
	s, err := cleanUnicode(field, "The name", s, nil)
	switch {
	case err != nil:
		return "", err
	case s == "":
		return "", fieldError(field, "Enter a name.")
	case !visible(s):
		return "", fieldError(field, "The name has no visible letters; type it again.")
	case utf8.RuneCountInString(s) > maxNameChars:
		return "", fieldError(field, "A name can be at most %d characters.", maxNameChars)
	case strings.ContainsAny(s, "<>"):
		return "", fieldError(field, "A name cannot contain < or >.")
	}
	return s, nil
}

// cleanText checks an optional free-text field: trimmed, NFC, at most max
// characters, no invisible or control character except line breaks and
// tabs where multiline is allowed.
func cleanText(field, s string, max int, multiline bool) (string, error) {
	var allow func(rune) bool
	if multiline {
		allow = func(r rune) bool { return r == '\n' || r == '\r' || r == '\t' }
	}
	s, err := cleanUnicode(field, "This text", s, allow)
	if err != nil {
		return "", err
	}
	if utf8.RuneCountInString(s) > max {
		return "", fieldError(field, "Use at most %d characters.", max)
	}
	return s, nil
}

// E-mail addresses: the part before the @ is ASCII (an RFC 5322 dot-atom;
// no quoted forms, no comments, no spaces), the domain may be an
// internationalised one. The address is stored and shown in Unicode: the
// part before the @ as typed, the domain lower-cased (IDNA case folding),
// in NFC and in the form IDNA2008 registers (so "xn--bcher-kva.example"
// and "Bücher.example" are both stored as "bücher.example", one account);
// the mail package sends its ASCII (punycode) form. A domain IDNA refuses
// or would change beyond case (full-width look-alikes, zero-width
// characters, bidi controls, a domain literal) is refused.

// cleanEmail trims, checks and returns an e-mail address, or a field error.
func cleanEmail(field, s string) (string, error) {
	if len(s) > 4*maxEmailBytes && len(strings.TrimSpace(s)) > 4*maxEmailBytes {
		return "", fieldError(field, "An e-mail address can be at most %d characters.", maxEmailBytes)
	}
	s, err := cleanUnicode(field, "The e-mail address", s, nil)
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", fieldError(field, "Enter an e-mail address.")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 || at == len(s)-1 {
		return "", fieldError(field, "Enter an e-mail address like name@example.com.")
	}
	local, domain := s[:at], s[at+1:]
	if err := checkLocalPart(field, local); err != nil {
		return "", err
	}
	unicodeDomain, ascii, err := mail.Domain(domain)
	if err != nil || !strings.Contains(ascii, ".") || strings.HasSuffix(ascii, ".") {
		return "", fieldError(field, "The domain after the @ is not a valid domain name. Type it as your mail provider spells it, like example.com or bücher.example, without look-alike or full-width letters.")
	}
	out := local + "@" + unicodeDomain
	if len(out) > maxEmailBytes || len(local)+1+len(ascii) > maxEmailBytes {
		return "", fieldError(field, "An e-mail address can be at most %d characters.", maxEmailBytes)
	}
	return out, nil
}

// checkLocalPart accepts an RFC 5322 dot-atom of ASCII letters, digits and
// the punctuation atext allows: dots only between other characters.
func checkLocalPart(field, local string) error {
	if local == "" {
		return fieldError(field, "Enter the part before the @, like name@example.com.")
	}
	if strings.HasPrefix(local, `"`) {
		return fieldError(field, "The part before the @ cannot be in quotes; Gatehouse takes plain addresses like name@example.com.")
	}
	if len(local) > maxLocalBytes {
		return fieldError(field, "The part before the @ can be at most %d characters.", maxLocalBytes)
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		switch {
		case c >= 0x80:
			return fieldError(field, "The part before the @ can only use the letters A to Z, digits and . _ - + (no accents or other scripts).")
		case c == '.':
			if i == 0 || i == len(local)-1 || local[i-1] == '.' {
				return fieldError(field, "The part before the @ cannot start or end with a dot, or have two dots in a row.")
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		case c == ' ':
			return fieldError(field, "The part before the @ cannot contain spaces.")
		default:
			return fieldError(field, "The part before the @ cannot contain '%c'. Use letters, digits and . _ - +.", c)
		}
	}
	return nil
}

// emailKey is the form of a typed address under which its account is
// found and its sign-in attempts are counted: the cleaned form when the
// address is valid (so "xn--bcher-kva.example" and "bücher.example" are one
// account with one lock), else the address as typed.
func emailKey(s string) string {
	if clean, err := cleanEmail("email", s); err == nil {
		return clean
	}
	return strings.TrimSpace(s)
}

// loggedEmail is how a typed sign-in address is recorded in the audit log
// when it may belong to no account: as emailKey gives it, with any
// invisible or control character written out as <U+202E>, so that a
// crafted address cannot make the log read differently.
func loggedEmail(s string) string {
	s = emailKey(s)
	if utf8.ValidString(s) && !strings.ContainsFunc(s, invisible) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if invisible(r) {
			fmt.Fprintf(&b, "<U+%04X>", r)
		} else {
			b.WriteRune(r) // an invalid byte becomes U+FFFD
		}
	}
	return b.String()
}

// userByEmail finds the account of a typed address: under its cleaned
// form, then as typed, for accounts stored before addresses were cleaned
// this way (a punycode domain, a non-ASCII local part).
func userByEmail(tx *store.Tx, typed string) (*store.User, error) {
	key := emailKey(typed)
	u, err := tx.UserByEmail(key)
	if err != nil || u != nil || store.Fold(key) == store.Fold(typed) {
		return u, err
	}
	return tx.UserByEmail(typed)
}

// checkPassword turns auth's password rules into a field error.
func checkPassword(field, pw string) error {
	if err := auth.CheckPassword(pw); err != nil {
		return fieldError(field, "%s", err.Error())
	}
	return nil
}
