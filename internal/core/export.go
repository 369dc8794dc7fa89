package core

import "strings"

// What the exports share: the audit log's (audit_log.go) and the users
// list's (users_export.go).

// Export formats.
const (
	FormatCSV   = "csv"
	FormatJSONL = "jsonl"
)

// exportPage is how many rows an export reads per read transaction: the
// transaction ends before the page is written to a client, however slow.
const exportPage = 1000

// csvSafe defuses spreadsheet formulas in a cell: a value starting with
// =, +, -, @, tab or carriage return is prefixed with an apostrophe (OWASP).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
