package core

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"gatehouse/internal/auth"
)

// Input limits.
const (
	maxEmailBytes = 254 // RFC 5321 path limit
	maxNameChars  = 100
)

// Every name and free-text field is normalised to NFC and holds no
// invisible or control character: Unicode categories Cc (control, including
// tab and line breaks), Cf (format: bidi overrides such as U+202E,
// zero-width characters such as U+200B, the BOM) and Zl, Zp (line and
// paragraph separators U+2028, U+2029). Such characters let a name read
// differently from what it is (a reversed "gpj.exe", two look-alike
// accounts) or break the lines of a mail header, a log or a CSV file.

// invisible reports whether r is one of the characters no name may hold.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
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

// cleanEmail trims, checks and returns an e-mail address, or a field error.
func cleanEmail(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", fieldError(field, "Enter an e-mail address.")
	case len(s) > maxEmailBytes:
		return "", fieldError(field, "An e-mail address can be at most %d characters.", maxEmailBytes)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		return "", fieldError(field, "The e-mail address contains characters that are not allowed.")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", fieldError(field, "Enter an e-mail address like name@example.com.")
	}
	return s, nil
}

// checkPassword turns auth's password rules into a field error.
func checkPassword(field, pw string) error {
	if err := auth.CheckPassword(pw); err != nil {
		return fieldError(field, "%s", err.Error())
	}
	return nil
}
