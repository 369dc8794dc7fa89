// Package jsonw writes JSON by hand where encoding/json's reflection costs
// too much, byte for byte as encoding/json would. It imports nothing of
// Gatehouse's.
package jsonw

import "unicode/utf8"

// AppendString appends s as a JSON string exactly as encoding/json writes
// it by default: HTML-safe (<, > and & as \u003c, \u003e, \u0026), U+2028
// and U+2029 escaped, invalid UTF-8 as U+FFFD. The audit chain hashes JSON
// written with it, so its output must never change (a test pins it to
// encoding/json's).
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			}
			start = i + size
		}
		i += size
	}
	return append(append(b, s[start:]...), '"')
}
