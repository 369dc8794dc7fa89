package core

import (
	"io"
	"log/slog"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// Session lifetimes (product.md §7).
const (
	SessionIdle     = 12 * time.Hour
	SessionAbsolute = 7 * 24 * time.Hour
	// lastSeenEvery is how stale a session's last-seen time may get before a
	// request refreshes it, so reads do not each cost a write.
	lastSeenEvery = time.Minute
)

// Config assembles a Service.
type Config struct {
	DB     *store.DB
	Hasher *auth.Hasher     // default: cost 12, 4 at once
	Now    func() time.Time // default: time.Now
	Logger *slog.Logger     // default: discard
}

// Service runs the use cases.
type Service struct {
	db     *store.DB
	hasher *auth.Hasher
	now    func() time.Time
	log    *slog.Logger
}

// New returns a Service over cfg.
func New(cfg Config) *Service {
	s := &Service{db: cfg.DB, hasher: cfg.Hasher, now: cfg.Now, log: cfg.Logger}
	if s.hasher == nil {
		s.hasher = auth.NewHasher(auth.DefaultCost, 4)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return s
}

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
