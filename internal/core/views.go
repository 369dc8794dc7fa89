package core

import (
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// UserView is a user as the API returns it: never a secret.
type UserView struct {
	ID            uint64     `json:"id"`
	Email         string     `json:"email"`
	Name          string     `json:"name"`
	Role          auth.Role  `json:"role"`
	Active        bool       `json:"active"`
	MFAEnabled    bool       `json:"mfaEnabled"`
	JobTitle      string     `json:"jobTitle"`
	OfficeAddress string     `json:"officeAddress"`
	Notes         string     `json:"notes"`
	TenantID      uint64     `json:"tenantId"`
	CreatedAt     time.Time  `json:"createdAt"`
	LastLoginAt   *time.Time `json:"lastLoginAt"`
	LockedUntil   *time.Time `json:"lockedUntil"`
	// MustChangePassword: they have a temporary password to replace at
	// their next sign-in.
	MustChangePassword bool `json:"mustChangePassword"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func viewUser(u *store.User) UserView {
	return UserView{
		ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Active: u.Active,
		MFAEnabled: u.MFAEnabled, JobTitle: u.JobTitle, OfficeAddress: u.OfficeAddress,
		Notes: u.Notes, TenantID: u.TenantID, CreatedAt: u.CreatedAt, LastLoginAt: optTime(u.LastLoginAt),
		MustChangePassword: u.MustChangePassword,
	}
}

// TenantView is a tenant as the API returns it.
type TenantView struct {
	ID           uint64 `json:"id"`
	Name         string `json:"name"`
	AdminTenancy bool   `json:"adminTenancy"`
}

func viewTenant(t *store.Tenant) TenantView {
	return TenantView{ID: t.ID, Name: t.Name, AdminTenancy: t.AdminTenancy}
}

// Me is the signed-in user, the tenant they act in, and what they may do.
type Me struct {
	User         UserView          `json:"user"`
	Tenant       TenantView        `json:"tenant"`
	Capabilities []auth.Capability `json:"capabilities"`
	// InviteRoles are the roles this user may give in Send invite and Create now.
	InviteRoles []auth.Role `json:"inviteRoles"`
	MultiTenant bool        `json:"multiTenant"`
	// Memberships are the user's tenants, shadow ones included, for the switcher.
	Memberships []MembershipView `json:"memberships"`
	// MustEnrol is set while policy requires this user to set up 2FA first.
	MustEnrol bool `json:"mustEnrol"`
	// MustChangePassword is set while the user has to replace a temporary
	// password before anything else.
	MustChangePassword bool `json:"mustChangePassword"`
	// Security is what the security policy offers this user.
	Security SecurityPolicy `json:"security"`
	// Demo is set when this folder holds demo data.
	Demo bool `json:"demo"`
}

// viewMe describes the actor. Settings and tenants are platform powers, so
// an admin of a customer tenant is not shown the "settings" capability.
func (s *Service) viewMe(tx *store.Tx, a *actor) (Me, error) {
	me := Me{User: viewUser(&a.user), Tenant: viewTenant(&a.tenant), InviteRoles: []auth.Role{}, MustEnrol: a.session.Stage == stageEnrol,
		MustChangePassword: a.session.Stage == stagePassword}
	platform, err := s.platformAdmin(tx, a)
	if err != nil {
		return me, err
	}
	for _, c := range auth.CapabilitiesOf(a.user.Role) {
		if c != auth.ManageSettings || platform {
			me.Capabilities = append(me.Capabilities, c)
		}
	}
	for _, r := range invitableRoles {
		if a.user.Role.CanGrant(r) {
			me.InviteRoles = append(me.InviteRoles, r)
		}
	}
	g, _, err := readSettings(tx)
	if err != nil {
		return me, err
	}
	me.MultiTenant, me.Security, me.Demo = g.MultiTenant, g.Security, g.Demo
	me.Memberships, err = memberships(tx, a.user.ID)
	return me, err
}
