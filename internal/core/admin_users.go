package core

import (
	"context"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// Limits of the optional profile fields.
const (
	maxJobTitle = 100
	maxOffice   = 300
	maxNotes    = 2000
)

// CreateUserInput is the Create now form.
type CreateUserInput struct {
	Email         string `json:"email"`
	Name          string `json:"name"`
	Role          string `json:"role"`
	Password      string `json:"password"`
	JobTitle      string `json:"jobTitle"`
	OfficeAddress string `json:"officeAddress"`
	Notes         string `json:"notes"`
	TenantID      uint64 `json:"tenantId"` // 0: the current tenant
	// MustChangePassword asks them to choose their own password at first
	// sign-in; nil means yes (the default of the form and of product.md).
	MustChangePassword *bool `json:"mustChangePassword"`
}

// CreateUser makes an account that works at once (Create now).
func (s *Service) CreateUser(ctx context.Context, in CreateUserInput) (UserView, error) {
	early, err := s.check(ctx, needs(auth.ManageUsers))
	if err != nil {
		return UserView{}, err
	}
	u := store.User{Active: true, MustChangePassword: in.MustChangePassword == nil || *in.MustChangePassword}
	if u.Email, err = cleanEmail("email", in.Email); err != nil {
		return UserView{}, err
	}
	if u.Name, err = cleanName("name", in.Name); err != nil {
		return UserView{}, err
	}
	role, ok := validInviteRole(in.Role)
	if !ok {
		return UserView{}, fieldError("role", "Choose Agent, Manager, Admin or Contractor / Vendor.")
	}
	if !early.user.Role.CanGrant(role) {
		return UserView{}, errGrantAbove
	}
	u.Role = role
	if err := checkPassword("password", in.Password); err != nil {
		return UserView{}, err
	}
	if u.JobTitle, err = cleanText("jobTitle", in.JobTitle, maxJobTitle, false); err != nil {
		return UserView{}, err
	}
	if u.OfficeAddress, err = cleanText("officeAddress", in.OfficeAddress, maxOffice, true); err != nil {
		return UserView{}, err
	}
	if u.Notes, err = cleanText("notes", in.Notes, maxNotes, true); err != nil {
		return UserView{}, err
	}
	hash, err := s.hasher.Hash(in.Password) // bcrypt outside the transaction
	if err != nil {
		return UserView{}, s.internal("hash", err)
	}
	var out store.User
	err = s.update(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		nu := u
		if !a.user.Role.CanGrant(nu.Role) {
			return errGrantAbove // demoted since the form was checked
		}
		tenant, err := targetTenant(tx, a, in.TenantID)
		if err != nil {
			return err
		}
		now := s.clock()
		nu.TenantID, nu.DefaultTenantID, nu.CreatedAt, nu.UpdatedAt = tenant, tenant, now, now
		if err := s.addressFree(tx, nu.Email, tenant); err != nil {
			return err
		}
		if err := tx.CreateUser(&nu, store.Credentials{PasswordHash: hash}); err != nil {
			return err
		}
		if err := s.joinTenant(tx, &nu, tenant, now); err != nil {
			return err
		}
		extra := map[string]any{"via": "create now", "mustChangePassword": nu.MustChangePassword}
		// A pending invitation to the same address in this tenant is no
		// longer needed; other tenants' invitations are theirs.
		if inv, err := tx.PendingInvitation(tenant, nu.Email); err != nil {
			return err
		} else if inv != nil {
			if err := s.withdraw(tx, inv, now); err != nil {
				return err
			}
			extra["revokedInvitation"] = inv.ID
		}
		out = nu
		return record(tx, now, a.who(), tenant, ActCreate, ResUser, nu.ID, &change{After: auditUser(&nu), Extra: extra})
	})
	if err != nil {
		return UserView{}, s.internal("create user", err)
	}
	return viewUser(&out), nil
}

var errGrantAbove = fieldRefusal("role", "You cannot give someone a role above your own.")

