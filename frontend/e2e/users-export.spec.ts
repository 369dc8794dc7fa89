import { test, expect, type Page } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { startServer, type Server } from './server'
import { admin, setupAdmin, signIn } from './helpers'

// Export users as CSV from the Users page (the list as filtered and sorted
// on screen, formulas defused), and re-send many invitations at once from
// the Invitations tab, with what was refused and why.

let server: Server
test.beforeAll(async ({ browser }) => {
  server = await startServer(setupAdmin)
  const page = await browser.newPage()
  await signIn(page, server.url, admin.email, admin.password)
  for (const u of people) {
    await call(page, 'CreateUser', { ...u, password: 'staff password 1', jobTitle: '', officeAddress: '', notes: '', mustChangePassword: false })
  }
  await page.close()
})
test.afterAll(async () => server?.stop())

const people = [
  { name: 'Ada Lovelace', email: 'ada@kwgroup.uk', role: 'MANAGER' },
  { name: 'Bob Stone', email: 'bob@kwgroup.uk', role: 'AGENT' },
  { name: '=HYPERLINK("http://evil.example","Click")', email: 'eve@kwgroup.uk', role: 'AGENT' },
  { name: 'Zoë Field', email: 'zoe@kwgroup.uk', role: 'VENDOR' },
]

async function call(page: Page, method: string, ...args: unknown[]) {
  const r = await page.request.post(`${server.url}/api/App.${method}`, { headers: { 'X-Gatehouse': '1' }, data: args })
  expect(r.ok(), await r.text()).toBe(true)
  return r.json()
}

/** parseCSV reads the simple CSV encoding/csv writes (quotes doubled inside quoted cells). */
function parseCSV(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++
      else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') row.push(cell), (cell = '')
    else if (c === '\n') row.push(cell), rows.push(row), (row = []), (cell = '')
    else cell += c
  }
  return rows
}

async function exportCSV(page: Page) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()])
  expect(download.suggestedFilename()).toMatch(/^gatehouse-users-\d{4}-\d\d-\d\d\.csv$/)
  return parseCSV(readFileSync((await download.path())!, 'utf8'))
}

test('export users: a CSV of the list as filtered and sorted on screen', async ({ page }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await page.goto(server.url + '/admin/users')
  const rows = await exportCSV(page)
  await expect(page.getByRole('status')).toHaveText('Exported 5 users.')
  expect(rows[0]).toEqual(['name', 'email', 'role', 'role_name', 'status', 'two_factor', 'last_login', 'created'])
  // In the list's order: by name, "=" before letters.
  expect(rows.slice(1).map((r) => r[1])).toEqual(['eve@kwgroup.uk', 'ada@kwgroup.uk', 'bob@kwgroup.uk', admin.email, 'zoe@kwgroup.uk'])
  const byEmail = Object.fromEntries(rows.slice(1).map((r) => [r[1], r]))
  // A name a spreadsheet would run as a formula is defused.
  expect(byEmail['eve@kwgroup.uk'][0]).toBe(`'${people[2].name}`)
  expect(byEmail['zoe@kwgroup.uk'].slice(0, 6)).toEqual(['Zoë Field', 'zoe@kwgroup.uk', 'VENDOR', 'Contractor / Vendor', 'active', 'off'])
  const me = byEmail[admin.email]
  expect(me.slice(2, 6)).toEqual(['SUPER_ADMIN', 'Super admin', 'active', 'off'])
  expect(me[6]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) // signed in: ISO 8601, UTC
  expect(me[7]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)

  // The search, role filter and sort on screen are what is exported.
  await page.getByLabel('Role').selectOption({ label: 'Agent' })
  await page.getByRole('columnheader', { name: /Email/ }).getByRole('button').click()
  await page.getByRole('columnheader', { name: /Email/ }).getByRole('button').click()
  await expect(page).toHaveURL(/role=AGENT.*sort=email.*desc=1/)
  await expect(page.getByRole('table').getByRole('row')).toHaveCount(3)
  const agents = await exportCSV(page)
  expect(agents.slice(1).map((r) => r[1])).toEqual(['eve@kwgroup.uk', 'bob@kwgroup.uk'])
  await page.getByLabel('Role').selectOption({ label: 'All roles' })
  await page.getByLabel('Search users').fill('zoe')
  await expect(page).toHaveURL(/q=zoe/)
  await expect(page.getByRole('table').getByRole('row')).toHaveCount(2)
  expect((await exportCSV(page)).slice(1).map((r) => r[0])).toEqual(['Zoë Field'])
})

