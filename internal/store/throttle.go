package store

import "time"

// Throttle counts failed sign-ins for one account (by folded e-mail, known
// or not) or one client address, and holds its lock.
type Throttle struct {
	WindowStart time.Time `json:"windowStart"`
	Failures    int       `json:"failures"` // in the current window
	Total       int       `json:"total"`    // every failure, for the record
	LockedUntil time.Time `json:"lockedUntil"`
	Locks       int       `json:"locks"` // locks in a row; each lasts longer
	LastLockAt  time.Time `json:"lastLockAt"`
	// Pending counts the attempts of Failures still being checked (reserved,
	// not yet settled), as of PendingSince, the newest reservation.
	Pending      int       `json:"pending,omitempty"`
	PendingSince time.Time `json:"pendingSince,omitempty"`
}

// AccountKey and IPKey name throttle records.
func AccountKey(email string) string { return "acct:" + Fold(email) }
func IPKey(ip string) string         { return "ip:" + ip }

// Throttle returns the record for key (zero if none).
func (t *Tx) Throttle(key string) (Throttle, error) {
	var v Throttle
	_, err := getJSON(t.b(bucketThrottle), []byte(key), &v)
	return v, err
}

// PutThrottle stores the record for key.
func (t *Tx) PutThrottle(key string, v Throttle) error {
	return putJSON(t.b(bucketThrottle), []byte(key), v)
}

// SweepThrottles looks at up to max records after the key after (nil: from
// the start), deletes those dead says hold nothing, and returns the last key
// looked at (nil when the bucket is done) and how many it deleted.
func (t *Tx) SweepThrottles(after []byte, max int, dead func(Throttle) bool) ([]byte, int, error) {
	return sweep(t.b(bucketThrottle), after, max, func(k, v []byte) (bool, error) {
		var th Throttle
		if err := unmarshal(k, v, &th); err != nil {
			return false, err
		}
		return dead(th), nil
	}, t.b(bucketThrottle).Delete)
}
