package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"gatehouse/internal/core"
)

// GCPercent is the garbage collector's target (GOGC) for a process that
// serves pages. Its live heap is a few MB (the data is in bbolt's memory
// map, outside the heap), so Go's default of 100 collects every few calls
// and, on a 2-core machine, puts a collection in the tail of one call in
// ten; at 400 the heap stays a few tens of MB and every budget over HTTP
// is met (README, Performance).
const GCPercent = 400

// MaxBody is the largest request body the API accepts.
const MaxBody = 1 << 20

// CookieName is the session cookie.
const CookieName = "gatehouse_session"

// CSRFHeader must be present on every API call; a cross-site form cannot
// set it, and a cross-site fetch that sets it needs a CORS preflight we never
// grant.
const CSRFHeader = "X-Gatehouse"

// Session is how an App keeps its session token: the window keeps it in
// memory, the LAN server in a cookie.
type Session interface {
	Token() string
	Keep(token string)
	Forget()
}

// Config assembles a Server.
type Config struct {
	// NewApp returns the bound App for one request, carrying its session
	// and the client's address.
	NewApp   func(s Session, ip, userAgent string) any
	Frontend fs.FS // the built frontend (index.html at its root)
	Logger   *slog.Logger
	// SessionMaxAge is the cookie's lifetime; the server enforces the real one.
	SessionMaxAge time.Duration
	// Export streams the audit log for GET /download/audit (optional).
	Export Export
	// ExportUsers streams the users list for GET /download/users (optional).
	ExportUsers ExportUsers
	// Backup streams an encrypted backup for POST /download/backup (optional).
	Backup Backup
	// Health answers GET /healthz (optional): what the node says of itself,
	// and whether it can serve.
	Health func() (status any, ok bool)
	// BaseURL returns the configured start of links (optional): a Host or
	// Origin naming it is accepted like the server's own addresses.
	BaseURL func() (string, error)
}

// Server is the LAN HTTP handler.
type Server struct {
	cfg     Config
	methods map[string]method
	static  http.Handler
	index   []byte
	log     *slog.Logger
	// The machine's own names, besides the address a connection reached.
	hostname string
	addrs    []net.IP
}

// New builds the handler; it fails if the App type has a method that
// cannot be served.
func New(cfg Config) (*Server, error) {
	ms, err := methodsOf(cfg.NewApp(nil, "", ""))
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, methods: ms, log: cfg.Logger, addrs: LANAddresses()}
	if h, err := os.Hostname(); err == nil {
		s.hostname = normalHost(h)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if cfg.Frontend != nil {
		s.index, _ = fs.ReadFile(cfg.Frontend, "index.html")
		s.static = http.FileServerFS(cfg.Frontend)
	}
	return s, nil
}

// Routes lists the API routes, for the parity test.
func (s *Server) Routes() []string {
	var out []string
	for name := range s.methods {
		out = append(out, "POST /api/App."+name)
	}
	return out
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer") // invitation links carry tokens
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if !s.checkHost(r) {
		writeError(w, http.StatusMisdirectedRequest, &core.Error{Code: core.Forbidden,
			Message: "This address is not one of this Gatehouse's own. Open Gatehouse at the address it shows, or set its base URL in Settings."})
		return
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		s.serveAPI(w, r)
		return
	}
	if r.URL.Path == "/healthz" && s.cfg.Health != nil {
		status, ok := s.cfg.Health()
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(status)
		return
	}
	if r.URL.Path == "/download/audit" && s.cfg.Export != nil {
		w.Header().Set("Cache-Control", "no-store")
		s.serveAuditExport(w, r)
		return
	}
	if r.URL.Path == "/download/users" && s.cfg.ExportUsers != nil {
		w.Header().Set("Cache-Control", "no-store")
		s.serveUsersExport(w, r)
		return
	}
	if r.URL.Path == "/download/backup" && s.cfg.Backup != nil {
		w.Header().Set("Cache-Control", "no-store")
		s.serveBackupDownload(w, r)
		return
	}
	s.serveFrontend(w, r)
}

