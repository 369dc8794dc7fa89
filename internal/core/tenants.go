package core

import (
	"context"
	"errors"
	"sort"
	"time"

	"gatehouse/internal/auth"
	"gatehouse/internal/store"
)

// Tenant audit actions.
const (
	ActSwitch      = "switch"
	ActRename      = "rename"
	ActMemberships = "set_memberships"
)

// platformAdmin reports whether the actor administers the platform: an
// ADMIN or SUPER_ADMIN of the admin tenancy (the MSP itself). An admin of a
// customer tenant manages that tenant's users, never the platform's
// settings or other tenants.
func (s *Service) platformAdmin(tx *store.Tx, a *actor) (bool, error) {
	if !a.can(auth.ManageSettings) {
		return false, nil
	}
	if a.user.Role == auth.SuperAdmin {
		return true, nil
	}
	t, err := tx.Tenant(a.user.TenantID)
	if err != nil || t == nil {
		return false, err
	}
	return t.AdminTenancy, nil
}

func multiTenant(tx *store.Tx) (bool, error) {
	g, _, err := readSettings(tx)
	return g.MultiTenant, err
}

// TenantRow is one line of the tenants page.
type TenantRow struct {
	TenantView
	Members   int       `json:"members"` // listed members, shadow ones excluded
	CreatedAt time.Time `json:"createdAt"`
}

// ListTenants lists every tenant (platform admins).
func (s *Service) ListTenants(ctx context.Context) ([]TenantRow, error) {
	out := []TenantRow{}
	err := s.view(ctx, platformGate, func(tx *store.Tx, _ *actor) error {
		out = []TenantRow{}
		ts, err := tx.Tenants()
		if err != nil {
			return err
		}
		for i := range ts {
			ms, err := tx.TenantMembers(ts[i].ID)
			if err != nil {
				return err
			}
			row := TenantRow{TenantView: viewTenant(&ts[i]), CreatedAt: ts[i].CreatedAt}
			for _, m := range ms {
				if !m.Shadow {
					row.Members++
				}
			}
			out = append(out, row)
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].AdminTenancy != out[j].AdminTenancy {
			return out[i].AdminTenancy
		}
		return store.Fold(out[i].Name) < store.Fold(out[j].Name)
	})
	return out, s.internal("list tenants", err)
}

var errMultiTenantOff = &Error{Code: Conflict, Message: "Multi-tenant is off. Turn it on in Settings first."}

// CreateTenant creates a tenant and, in the same transaction, gives every
// active user of the admin tenancy a shadow membership in it.
func (s *Service) CreateTenant(ctx context.Context, name string) (TenantView, error) {
	name, err := cleanName("name", name)
	if err != nil {
		return TenantView{}, err
	}
	var out TenantView
	err = s.update(ctx, platformGate, func(tx *store.Tx, a *actor) error {
		if on, err := multiTenant(tx); err != nil {
			return err
		} else if !on {
			return errMultiTenantOff
		}
		now := s.clock()
		t := &store.Tenant{Name: name, CreatedAt: now}
		if err := tx.CreateTenant(t); errors.Is(err, store.ErrTenantNameTaken) {
			return fieldError("name", "A tenant with this name already exists.")
		} else if err != nil {
			return err
		}
		shadowed, err := seedShadows(tx, t.ID, now)
		if err != nil {
			return err
		}
		out = viewTenant(t)
		// Recorded in the MSP's own log: the new tenant's admins do not see
		// the MSP's staff list.
		return record(tx, now, a.who(), a.user.TenantID, ActCreate, ResTenant, t.ID, &change{After: map[string]any{"name": t.Name},
			Extra: map[string]any{"shadowMembers": shadowed}})
	})
	return out, s.internal("create tenant", err)
}

// adminTenancy returns the admin tenancy.
func adminTenancy(tx *store.Tx) (*store.Tenant, error) {
	ts, err := tx.Tenants()
	if err != nil {
		return nil, err
	}
	for i := range ts {
		if ts[i].AdminTenancy {
			return &ts[i], nil
		}
	}
	return nil, errors.New("there is no admin tenancy")
}

// seedShadows gives every active user whose primary org is the admin
// tenancy a shadow membership in tenant, unless they are a member already.
// It returns the ids it added.
func seedShadows(tx *store.Tx, tenant uint64, now time.Time) ([]uint64, error) {
	admin, err := adminTenancy(tx)
	if err != nil {
		return nil, err
	}
	members, err := tx.TenantMembers(admin.ID)
	if err != nil {
		return nil, err
	}
	added := []uint64{}
	for _, m := range members {
		u, err := tx.User(m.UserID)
		if err != nil {
			return nil, err
		}
		if u == nil || !u.Active || u.TenantID != admin.ID {
			continue
		}
		if existing, err := tx.Membership(u.ID, tenant); err != nil {
			return nil, err
		} else if existing != nil {
			continue
		}
		if err := tx.PutMembership(store.Membership{UserID: u.ID, TenantID: tenant, Shadow: true, CreatedAt: now}); err != nil {
			return nil, err
		}
		added = append(added, u.ID)
	}
	return added, nil
}

