package core

import (
	"context"
	"sort"
	"sync"
	"time"

	"gatehouse/internal/store"
)

// ActSignInBlocked summarises the attempts refused during one lock.
const ActSignInBlocked = "sign_in_blocked"

// maxBlockedLocks caps the locks counted in memory at once; a flood over
// more distinct keys than this is still refused, just not all counted.
const maxBlockedLocks = 100_000

// blockedAttempts counts, in memory, the attempts a lock refuses, so that a
// flood against a locked account or address writes nothing at all: each
// attempt costs a map increment, not a transaction. When the lock has
// ended, one summary event per lock is written by the housekeeping loop.
type blockedAttempts struct {
	mu sync.Mutex
	m  map[blockedKey]*blockedCount
}

type blockedKey struct {
	key   string
	until time.Time
}

type blockedCount struct {
	n      int
	first  time.Time
	w      who
	tenant uint64
	userID uint64
	what   string // "user" or "address"
}

// note counts one refused attempt during the lock of key that ends at until.
func (b *blockedAttempts) note(key string, until, now time.Time, w who, tenant, userID uint64, what string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[blockedKey]*blockedCount{}
	}
	k := blockedKey{key, until}
	c := b.m[k]
	if c == nil {
		if len(b.m) >= maxBlockedLocks {
			return
		}
		c = &blockedCount{first: now, w: w, tenant: tenant, userID: userID, what: what}
		b.m[k] = c
	}
	c.n++
}

// ended returns the counts of locks that ended by now, oldest first,
// without removing them.
func (b *blockedAttempts) ended(now time.Time) ([]blockedKey, []blockedCount) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var keys []blockedKey
	for k := range b.m {
		if !now.Before(k.until) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].until.Before(keys[j].until) })
	counts := make([]blockedCount, len(keys))
	for i, k := range keys {
		counts[i] = *b.m[k]
	}
	return keys, counts
}

func (b *blockedAttempts) forget(keys []blockedKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range keys {
		delete(b.m, k)
	}
}

// unauthenticated is the actor of what nobody signed in did: the typed
// address proves nothing, so it is never recorded as the actor.
func unauthenticated(ip string) who { return who{name: "unauthenticated caller", ip: ip} }

// noteBlocked counts an attempt refused by a lock. An account's summary is
// about that account (its tenant's log); an address's names no account,
// whatever addresses were typed from it.
func (s *Service) noteBlocked(hit *lockHit, email string, user *store.User, ip string) {
	now := s.clock()
	w := unauthenticated(ip)
	w.email = store.Fold(email) // kept for the summary's extra, not as the actor
	tenant, uid, what := uint64(0), uint64(0), ResUser
	if hit.lim.limit == ipLockAfter {
		what, w.email = "address", ""
	} else if user != nil {
		tenant, uid = user.TenantID, user.ID
	}
	s.blocked.note(hit.lim.key, hit.until, now, w, tenant, uid, what)
}

// flushBlocked writes one summary event for each lock that has ended, in
// one transaction, and then forgets them.
func (s *Service) flushBlocked() error {
	keys, counts := s.blocked.ended(s.clock())
	if len(keys) == 0 {
		return nil
	}
	err := s.write(func(tx *store.Tx) error {
		now := s.clock()
		for i, k := range keys {
			c := counts[i]
			extra := map[string]any{"attempts": c.n, "from": c.first, "until": k.until}
			if c.what == "address" {
				extra["ip"] = c.w.ip
			} else {
				extra["email"] = c.w.email
			}
			actor := unauthenticated(c.w.ip)
			if err := record(tx, now, actor, c.tenant, ActSignInBlocked, c.what, c.userID, &change{Extra: extra}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.blocked.forget(keys)
	return nil
}

// Housekeeping intervals: ended locks are summarised every few minutes;
// spent throttle records and expired sessions are swept hourly.
const (
	flushEvery = 5 * time.Minute
	sweepEvery = time.Hour
	sweepBatch = 1000
)

// RunJobs runs the background jobs until ctx ends: on every node, the
// summaries of blocked sign-ins it counted; on the one node that holds
// the store's election (the only node, on a data folder), the outbox, the
// audit retention, the hourly sweeps and the scheduled backups.
func (s *Service) RunJobs(ctx context.Context) {
	done := make(chan struct{})
	go func() { defer close(done); s.runSummaries(ctx) }()
	s.db.RunElected(ctx, func(ctx context.Context) {
		var wg sync.WaitGroup
		for _, job := range []func(context.Context){s.RunMailer, s.RunRetention, s.runSweeps} {
			wg.Add(1)
			go func() { defer wg.Done(); job(ctx) }()
		}
		wg.Wait()
	})
	<-done
}

// runSummaries summarises this node's ended locks every few minutes, and
// once more when ctx ends.
func (s *Service) runSummaries(ctx context.Context) {
	flush := time.NewTicker(flushEvery)
	defer flush.Stop()
	for {
		s.summarise()
		select {
		case <-ctx.Done():
			s.summarise()
			return
		case <-flush.C:
		}
	}
}

func (s *Service) summarise() {
	if err := s.flushBlocked(); err != nil {
		s.log.Error("summarise blocked sign-ins", "err", err)
	}
}

// runSweeps sweeps spent throttle records and expired sessions and makes
// the scheduled backups, at once and hourly, until ctx ends.
func (s *Service) runSweeps(ctx context.Context) {
	s.backupIfDue() // the window may not stay open an hour
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			if n, err := s.Sweep(); err != nil {
				s.log.Error("sweep", "err", err)
			} else if n > 0 {
				s.log.Info("swept spent sign-in records and expired sessions", "count", n)
			}
			s.backupIfDue()
		}
	}
}

func (s *Service) backupIfDue() {
	if _, err := s.ScheduledBackup(); err != nil {
		s.log.Error("scheduled backup", "err", err)
	}
}

// Sweep deletes throttle records that no longer hold anything (no lock, no
// failures in the window, no recent lock streak), sessions past their
// lifetime and expired reset links, a batch per transaction. It returns
// how many it deleted.
func (s *Service) Sweep() (int, error) {
	total := 0
	for _, sweep := range []func(tx *store.Tx, now time.Time, after []byte) ([]byte, int, error){sweepThrottles, sweepSessions, sweepResets} {
		var after []byte
		for {
			var next []byte
			var n int
			err := s.write(func(tx *store.Tx) (err error) {
				next, n, err = sweep(tx, s.clock(), after)
				return err
			})
			if err != nil {
				return total, err
			}
			total += n
			if next == nil {
				break
			}
			after = next
		}
	}
	return total, nil
}

func sweepThrottles(tx *store.Tx, now time.Time, after []byte) ([]byte, int, error) {
	return tx.SweepThrottles(after, sweepBatch, func(v store.Throttle) bool {
		return !now.Before(v.LockedUntil) &&
			(v.WindowStart.IsZero() || now.Sub(v.WindowStart) > lockWindow) &&
			now.Sub(v.LastLockAt) > lockStreakGone
	})
}

func sweepSessions(tx *store.Tx, now time.Time, after []byte) ([]byte, int, error) {
	return tx.SweepSessions(after, sweepBatch, func(sess *store.Session) bool { return sessionExpired(sess, now) })
}

func sweepResets(tx *store.Tx, now time.Time, after []byte) ([]byte, int, error) {
	return tx.SweepPasswordResets(after, sweepBatch, now)
}
