import { afterEach, describe, expect, it, vi } from 'vitest'
import { cleanup, fireEvent, render, screen, within } from '@testing-library/svelte'
import UsersTable from './UsersTable.svelte'
import type { UserRow } from '../lib/api'

const users: UserRow[] = [
  { id: 1, name: 'Mitch', email: 'mitch@kwgroup.uk', role: 'ADMIN', mfaEnabled: true, active: true, lastLoginAt: '2026-05-18T09:30:00Z', lockedUntil: null, mustChangePassword: false, canChange: true },
  { id: 2, name: 'Pat', email: 'pat@kwgroup.uk', role: 'AGENT', mfaEnabled: false, active: false, lastLoginAt: null, lockedUntil: null, mustChangePassword: false, canChange: true },
]

describe('UsersTable', () => {
  afterEach(cleanup)

  it("shows the seed's columns and formats", () => {
    render(UsersTable, { users, sort: 'name', desc: false, onsort: () => {} })
    const headers = screen.getAllByRole('columnheader').map((h) => h.textContent?.replace(/[▲▼↕]/g, '').trim())
    expect(headers).toEqual(['Name', 'Email', 'Role', 'MFA', 'Status', 'Last login'])
    const [mitch, pat] = screen.getAllByRole('row').slice(1)
    expect(within(mitch).getAllByRole('cell').map((c) => c.textContent?.trim())).toEqual(['Mitch', 'mitch@kwgroup.uk', 'ADMIN', '✓ On', 'Active', '18/05/26'])
    expect(within(pat).getAllByRole('cell').map((c) => c.textContent?.trim())).toEqual(['Pat', 'pat@kwgroup.uk', 'AGENT', '—', 'Inactive', '—'])
    // The list keeps the seed's codes; the display name is a tooltip.
    expect(within(mitch).getByText('ADMIN').getAttribute('title')).toBe('Admin')
    expect(within(pat).getByText('AGENT').getAttribute('title')).toBe('Agent')
  })

  it('marks the sorted column and asks to sort when any header is clicked', async () => {
    const onsort = vi.fn()
    render(UsersTable, { users, sort: 'email', desc: true, onsort })
    expect(screen.getByRole('columnheader', { name: /Email/ }).getAttribute('aria-sort')).toBe('descending')
    expect(screen.getByRole('columnheader', { name: /Name/ }).getAttribute('aria-sort')).toBe('none')
    const keys = { Name: 'name', Email: 'email', Role: 'role', MFA: 'mfa', Status: 'status', 'Last login': 'lastLogin' }
    for (const [label, key] of Object.entries(keys)) {
      // A real button: reachable with Tab, pressed with Enter or Space.
      const b = screen.getByRole('button', { name: new RegExp('^' + label) })
      expect(b.tagName).toBe('BUTTON')
      await fireEvent.click(b)
      expect(onsort).toHaveBeenLastCalledWith(key)
    }
  })

  it('renders hostile names as text, never as markup', () => {
    render(UsersTable, { users: [{ ...users[0], name: '<img src=x onerror=alert(1)>' }], sort: 'name', desc: false, onsort: () => {} })
    expect(screen.getByText('<img src=x onerror=alert(1)>')).toBeTruthy()
    expect(document.querySelector('img')).toBeNull()
  })

  it('offers Edit for everyone, Deactivate for active others, Reactivate for inactive, and never for yourself', async () => {
    const ondeactivate = vi.fn()
    const onreactivate = vi.fn()
    render(UsersTable, { users, sort: 'name', desc: false, onsort: () => {}, meId: 1, ondeactivate, onreactivate })
    expect(screen.getByRole('link', { name: 'Edit Mitch' }).getAttribute('href')).toBe('/admin/users/1/edit')
    expect(screen.queryByRole('button', { name: 'Deactivate Mitch' })).toBeNull()
    await fireEvent.click(screen.getByRole('button', { name: 'Reactivate Pat' }))
    expect(onreactivate).toHaveBeenCalledWith(users[1])
    expect(ondeactivate).not.toHaveBeenCalled()
  })

  it('offers a user the caller may not change only View, with the reason, and no checkbox to tick', async () => {
    const why = "This user's role is above yours."
    const rows = [{ ...users[0], canChange: false, why }, users[1]]
    render(UsersTable, { users: rows, sort: 'name', desc: false, onsort: () => {}, meId: 9, selectable: true, ondeactivate: () => {}, onreactivate: () => {} })
    expect(screen.queryByRole('link', { name: 'Edit Mitch' })).toBeNull()
    expect(screen.queryByRole('button', { name: 'Deactivate Mitch' })).toBeNull()
    const view = screen.getByRole('link', { name: 'View Mitch' })
    expect(view.getAttribute('title')).toBe(why)
    expect(document.getElementById(view.getAttribute('aria-describedby')!)?.textContent).toBe(why)
    const box = screen.getByRole('checkbox', { name: 'Select Mitch' }) as HTMLInputElement
    expect(box.disabled).toBe(true)
    expect(box.title).toBe(why)
    expect(screen.getByRole('link', { name: 'Edit Pat' })).toBeTruthy()
  })

  it('select all ticks every changeable user on the page', async () => {
    const rows = [users[0], users[1], { ...users[1], id: 3, name: 'Ada', canChange: false, why: 'No' }]
    render(UsersTable, { users: rows, sort: 'name', desc: false, onsort: () => {}, selectable: true })
    const all = screen.getByRole('checkbox', { name: 'Select all users on this page' }) as HTMLInputElement
    await fireEvent.click(all)
    expect((screen.getByRole('checkbox', { name: 'Select Mitch' }) as HTMLInputElement).checked).toBe(true)
    expect((screen.getByRole('checkbox', { name: 'Select Pat' }) as HTMLInputElement).checked).toBe(true)
    expect((screen.getByRole('checkbox', { name: 'Select Ada' }) as HTMLInputElement).checked).toBe(false)
    expect(all.checked).toBe(true)
    await fireEvent.click(screen.getByRole('checkbox', { name: 'Select Pat' }))
    expect(all.checked).toBe(false)
    expect(all.indeterminate).toBe(true)
  })

  it('marks someone who must change their password, in a neutral badge', () => {
    render(UsersTable, { users: [{ ...users[1], active: true, mustChangePassword: true }], sort: 'name', desc: false, onsort: () => {} })
    const badge = screen.getByText('Must change password')
    expect(badge.classList.contains('badge')).toBe(true)
    expect(badge.classList.contains('ok')).toBe(false)
  })

  it('shows a sign-in lock with its end and offers Unlock', async () => {
    const onunlock = vi.fn()
    const locked = [{ ...users[1], active: true, lockedUntil: '2026-05-18T10:15:00Z' }]
    render(UsersTable, { users: locked, sort: 'name', desc: false, onsort: () => {}, meId: 1, ondeactivate: () => {}, onunlock })
    expect(screen.getByText(/Locked until 18\/05 \d\d:15/)).toBeTruthy()
    await fireEvent.click(screen.getByRole('button', { name: 'Unlock Pat' }))
    expect(onunlock).toHaveBeenCalledWith(locked[0])
  })
})
