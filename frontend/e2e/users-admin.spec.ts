import { test, expect } from '@playwright/test'
import { startServer, type Server } from './server'
import { TestSMTP } from './smtp'
import { admin, createNow, freshPage, setupAdmin, signIn } from './helpers'

let server: Server
let smtp: TestSMTP
test.beforeAll(async () => {
  smtp = new TestSMTP()
  await smtp.start()
  server = await startServer(setupAdmin)
})
test.afterAll(async () => {
  await server?.stop()
  await smtp?.stop()
})

test('settings: point e-mail at the office SMTP server and send a test', async ({ page }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await page.getByRole('link', { name: 'Settings', exact: true }).click()
  await expect(page.getByRole('heading', { name: 'E-mail (SMTP)' })).toBeVisible()

  await page.getByLabel('SMTP server').fill('127.0.0.1')
  await page.getByLabel('Port').fill('not a port')
  await page.getByRole('button', { name: 'Save e-mail settings' }).click()
  await expect(page.getByText('The port is a number')).toBeVisible()

  await page.getByLabel('Port').fill(String(smtp.port))
  await page.getByRole('combobox', { name: 'Security' }).selectOption('none')
  await page.getByLabel('From name').fill('Gatehouse at KW Group')
  await page.getByLabel('From address').fill('gatehouse@kwgroup.uk')
  await page.getByRole('button', { name: 'Save e-mail settings' }).click()
  await expect(page.getByText('E-mail settings saved.')).toBeVisible()

  await page.getByRole('button', { name: 'Send test e-mail' }).click()
  await expect(page.getByText(`Sent. Check the inbox of ${admin.email}.`)).toBeVisible()
  const m = await smtp.waitFor(admin.email)
  expect(m.subject).toBe('Gatehouse test e-mail')

  // Back up now: a checked copy in the data folder's backups.
  await page.getByRole('button', { name: 'Back up now' }).click()
  await expect(page.getByRole('status').filter({ hasText: 'Backed up to' })).toContainText(/backups\/gatehouse-\d{8}-\d{6}\.db \(\d+ KB\), checked\./)
})

test('add a new staff member: invite as Agent, open the e-mailed link, set name and password, land signed in', async ({ page, browser }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await page.getByRole('link', { name: '+ Invite user' }).click()
  await expect(page.getByRole('tab', { name: /Send invite/ })).toHaveAttribute('aria-selected', 'true')

  await page.getByLabel('Email').fill('emma@')
  await page.getByRole('button', { name: 'Send invitation' }).click()
  await expect(page.getByText('Enter an e-mail address like name@example.com.')).toBeVisible()

  await page.getByLabel('Email').fill('emma@kwgroup.uk')
  await page.getByLabel('Role').selectOption({ label: 'Agent' })
  await page.getByRole('button', { name: 'Send invitation' }).click()
  await expect(page.getByRole('status')).toContainText('Invitation created for emma@kwgroup.uk as Agent')
  const shown = await page.getByLabel('Invitation link').inputValue()
  expect(shown).toContain('/invite/accept?token=')
  await expect(page.getByRole('button', { name: 'Copy' })).toBeVisible()

  const mail = await smtp.waitFor('emma@kwgroup.uk')
  expect(mail.subject).toBe(`${admin.name} invited you to ${admin.org} on Gatehouse`)
  const link = (mail.text ?? '').match(/https?:\/\/\S+invite\/accept\?token=\S+/)![0]
  expect(link).toBe(shown)
  expect(mail.html).toContain('Accept the invitation')

  // The invitation is listed as pending, e-mail sent, on the list's Invitations tab.
  await page.getByRole('link', { name: 'Back to users' }).click()
  await expect(page.getByRole('tab', { name: /Invitations/ })).toHaveAttribute('aria-selected', 'true')
  const invRow = page.getByRole('row', { name: /emma@kwgroup.uk/ })
  await expect(invRow).toContainText('Pending')
  await expect(invRow).toContainText('Sent')

  // Emma opens the link in her own browser.
  const emma = await freshPage(browser)
  await emma.page.goto(link)
  await expect(emma.page.getByRole('heading', { name: `Join ${admin.org}` })).toBeVisible()
  await expect(emma.page.getByText(`${admin.name} (${admin.email}) invited emma@kwgroup.uk`)).toBeVisible()
  await emma.page.getByLabel('Full name').fill('Emma Watts')
  await emma.page.getByLabel('Password', { exact: true }).fill('emma-password-1')
  await emma.page.getByLabel('Confirm password').fill('emma-password-2')
  await emma.page.getByRole('button', { name: 'Accept invitation' }).click()
  await expect(emma.page.getByText('The two passwords are not the same.')).toBeVisible()
  await emma.page.getByLabel('Confirm password').fill('emma-password-1')
  await emma.page.getByRole('button', { name: 'Accept invitation' }).click()
  await expect(emma.page.getByRole('heading', { name: 'Your account' })).toBeVisible()
  await expect(emma.page.getByRole('banner')).toContainText('Emma Watts')

  // The link works once.
  const again = await freshPage(browser)
  await again.page.goto(link)
  await expect(again.page.getByRole('heading', { name: 'This invitation has already been used' })).toBeVisible()
  await again.page.goto(server.url + '/invite/accept?token=not-a-real-token')
  await expect(again.page.getByRole('heading', { name: 'This invitation link is not valid' })).toBeVisible()
  await again.ctx.close()
  await emma.ctx.close()

  // Back on the list (it opened on the Invitations tab), Emma is a user now.
  await page.reload()
  await expect(page.getByRole('tab', { name: /Invitations/ })).toHaveAttribute('aria-selected', 'true')
  await page.getByRole('tab', { name: 'Users', exact: true }).click()
  await expect(page.getByRole('table').first().getByRole('row', { name: /Emma Watts/ })).toContainText('AGENT')
})

