import { describe, expect, it } from 'vitest'
import { adminRoles, isAdminRole, isRole, roleName, roles } from './roles'

describe('roles', () => {
  it('names each role once, as the product does', () => {
    expect(roles.map(roleName)).toEqual(['Super admin', 'Admin', 'Manager', 'Agent', 'Contractor / Vendor', 'Customer'])
    expect(new Set(roles.map(roleName)).size).toBe(6)
  })

  it('shows an unknown code as it is, and nothing for none', () => {
    expect(roleName('AUDITOR')).toBe('AUDITOR')
    expect(roleName('')).toBe('')
    expect(roleName(undefined)).toBe('')
    // Object's own properties are not roles.
    expect(isRole('toString')).toBe(false)
    expect(roleName('constructor')).toBe('constructor')
  })

  it('knows which roles the 2FA policy for admins covers', () => {
    expect(adminRoles.map(roleName)).toEqual(['Super admin', 'Admin'])
    expect(isAdminRole('ADMIN')).toBe(true)
    expect(isAdminRole('MANAGER')).toBe(false)
    expect(isAdminRole(undefined)).toBe(false)
  })
})
