package store

import (
	"bytes"
	"time"
)

// Session is a signed-in client. Its key is the SHA-256 of the token; the
// token itself is never stored.
type Session struct {
	ID         []byte    `json:"-"` // sha256 of the token
	UserID     uint64    `json:"userId"`
	TenantID   uint64    `json:"tenantId"` // the tenant the client is acting in
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"userAgent"`
	// Stage is empty for a signed-in session; "totp" while the password is
	// checked but the code is not; "enrol" when policy requires 2FA first.
	Stage string `json:"stage,omitempty"`
	// Remembered: the window keeps it across restarts ("Keep me signed in
	// on this computer"), so it lives longer (core decides how long).
	Remembered bool `json:"remembered,omitempty"`
}

// Session returns the session with this token hash, or nil.
func (t *Tx) Session(id []byte) (*Session, error) {
	var s Session
	ok, err := getJSON(t.b(bucketSessions), id, &s)
	if !ok || err != nil {
		return nil, err
	}
	s.ID = bytes.Clone(id)
	return &s, nil
}

// PutSession stores a session and indexes it under its user.
func (t *Tx) PutSession(s *Session) error {
	if err := putJSON(t.b(bucketSessions), s.ID, s); err != nil {
		return err
	}
	return t.b(bucketUserSess).Put(join(u64(s.UserID), s.ID), []byte{})
}

// DeleteSession removes one session.
func (t *Tx) DeleteSession(id []byte) error {
	s, err := t.Session(id)
	if err != nil || s == nil {
		return err
	}
	if err := t.b(bucketUserSess).Delete(join(u64(s.UserID), id)); err != nil {
		return err
	}
	return t.b(bucketSessions).Delete(id)
}

// UserSessions lists the sessions of a user.
func (t *Tx) UserSessions(userID uint64) ([]Session, error) {
	prefix := u64(userID)
	var ids [][]byte
	c := t.b(bucketUserSess).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, bytes.Clone(k[8:]))
	}
	var out []Session
	for _, id := range ids {
		s, err := t.Session(id)
		if err != nil {
			return nil, err
		}
		if s != nil {
			out = append(out, *s)
		}
	}
	return out, nil
}

// DeleteUserSessions removes every session of a user and says how many.
func (t *Tx) DeleteUserSessions(userID uint64) (int, error) {
	ss, err := t.UserSessions(userID)
	if err != nil {
		return 0, err
	}
	for _, s := range ss {
		if err := t.DeleteSession(s.ID); err != nil {
			return 0, err
		}
	}
	return len(ss), nil
}

// EachSession calls fn with every stored session, in key order, until fn
// returns false. The sessions bucket has no index to narrow a question
// about all clients, so this reads each one: callers keep it off hot paths.
func (t *Tx) EachSession(fn func(*Session) bool) error {
	c := t.b(bucketSessions).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var s Session
		if err := unmarshal(k, v, &s); err != nil {
			return err
		}
		s.ID = bytes.Clone(k)
		if !fn(&s) {
			return nil
		}
	}
	return nil
}

// SweepSessions looks at up to max sessions after the key after (nil: from
// the start), deletes those dead says are over, and returns the last key
// looked at (nil when the bucket is done) and how many it deleted.
func (t *Tx) SweepSessions(after []byte, max int, dead func(*Session) bool) ([]byte, int, error) {
	return sweep(t.b(bucketSessions), after, max, func(k, v []byte) (bool, error) {
		var s Session
		if err := unmarshal(k, v, &s); err != nil {
			return false, err
		}
		s.ID = k
		return dead(&s), nil
	}, t.DeleteSession)
}
