package auth

// Role is one of the six platform roles; a user has exactly one.
type Role string

// The six roles of the seed.
const (
	SuperAdmin Role = "SUPER_ADMIN"
	Admin      Role = "ADMIN"
	Manager    Role = "MANAGER"
	Agent      Role = "AGENT"
	Vendor     Role = "VENDOR"
	Customer   Role = "CUSTOMER"
)

// Roles lists every role, highest first.
var Roles = []Role{SuperAdmin, Admin, Manager, Agent, Vendor, Customer}

// rank orders roles: SUPER_ADMIN > ADMIN > MANAGER > AGENT > VENDOR, CUSTOMER.
var rank = map[Role]int{SuperAdmin: 50, Admin: 40, Manager: 30, Agent: 20, Vendor: 10, Customer: 10}

// Valid reports whether r is one of the six roles.
func (r Role) Valid() bool { _, ok := rank[r]; return ok }

// Rank is the role's place in the order; higher is more powerful.
func (r Role) Rank() int { return rank[r] }

// CanGrant reports whether a holder of r may give role target to someone:
// nobody grants a role above their own.
func (r Role) CanGrant(target Role) bool { return target.Valid() && rank[target] <= rank[r] }

// Label is the role's name as the UI shows it.
func (r Role) Label() string {
	switch r {
	case SuperAdmin:
		return "Super admin"
	case Admin:
		return "Admin"
	case Manager:
		return "Manager"
	case Agent:
		return "Agent"
	case Vendor:
		return "Contractor / Vendor"
	case Customer:
		return "Customer"
	}
	return string(r)
}

// Capability is something a role may be allowed to do.
type Capability string

// The capabilities of product.md §3.
const (
	ManageUsers    Capability = "users"        // users list, invite, create now, edit name/role, deactivate
	ViewAudit      Capability = "audit"        // audit log
	ManageSettings Capability = "settings"     // settings, tenants
	CrossTenant    Capability = "cross-tenant" // tenant memberships panel, cross-tenant management
	OwnProfile     Capability = "profile"      // own profile, own 2FA, own password
)

// Capabilities lists every capability.
var Capabilities = []Capability{ManageUsers, ViewAudit, ManageSettings, CrossTenant, OwnProfile}

// matrix is product.md §3's permission table as data.
var matrix = map[Role]map[Capability]bool{
	SuperAdmin: {ManageUsers: true, ViewAudit: true, ManageSettings: true, CrossTenant: true, OwnProfile: true},
	Admin:      {ManageUsers: true, ViewAudit: true, ManageSettings: true, OwnProfile: true},
	Manager:    {ManageUsers: true, OwnProfile: true},
	Agent:      {OwnProfile: true},
	Vendor:     {OwnProfile: true},
	Customer:   {OwnProfile: true},
}

// Can reports whether role r has capability c.
func (r Role) Can(c Capability) bool { return matrix[r][c] }

// CapabilitiesOf lists what r may do, for the UI to decide what to show.
func CapabilitiesOf(r Role) []Capability {
	var out []Capability
	for _, c := range Capabilities {
		if r.Can(c) {
			out = append(out, c)
		}
	}
	return out
}