test('create now, then sign in as that user', async ({ page, browser }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await page.goto(server.url + '/admin/users/invite')
  await page.getByRole('tab', { name: /Create now/ }).click()
  await expect(page.getByText("Don't paste them into chat or ticket replies")).toBeVisible()
  await page.getByLabel('Email').fill('jamie@kwgroup.uk')
  await page.getByLabel('Full name').fill('Jamie Lee')
  await page.getByLabel('Role').selectOption({ label: 'Manager' })
  await page.getByLabel('Password', { exact: true }).fill('1234567')
  await page.getByRole('button', { name: 'Create user' }).click()
  await expect(page.getByText('Use at least 8 characters.')).toBeVisible()
  await page.getByLabel('Password', { exact: true }).fill('jamie-password-1')
  await page.getByLabel('Job title (optional)').fill('Service desk lead')
  // Jamie's first sign-in is tested with the box ticked in recovery.spec.ts.
  await page.getByRole('checkbox', { name: 'Ask them to choose their own password at first sign-in' }).uncheck()
  await page.getByRole('button', { name: 'Create user' }).click()
  await expect(page.getByRole('status')).toContainText('Account created for Jamie Lee')

  const jamie = await freshPage(browser)
  await signIn(jamie.page, server.url, 'jamie@kwgroup.uk', 'jamie-password-1')
  await expect(jamie.page.getByRole('heading', { name: 'Users' })).toBeVisible()
  await jamie.ctx.close()
})

test('lock out a leaver: after Deactivate, their open session is refused on its next action', async ({ page, browser }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await createNow(page, server.url, { email: 'pat@kwgroup.uk', name: 'Pat Leaver', role: 'Manager', password: 'pat-password-1' })

  const pat = await freshPage(browser)
  await signIn(pat.page, server.url, 'pat@kwgroup.uk', 'pat-password-1')
  await expect(pat.page.getByRole('heading', { name: 'Users' })).toBeVisible()

  await page.goto(server.url + '/admin/users')
  await page.getByRole('button', { name: 'Deactivate Pat Leaver' }).click()
  const dialog = page.getByRole('dialog', { name: 'Deactivate Pat Leaver?' })
  await expect(dialog).toBeVisible()
  await dialog.getByRole('button', { name: 'Deactivate' }).click()
  await expect(page.getByRole('status')).toContainText('Pat Leaver was deactivated')
  await expect(page.getByRole('row', { name: /Pat Leaver/ })).toContainText('Inactive')

  // Pat's next action fails and lands on the sign-in page.
  await pat.page.getByLabel('Search users').fill('mitch')
  await expect(pat.page).toHaveURL(/\/login/)
  await pat.page.getByLabel('Email').fill('pat@kwgroup.uk')
  await pat.page.getByLabel('Password').fill('pat-password-1')
  await pat.page.getByRole('button', { name: 'Sign in' }).click()
  await expect(pat.page.getByRole('alert')).toHaveText('The e-mail address or password is not right.')
  await pat.ctx.close()
})

test('promote to admin: the role changes and the 2FA reminder is shown', async ({ page }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await page.goto(server.url + '/admin/users?q=jamie')
  await page.getByRole('link', { name: 'Edit Jamie Lee' }).click()
  await expect(page.getByRole('heading', { name: 'Edit Jamie Lee' })).toBeVisible()
  await expect(page.getByText('Joined')).toBeVisible()
  await page.getByLabel('Role').selectOption({ label: 'Admin' })
  await expect(page.getByText('ask them to enable 2FA from Account settings')).toBeVisible()
  await page.getByRole('button', { name: 'Save changes' }).click()
  await expect(page.getByRole('status')).toContainText('Changes saved.')
  await expect(page.getByRole('status')).toContainText('Ask them to enable 2FA')
  await page.getByRole('link', { name: '← Users' }).click()
  await expect(page.getByRole('row', { name: /Jamie Lee/ })).toContainText('ADMIN')

  // The audit event exists, with the role change in it.
  await page.goto(server.url + '/admin/audit?action=update&resource=user')
  const row = page.locator('tr.event').first()
  await expect(row).toContainText(admin.name)
  await row.getByRole('button', { name: /Details of event/ }).click()
  await expect(page.getByRole('table', { name: 'Before and after' }).getByRole('row', { name: /role/ })).toContainText('ADMIN')
})
