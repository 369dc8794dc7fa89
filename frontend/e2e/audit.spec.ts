import { test, expect, type Page } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { startServer, type Server } from './server'
import { admin, createNow, setupAdmin, signIn } from './helpers'

let server: Server
test.beforeAll(async () => {
  server = await startServer(setupAdmin)
})
test.afterAll(async () => {
  await server?.stop()
})

/** changeRole gives a user another role from their edit page. */
async function changeRole(page: Page, name: string, role: string) {
  await page.goto(server.url + '/admin/users')
  await page.getByRole('link', { name: `Edit ${name}` }).click()
  await page.getByLabel('Role').selectOption({ label: role })
  await page.getByRole('button', { name: 'Save changes' }).click()
  await expect(page.getByRole('status')).toContainText('Changes saved.')
}

/** dayTime is how From and To show a time: dd/mm/yyyy HH:MM, whatever the locale. */
function dayTime(d: Date) {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${pad(d.getDate())}/${pad(d.getMonth() + 1)}/${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}

test('audit a specific action: filter by user, then a time range, expand the role change', async ({ page, browser }) => {
  await signIn(page, server.url, admin.email, admin.password)
  // Something to audit: create Emma, then promote her.
  await createNow(page, server.url, { email: 'emma@kwgroup.uk', name: 'Emma Watts', role: 'Manager', password: 'emma-password-1' })
  await changeRole(page, 'Emma Watts', 'Admin')

  await page.getByRole('link', { name: 'Audit log' }).click()
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible()
  await expect(page.getByText('Events (24h)')).toBeVisible()
  await expect(page.locator('.stat .value').first()).toHaveText(/^\d+$/)
  for (const col of ['When', 'User', 'Action', 'About', 'Resource', 'IP']) {
    await expect(page.getByRole('columnheader', { name: col, exact: true })).toBeVisible()
  }

  // Filter by user, then a time range around now.
  await page.getByLabel('User').fill(admin.email)
  await page.getByLabel('User').press('Enter')
  await page.getByLabel('User').blur()
  await expect(page).toHaveURL(/user=mitch%40kwgroup\.uk/)
  const now = new Date()
  await page.getByLabel('From').fill(dayTime(new Date(now.getTime() - 60 * 60 * 1000)))
  await page.getByLabel('To').fill(dayTime(new Date(now.getTime() + 60 * 60 * 1000)))
  await page.getByLabel('To').blur()
  await expect(page).toHaveURL(/since=.*until=/)
  const rows = page.locator('tr.event')
  await expect(rows.first()).toContainText(admin.name)
  for (const r of await rows.all()) await expect(r).toContainText(admin.email)

  // The role change: action update on a user, expanded to before/after.
  await page.getByLabel('Action').selectOption('update')
  await page.getByLabel('Resource').selectOption('user')
  const change = page.locator('tr.event').first()
  await expect(change).toContainText('Updated')
  await change.getByRole('button', { name: /Details of event/ }).click()
  const diff = page.getByRole('table', { name: 'Before and after' })
  const roleRow = diff.getByRole('row', { name: /role/ })
  await expect(roleRow).toContainText('MANAGER')
  await expect(roleRow).toContainText('ADMIN')
  await expect(roleRow).toHaveClass(/changed/)
  await expect(diff.getByRole('row', { name: /email/ })).not.toHaveClass(/changed/)
  await expect(page.getByLabel('Recorded metadata')).toContainText('"role": "ADMIN"')

  // The filtered view is a bookmark: reloading keeps it.
  await page.reload()
  await expect(page.getByLabel('Action')).toHaveValue('update')
  await expect(page.locator('tr.event')).toHaveCount(1)

  // The chain verifies, and the filtered log downloads as CSV.
  await page.getByRole('button', { name: 'Verify' }).click()
  await expect(page.getByRole('status').filter({ hasText: 'verifies' })).toContainText('none changed, removed or moved')
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()])
  expect(download.suggestedFilename()).toMatch(/^gatehouse-audit-\d{4}-\d\d-\d\d\.csv$/)
  const csv = readFileSync(await download.path(), 'utf8').trim().split('\n')
  expect(csv[0]).toContain('time,actor_name,actor_email,action')
  expect(csv).toHaveLength(2)
  expect(csv[1]).toContain(',update,user,')
  await expect(page.getByRole('status').filter({ hasText: 'Exported' })).toHaveText('Exported 1 event.')

  // A MANAGER may not open the audit log.
  const m = await browser.newContext()
  const mp = await m.newPage()
  await createNow(page, server.url, { email: 'max@kwgroup.uk', name: 'Max Manager', role: 'Manager', password: 'max-password-1' })
  await signIn(mp, server.url, 'max@kwgroup.uk', 'max-password-1')
  await expect(mp.getByRole('link', { name: 'Audit log' })).toHaveCount(0)
  await mp.goto(server.url + '/admin/audit')
  await expect(mp.getByRole('heading', { name: "You don't have access to this page" })).toBeVisible()
  await m.close()
})

