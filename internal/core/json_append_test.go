package core

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"gatehouse/internal/auth"
)

// nastyStrings are what names, e-mails, addresses and change summaries may
// hold: HTML, quotes, controls, line separators, accents, invalid UTF-8.
var nastyStrings = []string{
	"", "Person 12", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\r\x00\x1f\x7f",
	"Zoë Núñez 漢字 🙂", "role AGENT → MANAGER", "sep\u2028para\u2029end", "bad \xff\xfe utf8 \xe2\x80", "\u00e9\u0301",
}

var nastyMeta = []json.RawMessage{
	nil, json.RawMessage(`{"before":{"name":"Old name","role":"AGENT"},"after":{"name":"New name"}}`),
	json.RawMessage(`{ "spaced" : [1, 2, "a b"] }`), json.RawMessage(`{"html":"<b>&</b>"}`),
	json.RawMessage("{\"sep\":\"a\u2028b\"}"), json.RawMessage(`{"esc":"a\"b\\c\u00e9"}`), json.RawMessage(`not json`),
	json.RawMessage(`"→ arrow"`), json.RawMessage(`null`),
}

// TestAppendJSONIsEncodingJSON: the hand-written pages are byte for byte
// what encoding/json writes, for every awkward value a page may carry.
func TestAppendJSONIsEncodingJSON(t *testing.T) {
	times := []time.Time{{}, time.Date(2026, 5, 18, 9, 30, 0, 123456789, time.UTC), time.Date(2026, 5, 18, 9, 30, 0, 0, time.FixedZone("x", 3600))}
	var events []AuditEventView
	for i, s := range nastyStrings {
		meta := nastyMeta[i%len(nastyMeta)]
		if !json.Valid(meta) {
			meta = nil // encoding/json refuses the page; the store never holds it
		}
		events = append(events, AuditEventView{ID: uint64(i), Time: times[i%len(times)], ActorName: s, ActorEmail: s + "@x", Action: s,
			ResourceType: s, ResourceID: s, IP: s, TenantID: uint64(i * 7), Meta: meta, ActorID: 1 << 60, SubjectName: s, SubjectEmail: s, Change: s})
	}
	for _, m := range nastyMeta {
		if json.Valid(m) {
			events = append(events, AuditEventView{Meta: m, Time: times[1]})
		}
	}
	for _, p := range []AuditPage{{}, {Events: []AuditEventView{}}, {Events: events, Next: "abc<"}} {
		same(t, p, p.AppendJSON(nil))
	}
	var rows []UserRow
	for i, s := range nastyStrings {
		at := times[1].Add(time.Duration(i) * time.Hour)
		row := UserRow{ID: uint64(i), Name: s, Email: s, Role: auth.Role(s), MFAEnabled: i%2 == 0, Active: i%3 == 0, MustChangePassword: i%4 == 0, CanChange: i%5 == 0, Why: s}
		if i%2 == 1 {
			row.LastLoginAt, row.LockedUntil = &at, &at
		}
		rows = append(rows, row)
	}
	for _, p := range []UserPage{{}, {Users: []UserRow{}}, {Users: rows, Next: "n", Prev: "p&", Total: 10001, TotalAtLeast: true}} {
		same(t, p, p.AppendJSON(nil))
	}
}

// TestAppendJSONInvalidMetaIsNull: metadata that is not JSON (a damaged
// record) does not break the page: it reads as null.
func TestAppendJSONInvalidMetaIsNull(t *testing.T) {
	p := AuditPage{Events: []AuditEventView{{Meta: json.RawMessage(`{"a":`)}}}
	var back AuditPage
	if err := json.Unmarshal(p.AppendJSON(nil), &back); err != nil || string(back.Events[0].Meta) != "null" {
		t.Fatalf("page %s: %v", p.AppendJSON(nil), err)
	}
}

func same(t *testing.T, v any, got []byte) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("hand-written JSON differs from encoding/json:\n got %s\nwant %s", got, want)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range nastyStrings {
		f.Add(s, []byte(`{"a":"b"}`))
	}
	f.Fuzz(func(t *testing.T, s string, meta []byte) {
		e := AuditEventView{ActorName: s, Change: s}
		if json.Valid(meta) {
			e.Meta = meta
		}
		same(t, AuditPage{Events: []AuditEventView{e}, Next: s}, AuditPage{Events: []AuditEventView{e}, Next: s}.AppendJSON(nil))
	})
}
