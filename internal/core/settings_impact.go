package core

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// SettingsRisk is one consequence of a settings change that reaches other
// people or removes kept data, counted, so the page can ask before saving.
type SettingsRisk struct {
	Setting string `json:"setting"` // the SettingsInput field that causes it
	Title   string `json:"title"`   // the question to confirm: "Require 2FA for admins?"
	Message string `json:"message"` // what will happen, with the count
	Count   int    `json:"count"`   // people, tenants, events or files concerned
}

// SettingsImpact is what saving a SettingsInput would do besides changing
// the settings. No risks: there is nothing to confirm.
type SettingsImpact struct {
	Risks []SettingsRisk `json:"risks"`
}

// settingsChange is a proposed change as the risk checks see it: the
// settings now and as they would be saved, and who asks.
type settingsChange struct {
	was, will generalSettings
	a         *actor
}

// riskCheck answers, from one read transaction, whether a change carries a
// risk (nil: none).
type riskCheck func(tx *store.Tx, c settingsChange) (*SettingsRisk, error)

var riskChecks = []riskCheck{requireMFARisk, multiTenantOffRisk, retentionRisk, lanOffRisk}

// SettingsImpact checks in exactly as UpdateSettings would (the same field
// errors) and says, counted, what saving it would do to other people or to
// kept data. It changes nothing, and only those who may save settings may
// ask. The counts come from one read transaction and the store's counters
// and indexes; the backups folder is listed after it.
func (s *Service) SettingsImpact(ctx context.Context, in SettingsInput) (SettingsImpact, error) {
	var c settingsChange
	var risks []SettingsRisk
	err := s.view(ctx, platformGate, func(tx *store.Tx, a *actor) error {
		risks = nil
		g, m, err := readSettings(tx)
		if err != nil {
			return err
		}
		c = settingsChange{was: g, will: g, a: a}
		if err := applySettings(&c.will, &m, in, s.sealer); err != nil {
			return err
		}
		if err := completeSMTP(&m); err != nil {
			return err
		}
		for _, check := range riskChecks {
			r, err := check(tx, c)
			if err != nil {
				return err
			}
			if r != nil {
				risks = append(risks, *r)
			}
		}
		return nil
	})
	if err != nil {
		return SettingsImpact{}, s.internal("settings impact", err)
	}
	r, err := s.backupKeepRisk(c)
	if err != nil {
		return SettingsImpact{}, s.internal("settings impact: backups", err)
	}
	if r != nil {
		risks = append(risks, *r)
	}
	return SettingsImpact{Risks: append([]SettingsRisk{}, risks...)}, nil
}

// adminRoles are the roles the 2FA policy covers.
var adminRoles = []auth.Role{auth.SuperAdmin, auth.Admin}

// requireMFARisk: turning the policy on sends every active admin without
// 2FA, in any tenant, to set it up at their next sign-in.
func requireMFARisk(tx *store.Tx, c settingsChange) (*SettingsRisk, error) {
	if c.was.Security.RequireMFAForAdmins || !c.will.Security.RequireMFAForAdmins {
		return nil, nil
	}
	tenants, err := tx.Tenants()
	if err != nil {
		return nil, err
	}
	n := 0
	for _, t := range tenants {
		for _, r := range adminRoles {
			k, err := tx.CountWithoutMFA(t.ID, r)
			if err != nil {
				return nil, err
			}
			n += k
		}
	}
	if n == 0 {
		return nil, nil
	}
	you := !c.a.user.MFAEnabled && (c.a.user.Role == auth.SuperAdmin || c.a.user.Role == auth.Admin)
	msg := counted(n, "admin", "admins") + " without 2FA will have to set it up at their next sign-in, before they can do anything else."
	switch {
	case you && n == 1:
		msg = "You are the only admin without 2FA: you will have to set it up at your next sign-in. You can do it now in Account settings → Security."
	case you:
		msg += " You are one of them: set it up now in Account settings → Security, or you will be asked at your next sign-in."
	}
	return &SettingsRisk{Setting: "requireMfaForAdmins", Title: "Require 2FA for admins?", Message: msg, Count: n}, nil
}

