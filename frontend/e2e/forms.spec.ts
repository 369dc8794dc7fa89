import { test, expect, type Page } from '@playwright/test'
import { startServer, type Server } from './server'
import { admin, setupAdmin, signIn } from './helpers'

// The main forms show every mistake at once, each beside its field; what
// only the server can know (an address already in use) lands beside its
// field too.

let server: Server
test.beforeAll(async () => {
  server = await startServer(setupAdmin)
})
test.afterAll(async () => server?.stop())

/** errorOf is the message an input points at with aria-describedby. */
async function errorOf(page: Page, label: string) {
  const input = page.getByLabel(label, { exact: true })
  await expect(input).toHaveAttribute('aria-invalid', 'true')
  const id = (await input.getAttribute('aria-describedby'))!.split(' ')[0]
  return page.locator(`[id="${id}"]`)
}

test('Create now and Send invite: every error at once, beside its field', async ({ page }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await page.goto(server.url + '/admin/users/invite?tab=create')
  await page.getByLabel('Email').fill('emma@')
  await page.getByLabel('Password', { exact: true }).fill('short')
  await page.getByRole('button', { name: 'Create user' }).click()
  await expect(await errorOf(page, 'Email')).toHaveText('Enter an e-mail address like name@example.com.')
  await expect(await errorOf(page, 'Full name')).toHaveText('Enter a name.')
  await expect(await errorOf(page, 'Password')).toHaveText('Use at least 8 characters.')
  await expect(page.getByLabel('Email')).toBeFocused()

  // Fixed, the server's own answer (the address is in use) is beside Email.
  await page.getByLabel('Email').fill(admin.email)
  await page.getByLabel('Full name').fill('Second Mitch')
  await page.getByLabel('Password', { exact: true }).fill('long-enough-password')
  await page.getByRole('button', { name: 'Create user' }).click()
  await expect(await errorOf(page, 'Email')).toContainText(/already|in use|exists/i)
  await expect(page.getByLabel('Full name')).not.toHaveAttribute('aria-invalid', 'true')

  await page.getByRole('tab', { name: /Send invite/ }).click()
  await page.getByRole('button', { name: 'Send invitation' }).click()
  await expect(await errorOf(page, 'Email')).toHaveText('Enter an e-mail address.')
})

test('Edit user and Settings: every error at once, beside its field', async ({ page }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await page.goto(server.url + '/admin/users?q=kendall')
  await page.getByRole('link', { name: `Edit ${admin.name}` }).click()
  await page.getByLabel('Full name').fill('   ')
  await page.getByRole('button', { name: 'Save changes' }).click()
  await expect(await errorOf(page, 'Full name')).toHaveText('Enter a name.')

  await page.goto(server.url + '/admin/settings')
  await page.getByLabel('SMTP server').fill('smtp.kwgroup.uk')
  await page.getByLabel('Port').fill('99999')
  await page.getByRole('button', { name: 'Save e-mail settings' }).click()
  await expect(await errorOf(page, 'Port')).toHaveText('The port is a number from 1 to 65535 (usually 587, 465 or 25).')
  await expect(await errorOf(page, 'From address')).toHaveText('Enter the address invitations are sent from.')
  await expect(page.getByLabel('Port')).toBeFocused()

  await page.getByLabel('Base URL').fill('gatehouse.kwgroup.uk/path')
  await page.getByRole('button', { name: 'Save links' }).click()
  await expect(await errorOf(page, 'Base URL')).toHaveText('Enter an address like https://gatehouse.example.com:8420, without a path query.')
})
