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

// countFailure adds one failure to key and reports whether this failure
// started a lock. It runs in the caller's write transaction, so concurrent
// failures are counted one by one, none lost.
func countFailure(tx *store.Tx, key string, limit int, now time.Time) (bool, time.Time, error) {
	v, err := tx.Throttle(key)
	if err != nil {
		return false, time.Time{}, err
	}
	v.Total++
	if now.Before(v.LockedUntil) {
		return false, v.LockedUntil, tx.PutThrottle(key, v) // already locked: counted, not extended
	}
	if v.WindowStart.IsZero() || now.Sub(v.WindowStart) > lockWindow {
		v.WindowStart, v.Failures = now, 0
	}
	v.Failures++
	locked := false
	if v.Failures >= limit {
		if now.Sub(v.LastLockAt) > lockStreakGone {
			v.Locks = 0
		}
		d := lockFor << v.Locks
		if d > lockMax || d <= 0 {
			d = lockMax
		}
		v.Locks++
		v.LockedUntil, v.LastLockAt, v.Failures, v.WindowStart = now.Add(d), now, 0, time.Time{}
		locked = true
	}
	return locked, v.LockedUntil, tx.PutThrottle(key, v)
}

// clearFailures forgets an account's failures after a successful sign-in
// (the lock streak stays, so a quick relapse still locks longer).
func clearFailures(tx *store.Tx, key string) error {
	v, err := tx.Throttle(key)
	if err != nil || v.Total == 0 && v.Failures == 0 {
		return err
	}
	v.Failures, v.WindowStart = 0, time.Time{}
	return tx.PutThrottle(key, v)
}

func errLocked(until time.Time) *Error {
	return &Error{Code: Invalid, Message: "Too many failed sign-ins. Try again after " + until.UTC().Format("15:04 UTC on 02/01/06") + ", or ask an administrator to unlock the account."}
}

func errIPLocked(until time.Time) *Error {
	return &Error{Code: Invalid, Message: "Too many failed sign-ins from this address. Try again after " + until.UTC().Format("15:04 UTC on 02/01/06") + "."}
}