// shadowEverywhere gives an active admin-tenancy user a shadow membership
// in every tenant they are not yet in (beyond the seed: later joiners of
// the admin tenancy are treated like those present when a tenant was made).
func shadowEverywhere(tx *store.Tx, u *store.User, now time.Time) ([]uint64, error) {
	if !u.Active {
		return nil, nil
	}
	home, err := tx.Tenant(u.TenantID)
	if err != nil || home == nil || !home.AdminTenancy {
		return nil, err
	}
	ts, err := tx.Tenants()
	if err != nil {
		return nil, err
	}
	var added []uint64
	for _, t := range ts {
		if m, err := tx.Membership(u.ID, t.ID); err != nil {
			return nil, err
		} else if m != nil {
			continue
		}
		if err := tx.PutMembership(store.Membership{UserID: u.ID, TenantID: t.ID, Shadow: true, CreatedAt: now}); err != nil {
			return nil, err
		}
		added = append(added, t.ID)
	}
	return added, nil
}

// RenameTenantInput renames a tenant.
type RenameTenantInput struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
}

// RenameTenant renames a tenant (platform admins).
func (s *Service) RenameTenant(ctx context.Context, in RenameTenantInput) (TenantView, error) {
	name, err := cleanName("name", in.Name)
	if err != nil {
		return TenantView{}, err
	}
	var out TenantView
	err = s.update(ctx, platformGate, func(tx *store.Tx, a *actor) error {
		t, err := tx.Tenant(in.ID)
		if err != nil {
			return err
		}
		if t == nil {
			return &Error{Code: NotFound, Message: "There is no such tenant."}
		}
		old := t.Name
		if err := tx.RenameTenant(t, name); errors.Is(err, store.ErrTenantNameTaken) {
			return fieldError("name", "A tenant with this name already exists.")
		} else if err != nil {
			return err
		}
		out = viewTenant(t)
		if old == name {
			return nil
		}
		return record(tx, s.clock(), a.who(), a.user.TenantID, ActRename, ResTenant, t.ID, &change{Before: map[string]any{"name": old}, After: map[string]any{"name": name}})
	})
	return out, s.internal("rename tenant", err)
}

// MembershipView is one of the signed-in user's tenants, for the switcher.
type MembershipView struct {
	TenantView
	Shadow bool `json:"shadow"`
}

func memberships(tx *store.Tx, userID uint64) ([]MembershipView, error) {
	ms, err := tx.Memberships(userID)
	if err != nil {
		return nil, err
	}
	out := make([]MembershipView, 0, len(ms))
	for _, m := range ms {
		t, err := tx.Tenant(m.TenantID)
		if err != nil {
			return nil, err
		}
		if t != nil {
			out = append(out, MembershipView{TenantView: viewTenant(t), Shadow: m.Shadow})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].AdminTenancy != out[j].AdminTenancy {
			return out[i].AdminTenancy
		}
		return store.Fold(out[i].Name) < store.Fold(out[j].Name)
	})
	return out, nil
}

var errNotMember = &Error{Code: NotFound, Message: "You are not a member of that tenant."}

// SwitchTenant moves the caller's session into another of their tenants.
func (s *Service) SwitchTenant(ctx context.Context, tenantID uint64) (Me, error) {
	var me Me
	err := s.update(ctx, needs(auth.OwnProfile), func(tx *store.Tx, a *actor) error {
		if on, err := multiTenant(tx); err != nil {
			return err
		} else if !on && tenantID != a.tenant.ID {
			return errMultiTenantOff
		}
		m, err := tx.Membership(a.user.ID, tenantID)
		if err != nil {
			return err
		}
		t, err := tx.Tenant(tenantID)
		if err != nil {
			return err
		}
		if m == nil || t == nil {
			return errNotMember
		}
		if tenantID != a.tenant.ID {
			from := a.tenant
			a.session.TenantID, a.tenant = tenantID, *t
			if err := tx.PutSession(&a.session); err != nil {
				return err
			}
			if err := record(tx, a.now, a.who(), tenantID, ActSwitch, ResTenant, tenantID,
				&change{Before: map[string]any{"tenant": from.Name}, After: map[string]any{"tenant": t.Name, "shadow": m.Shadow}}); err != nil {
				return err
			}
		}
		me, err = s.viewMe(tx, a)
		return err
	})
	return me, s.internal("switch tenant", err)
}

// UserMembership is one row of the SUPER_ADMIN's memberships panel.
type UserMembership struct {
	TenantView
	Member  bool `json:"member"`
	Shadow  bool `json:"shadow"`
	Default bool `json:"default"`
	Primary bool `json:"primary"` // the user's own organisation: cannot be removed
}

// GetUserMemberships lists every tenant and the user's place in it
// (SUPER_ADMIN only).
func (s *Service) GetUserMemberships(ctx context.Context, userID uint64) ([]UserMembership, error) {
	var out []UserMembership
	err := s.view(ctx, needs(auth.CrossTenant), func(tx *store.Tx, a *actor) error {
		u, err := targetUser(tx, a, userID, toRead)
		if err != nil {
			return err
		}
		out, err = userMemberships(tx, u)
		return err
	})
	return out, s.internal("get memberships", err)
}

