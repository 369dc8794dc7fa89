import { test, expect, type Page } from '@playwright/test'
import { spawnSync } from 'node:child_process'
import { cli, startServer, type Server } from './server'
import { admin, setupAdmin, signIn } from './helpers'

let server: Server
test.beforeAll(async () => {
  server = await startServer(setupAdmin)
})
test.afterAll(async () => {
  await server?.stop()
})

/** totp asks oathtool, an independent implementation, for the code at now + offset seconds. */
function totp(secret: string, offsetSeconds = 0): string {
  const at = new Date(Date.now() + offsetSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')
  const r = spawnSync('oathtool', ['--totp', '-b', '--now', at, secret], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error('oathtool failed (install it with make deps): ' + r.stderr)
  return r.stdout.trim()
}

async function passwordStep(page: Page, email: string, password: string) {
  await page.goto(server.url + '/login')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

test('2FA: enrol with the secret text, sign in with a code, the CLI reset, then sign in without one', async ({ page }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await page.getByRole('link', { name: 'Account settings' }).click()
  await expect(page.getByRole('heading', { name: /Two-factor authentication/ })).toContainText('Off')
  await page.getByRole('button', { name: 'Set up 2FA' }).click()
  await expect(page.getByRole('img', { name: 'QR code for your authenticator app' })).toBeVisible()
  const secret = (await page.getByLabel('Secret key').innerText()).replace(/\s+/g, '')
  expect(secret).toMatch(/^[A-Z2-7]{32}$/)

  await page.getByLabel('Code from the app').fill('000000')
  await page.getByRole('button', { name: 'Turn on 2FA' }).click()
  await expect(page.getByText('That code is not right.')).toBeVisible()
  await page.getByLabel('Code from the app').fill(totp(secret))
  await page.getByRole('button', { name: 'Turn on 2FA' }).click()
  await expect(page.getByRole('status')).toContainText('Two-factor authentication is on.')
  await expect(page.getByRole('heading', { name: /Two-factor authentication/ })).toContainText('✓ On')

  await page.getByRole('button', { name: 'Sign out', exact: true }).click()
  await passwordStep(page, admin.email, admin.password)
  await expect(page.getByRole('heading', { name: 'Two-factor authentication' })).toBeVisible()
  await page.getByLabel('Authentication code').fill('12ab56')
  await page.getByRole('button', { name: 'Verify' }).click()
  await expect(page.getByText('Enter the 6-digit code')).toBeVisible()
  // The next step's code: a later step than the one used to enrol.
  await page.getByLabel('Authentication code').fill(totp(secret, 30))
  await page.getByRole('button', { name: 'Verify' }).click()
  await expect(page.getByRole('heading', { name: 'Users' })).toBeVisible()
  await expect(page.getByRole('row', { name: /Mitch Kendall/ })).toContainText('✓ On')

  // The administrator resets 2FA on the back end, while the server runs
  // (the command reaches it through its control socket).
  const reset = cli(['2fa', 'reset', admin.email, '--data', server.dataDir])
  expect(reset.stderr).toBe('')
  expect(reset.status).toBe(0)
  expect(reset.stdout).toContain('Two-factor authentication is off for Mitch Kendall')

  await passwordStep(page, admin.email, admin.password)
  await expect(page.getByRole('heading', { name: 'Users' })).toBeVisible()
})

test('change password ends the other signed-in browser', async ({ page, browser }) => {
  await signIn(page, server.url, admin.email, admin.password)
  const otherCtx = await browser.newContext()
  const other = await otherCtx.newPage()
  await signIn(other, server.url, admin.email, admin.password)

  await page.goto(server.url + '/profile/settings')
  await expect(page.getByRole('heading', { name: "Where you're signed in" })).toBeVisible()
  await expect(page.getByText('This device')).toBeVisible()
  await expect(page.getByRole('button', { name: /^Sign out .* at 127\.0\.0\.1$/ }).first()).toBeVisible()

  await page.getByLabel('Current password').fill('not my password')
  await page.getByLabel('New password', { exact: true }).fill('a new password 2')
  await page.getByLabel('Confirm new password').fill('a new password 2')
  await page.getByRole('button', { name: 'Change password' }).click()
  await expect(page.getByText('That password is not right.')).toBeVisible()
  await page.getByLabel('Current password').fill(admin.password)
  await page.getByRole('button', { name: 'Change password' }).click()
  await expect(page.getByRole('status')).toContainText('Password changed.')

  await other.getByRole('link', { name: 'Account settings' }).click()
  await expect(other).toHaveURL(/\/login/)
  await otherCtx.close()

  await page.getByRole('button', { name: 'Sign out', exact: true }).click()
  await passwordStep(page, admin.email, admin.password)
  await expect(page.getByRole('alert')).toHaveText('The e-mail address or password is not right.')
  await passwordStep(page, admin.email, 'a new password 2')
  await expect(page.getByRole('heading', { name: 'Users' })).toBeVisible()
})
