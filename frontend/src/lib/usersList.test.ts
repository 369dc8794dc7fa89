import { describe, expect, it } from 'vitest'
import { exportHref, exportInput, exportText, listQuery, nextSort, rangeText, readListState, rememberList, usersListHref } from './usersList'

describe('users list state in the URL', () => {
  it('round-trips filters, sort, the page cursor and its position', () => {
    const qs = listQuery({ search: ' zoë ', role: 'AGENT', status: 'inactive', sort: 'lastLogin', desc: true, tenantId: 4, after: 'abc=', at: 51, tab: 'users' })
    expect(qs).toBe('?q=zo%C3%AB&role=AGENT&status=inactive&sort=lastLogin&desc=1&tenant=4&after=abc%3D&at=51')
    expect(readListState(new URLSearchParams(qs))).toEqual({ search: 'zoë', role: 'AGENT', status: 'inactive', sort: 'lastLogin', desc: true, tenantId: 4, after: 'abc=', before: '', at: 51, tab: 'users' })
  })

  it('leaves defaults out, and a first page has no position', () => {
    expect(listQuery({ sort: 'name', desc: false, at: 1 })).toBe('')
    expect(listQuery({ at: 51 })).toBe('')
    expect(listQuery({ tab: 'invitations' })).toBe('?tab=invitations')
  })

  it('reads nonsense as the defaults', () => {
    const s = readListState(new URLSearchParams('sort=password&status=deleted&at=-3&tab=x&after=a&before=b'))
    expect(s).toMatchObject({ sort: 'name', status: '', at: 1, tab: 'users', after: 'a', before: '' })
  })

  it('flips the direction on the sorted column, and sorts a new column ascending', () => {
    expect(nextSort({ sort: 'role', desc: false }, 'role')).toEqual({ sort: 'role', desc: true })
    expect(nextSort({ sort: 'role', desc: true }, 'mfa')).toEqual({ sort: 'mfa', desc: false })
  })

  it('says which rows are on screen, and a lower bound with a +', () => {
    expect(rangeText(1, 50, 220, false)).toBe('1–50 of 220')
    expect(rangeText(201, 20, 220, false)).toBe('201–220 of 220')
    expect(rangeText(10001, 50, 10000, true)).toBe('10,001–10,050 of 10,000+')
    expect(rangeText(1, 0, 0, false)).toBe('0 of 0')
  })

  it('remembers the list for the edit page\'s way back', () => {
    sessionStorage.clear()
    expect(usersListHref()).toBe('/admin/users')
    rememberList('?q=ada&sort=email')
    expect(usersListHref()).toBe('/admin/users?q=ada&sort=email')
  })
})

describe('exporting the list', () => {
  const st = readListState(new URLSearchParams('q=zoë&role=AGENT&status=active&sort=email&desc=1&tenant=3&after=abc&at=51&tab=invitations'))

  it('exports the filters, sort and tenant on screen, never the page or tab', () => {
    expect(exportHref(st)).toBe('/download/users?q=zo%C3%AB&role=AGENT&status=active&sort=email&desc=1&tenant=3')
    expect(exportInput(st)).toEqual({ search: 'zoë', role: 'AGENT', status: 'active', sort: 'email', desc: true, tenantId: 3 })
    expect(exportHref(readListState(new URLSearchParams('')))).toBe('/download/users')
  })

  it('says how far it got, and where a saved file went', () => {
    expect(exportText(1000, false)).toBe('Exporting… 1,000 users so far')
    expect(exportText(1, true)).toBe('Exported 1 user.')
    expect(exportText(220, true, '/home/mitch/users.csv')).toBe('Exported 220 users to /home/mitch/users.csv.')
  })
})
