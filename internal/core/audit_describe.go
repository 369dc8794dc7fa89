package core

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"gatehouse/internal/store"
)

// An audit row answers "who did what to whom" in one line: describe adds
// to an event whom it is about (as recorded at the time) and a one-line
// summary of the change, both found by the log's free text.

// maxChangeLen bounds a change summary, in characters.
const maxChangeLen = 160

// describe fills e's subject and change summary, reading the subject in
// the event's own transaction so it is the record as it was at the time.
func describe(tx *store.Tx, e *store.Event, w who, resID uint64, meta *change) error {
	if err := describeSubject(tx, e, w, resID); err != nil {
		return err
	}
	e.Change = clip(changeSummary(e.Action, e.ResourceType, meta))
	return nil
}

func describeSubject(tx *store.Tx, e *store.Event, w who, resID uint64) error {
	if resID == 0 {
		return nil
	}
	switch e.ResourceType {
	case ResUser, ResSession:
		u, err := tx.User(resID)
		if err != nil || u == nil {
			return err
		}
		if u.ID == w.id || store.Fold(u.Email) == store.Fold(w.email) {
			return nil // about the actor: the row already names them
		}
		e.SubjectName, e.SubjectEmail = u.Name, u.Email
	case ResInvite:
		inv, err := tx.Invitation(resID)
		if err != nil || inv == nil {
			return err
		}
		e.SubjectEmail = inv.Email
	case ResTenant:
		t, err := tx.Tenant(resID)
		if err != nil || t == nil {
			return err
		}
		e.SubjectName = t.Name
	}
	return nil
}

// changeSummary is the one line an audit row shows under its action:
// "role AGENT → MANAGER", "deactivated", "2FA turned off".
func changeSummary(action, resType string, meta *change) string {
	var extra map[string]any
	if meta != nil {
		extra = meta.Extra
	}
	str := func(k string) string { s, _ := extra[k].(string); return s }
	switch action {
	case ActDeactivate:
		return "deactivated"
	case ActReactivate:
		return "reactivated"
	case ActEnable2FA:
		return "2FA turned on"
	case ActDisable2FA:
		return "2FA turned off"
	case ActReset2FA:
		return "2FA reset"
	case ActRecoveryCodes:
		return "new recovery codes"
	case ActChangePassword:
		return "password changed"
	case ActResetRequested:
		return "password reset requested"
	case ActResetLinkMade:
		return "password reset link made"
	case ActPasswordReset:
		return "password reset"
	case ActTempPassword:
		return "temporary password set"
	case ActUnlock:
		return "unlocked"
	case ActRestore:
		return fmt.Sprintf("restored from a backup; %v sessions ended", extra["sessionsEnded"])
	case ActLock:
		return "locked after failed sign-ins"
	case ActSignInFailed:
		if r := str("reason"); r != "" {
			return "failed: " + r
		}
	case ActEndSession:
		if d := str("device"); d != "" {
			return "signed out of " + d
		}
		return "signed out of a device"
	case ActInvite:
		return "invited as " + field(meta, "role")
	case ActResend:
		return "invitation sent again"
	case ActRevoke:
		return "invitation revoked"
	case ActAccept:
		return "invitation accepted"
	case ActMemberships:
		if meta != nil {
			if _, list := meta.After.([]string); list {
				return "tenants " + show(roundTrip(meta.Before)) + " → " + show(roundTrip(meta.After))
			}
		}
	case ActCreate:
		switch resType {
		case ResUser:
			s := "created as " + field(meta, "role")
			if str("via") == "invitation" {
				s += " (invitation)"
			}
			return s
		case ResTenant:
			return "tenant created"
		}
	case ActEmailSent:
		if to := str("to"); to != "" {
			return "e-mail sent to " + to
		}
	case ActEmailFailed:
		if to := str("to"); to != "" {
			return "e-mail to " + to + " failed"
		}
	}
	if meta != nil && meta.Before != nil && meta.After != nil {
		return diffSummary(meta.Before, meta.After)
	}
	return ""
}

// field is a top-level value of a change's After (or Before) record.
func field(meta *change, key string) string {
	if meta == nil {
		return ""
	}
	for _, v := range []any{meta.After, meta.Before} {
		if m := asMap(v); m != nil {
			if s, ok := m[key]; ok {
				return show(s)
			}
		}
	}
	return ""
}

// diffSummary lists what differs between two records, key by key in a
// fixed order: "role AGENT → MANAGER, name Ann → Anna".
func diffSummary(before, after any) string {
	return strings.Join(diffParts(before, after), ", ")
}

// diffParts is diffSummary's list; a record nested in both (settings'
// security and smtp) says what in it changed: "smtp host none → mail.kw".
func diffParts(before, after any) []string {
	b, a := asMap(before), asMap(after)
	if b == nil || a == nil {
		return nil
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keyOrder(keys[i]) < keyOrder(keys[j]) })
	var parts []string
	for _, k := range keys {
		ob, _ := json.Marshal(b[k])
		oa, _ := json.Marshal(a[k])
		if string(ob) == string(oa) {
			continue
		}
		switch k {
		case "active":
			parts = append(parts, map[bool]string{true: "reactivated", false: "deactivated"}[a[k] == true])
		case "mfaEnabled":
			parts = append(parts, map[bool]string{true: "2FA turned on", false: "2FA turned off"}[a[k] == true])
		default:
			if nb, na := asMap(b[k]), asMap(a[k]); nb != nil && na != nil {
				for _, p := range diffParts(nb, na) {
					parts = append(parts, words(k)+" "+p)
				}
				continue
			}
			parts = append(parts, words(k)+" "+show(b[k])+" → "+show(a[k]))
		}
	}
	return parts
}

// keyOrder puts the fields people ask about first, then the rest by name.
func keyOrder(k string) string {
	for i, first := range []string{"role", "active", "name", "email", "mfaEnabled", "host"} {
		if k == first {
			return fmt.Sprint(i)
		}
	}
	return "9" + k
}

// words turns a record's key into words: "multiTenant" → "multi-tenant".
func words(k string) string {
	switch k {
	case "tenantId":
		return "tenant"
	case "multiTenant":
		return "multi-tenant"
	}
	var b strings.Builder
	for _, r := range k {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// show is a value as a summary prints it.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case bool:
		if x {
			return "on"
		}
		return "off"
	case string:
		if x == "" {
			return "none"
		}
		return x
	case float64:
		return fmt.Sprint(x)
	case []any:
		if len(x) == 0 {
			return "none"
		}
		s := make([]string, len(x))
		for i, e := range x {
			s[i] = show(e)
		}
		return strings.Join(s, "; ")
	default:
		return "changed"
	}
}

// roundTrip is v as JSON decodes it, so show can print it.
func roundTrip(v any) any {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(raw, &out) != nil {
		return nil
	}
	return out
}

// asMap is a record as its JSON object, or nil.
func asMap(v any) map[string]any {
	m, _ := roundTrip(v).(map[string]any)
	return m
}

// clip bounds a summary to maxChangeLen characters.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxChangeLen {
		return s
	}
	r := []rune(s)
	return string(r[:maxChangeLen-1]) + "…"
}
