package core

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// Audit-log actions about the log itself.
const (
	ActPrune    = "prune"
	ResAuditLog = "audit_log"
)

// AuditFilter selects events on the audit page, in the export and in the
// URL of a bookmarked view. Times are RFC 3339.
type AuditFilter struct {
	Text     string `json:"text"`
	Action   string `json:"action"`
	Resource string `json:"resource"`
	User     string `json:"user"` // the actor's e-mail (or "system (CLI)")
	Since    string `json:"since"`
	Until    string `json:"until"`
	TenantID uint64 `json:"tenantId"` // SUPER_ADMIN: 0 is every tenant
	Cursor   string `json:"cursor"`
	Limit    int    `json:"limit"`
}

// AuditEventView is one event as the page shows it.
type AuditEventView struct {
	ID           uint64          `json:"id"`
	Time         time.Time       `json:"time"`
	ActorName    string          `json:"actorName"`
	ActorEmail   string          `json:"actorEmail"`
	Action       string          `json:"action"`
	ResourceType string          `json:"resourceType"`
	ResourceID   string          `json:"resourceId"`
	IP           string          `json:"ip"`
	TenantID     uint64          `json:"tenantId"`
	Meta         json.RawMessage `json:"meta"`
	ActorID      uint64          `json:"actorId"`
	SubjectName  string          `json:"subjectName"`  // whom the event is about, when not the actor
	SubjectEmail string          `json:"subjectEmail"` // as recorded at the time
	Change       string          `json:"change"`       // one line: "role AGENT → MANAGER"
}

func viewEvent(e *store.Event) AuditEventView {
	meta := e.Meta
	if len(meta) == 0 {
		meta = json.RawMessage("null")
	}
	return AuditEventView{ID: e.ID, Time: e.Time, ActorName: e.ActorName, ActorEmail: e.ActorEmail, Action: e.Action,
		ResourceType: e.ResourceType, ResourceID: e.ResourceID, IP: e.IP, TenantID: e.TenantID, Meta: meta,
		ActorID: e.ActorID, SubjectName: e.SubjectName, SubjectEmail: e.SubjectEmail, Change: e.Change}
}

// AuditPage is one page of the audit log, newest first.
type AuditPage struct {
	Events []AuditEventView `json:"events"`
	Next   string           `json:"next"`
}

const maxAuditText = 200

// auditQuery validates a filter into a store query for the actor.
func (s *Service) auditQuery(tx *store.Tx, a *actor, f AuditFilter) (store.AuditQuery, error) {
	q := store.AuditQuery{Tenant: a.tenant.ID, Action: f.Action, Resource: f.Resource, Limit: f.Limit}
	if a.can(auth.CrossTenant) {
		q.Tenant = f.TenantID // a SUPER_ADMIN sees every tenant, or the one chosen
	} else if f.TenantID != 0 && f.TenantID != a.tenant.ID {
		return q, errNotMember
	}
	if utf8.RuneCountInString(f.Text) > maxAuditText {
		return q, fieldError("text", "Search for at most %d characters.", maxAuditText)
	}
	q.Text = strings.TrimSpace(f.Text)
	if q.Limit == 0 {
		q.Limit = 50
	} else if q.Limit < 1 || q.Limit > 500 {
		return q, fieldError("limit", "Ask for 1 to 500 events per page.")
	}
	for _, c := range []struct {
		field, value string
		kind         byte
		what         string
	}{{"action", f.Action, store.FieldAction, "action"}, {"resource", f.Resource, store.FieldResource, "resource type"}} {
		if c.value == "" {
			continue
		}
		if !tx.HasValue(q.Tenant, c.kind, c.value) {
			return q, fieldError(c.field, "There is no %s %q in this audit log. Choose one from the list.", c.what, truncate(c.value, 40))
		}
	}
	if f.User != "" {
		if len(f.User) > maxEmailBytes {
			return q, fieldError("user", "Enter the user's e-mail address.")
		}
		q.Actor = store.Fold(f.User)
	}
	var err error
	if q.Since, err = parseTime("since", f.Since); err != nil {
		return q, err
	}
	if q.Until, err = parseTime("until", f.Until); err != nil {
		return q, err
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		return q, fieldError("until", "The end of the time range must be after its start.")
	}
	if f.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(f.Cursor)
		if err != nil || len(b) != 16 {
			return q, fieldError("cursor", "This page link is out of date or damaged. Start again from the newest events.")
		}
		q.Before = b
	}
	return q, nil
}

