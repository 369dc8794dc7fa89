// One display name per role, used everywhere outside the users list (which
// keeps the seed's codes: ADMIN, AGENT…). internal/auth/roles.go's Label
// gives the same names for e-mails and server messages.
import type { Role } from './api'

/** Every role, most powerful first (internal/auth/roles.go's order). */
export const roles: readonly Role[] = ['SUPER_ADMIN', 'ADMIN', 'MANAGER', 'AGENT', 'VENDOR', 'CUSTOMER']

const names: Record<Role, string> = {
  SUPER_ADMIN: 'Super admin',
  ADMIN: 'Admin',
  MANAGER: 'Manager',
  AGENT: 'Agent',
  VENDOR: 'Contractor / Vendor',
  CUSTOMER: 'Customer',
}

/** isRole says whether code is one of the six role codes. */
export function isRole(code: string | null | undefined): code is Role {
  return !!code && Object.hasOwn(names, code)
}

/** roleName is a role's display name; an unknown code is shown as it is. */
export function roleName(code: string | null | undefined): string {
  return isRole(code) ? names[code] : (code ?? '')
}

/** The roles the "require 2FA for admins" policy covers. */
export const adminRoles: readonly Role[] = ['SUPER_ADMIN', 'ADMIN']

/** isAdminRole says whether a role is covered by the 2FA policy for admins. */
export const isAdminRole = (code: string | null | undefined) => adminRoles.some((r) => r === code)
