import { test, expect, type Page } from '@playwright/test'
import { startServer, type Server } from './server'

let server: Server
test.beforeAll(async () => {
  server = await startServer()
})
test.afterAll(async () => {
  await server?.stop()
})

const admin = { org: 'KW Group', name: 'Mitch Kendall', email: 'mitch@kwgroup.uk', password: 'correct horse battery' }

async function signIn(page: Page, email: string, password: string) {
  await page.goto(server.url + '/login')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

test('first run: set up the admin, see yourself, search, sign out, and a wrong password is refused', async ({ page }) => {
  await page.goto(server.url + '/')
  await expect(page).toHaveURL(/\/setup$/)
  await expect(page.getByRole('heading', { name: 'Set up Gatehouse' })).toBeVisible()

  // Opened without the printed link, the page asks for the setup code.
  expect(server.setupCode).toMatch(/^[A-Z0-9]{12}$/)
  await page.getByLabel('Setup code').fill('NOTTHECODE12')
  await page.getByLabel('Organisation name').fill(admin.org)
  await page.getByLabel('Your full name').fill(admin.name)
  await page.getByLabel('Email').fill(admin.email)
  await page.getByLabel('Password', { exact: true }).fill(admin.password)
  await page.getByLabel('Confirm password').fill(admin.password)
  await page.getByRole('button', { name: 'Create administrator' }).click()
  await expect(page.getByText('Enter the setup code printed where Gatehouse was started')).toBeVisible()
  await page.getByLabel('Setup code').fill(server.setupCode)

  // Bad input gets its message beside the field, and nothing is created.
  await page.getByLabel('Organisation name').fill(admin.org)
  await page.getByLabel('Your full name').fill(admin.name)
  await page.getByLabel('Email').fill('mitch@')
  await page.getByLabel('Password', { exact: true }).fill('short')
  await page.getByLabel('Confirm password').fill('short')
  await page.getByRole('button', { name: 'Create administrator' }).click()
  await expect(page.getByText('Enter an e-mail address like name@example.com.')).toBeVisible()
  await page.getByLabel('Email').fill(admin.email)
  await page.getByRole('button', { name: 'Create administrator' }).click()
  await expect(page.getByText('Use at least 8 characters.')).toBeVisible()

  await page.getByLabel('Password', { exact: true }).fill(admin.password)
  await page.getByLabel('Confirm password').fill(admin.password)
  await page.getByRole('button', { name: 'Create administrator' }).click()

  // Signed in, on the users list, seeing yourself with the seed's columns
  // (after the bulk-selection checkbox).
  await expect(page).toHaveURL(/\/admin\/users/)
  await expect(page.getByRole('heading', { name: 'Users' })).toBeVisible()
  const table = page.getByRole('table')
  for (const col of ['Name', 'Email', 'Role', 'MFA', 'Status', 'Last login']) {
    await expect(table.getByRole('columnheader', { name: col })).toBeVisible()
  }
  const row = table.getByRole('row', { name: /Mitch Kendall/ })
  await expect(row).toContainText(admin.email)
  await expect(row).toContainText('SUPER_ADMIN')
  await expect(row).toContainText('Active')
  await expect(row.getByRole('cell').nth(6)).toHaveText(/^\d\d\/\d\d\/\d\d$/)
  await expect(page.getByRole('banner')).toContainText(admin.name)

  // Search narrows the list; a search with no match says so.
  await page.getByLabel('Search users').fill('nobody-here')
  await expect(page.getByText('No users match these filters.')).toBeVisible()
  await expect(page).toHaveURL(/q=nobody-here/)
  await page.getByLabel('Search users').fill('KENDALL')
  await expect(table.getByRole('row', { name: /Mitch Kendall/ })).toBeVisible()

  // The profile shows the signed-in user.
  await page.getByRole('link', { name: 'Account settings' }).click()
  await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible()
  await expect(page.getByText(admin.email)).toBeVisible()

  // Setup is refused once done.
  await page.goto(server.url + '/setup')
  await expect(page).not.toHaveURL(/\/setup/)

  // Sign out: the next visit asks to sign in.
  await page.getByRole('button', { name: 'Sign out', exact: true }).click()
  await expect(page).toHaveURL(/\/login/)
  await page.goto(server.url + '/admin/users')
  await expect(page).toHaveURL(/\/login\?next=%2Fadmin%2Fusers/)

  // A wrong password shows the message and keeps you out.
  await signIn(page, admin.email, 'not the password')
  await expect(page.getByRole('alert')).toHaveText('The e-mail address or password is not right.')
  await expect(page).toHaveURL(/\/login/)

  // The right one lands where you were going.
  await signIn(page, admin.email, admin.password)
  await expect(page.getByRole('heading', { name: 'Users' })).toBeVisible()
})

test('the API refuses cross-site and malformed calls with clear messages', async ({ request }) => {
  const setup = await request.post(server.url + '/api/App.Setup', {
    headers: { 'X-Gatehouse': '1' },
    data: [{ organisation: 'X', email: 'x@example.com', name: 'X', password: 'password123' }],
  })
  expect(setup.status()).toBe(409)
  expect((await setup.json()).message).toContain('already set up')

  const noHeader = await request.post(server.url + '/api/App.Me', { data: [] })
  expect(noHeader.status()).toBe(403)

  const crossSite = await request.post(server.url + '/api/App.Me', { headers: { 'X-Gatehouse': '1', Origin: 'http://evil.example' }, data: [] })
  expect(crossSite.status()).toBe(403)

  const garbage = await request.post(server.url + '/api/App.SignIn', { headers: { 'X-Gatehouse': '1', 'Content-Type': 'application/json' }, data: '{not json' })
  expect(garbage.status()).toBe(400)
  expect((await garbage.json()).message).toContain('JSON')

  const huge = await request.post(server.url + '/api/App.SignIn', { headers: { 'X-Gatehouse': '1' }, data: [{ email: 'x'.repeat(2 << 20), password: 'x' }] })
  expect(huge.status()).toBe(413)

  const noSession = await request.post(server.url + '/api/App.ListUsers', { headers: { 'X-Gatehouse': '1' }, data: [{}] })
  expect(noSession.status()).toBe(401)
})
