package core

import (
	"time"

	"gatehouse/internal/store"
)

// Sign-in protection (product.md §7): 5 failures in 15 minutes lock the
// account for 15 minutes, doubling with each lock in a row up to a day —
// far below NIST SP 800-63B's cap of 100 failures. An address that fails
// 100 times in 15 minutes (a whole office may share one address) is refused
// for 15 minutes, whatever the account.
//
// Limits are reserved before they are spent: every check of a secret (a
// password at sign-in or as a re-check, a 2FA or recovery code) is first
// recorded as an attempt, in a write transaction that also checks the lock,
// and only then verified. At most `limit` attempts are ever verified in a
// window, however many arrive at once; a success is committed only by a
// transaction that finds no lock. A crash between reserving and settling
// leaves the attempt counted as a failure.
const (
	lockWindow  = 15 * time.Minute
	lockAfter   = 5
	lockFor     = 15 * time.Minute
	lockMax     = 24 * time.Hour
	ipLockAfter = 100
	// pendingFor is how long a reserved attempt may stay unsettled before
	// it counts as settled (a crash between reserving and settling): far
	// longer than any check takes.
	pendingFor     = time.Minute
	lockStreakGone = 24 * time.Hour // a lock this long ago no longer makes the next one longer
)

// lockedUntil returns when key's lock ends, or zero.
func lockedUntil(v store.Throttle, now time.Time) time.Time {
	if now.Before(v.LockedUntil) {
		return v.LockedUntil
	}
	return time.Time{}
}

// limiter is one throttled key: an account or a client address.
type limiter struct {
	key   string
	limit int
}

func accountLimiter(email string) limiter { return limiter{store.AccountKey(email), lockAfter} }
func addressLimiter(ip string) limiter    { return limiter{store.IPKey(ip), ipLockAfter} }

// attemptLimiters are the keys a check of the account's secret counts
// against: the account, and the client's address when it has one.
func attemptLimiters(email, ip string) []limiter {
	out := []limiter{accountLimiter(email)}
	if ip != "" {
		out = append(out, addressLimiter(ip))
	}
	return out
}

// inWindow returns v with its window restarted if it has run out.
func inWindow(v store.Throttle, now time.Time) store.Throttle {
	if v.WindowStart.IsZero() || now.Sub(v.WindowStart) > lockWindow {
		v.WindowStart, v.Failures = now, 0
	}
	return v
}

// startLock locks v from now, longer for each lock in a row.
func startLock(v store.Throttle, now time.Time) store.Throttle {
	if now.Sub(v.LastLockAt) > lockStreakGone {
		v.Locks = 0
	}
	d := lockFor << v.Locks
	if d > lockMax || d <= 0 {
		d = lockMax
	}
	v.Locks++
	v.LockedUntil, v.LastLockAt, v.Failures, v.WindowStart = now.Add(d), now, 0, time.Time{}
	return v
}

// lockHit is a refusal because a key is locked, or busy: every attempt of
// its window is reserved by checks still running, so this one may not be
// checked now — but nothing has failed yet, so nothing locks.
type lockHit struct {
	lim     limiter
	until   time.Time
	started bool // this call started the lock
	busy    bool
}

var errBusy = &Error{Code: Invalid, Message: "Too many sign-in attempts for this account at once. Wait a moment and try again."}

func (h *lockHit) err() *Error {
	if h.busy {
		return errBusy
	}
	if h.lim.limit == ipLockAfter {
		return errIPLocked(h.until)
	}
	return errLocked(h.until)
}

// pending returns v's attempts still being checked; reservations older
// than pendingFor count as settled failures.
func pending(v store.Throttle, now time.Time) int {
	if now.Sub(v.PendingSince) > pendingFor {
		return 0
	}
	return v.Pending
}

