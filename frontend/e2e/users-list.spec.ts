import { test, expect, type Page } from '@playwright/test'
import { startServer, type Server } from './server'
import { admin, setupAdmin, signIn } from './helpers'

// The users list at office scale: more users than one page, sorted by any
// column, paged by keyset, every bit of it in the URL; bulk actions that
// report what they did and what they refused.

let server: Server
test.beforeAll(async ({ browser }) => {
  test.setTimeout(180_000)
  server = await startServer(setupAdmin)
  const page = await browser.newPage()
  await signIn(page, server.url, admin.email, admin.password)
  await seed(page)
  await page.close()
})
test.afterAll(async () => server?.stop())

const staff = 57 // with the admin, 58: two pages of 50
const pad = (n: number) => String(n).padStart(2, '0')
// Names and e-mails sort in opposite orders, so each sort shows on the first row.
const person = (i: number) => ({ name: `Staff ${pad(i)}`, email: `${String.fromCharCode(122 - (i % 26))}${pad(staff - i)}@kwgroup.uk`, role: ['AGENT', 'MANAGER', 'VENDOR'][i % 3] })

async function call(page: Page, method: string, ...args: unknown[]) {
  const r = await page.request.post(`${server.url}/api/App.${method}`, { headers: { 'X-Gatehouse': '1' }, data: args })
  expect(r.ok(), await r.text()).toBe(true)
  return r.json()
}

async function seed(page: Page) {
  // A few at a time: each is a bcrypt hash on the server.
  for (let i = 1; i <= staff; i += 4) {
    await Promise.all(
      [i, i + 1, i + 2, i + 3]
        .filter((k) => k <= staff)
        .map((k) => call(page, 'CreateUser', { ...person(k), password: `staff-password-${k}`, jobTitle: '', officeAddress: '', notes: '', mustChangePassword: false })),
    )
  }
}

const range = (page: Page) => page.getByRole('navigation', { name: 'Pages' }).locator('.range')
const firstName = (page: Page) => page.getByRole('table').getByRole('row').nth(1).locator('td.name')

test('sort by any column, page with a total, and come back to the same place by reload, Back and "← Users"', async ({ page }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await page.goto(server.url + '/admin/users')
  await expect(range(page)).toHaveText('1–50 of 58')
  await expect(firstName(page)).toContainText(admin.name)

  // Email: a click sorts ascending, a second click descending; both in the URL.
  const email = page.getByRole('columnheader', { name: /Email/ })
  await email.getByRole('button').click()
  await expect(email).toHaveAttribute('aria-sort', 'ascending')
  await expect(page).toHaveURL(/[?&]sort=email(&|$)/)
  await expect(page.getByRole('table').getByRole('row').nth(1).locator('td.email')).toHaveText(/^a\d\d@/)
  await email.getByRole('button').click()
  await expect(email).toHaveAttribute('aria-sort', 'descending')
  await expect(page).toHaveURL(/desc=1/)
  await expect(page.getByRole('table').getByRole('row').nth(1).locator('td.email')).toHaveText(/^z\d\d@/)
  await expect(page.getByRole('columnheader', { name: /Name/ })).toHaveAttribute('aria-sort', 'none')

  // The keyboard reaches every header: Role, with Enter.
  await page.getByRole('columnheader', { name: /Role/ }).getByRole('button').focus()
  await page.keyboard.press('Enter')
  await expect(page.getByRole('columnheader', { name: /Role/ })).toHaveAttribute('aria-sort', 'ascending')
  await expect(page).toHaveURL(/sort=role/)
  await expect(page).not.toHaveURL(/desc=1/)
  for (const col of ['MFA', 'Status', 'Last login']) {
    await page.getByRole('columnheader', { name: new RegExp(col) }).getByRole('button').click()
    await expect(page.getByRole('columnheader', { name: new RegExp(col) })).toHaveAttribute('aria-sort', 'ascending')
    await expect(range(page)).toHaveText('1–50 of 58')
  }

  // By name, the second page: its position and cursor are in the URL.
  await page.getByRole('columnheader', { name: /Name/ }).getByRole('button').click()
  await expect(page.getByRole('columnheader', { name: /Name/ })).toHaveAttribute('aria-sort', 'ascending')
  await page.getByRole('button', { name: 'Next →' }).click()
  await expect(range(page)).toHaveText('51–58 of 58')
  await expect(page).toHaveURL(/after=.+&at=51/)
  await expect(firstName(page)).toHaveText('Staff 50')
  const secondPage = page.url()

  await page.reload()
  await expect(range(page)).toHaveText('51–58 of 58')
  await expect(firstName(page)).toHaveText('Staff 50')

  // Into a user and Back.
  await page.getByRole('link', { name: 'Edit Staff 52' }).click()
  await expect(page.getByRole('heading', { name: 'Edit Staff 52' })).toBeVisible()
  await page.goBack()
  await expect(page).toHaveURL(secondPage)
  await expect(range(page)).toHaveText('51–58 of 58')

  // Into a user and "← Users", also with a search.
  await page.getByRole('link', { name: 'Edit Staff 55' }).click()
  await page.getByRole('link', { name: '← Users' }).click()
  await expect(page).toHaveURL(secondPage)
  await expect(firstName(page)).toHaveText('Staff 50')
  await page.getByLabel('Search users').fill('staff 1')
  await expect(range(page)).toHaveText('1–10 of 10')
  await expect(page).toHaveURL(/q=staff\+1/)
  await expect(page).not.toHaveURL(/after=/)
  await page.getByRole('link', { name: 'Edit Staff 12' }).click()
  await page.getByRole('link', { name: '← Users' }).click()
  await expect(page.getByLabel('Search users')).toHaveValue('staff 1')
  await expect(range(page)).toHaveText('1–10 of 10')

  // Previous from the second page.
  await page.goto(secondPage)
  await page.getByRole('button', { name: '← Previous' }).click()
  await expect(range(page)).toHaveText('1–50 of 58')
  await expect(firstName(page)).toContainText(admin.name)
  await page.goBack()
  await expect(range(page)).toHaveText('51–58 of 58')
})