test('a manager exports what their list shows; an agent has no users list to export', async ({ page }) => {
  await signIn(page, server.url, 'ada@kwgroup.uk', 'staff password 1')
  await page.goto(server.url + '/admin/users')
  const rows = await exportCSV(page)
  expect(rows.length - 1).toBe(5) // the super admin too, as the list shows them (View only)
  await page.context().clearCookies()
  await signIn(page, server.url, 'bob@kwgroup.uk', 'staff password 1')
  const agent = await page.request.get(`${server.url}/download/users`)
  expect(agent.status()).toBe(403)
  expect((await agent.json()).code).toBe('forbidden')
})

test('bulk resend: each invitation re-sent or refused with the reason', async ({ page, browser }) => {
  await signIn(page, server.url, admin.email, admin.password)
  const invited: Record<string, { invitation: { id: number }; link: string }> = {}
  for (const email of ['new1@kwgroup.uk', 'new2@kwgroup.uk', 'new3@kwgroup.uk']) {
    invited[email] = await call(page, 'InviteUser', { email, role: 'AGENT' })
  }
  await page.goto(server.url + '/admin/users?tab=invitations')
  const tab = page.getByRole('tabpanel', { name: 'Invitations' })
  await expect(tab.getByRole('row')).toHaveCount(4)
  await expect(tab.getByRole('region', { name: 'Bulk actions' })).toHaveCount(0)
  await tab.getByRole('checkbox', { name: 'Select the invitation to new1@kwgroup.uk' }).check()
  await tab.getByRole('checkbox', { name: 'Select the invitation to new2@kwgroup.uk' }).check()
  const bar = tab.getByRole('region', { name: 'Bulk actions' })
  await expect(bar).toContainText('2 selected')

  // Meanwhile another administrator revokes one of them.
  const other = await browser.newContext()
  const otherPage = await other.newPage()
  await signIn(otherPage, server.url, admin.email, admin.password)
  await call(otherPage, 'RevokeInvitation', invited['new2@kwgroup.uk'].invitation.id)
  await other.close()

  await bar.getByRole('button', { name: 'Resend' }).click()
  const dialog = page.getByRole('dialog', { name: 'Resend 2 selected invitations?' })
  await expect(dialog).toContainText('old link stops working')
  await dialog.getByRole('button', { name: 'Resend' }).click()
  const summary = tab.getByRole('status').filter({ hasText: 'Resent' })
  await expect(summary).toContainText('Resent 1. Refused 1:')
  await expect(summary.getByRole('listitem')).toHaveText(['new2@kwgroup.uk — This invitation was revoked and cannot be re-sent. Send a new invitation instead.'])
  await expect(bar).toHaveCount(0)
  // E-mail is not set up here: the summary says how the new link gets there.
  await expect(summary).toContainText('copy each new link with Copy link')

  // The re-sent invitation's old link no longer works; the untouched one's does.
  const info = async (link: string) => (await call(page, 'InvitationInfo', new URL(link).searchParams.get('token'))).state
  expect(await info(invited['new1@kwgroup.uk'].link)).toBe('unknown')
  expect(await info(invited['new3@kwgroup.uk'].link)).toBe('pending')
  // The revoked one left the pending list; the other two remain.
  await expect(tab.getByRole('row')).toHaveCount(3)
  // Select all offers every pending one.
  await tab.getByRole('checkbox', { name: 'Select all invitations shown' }).check()
  await expect(bar).toContainText('2 selected')
})
