import type { ListUsersInput, UserSort } from './api'

// The users list's state lives in its URL: filters, sort, the page on
// screen (its keyset cursor and the position of its first row) and the tab.
// Reload and Back then return to the same place, and a list can be shared.

export const pageSize = 50

export const sortKeys: UserSort[] = ['name', 'email', 'role', 'mfa', 'status', 'lastLogin']

export type Status = '' | 'active' | 'inactive'
export type ListTab = 'users' | 'invitations'

export interface ListState {
  search: string
  role: string
  status: Status
  sort: UserSort
  desc: boolean
  tenantId: number
  /** The keyset cursor of the page on screen: after one, or before one. */
  after: string
  before: string
  /** 1-based position of the page's first row, for "51–100 of 220". */
  at: number
  tab: ListTab
}

export function readListState(q: URLSearchParams): ListState {
  const sort = q.get('sort') as UserSort
  const status = q.get('status')
  const at = Number(q.get('at'))
  return {
    search: q.get('q') ?? '',
    role: q.get('role') ?? '',
    status: status === 'active' || status === 'inactive' ? status : '',
    sort: sortKeys.includes(sort) ? sort : 'name',
    desc: q.get('desc') === '1',
    tenantId: Number(q.get('tenant')) || 0,
    after: q.get('after') ?? '',
    before: q.get('after') ? '' : (q.get('before') ?? ''),
    at: Number.isInteger(at) && at > 0 ? at : 1,
    tab: q.get('tab') === 'invitations' ? 'invitations' : 'users',
  }
}

/** listQuery is the query string for a state, defaults left out ('' for none). */
export function listQuery(s: Partial<ListState>): string {
  const p = new URLSearchParams()
  if (s.search?.trim()) p.set('q', s.search.trim())
  if (s.role) p.set('role', s.role)
  if (s.status) p.set('status', s.status)
  if (s.sort && s.sort !== 'name') p.set('sort', s.sort)
  if (s.desc) p.set('desc', '1')
  if (s.tenantId) p.set('tenant', String(s.tenantId))
  if (s.after) p.set('after', s.after)
  else if (s.before) p.set('before', s.before)
  if ((s.after || s.before) && s.at && s.at > 1) p.set('at', String(s.at))
  if (s.tab === 'invitations') p.set('tab', 'invitations')
  const qs = p.toString()
  return qs ? '?' + qs : ''
}

/** nextSort: a click on the sorted column flips its direction; another column sorts ascending. */
export function nextSort(cur: { sort: UserSort; desc: boolean }, by: UserSort): { sort: UserSort; desc: boolean } {
  return cur.sort === by ? { sort: by, desc: !cur.desc } : { sort: by, desc: false }
}

const count = (n: number) => n.toLocaleString('en-GB')

/** rangeText says which rows are on screen: "1–50 of 220", "10,001–10,050 of 10,000+". */
export function rangeText(at: number, rows: number, total: number, atLeast: boolean): string {
  const of = count(total) + (atLeast ? '+' : '')
  if (rows === 0) return `0 of ${of}`
  return `${count(at)}–${count(at + rows - 1)} of ${of}`
}

/** The export of the list as on screen: its filters, sort and tenant, every page. */
export function exportInput(s: ListState): ListUsersInput {
  return { search: s.search, role: s.role, status: s.status, sort: s.sort, desc: s.desc, tenantId: s.tenantId }
}

/** exportHref is the browser's download of the list as on screen (GET /download/users). */
export function exportHref(s: ListState): string {
  return '/download/users' + listQuery(exportInput(s))
}

/** exportText says how an export of the users list is going. */
export function exportText(users: number, done: boolean, path = ''): string {
  const n = `${count(users)} ${users === 1 ? 'user' : 'users'}`
  return done ? `Exported ${n}${path ? ` to ${path}` : ''}.` : `Exporting… ${n} so far`
}

// The edit page's "← Users" returns to the list as it was left. The query
// is kept for the browser tab (sessionStorage), so it survives a reload.
const remembered = 'gatehouse.usersList'

export function rememberList(query: string) {
  try {
    sessionStorage.setItem(remembered, query)
  } catch {
    // storage refused (private mode): the link goes to the plain list
  }
}

export function usersListHref(): string {
  let q = ''
  try {
    q = sessionStorage.getItem(remembered) ?? ''
  } catch {
    q = ''
  }
  return '/admin/users' + (q.startsWith('?') ? q : '')
}