test('bulk deactivate: what was done, and what was refused with the reason', async ({ page }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await page.goto(server.url + '/admin/users?q=staff+0')
  await expect(range(page)).toHaveText('1–9 of 9')

  // Yourself among them: refused, with the reason; the others are done.
  await page.getByRole('checkbox', { name: 'Select Staff 01' }).check()
  await page.getByRole('checkbox', { name: 'Select Staff 02' }).check()
  await page.getByLabel('Search users').fill('')
  await expect(range(page)).toHaveText('1–50 of 58')
  // A new list starts a new selection.
  await expect(page.getByRole('region', { name: 'Bulk actions' })).toHaveCount(0)
  await page.getByRole('checkbox', { name: 'Select Mitch Kendall' }).check()
  await page.getByRole('checkbox', { name: 'Select Staff 01' }).check()
  await page.getByRole('checkbox', { name: 'Select Staff 02' }).check()
  const bar = page.getByRole('region', { name: 'Bulk actions' })
  await expect(bar).toContainText('3 selected')
  await bar.getByRole('button', { name: 'Deactivate' }).click()
  const dialog = page.getByRole('dialog', { name: 'Deactivate 3 selected users?' })
  await expect(dialog).toBeVisible()
  await dialog.getByRole('button', { name: 'Deactivate' }).click()
  const summary = page.getByRole('status')
  await expect(summary).toContainText('Deactivated 2. Refused 1:')
  await expect(summary.getByRole('listitem')).toHaveText([`${admin.name} — This is the last active super admin. Make someone else a super admin first.`])
  await expect(page.getByRole('row', { name: /Staff 01/ })).toContainText('Inactive')
  await expect(page.getByRole('row', { name: /Staff 02/ })).toContainText('Inactive')
  await expect(page.getByRole('row', { name: /Mitch Kendall/ })).toContainText('Active')
  await expect(bar).toHaveCount(0)
  await expect(page.getByRole('checkbox', { name: 'Select Staff 01' })).not.toBeChecked()

  // Select all on the page, then change the role of the two that are left.
  await page.getByRole('checkbox', { name: 'Select all users on this page' }).check()
  await expect(bar).toContainText('50 selected')
  await page.getByRole('checkbox', { name: 'Select all users on this page' }).uncheck()
  await expect(bar).toHaveCount(0)
  await page.getByRole('checkbox', { name: 'Select Staff 01' }).check()
  await page.getByRole('checkbox', { name: 'Select Staff 02' }).check()
  await bar.getByRole('button', { name: 'Reactivate' }).click()
  await page.getByRole('dialog', { name: 'Reactivate 2 selected users?' }).getByRole('button', { name: 'Reactivate' }).click()
  await expect(page.getByRole('status')).toHaveText('Reactivated 2.')
  await page.getByRole('checkbox', { name: 'Select Staff 01' }).check()
  await bar.getByLabel('New role for the selected users').selectOption({ label: 'Manager' })
  await bar.getByRole('button', { name: 'Apply' }).click()
  await page.getByRole('dialog', { name: 'Make 1 selected user Manager?' }).getByRole('button', { name: 'Change role' }).click()
  await expect(page.getByRole('status')).toHaveText('Changed the role of 1.')
  await expect(page.getByRole('row', { name: /Staff 01/ })).toContainText('MANAGER')
})

