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
	lockWindow     = 15 * time.Minute
	lockAfter      = 5
	lockFor        = 15 * time.Minute
	lockMax        = 24 * time.Hour
	ipLockAfter    = 100
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

// lockHit is a refusal because a key is locked.
type lockHit struct {
	lim     limiter
	until   time.Time
	started bool // this call started the lock
}

func (h *lockHit) err() *Error {
	if h.lim.limit == ipLockAfter {
		return errIPLocked(h.until)
	}
	return errLocked(h.until)
}

// reserve records one attempt against every limiter, in tx. It refuses,
// writing nothing, while a key is locked; it starts the lock when a key's
// attempts in this window are used up (the attempts still being verified
// count). Otherwise the attempt is counted and may be verified.
func reserve(tx *store.Tx, lims []limiter, now time.Time) (*lockHit, error) {
	vals := make([]store.Throttle, len(lims))
	for i, l := range lims {
		v, err := tx.Throttle(l.key)
		if err != nil {
			return nil, err
		}
		if until := lockedUntil(v, now); !until.IsZero() {
			return &lockHit{lim: l, until: until}, nil
		}
		vals[i] = inWindow(v, now)
	}
	for i, l := range lims {
		if vals[i].Failures >= l.limit {
			v := startLock(vals[i], now)
			return &lockHit{lim: l, until: v.LockedUntil, started: true}, tx.PutThrottle(l.key, v)
		}
	}
	for i, l := range lims {
		vals[i].Failures++
		vals[i].Total++
		if err := tx.PutThrottle(l.key, vals[i]); err != nil {
			return nil, err
		}
	}
	return nil, nil
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
		if v = inWindow(v, now); v.Failures >= l.limit {
			v = startLock(v, now)
			if err := tx.PutThrottle(l.key, v); err != nil {
				return nil, err
			}
			started = append(started, lockHit{lim: l, until: v.LockedUntil, started: true})
		}
	}
	return started, nil
}

// peekLock returns the first of lims that is locked now, changing nothing.
func peekLock(tx *store.Tx, lims []limiter, now time.Time) (*lockHit, error) {
	for _, l := range lims {
		v, err := tx.Throttle(l.key)
		if err != nil {
			return nil, err
		}
		if until := lockedUntil(v, now); !until.IsZero() {
			return &lockHit{lim: l, until: until}, nil
		}
	}
	return nil, nil
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
	vals := make([]store.Throttle, len(lims))
	for i, l := range lims {
		v, err := tx.Throttle(l.key)
		if err != nil {
			return nil, err
		}
		if until := lockedUntil(v, now); !until.IsZero() {
			return &lockHit{lim: l, until: until}, nil
		}
		vals[i] = v
	}
	for i, l := range lims {
		v := vals[i]
		switch {
		case how == clearAccount && l.limit == lockAfter:
			if v.Failures == 0 && v.WindowStart.IsZero() {
				continue
			}
			v.Failures, v.WindowStart = 0, time.Time{}
		case v.Failures > 0 && !v.WindowStart.IsZero() && now.Sub(v.WindowStart) <= lockWindow:
			v.Failures--
		default:
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