test('date presets fill the time range: today finds this session, yesterday finds nothing', async ({ page }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await page.goto(server.url + '/admin/audit')
  const range = page.getByRole('group', { name: 'Time range' })
  await range.getByRole('button', { name: 'Today' }).click()
  const midnight = new Date()
  midnight.setHours(0, 0, 0, 0)
  await expect(page.getByLabel('From')).toHaveValue(dayTime(midnight))
  await expect(page.getByLabel('To')).toHaveValue('')
  await expect(page).toHaveURL(/since=/)
  await expect(page.getByRole('button', { name: /^Details of event / }).first()).toBeVisible()
  await range.getByRole('button', { name: 'Yesterday' }).click()
  await expect(page.getByLabel('To')).toHaveValue(dayTime(midnight))
  await expect(page.getByRole('button', { name: /^Details of event / })).toHaveCount(0)
})

test('who changed that? one search finds the change, names whom it was about, and links to them', async ({ page }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await createNow(page, server.url, { email: 'zoe@kwgroup.uk', name: 'Zoë Adams', role: 'Agent', password: 'zoe-password-12' })
  await changeRole(page, 'Zoë Adams', 'Manager')

  await page.goto(server.url + '/admin/audit')
  await page.getByLabel('Search').fill('role')
  await expect(page).toHaveURL(/q=role/)
  const row = page.locator('tr.event').filter({ hasText: 'Zoë Adams' })
  await expect(row).toHaveCount(1)
  await expect(row).toContainText('role AGENT → MANAGER')
  await expect(row.getByText('Updated', { exact: true })).toHaveAttribute('title', 'update')
  // Accents and case fold: "zoe" finds her too.
  await page.getByLabel('Search').fill('ZOE')
  await expect(page).toHaveURL(/q=ZOE/)
  await expect(page.locator('tr.event').filter({ hasText: 'Created' })).toHaveCount(1)
  await expect(page.locator('tr.event').filter({ hasText: 'role AGENT → MANAGER' })).toHaveCount(1)

  // A click anywhere on the row opens it; another closes it.
  const first = page.locator('tr.event').filter({ hasText: 'role AGENT → MANAGER' })
  await first.locator('td.when').click()
  await expect(page.getByRole('table', { name: 'Before and after' })).toBeVisible()
  await first.locator('td.when').click()
  await expect(page.getByRole('table', { name: 'Before and after' })).toHaveCount(0)

  // The subject links to her page, whose Activity shows the change.
  await first.getByRole('link', { name: 'Zoë Adams' }).click()
  await expect(page).toHaveURL(/\/admin\/users\/\d+\/edit$/)
  const activity = page.getByRole('region', { name: 'Activity' })
  await expect(activity).toContainText('role AGENT → MANAGER')
  await expect(activity).toContainText('by ' + admin.name)
  await activity.getByRole('link', { name: 'Everything done to Zoë Adams' }).click()
  await expect(page).toHaveURL(/\/admin\/audit\?q=zoe%40kwgroup\.uk/)
  await expect(page.locator('tr.event').filter({ hasText: 'role AGENT → MANAGER' })).toHaveCount(1)
})

test('From and To read dd/mm/yyyy, and say what to fix when they cannot', async ({ page }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await page.goto(server.url + '/admin/audit')
  await page.getByLabel('From').fill('12/31/2026')
  await page.getByLabel('From').press('Tab')
  await expect(page.getByText('Write the day as dd/mm/yyyy, with a time (HH:MM) if you like.')).toBeVisible()
  await expect(page.getByLabel('From')).toHaveAttribute('aria-invalid', 'true')
  await expect(page).not.toHaveURL(/since=/)
  const today = new Date()
  const pad = (n: number) => String(n).padStart(2, '0')
  await page.getByLabel('From').fill(`${pad(today.getDate())}/${pad(today.getMonth() + 1)}/${today.getFullYear()}`)
  await page.getByLabel('From').press('Tab')
  await expect(page.getByText('Write the day as dd/mm/yyyy')).toHaveCount(0)
  await expect(page).toHaveURL(/since=/)
  await expect(page.locator('tr.event').first()).toBeVisible()
  // Reloading shows the same day, in the same form.
  await page.reload()
  await expect(page.getByLabel('From')).toHaveValue(`${pad(today.getDate())}/${pad(today.getMonth() + 1)}/${today.getFullYear()} 00:00`)
})