// multiTenantOffRisk: turning multi-tenant off takes the customer tenants
// out of the tenant switcher and the Tenants page (nothing is deleted).
func multiTenantOffRisk(tx *store.Tx, c settingsChange) (*SettingsRisk, error) {
	if !c.was.MultiTenant || c.will.MultiTenant {
		return nil, nil
	}
	tenants, err := tx.Tenants()
	if err != nil {
		return nil, err
	}
	var names []string
	members := 0
	for _, t := range tenants {
		if !t.AdminTenancy {
			names = append(names, t.Name)
			members += tx.DirectoryCount(t.ID, "", nil)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	sort.Slice(names, func(i, j int) bool { return store.Fold(names[i]) < store.Fold(names[j]) })
	which := listSome(names, 3)
	if members > 0 {
		which += "; " + counted(members, "member", "members")
	}
	msg := fmt.Sprintf("Turning multi-tenant off hides %s (%s) from the tenant switcher and the Tenants page. Their people can still sign in; nothing is deleted, and turning it back on shows them again.",
		counted(len(names), "tenant", "tenants"), which)
	return &SettingsRisk{Setting: "multiTenant", Title: "Turn multi-tenant off?", Message: msg, Count: len(names)}, nil
}

// retentionRisk: keeping events fewer days than now removes the older ones
// at the next hourly retention run, for good.
func retentionRisk(tx *store.Tx, c settingsChange) (*SettingsRisk, error) {
	days := c.will.RetentionDays
	if days == 0 || c.was.RetentionDays != 0 && days >= c.was.RetentionDays {
		return nil, nil
	}
	n, err := tx.CountEventsBefore(c.a.now.AddDate(0, 0, -days))
	if err != nil || n == 0 {
		return nil, err
	}
	msg := fmt.Sprintf("%s older than %s will be removed within the hour. The removal is recorded in the log, and removed events come back only from a backup.",
		counted(n, "audit event", "audit events"), counted(days, "day", "days"))
	return &SettingsRisk{Setting: "retentionDays", Title: "Remove old audit events?", Message: msg, Count: n}, nil
}

// lanOffRisk: the desktop app stops serving the office LAN at its next
// start; everyone signed in from another computer loses access then.
func lanOffRisk(tx *store.Tx, c settingsChange) (*SettingsRisk, error) {
	if c.was.LANOff || !c.will.LANOff {
		return nil, nil
	}
	people := map[uint64]bool{}
	err := tx.EachSession(func(sess *store.Session) bool {
		if sess.Stage == "" && remote(Caller{IP: sess.IP}) && !sessionExpired(sess, c.a.now) {
			people[sess.UserID] = true
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	msg := "The desktop app will stop serving the office LAN from its next start: staff can no longer open Gatehouse in a browser. "
	n, you := len(people), people[c.a.user.ID] && remote(Caller{IP: c.a.ip})
	switch {
	case n == 0:
		msg += "Nobody is signed in from another computer right now."
	case n == 1 && you:
		msg += "You are signed in from another computer, and will lose access then."
	case n == 1:
		msg += "1 person is signed in from another computer, and will lose access then."
	case you:
		msg += thousands(n) + " people are signed in from other computers, you among them, and will lose access then."
	default:
		msg += thousands(n) + " people are signed in from other computers, and will lose access then."
	}
	return &SettingsRisk{Setting: "lanEnabled", Title: "Stop serving the office LAN?", Message: msg, Count: len(people)}, nil
}

// backupKeepRisk: keeping daily backups fewer days than now deletes the
// older scheduled backups at the next hourly check (never the newest).
func (s *Service) backupKeepRisk(c settingsChange) (*SettingsRisk, error) {
	days := c.will.Backups.KeepDays
	if days == 0 || c.was.Backups.KeepDays != 0 && days >= c.was.Backups.KeepDays || s.backupDir == "" {
		return nil, nil
	}
	files, err := scheduledFiles(s.backupDir)
	if errors.Is(err, fs.ErrNotExist) || len(files) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cutoff, n := c.a.now.AddDate(0, 0, -days), 0
	for _, f := range files[:len(files)-1] {
		if f.at.Before(cutoff) {
			n++
		}
	}
	if n == 0 {
		return nil, nil
	}
	msg := fmt.Sprintf("%s older than %s will be deleted from the backups folder within the hour. The newest is always kept.",
		counted(n, "daily backup", "daily backups"), counted(days, "day", "days"))
	return &SettingsRisk{Setting: "backupKeepDays", Title: "Delete old daily backups?", Message: msg, Count: n}, nil
}

// counted writes n with its noun: "1 admin", "36 admins", "1,204 audit events".
func counted(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return thousands(n) + " " + many
}

// thousands writes n with commas between thousands, as en-GB does.
func thousands(n int) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// listSome names up to max items and says how many more there are.
func listSome(items []string, max int) string {
	if len(items) <= max {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:max], ", ") + fmt.Sprintf(" and %d more", len(items)-max)
}
