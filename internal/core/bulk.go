package core

import (
	"context"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// Bulk actions on the users list (issue 13): each selected user is checked
// by exactly the rules of the single action, gets its own audit event, and
// the answer says what was done and what was refused and why. All of it is
// one transaction: a selection is applied as it stood when it was made.

// BulkInput is a selection of users and what to do to each.
type BulkInput struct {
	IDs    []uint64 `json:"ids"`
	Action string   `json:"action"` // deactivate, reactivate, role
	Role   string   `json:"role"`   // for "role"
}

// BulkItem is one user (or invitation) of a bulk action's answer.
type BulkItem struct {
	ID   uint64 `json:"id"`
	Name string `json:"name,omitempty"` // the user's name, the invitation's address
	Why  string `json:"why,omitempty"`  // for refusals
}

// BulkResult says what a bulk action did.
type BulkResult struct {
	Done    []BulkItem `json:"done"`
	Refused []BulkItem `json:"refused"`
}

const maxBulk = 200

// BulkUsers applies one action to many users.
func (s *Service) BulkUsers(ctx context.Context, in BulkInput) (BulkResult, error) {
	if len(in.IDs) == 0 {
		return BulkResult{}, fieldError("ids", "Select at least one user.")
	}
	if len(in.IDs) > maxBulk {
		return BulkResult{}, fieldError("ids", "Select at most %d users at a time.", maxBulk)
	}
	var apply func(tx *store.Tx, a *actor, id uint64) (store.User, error)
	switch in.Action {
	case "deactivate", "reactivate":
		active := in.Action == "reactivate"
		apply = func(tx *store.Tx, a *actor, id uint64) (store.User, error) { return s.applyActive(tx, a, id, active) }
	case "role":
		role := auth.Role(in.Role)
		if !role.Valid() {
			return BulkResult{}, fieldError("role", "Choose one of the six roles.")
		}
		apply = func(tx *store.Tx, a *actor, id uint64) (store.User, error) {
			return s.changeUser(tx, a, id, false, "", true, role)
		}
	default:
		return BulkResult{}, fieldError("action", "Choose deactivate, reactivate or role.")
	}
	ids := unique(in.IDs)
	var out BulkResult
	err := s.update(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		out = BulkResult{Done: []BulkItem{}, Refused: []BulkItem{}}
		for _, id := range ids {
			u, err := apply(tx, a, id)
			if e, ok := err.(*Error); ok {
				// A refusal names the user only if the caller may see them.
				item := BulkItem{ID: id, Why: e.Message}
				if e != errNoUser {
					if v, _ := tx.User(id); v != nil {
						item.Name = v.Name
					}
				}
				out.Refused = append(out.Refused, item)
				continue
			}
			if err != nil {
				return err
			}
			out.Done = append(out.Done, BulkItem{ID: u.ID, Name: u.Name})
		}
		return nil
	})
	if err != nil {
		return BulkResult{}, s.internal("bulk users", err)
	}
	return out, nil
}

// unique is ids without repeats, in their first order.
func unique(ids []uint64) []uint64 {
	seen := map[uint64]bool{}
	var out []uint64
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// ResendInvitationsInput is a selection of invitations to re-send.
type ResendInvitationsInput struct {
	IDs []uint64 `json:"ids"`
}

// BulkResendInvitations re-sends many invitations, each under exactly the
// rules of ResendInvitation (tenant, rank, state, no newer invitation to
// the address) with its own new link, queued e-mail and audit event; the
// answer names each by its address, refusals with the reason. Like
// BulkUsers, all of it is one transaction; the e-mails go out after it.
func (s *Service) BulkResendInvitations(ctx context.Context, in ResendInvitationsInput) (BulkResult, error) {
	if len(in.IDs) == 0 {
		return BulkResult{}, fieldError("ids", "Select at least one invitation.")
	}
	if len(in.IDs) > maxBulk {
		return BulkResult{}, fieldError("ids", "Select at most %d invitations at a time.", maxBulk)
	}
	ids := unique(in.IDs)
	// The new links are made here, not in the transaction: a rerun of the
	// closure must give each invitation the same one.
	tokens := make([]string, len(ids))
	for i := range tokens {
		tokens[i] = auth.NewToken()
	}
	var out BulkResult
	err := s.update(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		out = BulkResult{Done: []BulkItem{}, Refused: []BulkItem{}}
		for i, id := range ids {
			inv, err := s.resend(tx, a, id, tokens[i], map[string]any{"via": "bulk"})
			if e, ok := err.(*Error); ok {
				// A refusal names the invitation only if the caller may see it.
				item := BulkItem{ID: id, Why: e.Message}
				if e != errNoInvitation {
					if v, _ := tx.Invitation(id); v != nil {
						item.Name = v.Email
					}
				}
				out.Refused = append(out.Refused, item)
				continue
			}
			if err != nil {
				return err
			}
			out.Done = append(out.Done, BulkItem{ID: inv.ID, Name: inv.Email})
		}
		return nil
	})
	if err != nil {
		return BulkResult{}, s.internal("bulk resend invitations", err)
	}
	if len(out.Done) > 0 {
		s.nudgeMailer()
	}
	return out, nil
}
