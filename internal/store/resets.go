package store

import "time"

// PasswordReset is a single-use link that lets a user choose a new
// password. Only the token's hash is indexed; the token itself is kept
// sealed so the mailer can render the link when it sends the e-mail. A
// user has at most one live reset: a new one replaces the old.
type PasswordReset struct {
	ID          uint64    `json:"id"`
	UserID      uint64    `json:"userId"`
	TokenHash   []byte    `json:"tokenHash"`
	SealedToken []byte    `json:"sealedToken"`
	CreatedAt   time.Time `json:"createdAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
	RequestedBy string    `json:"requestedBy"` // "self", an admin's e-mail, or "cli"
	MessageID   uint64    `json:"messageId"`   // its e-mail in the outbox, if any
}

// PasswordReset returns the reset with id, or nil.
func (t *Tx) PasswordReset(id uint64) (*PasswordReset, error) {
	var v PasswordReset
	ok, err := getJSON(t.b(bucketResets), u64(id), &v)
	if !ok || err != nil {
		return nil, err
	}
	return &v, nil
}

// PasswordResetByToken returns the reset whose token hashes to hash, or nil.
func (t *Tx) PasswordResetByToken(hash []byte) (*PasswordReset, error) {
	id := t.b(bucketResetToken).Get(hash)
	if id == nil {
		return nil, nil
	}
	return t.PasswordReset(readU64(id))
}

// PutPasswordReset stores a new reset (assigning its id) or an updated
// one. A new reset replaces the user's previous one, whose link stops
// working.
func (t *Tx) PutPasswordReset(v *PasswordReset) error {
	if v.ID == 0 {
		if err := t.DeleteUserPasswordReset(v.UserID); err != nil {
			return err
		}
		id, err := t.b(bucketResets).NextSequence()
		if err != nil {
			return err
		}
		v.ID = id
		if err := t.b(bucketResetToken).Put(v.TokenHash, u64(id)); err != nil {
			return err
		}
		if err := t.b(bucketUserReset).Put(u64(v.UserID), u64(id)); err != nil {
			return err
		}
	}
	return putJSON(t.b(bucketResets), u64(v.ID), v)
}

// DeleteUserPasswordReset removes the user's live reset, if any: used,
// replaced, or no longer wanted (the password changed another way).
func (t *Tx) DeleteUserPasswordReset(userID uint64) error {
	raw := t.b(bucketUserReset).Get(u64(userID))
	if raw == nil {
		return nil
	}
	old, err := t.PasswordReset(readU64(raw))
	if err != nil {
		return err
	}
	if old != nil {
		if err := t.b(bucketResetToken).Delete(old.TokenHash); err != nil {
			return err
		}
		if err := t.b(bucketResets).Delete(u64(old.ID)); err != nil {
			return err
		}
	}
	return t.b(bucketUserReset).Delete(u64(userID))
}

// SweepPasswordResets looks at up to max resets after key after and
// deletes those expired at now; it returns where to resume (nil: done).
func (t *Tx) SweepPasswordResets(after []byte, max int, now time.Time) ([]byte, int, error) {
	return sweep(t.b(bucketResets), after, max, func(k, v []byte) (bool, error) {
		var r PasswordReset
		if err := unmarshal(k, v, &r); err != nil {
			return false, err
		}
		return !r.ExpiresAt.After(now), nil
	}, func(k []byte) error {
		r, err := t.PasswordReset(readU64(k))
		if err != nil || r == nil {
			return err
		}
		return t.DeleteUserPasswordReset(r.UserID)
	})
}
