package core

import (
	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// Who may act on whom (product.md §13). Every use case that reads or
// changes a user, an invitation, a lock or a session finds its target
// through these two functions; none re-implements a piece of them.
//
//   - Tenant: a user is seen in the tenants where they are a listed member,
//     but changed only from their home tenant (the organisation they belong
//     to). No membership, listed or shadow, makes someone whose home is
//     elsewhere a target of this tenant's administrators. A caller with
//     cross-tenant power (SUPER_ADMIN) sees and changes users everywhere.
//   - Rank: nobody changes someone whose role is above their own (the same
//     rule as CanGrant: you may act on a role you could give).
//   - An invitation is a role waiting to be given: it is seen in its own
//     tenant, and its link, re-sending and withdrawal need CanGrant of its
//     role.
//   - Self: a use case that must not be done to oneself says so itself
//     (errOwnRole, errOwnActive), after these checks.

// intent is what a use case means to do with its target.
type intent int

const (
	toRead   intent = iota // show it (edit form, memberships panel)
	toChange               // change it, or act with its powers (a link)
	// toTakeOver: set its credentials (a reset link shown to the caller, a
	// temporary password). That would let the caller sign in as them, so
	// it needs more than CanGrant: a role strictly above theirs (a
	// SUPER_ADMIN, who holds every power already, may act on a peer).
	toTakeOver
)

var (
	errNoUser       = &Error{Code: NotFound, Message: "There is no such user in this tenant."}
	errNoInvitation = &Error{Code: NotFound, Message: "There is no such invitation in this tenant."}
	errOtherHome    = &Error{Code: Forbidden, Message: "This user belongs to another organisation, so only its administrators can change them."}
	errOutranked    = &Error{Code: Forbidden, Message: "This user's role is above yours, so you cannot change them."}
	errInviteRank   = &Error{Code: Forbidden, Message: "This invitation gives a role above yours, so you cannot use, re-send or withdraw it."}
	errPeerSignIn   = &Error{Code: Forbidden, Message: "Only someone whose role is above this user's can reset their password. Ask a more senior administrator, or have them use Forgot password?"}
)

// targetUser loads user id for something the actor means to do. Users the
// actor may not see get the same answer as a missing id, so ids from other
// tenants reveal nothing.
func targetUser(tx *store.Tx, a *actor, id uint64, want intent) (*store.User, error) {
	u, err := tx.User(id)
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, errNoUser
	}
	if err := mayActOn(tx, a, u, want); err != nil {
		return nil, err
	}
	return u, nil
}

// mayActOn gathers where u stands relative to the actor's tenant, then
// applies the rule.
func mayActOn(tx *store.Tx, a *actor, u *store.User, want intent) error {
	place := atHome
	if u.TenantID != a.tenant.ID {
		m, err := tx.Membership(u.ID, a.tenant.ID)
		if err != nil {
			return err
		}
		place = notHere
		if m != nil && !m.Shadow {
			place = listedHere
		}
	}
	return rule(a, u.ID, u.Role, place, want)
}

// place is where a target user stands in the actor's current tenant.
type place int

const (
	atHome     place = iota // their home tenant
	listedHere              // a listed member whose home is elsewhere
	notHere                 // no membership here, or only a shadow one
)

// rule is the whole of "who may act on whom", on facts already gathered
// (a list row carries them, a lookup reads them).
func rule(a *actor, id uint64, role auth.Role, p place, want intent) error {
	if p != atHome && !a.can(auth.CrossTenant) {
		if p == notHere {
			return errNoUser // not seen here at all
		}
		if want != toRead {
			return errOtherHome
		}
	}
	if want != toRead && !a.user.Role.CanGrant(role) {
		return errOutranked
	}
	if want == toTakeOver && id != a.user.ID && a.user.Role != auth.SuperAdmin && a.user.Role.Rank() <= role.Rank() {
		return errPeerSignIn
	}
	return nil
}

// targetInvitation loads invitation id for something the actor means to do.
func targetInvitation(tx *store.Tx, a *actor, id uint64, want intent) (*store.Invitation, error) {
	inv, err := tx.Invitation(id)
	if err != nil {
		return nil, err
	}
	if inv == nil || inv.TenantID != a.tenant.ID && !a.can(auth.CrossTenant) {
		return nil, errNoInvitation
	}
	if want == toChange && !a.user.Role.CanGrant(inv.Role) {
		return nil, errInviteRank
	}
	return inv, nil
}

// canChange reports whether the actor may change u, and if not, why: for
// forms and rows that offer only what the caller may do.
func canChange(tx *store.Tx, a *actor, u *store.User) (bool, string, error) {
	return verdict(mayActOn(tx, a, u, toChange))
}

// verdict splits a rule's answer into allowed, the reason if not, and a
// fault of the store.
func verdict(err error) (bool, string, error) {
	if e, ok := err.(*Error); ok {
		return false, e.Message, nil
	}
	return err == nil, "", err
}
