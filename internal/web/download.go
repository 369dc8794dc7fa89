package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"gatehouse/internal/core"
)

// Export streams the audit log for a caller; package main supplies it over
// core, which checks the caller's permission.
type Export func(r *http.Request, s Session, ip string, f core.AuditFilter, format string, w http.ResponseWriter) (int, error)

// ExportUsers streams the users list as CSV for a caller, checked by core
// as the list itself is.
type ExportUsers func(r *http.Request, s Session, ip string, in core.ListUsersInput, w http.ResponseWriter) (int, error)

// serveAuditExport answers GET /download/audit?format=csv|jsonl&… with the
// filtered audit log as a file. It is a read: the session cookie
// (SameSite=Strict) is the credential, and core checks the permission.
func (s *Server) serveAuditExport(w http.ResponseWriter, r *http.Request) {
	if !getOnly(w, r) {
		return
	}
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = core.FormatCSV
	}
	tenant, ok := tenantParam(w, q)
	if !ok {
		return
	}
	f := core.AuditFilter{Text: q.Get("q"), Action: q.Get("action"), Resource: q.Get("resource"), User: q.Get("user"),
		Since: q.Get("since"), Until: q.Get("until"), TenantID: tenant}
	sess := s.session(w, r)
	ext, ctype := "csv", "text/csv; charset=utf-8"
	if format == core.FormatJSONL {
		ext, ctype = "jsonl", "application/x-ndjson"
	}
	hw := attachment(w, "gatehouse-audit", ext, ctype)
	_, err := s.cfg.Export(r, sess, clientIP(r), f, format, hw)
	s.endDownload(w, hw, err, "audit export")
}

// serveUsersExport answers GET /download/users?q=&role=&status=&sort=&desc=1&tenant=
// (the users page's own query) with that list as a CSV file. Like the
// audit download it is a read, and core checks the permission.
func (s *Server) serveUsersExport(w http.ResponseWriter, r *http.Request) {
	if !getOnly(w, r) {
		return
	}
	q := r.URL.Query()
	tenant, ok := tenantParam(w, q)
	if !ok {
		return
	}
	in := core.ListUsersInput{Search: q.Get("q"), Role: q.Get("role"), Status: q.Get("status"), Sort: q.Get("sort"),
		Desc: q.Get("desc") == "1" || q.Get("desc") == "true", TenantID: tenant}
	sess := s.session(w, r)
	hw := attachment(w, "gatehouse-users", "csv", "text/csv; charset=utf-8")
	_, err := s.cfg.ExportUsers(r, sess, clientIP(r), in, hw)
	s.endDownload(w, hw, err, "users export")
}

// getOnly refuses any method but GET, as a JSON error.
func getOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet {
		return true
	}
	w.Header().Set("Allow", "GET")
	writeError(w, http.StatusMethodNotAllowed, &core.Error{Code: core.Invalid, Message: "Downloads use GET."})
	return false
}

// tenantParam reads the optional tenant=ID of a download's query.
func tenantParam(w http.ResponseWriter, q url.Values) (uint64, bool) {
	t := q.Get("tenant")
	if t == "" {
		return 0, true
	}
	tenant, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, &core.Error{Code: core.Invalid, Field: "tenant", Message: "The tenant must be a number."})
		return 0, false
	}
	return tenant, true
}

// attachment wraps w so that the file's headers go out with the first
// byte; until then an error can still be a proper JSON answer.
func attachment(w http.ResponseWriter, name, ext, ctype string) *headerOnWrite {
	return &headerOnWrite{w: w, before: func() {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.%s"`, name, time.Now().UTC().Format("2006-01-02"), ext))
	}}
}

// endDownload answers a download's error: as JSON while no byte has gone
// out, else by cutting the response without its proper end (no final
// chunk), so the browser reports a failed download rather than saving a
// truncated file as complete.
func (s *Server) endDownload(w http.ResponseWriter, hw *headerOnWrite, err error, what string) {
	if err == nil {
		return
	}
	if hw.started {
		s.log.Error(what+" broke off", "err", err)
		panic(http.ErrAbortHandler)
	}
	e := core.AsError(err)
	if e.Code == core.Internal {
		s.log.Error(what+" failed", "err", err)
	}
	writeError(w, statusOf(e.Code), e)
}

type headerOnWrite struct {
	w       http.ResponseWriter
	before  func()
	started bool
}

func (h *headerOnWrite) Header() http.Header  { return h.w.Header() }
func (h *headerOnWrite) WriteHeader(code int) { h.start(); h.w.WriteHeader(code) }
func (h *headerOnWrite) Write(p []byte) (int, error) {
	h.start()
	return h.w.Write(p)
}
func (h *headerOnWrite) start() {
	if !h.started {
		h.started = true
		h.before()
	}
}
