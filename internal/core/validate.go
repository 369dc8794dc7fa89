package core

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"gatehouse/internal/auth"
)

// Input limits.
const (
	maxEmailBytes = 254 // RFC 5321 path limit
	maxNameChars  = 100
)

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

// cleanName trims, checks and returns a person's or tenant's name.
func cleanName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", fieldError(field, "Enter a name.")
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		return "", fieldError(field, "The name contains characters that are not allowed.")
	case utf8.RuneCountInString(s) > maxNameChars:
		return "", fieldError(field, "A name can be at most %d characters.", maxNameChars)
	case strings.ContainsAny(s, "<>"):
		return "", fieldError(field, "A name cannot contain < or >.")
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