func userMemberships(tx *store.Tx, u *store.User) ([]UserMembership, error) {
	ts, err := tx.Tenants()
	if err != nil {
		return nil, err
	}
	def, err := landingTenant(tx, u)
	if err != nil {
		return nil, err
	}
	out := make([]UserMembership, 0, len(ts))
	for i := range ts {
		m, err := tx.Membership(u.ID, ts[i].ID)
		if err != nil {
			return nil, err
		}
		um := UserMembership{TenantView: viewTenant(&ts[i]), Primary: ts[i].ID == u.TenantID}
		if m != nil {
			um.Member, um.Shadow, um.Default = true, m.Shadow, ts[i].ID == def
		}
		out = append(out, um)
	}
	return out, nil
}

// SetMembershipsInput is the memberships panel: the ticked tenants and the
// default (landing) one, which must be ticked.
type SetMembershipsInput struct {
	UserID          uint64   `json:"userId"`
	TenantIDs       []uint64 `json:"tenantIds"`
	DefaultTenantID uint64   `json:"defaultTenantId"`
}

// SetUserMemberships applies the memberships panel (SUPER_ADMIN only).
// Newly ticked tenants become listed memberships, ticked ones stay as they
// are (a shadow membership stays shadow), and unticked ones are removed;
// the user's own organisation cannot be unticked. The full change is
// recorded in the admin tenancy's log; each customer tenant that gained or
// lost the user gets an event naming only itself.
func (s *Service) SetUserMemberships(ctx context.Context, in SetMembershipsInput) ([]UserMembership, error) {
	if len(in.TenantIDs) == 0 {
		return nil, fieldError("tenantIds", "Tick at least one tenant.")
	}
	if len(in.TenantIDs) > 10000 {
		return nil, fieldError("tenantIds", "Too many tenants.")
	}
	want := map[uint64]bool{}
	for _, id := range in.TenantIDs {
		want[id] = true
	}
	if !want[in.DefaultTenantID] {
		return nil, fieldError("defaultTenantId", "The default tenant must be one of the ticked tenants.")
	}
	var out []UserMembership
	err := s.update(ctx, needs(auth.CrossTenant), func(tx *store.Tx, a *actor) error {
		u, err := targetUser(tx, a, in.UserID, toChange)
		if err != nil {
			return err
		}
		if !want[u.TenantID] {
			home, err := tx.Tenant(u.TenantID)
			if err != nil {
				return err
			}
			return fieldError("tenantIds", "%s is this user's own organisation and cannot be removed.", nameOf(home))
		}
		before, err := userMemberships(tx, u)
		if err != nil {
			return err
		}
		now := a.now
		var added, removed []store.Tenant
		for id := range want {
			t, err := tx.Tenant(id)
			if err != nil {
				return err
			}
			if t == nil {
				return fieldError("tenantIds", "Tenant %d does not exist.", id)
			}
			if m, err := tx.Membership(u.ID, id); err != nil {
				return err
			} else if m == nil {
				if err := tx.PutMembership(store.Membership{UserID: u.ID, TenantID: id, CreatedAt: now}); err != nil {
					return err
				}
				added = append(added, *t)
			}
		}
		for _, b := range before {
			if b.Member && !want[b.ID] {
				if err := tx.DeleteMembership(u.ID, b.ID); err != nil {
					return err
				}
				removed = append(removed, store.Tenant{ID: b.ID, Name: b.Name, AdminTenancy: b.AdminTenancy})
			}
		}
		u.DefaultTenantID, u.UpdatedAt = in.DefaultTenantID, now
		if err := tx.UpdateUser(u); err != nil {
			return err
		}
		if out, err = userMemberships(tx, u); err != nil {
			return err
		}
		admin, err := adminTenancy(tx)
		if err != nil {
			return err
		}
		if err := record(tx, now, a.who(), admin.ID, ActMemberships, ResUser, u.ID, &change{Before: summarise(before), After: summarise(out)}); err != nil {
			return err
		}
		for _, list := range []struct {
			ts     []store.Tenant
			member bool
		}{{added, true}, {removed, false}} {
			for _, t := range list.ts {
				if t.AdminTenancy {
					continue
				}
				if err := record(tx, now, a.who(), t.ID, ActMemberships, ResUser, u.ID, &change{Before: map[string]any{"member": !list.member},
					After: map[string]any{"member": list.member}, Extra: map[string]any{"user": u.Email}}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, s.internal("set memberships", err)
}

func nameOf(t *store.Tenant) string {
	if t == nil {
		return "That tenant"
	}
	return t.Name
}

// summarise keeps an audit record of memberships short: tenant names,
// marked shadow and default.
func summarise(ms []UserMembership) []string {
	var out []string
	for _, m := range ms {
		if !m.Member {
			continue
		}
		s := m.Name
		if m.Shadow {
			s += " (shadow)"
		}
		if m.Default {
			s += " (default)"
		}
		out = append(out, s)
	}
	return out
}