test('rows offer a manager only what they may do: an admin is View, with the reason', async ({ page, browser }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await call(page, 'CreateUser', { email: 'mia@kwgroup.uk', name: 'Mia Manager', role: 'MANAGER', password: 'mia-password-1', jobTitle: '', officeAddress: '', notes: '', mustChangePassword: false })
  await call(page, 'CreateUser', { email: 'ada@kwgroup.uk', name: 'Ada Admin', role: 'ADMIN', password: 'ada-password-1', jobTitle: '', officeAddress: '', notes: '', mustChangePassword: false })
  const ctx = await browser.newContext()
  const mia = await ctx.newPage()
  await signIn(mia, server.url, 'mia@kwgroup.uk', 'mia-password-1')
  await mia.goto(server.url + '/admin/users?q=ada')
  const row = mia.getByRole('row', { name: /Ada Admin/ })
  await expect(row.getByRole('link', { name: 'View Ada Admin' })).toHaveAttribute('title', /\w/)
  await expect(row.getByRole('button', { name: 'Deactivate Ada Admin' })).toHaveCount(0)
  await expect(row.getByRole('checkbox', { name: 'Select Ada Admin' })).toBeDisabled()

  // The edit page says why, and offers no Deactivate either.
  await row.getByRole('link', { name: 'View Ada Admin' }).click()
  await expect(mia.getByRole('heading', { name: 'Edit Ada Admin' })).toBeVisible()
  await expect(mia.getByRole('button', { name: 'Deactivate' })).toHaveCount(0)
  await ctx.close()
})

test('deactivate and reactivate from the edit page, with the same confirm', async ({ page }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await call(page, 'CreateUser', { email: 'eve@kwgroup.uk', name: 'Eve Edit', role: 'AGENT', password: 'eve-password-1', jobTitle: '', officeAddress: '', notes: '', mustChangePassword: false })
  await page.goto(server.url + '/admin/users?q=eve')
  await page.getByRole('link', { name: 'Edit Eve Edit' }).click()
  const status = page.getByRole('region', { name: 'Status' })
  await status.getByRole('button', { name: 'Deactivate' }).click()
  const dialog = page.getByRole('dialog', { name: 'Deactivate Eve Edit?' })
  await expect(dialog).toContainText('signed out everywhere')
  await dialog.getByRole('button', { name: 'Deactivate' }).click()
  await expect(status.getByRole('status')).toHaveText('Eve Edit was deactivated and signed out everywhere.')
  await expect(status).toContainText('Inactive')
  await status.getByRole('button', { name: 'Reactivate' }).click()
  await expect(status.getByRole('status')).toHaveText('Eve Edit can sign in again.')
  await expect(status).toContainText('Active')

  // Your own page offers neither.
  await page.goto(server.url + '/admin/users?q=kendall')
  await page.getByRole('link', { name: 'Edit Mitch Kendall' }).click()
  await expect(page.getByRole('heading', { name: 'Edit Mitch Kendall' })).toBeVisible()
  await expect(page.getByRole('region', { name: 'Status' }).getByRole('button', { name: /Deactivate|Reactivate/ })).toHaveCount(0)
})

test("the edit page lists a user's devices and signs them out of one", async ({ page, browser }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await call(page, 'CreateUser', { email: 'dev@kwgroup.uk', name: 'Dev Ices', role: 'AGENT', password: 'dev-password-1', jobTitle: '', officeAddress: '', notes: '', mustChangePassword: false })
  // Dev signs in from a second browser.
  const other = await (await browser.newContext()).newPage()
  await signIn(other, server.url, 'dev@kwgroup.uk', 'dev-password-1')

  await page.goto(server.url + '/admin/users?q=dev@')
  await page.getByRole('link', { name: 'Edit Dev Ices' }).click()
  const devices = page.getByRole('region', { name: 'Signed in on' })
  await expect(devices.getByRole('listitem')).toHaveCount(1)
  await devices.getByRole('button', { name: /^Sign Dev Ices out of / }).click()
  await page.getByRole('dialog', { name: 'Sign out this device?' }).getByRole('button', { name: 'Sign out' }).click()
  await expect(devices.getByRole('status')).toContainText('Dev Ices was signed out of')
  await expect(devices).toContainText('Dev Ices is not signed in anywhere.')
  // Their browser is signed out on its next action.
  await other.reload()
  await expect(other).toHaveURL(/\/login/)
})