func (s *Server) serveFrontend(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if s.static == nil {
		http.Error(w, "This Gatehouse was built without its web pages.", http.StatusNotFound)
		return
	}
	p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if p != "" && !strings.HasSuffix(r.URL.Path, "/") {
		if st, err := fs.Stat(s.cfg.Frontend, p); err == nil && !st.IsDir() {
			if strings.HasPrefix(p, "assets/") {
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable") // hashed names
			}
			s.static.ServeHTTP(w, r)
			return
		}
	}
	if path.Ext(p) != "" {
		http.NotFound(w, r) // a missing file, not a page
		return
	}
	// History routing: every page path gets the app shell.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(s.index)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	name, ok := strings.CutPrefix(r.URL.Path, "/api/App.")
	m, found := s.methods[name]
	if !ok || !found {
		writeError(w, http.StatusNotFound, &core.Error{Code: core.NotFound, Message: "There is no such API method."})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, &core.Error{Code: core.Invalid, Message: "API methods are called with POST."})
		return
	}
	if err := s.checkOrigin(r); err != nil {
		writeError(w, http.StatusForbidden, &core.Error{Code: core.Forbidden, Message: err.Error()})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, &core.Error{Code: core.Invalid, Message: fmt.Sprintf("The request is larger than %d KB.", MaxBody/1024)})
			return
		}
		writeError(w, http.StatusBadRequest, &core.Error{Code: core.Invalid, Message: "The request body could not be read."})
		return
	}
	sess := s.session(w, r)
	app := s.cfg.NewApp(sess, clientIP(r), r.UserAgent())
	val, callErr, argErr := m.call(app, body)
	if argErr != nil {
		writeError(w, http.StatusBadRequest, &core.Error{Code: core.Invalid, Message: argErr.Error()})
		return
	}
	if callErr != nil {
		e := core.AsError(callErr)
		if e.Code == core.Internal {
			s.log.Error("api call failed", "method", name, "err", callErr)
		}
		if e.Code == core.Unauthenticated && sess.token != "" {
			sess.Forget()
		}
		writeError(w, statusOf(e.Code), e)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if val == nil {
		w.Write([]byte("null"))
		return
	}
	if a, ok := val.(jsonAppender); ok {
		buf := bufPool.Get().(*[]byte)
		*buf = append(a.AppendJSON((*buf)[:0]), '\n') // as Encode ends its answer
		w.Write(*buf)
		if cap(*buf) <= 1<<20 {
			bufPool.Put(buf)
		}
		return
	}
	if err := json.NewEncoder(w).Encode(val); err != nil {
		s.log.Error("encode response", "method", name, "err", err)
	}
}

// jsonAppender is an answer that writes its own JSON, byte for byte what
// encoding/json would (core's busiest pages).
type jsonAppender interface{ AppendJSON([]byte) []byte }

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// statusOf maps core's error codes to HTTP statuses, in this one place.
func statusOf(c core.Code) int {
	switch c {
	case core.Invalid:
		return http.StatusBadRequest
	case core.Unauthenticated:
		return http.StatusUnauthorized
	case core.Forbidden, core.MFARequired, core.PasswordChangeRequired:
		return http.StatusForbidden
	case core.NotFound:
		return http.StatusNotFound
	case core.Conflict:
		return http.StatusConflict
	case core.Damaged, core.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError // core.Internal, and any code not listed here (the status test fails on it)
}

func writeError(w http.ResponseWriter, status int, e *core.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(e)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// session reads the request's session cookie.
func (s *Server) session(w http.ResponseWriter, r *http.Request) *cookieSession {
	sess := &cookieSession{w: w, r: r, maxAge: s.cfg.SessionMaxAge}
	if c, err := r.Cookie(CookieName); err == nil {
		sess.token = c.Value
	}
	return sess
}

// cookieSession keeps the session token in an HttpOnly, SameSite=Strict
// cookie (Secure under TLS).
type cookieSession struct {
	w      http.ResponseWriter
	r      *http.Request
	token  string
	maxAge time.Duration
}

func (c *cookieSession) Token() string { return c.token }

func (c *cookieSession) Keep(token string) {
	c.token = token
	http.SetCookie(c.w, &http.Cookie{Name: CookieName, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.r.TLS != nil, MaxAge: int(c.maxAge.Seconds())})
}

func (c *cookieSession) Forget() {
	c.token = ""
	http.SetCookie(c.w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.r.TLS != nil, MaxAge: -1})
}
