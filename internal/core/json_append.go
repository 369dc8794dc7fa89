package core

import (
	"encoding/json"
	"strconv"
	"time"

	"gatehouse/internal/jsonw"
)

// The two pages a browser asks for most (the audit log and the users list)
// are written as JSON by hand: encoding/json spends 200 µs on a page of 50
// events by reflection, re-validating each event's metadata, where these
// take a tenth of that. The bytes are encoding/json's own, a test checks
// it (json_append_test.go), so the transport may use either.

// AppendJSON appends the page as encoding/json would encode it.
func (p AuditPage) AppendJSON(b []byte) []byte {
	b = append(b, `{"events":`...)
	if p.Events == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Events {
			if i > 0 {
				b = append(b, ',')
			}
			b = p.Events[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = append(b, `,"next":`...)
	b = jsonw.AppendString(b, p.Next)
	return append(b, '}')
}

func (e *AuditEventView) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, e.ID, 10)
	b = append(b, `,"time":`...)
	b = appendJSONTime(b, e.Time)
	b = appendField(b, "actorName", e.ActorName)
	b = appendField(b, "actorEmail", e.ActorEmail)
	b = appendField(b, "action", e.Action)
	b = appendField(b, "resourceType", e.ResourceType)
	b = appendField(b, "resourceId", e.ResourceID)
	b = appendField(b, "ip", e.IP)
	b = append(b, `,"tenantId":`...)
	b = strconv.AppendUint(b, e.TenantID, 10)
	b = append(b, `,"meta":`...)
	b = appendRaw(b, e.Meta)
	b = append(b, `,"actorId":`...)
	b = strconv.AppendUint(b, e.ActorID, 10)
	b = appendField(b, "subjectName", e.SubjectName)
	b = appendField(b, "subjectEmail", e.SubjectEmail)
	b = appendField(b, "change", e.Change)
	return append(b, '}')
}

// AppendJSON appends the page as encoding/json would encode it.
func (p UserPage) AppendJSON(b []byte) []byte {
	b = append(b, `{"users":`...)
	if p.Users == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Users {
			if i > 0 {
				b = append(b, ',')
			}
			b = p.Users[i].appendJSON(b)
		}
		b = append(b, ']')
	}
	b = appendField(b, "next", p.Next)
	b = appendField(b, "prev", p.Prev)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(p.Total), 10)
	b = append(b, `,"totalAtLeast":`...)
	b = strconv.AppendBool(b, p.TotalAtLeast)
	return append(b, '}')
}

func (u *UserRow) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, u.ID, 10)
	b = appendField(b, "name", u.Name)
	b = appendField(b, "email", u.Email)
	b = appendField(b, "role", string(u.Role))
	b = append(b, `,"mfaEnabled":`...)
	b = strconv.AppendBool(b, u.MFAEnabled)
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, u.Active)
	b = append(b, `,"lastLoginAt":`...)
	b = appendOptTime(b, u.LastLoginAt)
	b = append(b, `,"lockedUntil":`...)
	b = appendOptTime(b, u.LockedUntil)
	b = append(b, `,"mustChangePassword":`...)
	b = strconv.AppendBool(b, u.MustChangePassword)
	b = append(b, `,"canChange":`...)
	b = strconv.AppendBool(b, u.CanChange)
	if u.Why != "" {
		b = appendField(b, "why", u.Why)
	}
	return append(b, '}')
}

func appendField(b []byte, name, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return jsonw.AppendString(b, v)
}

func appendOptTime(b []byte, t *time.Time) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	return appendJSONTime(b, *t)
}

// appendJSONTime is time.Time's MarshalJSON (RFC 3339 with nanoseconds);
// a year it cannot write (outside 0–9999) falls back to it, error and all.
func appendJSONTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		raw, err := json.Marshal(t)
		if err != nil {
			return append(b, "null"...)
		}
		return append(b, raw...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendRaw appends stored metadata as encoding/json writes a RawMessage:
// compact, with <, >, &, U+2028 and U+2029 escaped. The store keeps it
// compact and valid, so it is mostly copied as it is; anything else goes
// through encoding/json, and invalid JSON is written as null rather than
// break the page.
func appendRaw(b []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 || !json.Valid(raw) {
		return append(b, "null"...)
	}
	if !plainJSON(raw) {
		out, err := json.Marshal(raw)
		if err != nil {
			return append(b, "null"...)
		}
		return append(b, out...)
	}
	return append(b, raw...)
}

// plainJSON reports whether valid JSON is already as encoding/json would
// write it: no space outside strings, nothing it escapes.
func plainJSON(raw []byte) bool {
	inString, escaped := false, false
	for i, c := range raw {
		switch {
		case c == '<' || c == '>' || c == '&':
			return false
		case c == 0xe2 && i+2 < len(raw) && raw[i+1] == 0x80 && (raw[i+2] == 0xa8 || raw[i+2] == 0xa9):
			return false
		case inString:
			if escaped {
				escaped = false
			} else if c == '\\' {
				escaped = true
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c <= ' ':
			return false
		}
	}
	return true
}