func parseTime(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 2000 || t.Year() > 9999 {
				break
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fieldError(field, "Enter a date and time like 2026-05-18T09:30:00Z.")
}

// ListAudit returns a page of the audit log (ADMIN, SUPER_ADMIN). Each
// tenant's admins see their tenant's events; a SUPER_ADMIN sees them all.
func (s *Service) ListAudit(ctx context.Context, f AuditFilter) (AuditPage, error) {
	out := AuditPage{Events: []AuditEventView{}}
	err := s.view(ctx, needs(auth.ViewAudit), func(tx *store.Tx, a *actor) error {
		q, err := s.auditQuery(tx, a, f)
		if err != nil {
			return err
		}
		page, err := tx.QueryAudit(q)
		if err != nil {
			return err
		}
		for i := range page.Events {
			out.Events = append(out.Events, viewEvent(&page.Events[i]))
		}
		if page.Next != nil {
			out.Next = base64.RawURLEncoding.EncodeToString(page.Next)
		}
		return nil
	})
	return out, s.internal("list audit", err)
}

// AuditStats are the 24-hour figures at the top of the audit page.
type AuditStats struct {
	Events      int    `json:"events"`
	ActiveUsers int    `json:"activeUsers"`
	TopAction   string `json:"topAction"`
	TopCount    int    `json:"topCount"`
}

// GetAuditStats returns the figures of the 24 hours up to now, exactly.
func (s *Service) GetAuditStats(ctx context.Context, tenantID uint64) (AuditStats, error) {
	var st store.AuditStats
	err := s.view(ctx, needs(auth.ViewAudit), func(tx *store.Tx, a *actor) error {
		tenant, err := auditTenant(a, tenantID)
		if err != nil {
			return err
		}
		st, err = tx.Stats(tenant, a.now)
		return err
	})
	return AuditStats{Events: st.Events, ActiveUsers: st.ActiveUsers, TopAction: st.TopAction, TopCount: st.TopCount}, s.internal("audit stats", err)
}

func auditTenant(a *actor, requested uint64) (uint64, error) {
	if a.can(auth.CrossTenant) {
		return requested, nil
	}
	if requested != 0 && requested != a.tenant.ID {
		return 0, errNotMember
	}
	return a.tenant.ID, nil
}

// AuditOptions are the values the page's dropdowns offer: those that exist
// in the visible log.
type AuditOptions struct {
	Actions   []string `json:"actions"`
	Resources []string `json:"resources"`
	// Users is empty: the log may hold thousands of actors, so the user
	// filter asks SuggestAuditUsers as the admin types instead.
	Users []string `json:"users"`
}

// maxOptionValues bounds what GetAuditOptions reads of each dictionary:
// actions and resource types are a few dozen, written by Gatehouse itself.
const maxOptionValues = 1000

// GetAuditOptions lists the actions and resource types in the log, from
// their dictionaries (a few dozen entries each): a page open reads no
// event and no actor.
func (s *Service) GetAuditOptions(ctx context.Context, tenantID uint64) (AuditOptions, error) {
	out := AuditOptions{Actions: []string{}, Resources: []string{}, Users: []string{}}
	err := s.view(ctx, needs(auth.ViewAudit), func(tx *store.Tx, a *actor) error {
		tenant, err := auditTenant(a, tenantID)
		if err != nil {
			return err
		}
		for _, f := range []struct {
			kind byte
			dst  *[]string
		}{{store.FieldAction, &out.Actions}, {store.FieldResource, &out.Resources}} {
			vals, err := tx.Values(tenant, f.kind, maxOptionValues)
			if err != nil {
				return err
			}
			for k := range vals {
				if k != "" {
					*f.dst = append(*f.dst, k)
				}
			}
			sort.Strings(*f.dst)
		}
		return nil
	})
	return out, s.internal("audit options", err)
}

// AuditUser is an actor of the log offered to the user filter.
type AuditUser struct {
	Email string `json:"email"` // the filter's value: the e-mail, or a system actor's name
	Name  string `json:"name"`  // as recorded; empty when unknown
}

// maxAuditSuggestions is how many actors a suggestion offers.
const maxAuditSuggestions = 20

// SuggestAuditUsers returns at most 20 actors of the visible log whose
// e-mail or name starts with prefix (case-insensitive), reading at most a
// page of the log's actor dictionary whatever its size.
func (s *Service) SuggestAuditUsers(ctx context.Context, tenantID uint64, prefix string) ([]AuditUser, error) {
	out := []AuditUser{}
	if len(prefix) > maxEmailBytes {
		return out, fieldError("user", "Enter the start of a name or e-mail address.")
	}
	err := s.view(ctx, needs(auth.ViewAudit), func(tx *store.Tx, a *actor) error {
		tenant, err := auditTenant(a, tenantID)
		if err != nil {
			return err
		}
		for _, sg := range tx.SuggestActors(tenant, store.Fold(prefix), maxAuditSuggestions) {
			out = append(out, AuditUser{Email: sg.Key, Name: sg.Name})
		}
		return nil
	})
	return out, s.internal("suggest audit users", err)
}

// VerifyAudit checks the whole hash chain (platform admins).
func (s *Service) VerifyAudit(ctx context.Context) (store.ChainReport, error) {
	if _, err := s.check(ctx, platformGate); err != nil {
		return store.ChainReport{}, err
	}
	rep, err := s.db.VerifyChain(nil)
	return rep, s.internal("verify audit", err)
}

// ExportAudit streams the events a filter selects to w as CSV or JSON Lines
// and returns how many it wrote. The page's cursor and limit are ignored: an
// export has every matching event. It reads in pages, each in its own read
// transaction that resolves the caller again, so a slow reader holds no
// transaction open, and a session that ends stops the export.
func (s *Service) ExportAudit(ctx context.Context, f AuditFilter, format string, w io.Writer) (int, error) {
	read := func(fn func(*store.Tx, *actor) error) error { return s.view(ctx, needs(auth.ViewAudit), fn) }
	return s.exportAudit(read, f, format, w)
}

// ExportAuditFromCLI exports for someone with the data folder itself.
func (s *Service) ExportAuditFromCLI(f AuditFilter, format string, w io.Writer) (int, error) {
	system := &actor{user: store.User{Role: auth.SuperAdmin}}
	read := func(fn func(*store.Tx, *actor) error) error {
		return s.db.View(func(tx *store.Tx) error { return fn(tx, system) })
	}
	return s.exportAudit(read, f, format, w)
}

func (s *Service) exportAudit(read func(func(*store.Tx, *actor) error) error, f AuditFilter, format string, w io.Writer) (int, error) {
	if format != FormatCSV && format != FormatJSONL {
		return 0, fieldError("format", "Choose csv or jsonl.")
	}
	f.Cursor, f.Limit = "", 0
	bw := bufio.NewWriterSize(w, 64<<10)
	var cw *csv.Writer
	if format == FormatCSV {
		cw = csv.NewWriter(bw)
		cw.Write([]string{"time", "actor_name", "actor_email", "action", "resource_type", "resource_id", "ip", "tenant_id", "event_id", "meta", "subject_name", "subject_email", "change"})
	}
	n := 0
	var after []byte // the key of the last event written
	for {
		var page store.AuditPage
		err := read(func(tx *store.Tx, a *actor) error {
			q, err := s.auditQuery(tx, a, f)
			if err != nil {
				return err
			}
			q.Limit, q.Before = exportPage, after
			page, err = tx.QueryAudit(q)
			return err
		})
		if err != nil {
			return n, s.internal("export audit", err)
		}
		for i := range page.Events {
			if err := writeExportEvent(cw, bw, &page.Events[i]); err != nil {
				return n, err
			}
			n++
		}
		if page.Next == nil {
			break
		}
		after = page.Next
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
	}
	return n, bw.Flush()
}

// writeExportEvent writes one event as a CSV row (cw) or a JSON line.
func writeExportEvent(cw *csv.Writer, bw *bufio.Writer, e *store.Event) error {
	if cw != nil {
		cw.Write([]string{e.Time.UTC().Format(time.RFC3339Nano), csvSafe(e.ActorName), csvSafe(e.ActorEmail), csvSafe(e.Action),
			csvSafe(e.ResourceType), csvSafe(e.ResourceID), csvSafe(e.IP), strconv.FormatUint(e.TenantID, 10), strconv.FormatUint(e.ID, 10), csvSafe(string(e.Meta)),
			csvSafe(e.SubjectName), csvSafe(e.SubjectEmail), csvSafe(e.Change)})
		return cw.Error()
	}
	line, err := json.Marshal(viewEvent(e))
	if err != nil {
		return err
	}
	_, err = bw.Write(append(line, '\n'))
	return err
}

// PruneAudit applies the retention setting: events older than the kept
// days are removed in batches (so writers wait only a moment each), the
// chain's anchor moves with them, and one event records the pruning.
func (s *Service) PruneAudit(ctx context.Context) (int, error) {
	var days int
	if err := s.db.View(func(tx *store.Tx) error {
		g, _, err := readSettings(tx)
		days = g.RetentionDays
		return err
	}); err != nil || days <= 0 {
		return 0, s.internal("retention", err)
	}
	cutoff := s.clock().AddDate(0, 0, -days)
	total := 0
	for ctx.Err() == nil {
		var n int
		if err := s.db.Update(func(tx *store.Tx) (err error) { n, err = tx.PruneAudit(cutoff, 5000); return }); err != nil {
			return total, s.internal("prune audit", err)
		}
		total += n
		if n == 0 {
			break
		}
	}
	if total == 0 {
		return 0, nil
	}
	err := s.write(func(tx *store.Tx) error {
		return record(tx, s.clock(), who{name: "Gatehouse retention", ip: "local"}, 0, ActPrune, ResAuditLog, 0,
			&change{Extra: map[string]any{"removed": total, "olderThan": cutoff, "keepDays": days}})
	})
	return total, s.internal("record prune", err)
}

// RunRetention prunes the audit log once an hour until ctx ends.
func (s *Service) RunRetention(ctx context.Context) {
	for {
		if _, err := s.PruneAudit(ctx); err != nil {
			s.log.Error("audit retention", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Hour):
		}
	}
}
