package store

import (
	"bytes"
	"errors"
	"time"

	"gatehouse/internal/auth"
)

// InvitationState is where an invitation is in its life. "Expired" is not
// stored: a pending invitation past ExpiresAt is expired.
type InvitationState string

// The stored states.
const (
	InvitePending  InvitationState = "pending"
	InviteAccepted InvitationState = "accepted"
	InviteRevoked  InvitationState = "revoked"
)

// Invitation is an invitation to join a tenant with a role. Only the
// token's hash is indexed; the token itself is kept sealed so an admin can
// copy the link again.
type Invitation struct {
	ID           uint64          `json:"id"`
	Email        string          `json:"email"`
	Role         auth.Role       `json:"role"`
	TenantID     uint64          `json:"tenantId"`
	InvitedBy    uint64          `json:"invitedBy"`
	InviterName  string          `json:"inviterName"`
	InviterEmail string          `json:"inviterEmail"`
	TokenHash    []byte          `json:"tokenHash"`
	SealedToken  []byte          `json:"sealedToken"`
	State        InvitationState `json:"state"`
	CreatedAt    time.Time       `json:"createdAt"`
	ExpiresAt    time.Time       `json:"expiresAt"`
	FinishedAt   time.Time       `json:"finishedAt"` // accepted or revoked
	UserID       uint64          `json:"userId"`     // the account made on acceptance
	MessageID    uint64          `json:"messageId"`  // the latest invitation e-mail in the outbox
}

// ErrInvitePending is returned when the e-mail already has a live invitation.
var ErrInvitePending = errors.New("an invitation to this e-mail is pending")

// Invitation returns the invitation with id, or nil.
func (t *Tx) Invitation(id uint64) (*Invitation, error) {
	var v Invitation
	ok, err := getJSON(t.b(bucketInvites), u64(id), &v)
	if !ok || err != nil {
		return nil, err
	}
	return &v, nil
}

// InvitationByToken returns the invitation whose token hashes to hash, or nil.
func (t *Tx) InvitationByToken(hash []byte) (*Invitation, error) {
	id := t.b(bucketInviteToken).Get(hash)
	if id == nil {
		return nil, nil
	}
	return t.Invitation(readU64(id))
}

// PendingInvitationFor returns the pending invitation to email, or nil.
func (t *Tx) PendingInvitationFor(email string) (*Invitation, error) {
	id := t.b(bucketInviteEmail).Get([]byte(Fold(email)))
	if id == nil {
		return nil, nil
	}
	return t.Invitation(readU64(id))
}

// CreateInvitation stores a new pending invitation. now decides whether an
// older pending invitation to the same address has expired and may be
// replaced; a live one makes this fail with ErrInvitePending.
func (t *Tx) CreateInvitation(v *Invitation, now time.Time) error {
	if old, err := t.PendingInvitationFor(v.Email); err != nil {
		return err
	} else if old != nil && old.State == InvitePending && now.Before(old.ExpiresAt) {
		return ErrInvitePending
	}
	id, err := t.b(bucketInvites).NextSequence()
	if err != nil {
		return err
	}
	v.ID = id
	if err := t.b(bucketTenantInvite).Put(join(u64(v.TenantID), u64(id)), []byte{}); err != nil {
		return err
	}
	return t.PutInvitation(v)
}

// PutInvitation stores an invitation and keeps its indexes: the token index
// points at it, and the e-mail index holds it while it is pending.
func (t *Tx) PutInvitation(v *Invitation) error {
	old, err := t.Invitation(v.ID)
	if err != nil {
		return err
	}
	if old != nil && !bytes.Equal(old.TokenHash, v.TokenHash) {
		if err := t.b(bucketInviteToken).Delete(old.TokenHash); err != nil {
			return err
		}
	}
	if err := t.b(bucketInviteToken).Put(v.TokenHash, u64(v.ID)); err != nil {
		return err
	}
	key := []byte(Fold(v.Email))
	if v.State == InvitePending {
		if err := t.b(bucketInviteEmail).Put(key, u64(v.ID)); err != nil {
			return err
		}
	} else if readU64(t.b(bucketInviteEmail).Get(key)) == v.ID {
		if err := t.b(bucketInviteEmail).Delete(key); err != nil {
			return err
		}
	}
	return putJSON(t.b(bucketInvites), u64(v.ID), v)
}

// TenantInvitations lists a tenant's invitations, newest first, up to limit.
func (t *Tx) TenantInvitations(tenantID uint64, limit int) ([]Invitation, error) {
	prefix := u64(tenantID)
	c := t.b(bucketTenantInvite).Cursor()
	var out []Invitation
	k, _ := c.Seek(u64(tenantID + 1))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, _ = c.Prev() {
		v, err := t.Invitation(readU64(k[8:]))
		if err != nil {
			return nil, err
		}
		if v != nil {
			out = append(out, *v)
		}
	}
	return out, nil
}