// addressFree refuses an address that already has an account. Within the
// tenant the answer names the account (its admins see it anyway); an
// account that belongs elsewhere is not located: the answer says only
// that the address has a sign-in, and how to bring them in.
func (s *Service) addressFree(tx *store.Tx, email string, tenant uint64) error {
	existing, err := tx.UserByEmail(email)
	if err != nil || existing == nil {
		return err
	}
	if existing.TenantID == tenant {
		return errUserExists
	}
	if m, err := tx.Membership(existing.ID, tenant); err != nil {
		return err
	} else if m != nil && !m.Shadow {
		return errUserExists
	}
	return fieldError("email", "This address already has a Gatehouse sign-in. Send them an invitation instead: accepting it adds this tenant to the sign-in they have.")
}

var errUserExists = fieldError("email", "A user with this e-mail address already exists in this tenant.")

// joinTenant makes u a (listed) member of tenant; a user whose own
// organisation is the admin tenancy also gets shadow memberships in every
// other tenant.
func (s *Service) joinTenant(tx *store.Tx, u *store.User, tenant uint64, now time.Time) error {
	if err := tx.PutMembership(store.Membership{UserID: u.ID, TenantID: tenant, CreatedAt: now}); err != nil {
		return err
	}
	_, err := shadowEverywhere(tx, u, now)
	return err
}

// UserDetail is the edit form's data.
type UserDetail struct {
	User UserView `json:"user"`
	// What the caller may do to this user, so the form can say so up front;
	// core checks again on every change.
	CanEdit       bool        `json:"canEdit"`
	CanChangeRole bool        `json:"canChangeRole"`
	Reason        string      `json:"reason"` // why not, when not
	Roles         []auth.Role `json:"roles"`  // the roles the caller may grant
}

// GetUser returns one user the caller may see, for the edit form.
func (s *Service) GetUser(ctx context.Context, id uint64) (UserDetail, error) {
	var out UserDetail
	err := s.view(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) error {
		u, err := targetUser(tx, a, id, toRead)
		if err != nil {
			return err
		}
		out = UserDetail{User: viewUser(u), Roles: grantable(a.user.Role)}
		if out.User.LockedUntil, err = accountLock(tx, u.Email, s.clock()); err != nil {
			return err
		}
		if out.CanEdit, out.Reason, err = canChange(tx, a, u); err != nil {
			return err
		}
		out.CanChangeRole = out.CanEdit
		if out.CanEdit && u.ID == a.user.ID {
			out.CanChangeRole, out.Reason = false, errOwnRole.Message
		}
		return nil
	})
	return out, s.internal("get user", err)
}

func grantable(r auth.Role) []auth.Role {
	var out []auth.Role
	for _, x := range auth.Roles {
		if r.CanGrant(x) {
			out = append(out, x)
		}
	}
	return out
}

var (
	errOwnRole   = &Error{Code: Forbidden, Message: "You cannot change your own role. Ask another administrator."}
	errOwnActive = &Error{Code: Forbidden, Message: "You cannot deactivate yourself. Ask another administrator."}
	errLastSuper = &Error{Code: Conflict, Message: "This is the last active super admin. Make someone else a super admin first."}
)

// lastActiveSuperAdmin reports whether u is the only active SUPER_ADMIN.
func lastActiveSuperAdmin(tx *store.Tx, u *store.User) (bool, error) {
	if u.Role != auth.SuperAdmin || !u.Active {
		return false, nil
	}
	n, err := tx.CountActive(auth.SuperAdmin, 2)
	return n < 2, err
}

// UpdateUserInput changes a user; a nil field is left as it is.
type UpdateUserInput struct {
	ID   uint64  `json:"id"`
	Name *string `json:"name"`
	Role *string `json:"role"`
}

// UpdateUser changes a user's name and role, with the guardrails: nobody
// grants a role above their own or changes their own role, nobody changes
// someone who outranks them or belongs to another organisation, and the
// last active SUPER_ADMIN stays one.
func (s *Service) UpdateUser(ctx context.Context, in UpdateUserInput) (UserView, error) {
	var name string
	var err error
	if in.Name != nil {
		if name, err = cleanName("name", *in.Name); err != nil {
			return UserView{}, err
		}
	}
	var role auth.Role
	if in.Role != nil {
		if role = auth.Role(*in.Role); !role.Valid() {
			return UserView{}, fieldError("role", "Choose one of the six roles.")
		}
	}
	var out store.User
	err = s.update(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) (err error) {
		out, err = s.changeUser(tx, a, in.ID, in.Name != nil, name, in.Role != nil, role)
		return err
	})
	if err != nil {
		return UserView{}, s.internal("update user", err)
	}
	return viewUser(&out), nil
}

