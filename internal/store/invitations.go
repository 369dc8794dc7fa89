package store

import (
	"bytes"
	"errors"
	"fmt"
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

// PendingInvitation returns tenant's newest pending invitation to email
// (it may have expired), or nil. Each tenant has its own.
func (t *Tx) PendingInvitation(tenantID uint64, email string) (*Invitation, error) {
	id := t.b(bucketInvitePending).Get(pendingKey(tenantID, email))
	if id == nil {
		return nil, nil
	}
	return t.Invitation(readU64(id))
}

func pendingKey(tenantID uint64, email string) []byte {
	return join(u64(tenantID), []byte(Fold(email)))
}

// listKey places an invitation in its tenant's list: pending ones apart,
// so they come first.
func listKey(v *Invitation) []byte {
	open := byte(1)
	if v.State == InvitePending {
		open = 0
	}
	return join(u64(v.TenantID), []byte{open}, u64(v.ID))
}

// CreateInvitation stores a new pending invitation. now decides whether an
// older pending invitation of the same tenant to the same address has
// expired and may be replaced; a live one makes this fail with
// ErrInvitePending. Other tenants' invitations do not matter.
func (t *Tx) CreateInvitation(v *Invitation, now time.Time) error {
	if old, err := t.PendingInvitation(v.TenantID, v.Email); err != nil {
		return err
	} else if old != nil && old.State == InvitePending && now.Before(old.ExpiresAt) {
		return ErrInvitePending
	}
	id, err := t.b(bucketInvites).NextSequence()
	if err != nil {
		return err
	}
	v.ID = id
	return t.PutInvitation(v)
}

// PutInvitation stores an invitation and keeps its indexes: the token index
// points at it, its tenant lists it (pending or finished), and the pending
// index holds it while it is pending.
func (t *Tx) PutInvitation(v *Invitation) error {
	old, err := t.Invitation(v.ID)
	if err != nil {
		return err
	}
	if old != nil {
		if !bytes.Equal(old.TokenHash, v.TokenHash) {
			if err := t.b(bucketInviteToken).Delete(old.TokenHash); err != nil {
				return err
			}
		}
		if err := t.b(bucketTenantInvite).Delete(listKey(old)); err != nil {
			return err
		}
	}
	if err := t.b(bucketInviteToken).Put(v.TokenHash, u64(v.ID)); err != nil {
		return err
	}
	if err := t.b(bucketTenantInvite).Put(listKey(v), []byte{}); err != nil {
		return err
	}
	key := pendingKey(v.TenantID, v.Email)
	if v.State == InvitePending {
		if err := t.b(bucketInvitePending).Put(key, u64(v.ID)); err != nil {
			return err
		}
	} else if readU64(t.b(bucketInvitePending).Get(key)) == v.ID {
		if err := t.b(bucketInvitePending).Delete(key); err != nil {
			return err
		}
	}
	return putJSON(t.b(bucketInvites), u64(v.ID), v)
}

// InvitationQuery pages a tenant's invitations: pending ones (expired
// included) first, then finished ones, each newest first.
type InvitationQuery struct {
	TenantID    uint64
	PendingOnly bool
	After       []byte // the Next of the previous page
	Limit       int
}

// InvitationPage is one page of invitations.
type InvitationPage struct {
	Invitations []Invitation
	Next        []byte // nil on the last page
}

// Invitations returns one page of a tenant's invitations.
func (t *Tx) Invitations(q InvitationQuery) (InvitationPage, error) {
	var page InvitationPage
	phases := []byte{0, 1}
	if q.PendingOnly {
		phases = phases[:1]
	}
	c := t.b(bucketTenantInvite).Cursor()
	for _, phase := range phases {
		prefix := join(u64(q.TenantID), []byte{phase})
		if q.After != nil {
			if len(q.After) != 17 || !bytes.Equal(q.After[:8], prefix[:8]) {
				return page, ErrBadCursor
			}
			if q.After[8] > phase {
				continue
			}
		}
		var k []byte
		if q.After != nil && q.After[8] == phase {
			c.Seek(q.After)
			k, _ = c.Prev()
		} else if k, _ = c.Seek(join(prefix, u64(^uint64(0)))); k == nil {
			k, _ = c.Last()
		} else if !bytes.Equal(k, join(prefix, u64(^uint64(0)))) {
			k, _ = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
			if len(page.Invitations) == q.Limit {
				page.Next = bytes.Clone(page.lastKey())
				return page, nil
			}
			v, err := t.Invitation(readU64(k[9:]))
			if err != nil {
				return page, err
			}
			if v == nil {
				return page, fmt.Errorf("invitation index %x points to no invitation", k)
			}
			page.Invitations = append(page.Invitations, *v)
		}
	}
	return page, nil
}

func (p *InvitationPage) lastKey() []byte {
	return listKey(&p.Invitations[len(p.Invitations)-1])
}

// CountPendingInvitations counts a tenant's pending invitations (expired
// ones included).
func (t *Tx) CountPendingInvitations(tenantID uint64) int {
	prefix := join(u64(tenantID), []byte{0})
	n := 0
	c := t.b(bucketTenantInvite).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// migrateInvitationsV2 moves the invitation indexes to per-tenant ones.
func migrateInvitationsV2(t *Tx) error {
	if err := createBuckets(layout5)(t); err != nil {
		return err
	}
	tx := t.tx
	var all []Invitation
	err := tx.Bucket(bucketInvites).ForEach(func(k, v []byte) error {
		var inv Invitation
		if err := unmarshal(k, v, &inv); err != nil {
			return err
		}
		all = append(all, inv)
		return nil
	})
	if err != nil {
		return err
	}
	for i := range all { // in id order, so the newest pending one is indexed
		v := &all[i]
		if err := t.b(bucketTenantInvite).Put(listKey(v), []byte{}); err != nil {
			return err
		}
		if v.State == InvitePending {
			if err := t.b(bucketInvitePending).Put(pendingKey(v.TenantID, v.Email), u64(v.ID)); err != nil {
				return err
			}
		}
	}
	for _, old := range [][]byte{bucketInviteEmailV1, bucketTenantInviteV1} {
		if tx.Bucket(old) != nil {
			if err := tx.DeleteBucket(old); err != nil {
				return err
			}
		}
	}
	return nil
}
