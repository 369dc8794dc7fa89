import { test, expect } from '@playwright/test'
import { startServer, type Server } from './server'
import { admin, createNow, editUser, freshPage, setupAdmin, signIn } from './helpers'

// Without e-mail set up, every message says so: links are shown to copy,
// and an invitation that was never e-mailed is not a "failure".

let server: Server
test.beforeAll(async () => {
  server = await startServer(setupAdmin)
})
test.afterAll(async () => {
  await server?.stop()
})

test('invitation without SMTP: the page says to copy the link, the list shows "Not e-mailed (no SMTP)" in a neutral style', async ({ page }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await page.goto(server.url + '/admin/users/invite')
  await page.getByLabel('Email').fill('lee@kwgroup.uk')
  await page.getByRole('button', { name: 'Send invitation' }).click()
  await expect(page.getByRole('status')).toContainText('Invitation created for lee@kwgroup.uk')
  await expect(page.getByText('E-mail is not set up — copy the link and send it yourself')).toBeVisible()
  await expect(page.getByText('being e-mailed')).toHaveCount(0)
  await expect(page.getByLabel('Invitation link')).toHaveValue(/\/invite\/accept\?token=/)

  await page.getByRole('link', { name: 'Back to users' }).click()
  const row = page.getByRole('row', { name: /lee@kwgroup.uk/ })
  await expect(row).toContainText('Pending')
  const mail = row.getByText('Not e-mailed (no SMTP)')
  await expect(mail).toBeVisible()
  await expect(mail).toHaveClass(/mail-neutral/)
  await expect(row).not.toContainText('Failed')
  await expect(row).not.toContainText('e-mail is not set up in Settings')

  // Revoked, it shows no delivery problem at all.
  await row.getByRole('button', { name: 'Revoke invitation to lee@kwgroup.uk' }).click()
  await page.getByRole('dialog', { name: 'Revoke invitation?' }).getByRole('button', { name: 'Revoke' }).click()
  await expect(page.getByRole('status')).toContainText('was revoked')
  await page.getByRole('checkbox', { name: 'Show accepted and revoked' }).check()
  const revoked = page.getByRole('row', { name: /lee@kwgroup.uk/ })
  await expect(revoked).toContainText('Revoked')
  await expect(revoked).not.toContainText('Not e-mailed')
  await expect(revoked).not.toContainText('Failed')
})

test('without SMTP: no "Forgot password?", and an admin reset link is shown to copy with the truthful message', async ({ page, browser }) => {
  const visitor = await freshPage(browser)
  await visitor.page.goto(server.url + '/login')
  await expect(visitor.page.getByRole('heading', { name: 'Sign in' })).toBeVisible()
  await expect(visitor.page.getByRole('button', { name: 'Forgot password?' })).toHaveCount(0)

  await signIn(page, server.url, admin.email, admin.password)
  await createNow(page, server.url, { email: 'kim@kwgroup.uk', name: 'Kim Park', role: 'Agent', password: 'kim-old-password' })
  await editUser(page, server.url, 'Kim Park')
  const section = page.getByRole('region', { name: 'Password' })
  await section.getByRole('button', { name: 'Send password reset link' }).click()
  await expect(section.getByRole('status')).toHaveText('E-mail is not set up — copy the link and send it yourself. It works once, for an hour.')
  const link = await section.getByLabel('Password reset link').inputValue()

  await visitor.page.goto(link)
  await visitor.page.getByLabel('New password', { exact: true }).fill('kim-new-password')
  await visitor.page.getByLabel('Confirm new password').fill('kim-new-password')
  await visitor.page.getByRole('button', { name: 'Set new password' }).click()
  await expect(visitor.page.getByRole('heading', { name: 'Your password is changed' })).toBeVisible()
  await visitor.ctx.close()
})
