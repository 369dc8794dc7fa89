package core

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/mail"
	"gatehouse/internal/store"
)

// Session lifetimes (product.md §7).
const (
	SessionIdle     = 12 * time.Hour
	SessionAbsolute = 7 * 24 * time.Hour
	// A session the window remembers ("Keep me signed in on this computer")
	// lasts 30 days from its last use, 90 days at most, like the
	// remember-me of Grafana (30 days) and Gitea (31 days); every rule that
	// ends a session still ends it.
	RememberedIdle     = 30 * 24 * time.Hour
	RememberedAbsolute = 90 * 24 * time.Hour
	// lastSeenEvery is how stale a session's last-seen time may get before a
	// request refreshes it, so reads do not each cost a write.
	lastSeenEvery = time.Minute
)

// Mailer sends one e-mail; mail.Sender is the real one.
type Mailer interface {
	Send(ctx context.Context, cfg mail.Config, msg mail.Message) error
}

// PasswordHasher hashes and checks passwords; *auth.Hasher is the real one.
type PasswordHasher interface {
	Hash(password string) ([]byte, error)
	// Verify reports whether password matches hash; a nil hash takes as
	// long as a real one and never matches.
	Verify(hash []byte, password string) bool
}

// Config assembles a Service.
type Config struct {
	DB     *store.DB
	Sealer *auth.Sealer     // seals secrets at rest (the data folder's key); required
	Hasher PasswordHasher   // default: bcrypt cost 12, half the cores at once
	Mailer Mailer           // default: SMTP
	Now    func() time.Time // default: time.Now
	Logger *slog.Logger     // default: discard
	// BaseURL is the default start of links in e-mails, used until an
	// admin sets one in Settings.
	BaseURL string
	// BackupDir is where "Back up now" writes (the data folder's backups).
	BackupDir string
}

// Service runs the use cases.
type Service struct {
	db        *store.DB
	sealer    *auth.Sealer
	hasher    PasswordHasher
	mailer    Mailer
	now       func() time.Time
	log       *slog.Logger
	baseURL   atomic.Pointer[string]
	backupDir string
	setupCode string        // one-time code for first-run setup over the LAN
	wake      chan struct{} // nudges the outbox worker after a commit
	blocked   blockedAttempts

	lanMu         sync.Mutex
	lanURLs       []string
	lanHTTPS      bool
	generatedCert *tls.Certificate
	customCert    *tls.Certificate
}

// New returns a Service over cfg.
func New(cfg Config) *Service {
	s := &Service{db: cfg.DB, sealer: cfg.Sealer, hasher: cfg.Hasher, mailer: cfg.Mailer, now: cfg.Now,
		log: cfg.Logger, wake: make(chan struct{}, 1), backupDir: cfg.BackupDir, setupCode: newSetupCode()}
	if s.sealer == nil {
		panic("core.New: Config.Sealer is required (the data folder's key)")
	}
	if s.hasher == nil {
		// bcrypt may use at most half the cores, so a flood of sign-ins
		// queues instead of starving every other request.
		s.hasher = auth.NewHasher(auth.DefaultCost, max(1, runtime.NumCPU()/2))
	}
	if s.mailer == nil {
		s.mailer = &mail.Sender{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://localhost:8420"
	}
	s.SetDefaultBaseURL(cfg.BaseURL)
	return s
}

// SetDefaultBaseURL sets the link base used until an admin sets one; the
// LAN server calls it once it knows its address.
func (s *Service) SetDefaultBaseURL(u string) { s.baseURL.Store(&u) }

// DB exposes the store to the commands that work on the file itself
// (backup, checks).
func (s *Service) DB() *store.DB { return s.db }

// clock returns the time for one use case, truncated to the microsecond so
// it survives JSON round trips unchanged.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// internal logs an unexpected error and returns the generic one.
func (s *Service) internal(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*Error); ok {
		return err
	}
	s.log.Error("internal error", "op", op, "err", err)
	return AsError(err)
}

// nudgeMailer tells the outbox worker there may be work, after a commit.
func (s *Service) nudgeMailer() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// write runs one use case's write transaction. Concurrent use cases share a
// commit (bbolt's Batch), each still durable (fsync) when write returns.
// fn may run more than once, so it must not act outside the transaction.
func (s *Service) write(fn func(tx *store.Tx) error) error { return s.db.Batch(fn) }

// newSetupCode makes a 12-character code (60 random bits) that is easy to
// type: capitals and digits without 0/O or 1/I.
func newSetupCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := auth.HashToken(auth.NewToken())
	code := make([]byte, 12)
	for i := range code {
		code[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(code)
}
