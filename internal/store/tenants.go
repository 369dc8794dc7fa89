package store

import (
	"bytes"
	"errors"
	"time"
)

// Tenant is an organisation; the admin tenancy is the MSP's own.
type Tenant struct {
	ID           uint64    `json:"id"`
	Name         string    `json:"name"`
	AdminTenancy bool      `json:"adminTenancy"`
	CreatedAt    time.Time `json:"createdAt"`
}

// Membership ties a user to a tenant. A shadow membership lets the user
// switch into the tenant without appearing in its user list.
type Membership struct {
	UserID    uint64    `json:"userId"`
	TenantID  uint64    `json:"tenantId"`
	Shadow    bool      `json:"shadow"`
	CreatedAt time.Time `json:"createdAt"`
}

// ErrTenantNameTaken is returned when a tenant name is already in use.
var ErrTenantNameTaken = errors.New("tenant name already in use")

// Tenant returns the tenant with id, or nil.
func (t *Tx) Tenant(id uint64) (*Tenant, error) {
	var v Tenant
	ok, err := getJSON(t.b(bucketTenants), u64(id), &v)
	if !ok || err != nil {
		return nil, err
	}
	return &v, nil
}

// Tenants lists every tenant by id.
func (t *Tx) Tenants() ([]Tenant, error) {
	var out []Tenant
	err := t.b(bucketTenants).ForEach(func(k, raw []byte) error {
		var v Tenant
		if _, err := getJSON(t.b(bucketTenants), k, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// CreateTenant stores a new tenant and assigns its id.
func (t *Tx) CreateTenant(v *Tenant) error {
	key := []byte(Fold(v.Name))
	if t.b(bucketTenantName).Get(key) != nil {
		return ErrTenantNameTaken
	}
	id, err := t.b(bucketTenants).NextSequence()
	if err != nil {
		return err
	}
	v.ID = id
	if err := t.b(bucketTenantName).Put(key, u64(id)); err != nil {
		return err
	}
	return putJSON(t.b(bucketTenants), u64(id), v)
}

// Membership returns the user's membership in tenant, or nil.
func (t *Tx) Membership(userID, tenantID uint64) (*Membership, error) {
	var m Membership
	ok, err := getJSON(t.b(bucketMembers), join(u64(userID), u64(tenantID)), &m)
	if !ok || err != nil {
		return nil, err
	}
	return &m, nil
}

// Memberships lists the user's memberships by tenant id.
func (t *Tx) Memberships(userID uint64) ([]Membership, error) {
	return t.membershipsUnder(bucketMembers, userID)
}

// TenantMembers lists the memberships of a tenant by user id.
func (t *Tx) TenantMembers(tenantID uint64) ([]Membership, error) {
	return t.membershipsUnder(bucketTenantUsers, tenantID)
}

// membershipsUnder reads the memberships keyed under one id in either
// direction of the index.
func (t *Tx) membershipsUnder(bucket []byte, id uint64) ([]Membership, error) {
	var out []Membership
	prefix := u64(id)
	c := t.b(bucket).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var m Membership
		if err := unmarshal(k, v, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// PutMembership adds or replaces a membership and refreshes the tenant's
// directory for that user.
func (t *Tx) PutMembership(m Membership) error {
	u, err := t.User(m.UserID)
	if err != nil {
		return err
	}
	if u == nil {
		return errors.New("membership of a missing user")
	}
	prev, err := t.removeDirectory(u)
	if err != nil {
		return err
	}
	if err := putJSON(t.b(bucketMembers), join(u64(m.UserID), u64(m.TenantID)), m); err != nil {
		return err
	}
	if err := putJSON(t.b(bucketTenantUsers), join(u64(m.TenantID), u64(m.UserID)), m); err != nil {
		return err
	}
	return t.addDirectory(u, prev)
}

// DeleteMembership removes a membership and the user from that tenant's
// directory.
func (t *Tx) DeleteMembership(userID, tenantID uint64) error {
	u, err := t.User(userID)
	if err != nil || u == nil {
		return err
	}
	prev, err := t.removeDirectory(u)
	if err != nil {
		return err
	}
	if err := t.b(bucketMembers).Delete(join(u64(userID), u64(tenantID))); err != nil {
		return err
	}
	if err := t.b(bucketTenantUsers).Delete(join(u64(tenantID), u64(userID))); err != nil {
		return err
	}
	return t.addDirectory(u, prev)
}

// RenameTenant renames v, keeping the name index unique.
func (t *Tx) RenameTenant(v *Tenant, name string) error {
	oldKey, newKey := []byte(Fold(v.Name)), []byte(Fold(name))
	if string(oldKey) != string(newKey) {
		if t.b(bucketTenantName).Get(newKey) != nil {
			return ErrTenantNameTaken
		}
		if err := t.b(bucketTenantName).Delete(oldKey); err != nil {
			return err
		}
		if err := t.b(bucketTenantName).Put(newKey, u64(v.ID)); err != nil {
			return err
		}
	}
	v.Name = name
	return putJSON(t.b(bucketTenants), u64(v.ID), v)
}