// changeUser renames and/or re-roles user id in tx, under every rule of
// UpdateUser; it records the change, if any.
func (s *Service) changeUser(tx *store.Tx, a *actor, id uint64, setName bool, name string, setRole bool, role auth.Role) (store.User, error) {
	u, err := targetUser(tx, a, id, toChange)
	if err != nil {
		return store.User{}, err
	}
	before := auditUser(u)
	if setName {
		u.Name = name
	}
	if setRole && role != u.Role {
		switch last, err := lastActiveSuperAdmin(tx, u); {
		case err != nil:
			return store.User{}, err
		case last: // first: it is the reason that matters, to yourself too
			return store.User{}, errLastSuper
		case u.ID == a.user.ID:
			return store.User{}, errOwnRole
		case !a.user.Role.CanGrant(role):
			return store.User{}, errGrantAbove
		}
		u.Role = role
	}
	after := auditUser(u)
	if after == before {
		return *u, nil // nothing changed: no write, no event
	}
	u.UpdatedAt = a.now
	if err := tx.UpdateUser(u); err != nil {
		return store.User{}, err
	}
	return *u, record(tx, a.now, a.who(), u.TenantID, ActUpdate, ResUser, u.ID, &change{Before: before, After: after})
}

// DeactivateUser ends a user's access at once: the account is marked
// inactive and every session it has (window and LAN) is deleted in the same
// transaction, so its next request fails.
func (s *Service) DeactivateUser(ctx context.Context, id uint64) (UserView, error) {
	return s.setActive(ctx, id, false)
}

// ReactivateUser lets a deactivated user sign in again.
func (s *Service) ReactivateUser(ctx context.Context, id uint64) (UserView, error) {
	return s.setActive(ctx, id, true)
}

func (s *Service) setActive(ctx context.Context, id uint64, active bool) (UserView, error) {
	var out store.User
	err := s.update(ctx, needs(auth.ManageUsers), func(tx *store.Tx, a *actor) (err error) {
		out, err = s.applyActive(tx, a, id, active)
		return err
	})
	if err != nil {
		return UserView{}, s.internal("set active", err)
	}
	return viewUser(&out), nil
}

// applyActive deactivates (ending every session) or reactivates user id in
// tx, under the rules of Deactivate and Reactivate, and records it.
func (s *Service) applyActive(tx *store.Tx, a *actor, id uint64, active bool) (store.User, error) {
	u, err := targetUser(tx, a, id, toChange)
	if err != nil {
		return store.User{}, err
	}
	if u.Active == active {
		return *u, nil
	}
	if !active {
		if last, err := lastActiveSuperAdmin(tx, u); err != nil {
			return store.User{}, err
		} else if last {
			return store.User{}, errLastSuper
		}
		if u.ID == a.user.ID {
			return store.User{}, errOwnActive
		}
	}
	now := a.now
	before := auditUser(u)
	u.Active, u.UpdatedAt = active, now
	if err := tx.UpdateUser(u); err != nil {
		return store.User{}, err
	}
	extra := map[string]any{}
	action := ActReactivate
	if active {
		added, err := shadowEverywhere(tx, u, now)
		if err != nil {
			return store.User{}, err
		}
		if len(added) > 0 {
			extra["shadowTenants"] = added
		}
	} else {
		action = ActDeactivate
		n, err := tx.DeleteUserSessions(u.ID)
		if err != nil {
			return store.User{}, err
		}
		extra["sessionsEnded"] = n
		// A reset link made before must not outlive the deactivation.
		if err := tx.DeleteUserPasswordReset(u.ID); err != nil {
			return store.User{}, err
		}
	}
	return *u, record(tx, now, a.who(), u.TenantID, action, ResUser, u.ID, &change{Before: before, After: auditUser(u), Extra: extra})
}