// reserve records one attempt against every limiter, in tx. It refuses,
// writing nothing, while a key is locked. When a key's attempts in this
// window are used up it starts the lock if they all failed, and answers
// busy if some are still being checked (those may yet succeed: a right
// password sent twice at once must not lock its account). Otherwise the
// attempt is counted, as pending, and may be verified.
func reserve(tx *store.Tx, lims []limiter, now time.Time) (*lockHit, error) {
	vals, hit, err := loadLimits(tx, lims, now)
	if err != nil || hit != nil {
		return hit, err
	}
	for i := range vals {
		vals[i] = inWindow(vals[i], now)
	}
	for i, l := range lims {
		if vals[i].Failures >= l.limit {
			if vals[i].Failures-pending(vals[i], now) < l.limit {
				return &lockHit{lim: l, busy: true}, nil
			}
			v := startLock(vals[i], now)
			return &lockHit{lim: l, until: v.LockedUntil, started: true}, tx.PutThrottle(l.key, v)
		}
	}
	for i, l := range lims {
		v := vals[i]
		v.Pending = pending(v, now) + 1
		v.PendingSince = now
		v.Failures++
		v.Total++
		if err := tx.PutThrottle(l.key, v); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// settled marks one reserved attempt of v as checked.
func settled(v store.Throttle, now time.Time) store.Throttle {
	if p := pending(v, now); p > 0 {
		v.Pending = p - 1
	} else {
		v.Pending = 0
	}
	return v
}

// settleFailure ends a reserved attempt that failed: it is already
// counted; if it used up a key's attempts, the key locks now.
func settleFailure(tx *store.Tx, lims []limiter, now time.Time) ([]lockHit, error) {
	var started []lockHit
	for _, l := range lims {
		v, err := tx.Throttle(l.key)
		if err != nil {
			return nil, err
		}
		if !lockedUntil(v, now).IsZero() {
			continue
		}
		v = settled(v, now)
		if v = inWindow(v, now); v.Failures >= l.limit && v.Failures-pending(v, now) >= l.limit {
			v = startLock(v, now)
			started = append(started, lockHit{lim: l, until: v.LockedUntil, started: true})
		}
		if err := tx.PutThrottle(l.key, v); err != nil {
			return nil, err
		}
	}
	return started, nil
}

// peekLock returns the first of lims that is locked now, changing nothing.
func peekLock(tx *store.Tx, lims []limiter, now time.Time) (*lockHit, error) {
	_, hit, err := loadLimits(tx, lims, now)
	return hit, err
}

// loadLimits reads every limiter's record, or the first lock among them.
func loadLimits(tx *store.Tx, lims []limiter, now time.Time) ([]store.Throttle, *lockHit, error) {
	vals := make([]store.Throttle, len(lims))
	for i, l := range lims {
		v, err := tx.Throttle(l.key)
		if err != nil {
			return nil, nil, err
		}
		if until := lockedUntil(v, now); !until.IsZero() {
			return nil, &lockHit{lim: l, until: until}, nil
		}
		vals[i] = v
	}
	return vals, nil, nil
}

// How a successful check settles its reserved attempt.
type settlement int

const (
	// refundAttempt gives every key its attempt back: the check proved
	// something, but not yet the whole sign-in (a right password before the
	// 2FA code; a re-check of the password by a signed-in user).
	refundAttempt settlement = iota
	// clearAccount forgets the account's failures (the lock streak stays,
	// so a quick relapse still locks longer) and refunds the address.
	clearAccount
)

// settleSuccess ends a reserved attempt that succeeded, in the transaction
// that acts on the success. If any key was locked meanwhile (by attempts
// that failed while this one was verified), the success does not count and
// the lock is returned.
func settleSuccess(tx *store.Tx, lims []limiter, now time.Time, how settlement) (*lockHit, error) {
	vals, hit, err := loadLimits(tx, lims, now)
	if err != nil || hit != nil {
		return hit, err
	}
	for i, l := range lims {
		v := settled(vals[i], now)
		switch {
		case how == clearAccount && l.limit == lockAfter:
			v.Failures, v.WindowStart = v.Pending, time.Time{} // checks still running stay counted
			if v.Pending > 0 {
				v.WindowStart = now
			}
		case v.Failures > 0 && !v.WindowStart.IsZero() && now.Sub(v.WindowStart) <= lockWindow:
			v.Failures--
		}
		if v == vals[i] {
			continue
		}
		if err := tx.PutThrottle(l.key, v); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// unlock clears an account's lock and failures, reporting whether it was
// locked.
func unlock(tx *store.Tx, email string, now time.Time) (bool, error) {
	key := store.AccountKey(email)
	v, err := tx.Throttle(key)
	if err != nil || lockedUntil(v, now).IsZero() {
		return false, err
	}
	v.LockedUntil, v.Failures, v.WindowStart, v.Locks = time.Time{}, 0, time.Time{}, 0
	return true, tx.PutThrottle(key, v)
}

func errLocked(until time.Time) *Error {
	return &Error{Code: Invalid, Message: "Too many failed sign-ins. Try again after " + until.UTC().Format("15:04 UTC on 02/01/06") + ", or ask an administrator to unlock the account."}
}

func errIPLocked(until time.Time) *Error {
	return &Error{Code: Invalid, Message: "Too many failed sign-ins from this address. Try again after " + until.UTC().Format("15:04 UTC on 02/01/06") + "."}
}
