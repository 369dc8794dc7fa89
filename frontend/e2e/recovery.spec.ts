import { test, expect, request, type Page } from '@playwright/test'
import { startServer, type Server } from './server'
import { TestSMTP } from './smtp'
import { admin, createNow, editUser, freshPage, setupAdmin, signIn } from './helpers'

// Account recovery with e-mail set up (issue 12): "Forgot password?", a
// reset link an administrator sends, temporary passwords, and the
// change-password step of a first sign-in.

let server: Server
let smtp: TestSMTP
test.beforeAll(async () => {
  smtp = new TestSMTP()
  await smtp.start()
  server = await startServer(setupAdmin)
  // Point e-mail at the test SMTP server through the API (the Settings page has its own test).
  const api = await request.newContext({ baseURL: server.url, extraHTTPHeaders: { 'X-Gatehouse': '1' } })
  expect((await api.post('/api/App.SignIn', { data: [{ email: admin.email, password: admin.password }] })).ok()).toBe(true)
  const saved = await api.post('/api/App.UpdateSettings', {
    data: [{ smtpHost: '127.0.0.1', smtpPort: smtp.port, smtpSecurity: 'none', smtpFromName: 'Gatehouse', smtpFromAddress: 'gatehouse@kwgroup.uk' }],
  })
  expect(saved.ok(), await saved.text()).toBe(true)
  await api.dispose()
})
test.afterAll(async () => {
  await server?.stop()
  await smtp?.stop()
})

function resetLinkIn(text: string | undefined): string {
  const m = (text ?? '').match(/https?:\/\/\S+\/reset-password\?token=\S+/)
  if (!m) throw new Error('no reset link in: ' + text)
  return m[0]
}

/** chooseNewPassword fills the reset page opened from link. */
async function chooseNewPassword(page: Page, link: string, email: string, password: string) {
  await page.goto(link)
  await expect(page.getByRole('heading', { name: 'Choose a new password' })).toBeVisible()
  await expect(page.getByText(`For ${email}.`)).toBeVisible()
  await page.getByLabel('New password', { exact: true }).fill(password)
  await page.getByLabel('Confirm new password').fill(password)
  await page.getByRole('button', { name: 'Set new password' }).click()
  await expect(page.getByRole('heading', { name: 'Your password is changed' })).toBeVisible()
}

test('forgot password: ask on the sign-in page, open the e-mailed link, choose a new password, sign in with it', async ({ page, browser }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await createNow(page, server.url, { email: 'emma@kwgroup.uk', name: 'Emma Watts', role: 'Agent', password: 'emma-old-password' })

  const emma = await freshPage(browser)
  await emma.page.goto(server.url + '/login')
  await emma.page.getByRole('button', { name: 'Forgot password?' }).click()
  await expect(emma.page.getByRole('heading', { name: 'Forgot your password?' })).toBeVisible()
  // An address without an account gets the very same answer.
  await emma.page.getByLabel('Email').fill('nobody@kwgroup.uk')
  await emma.page.getByRole('button', { name: 'E-mail me a link' }).click()
  await expect(emma.page.getByRole('status')).toHaveText("If an account exists for that address, we've e-mailed a link to choose a new password. It works once, for an hour.")
  await emma.page.getByRole('button', { name: '← Back to sign in' }).click()
  await emma.page.getByRole('button', { name: 'Forgot password?' }).click()
  const before = smtp.messages.length
  await emma.page.getByLabel('Email').fill('emma@kwgroup.uk')
  await emma.page.getByRole('button', { name: 'E-mail me a link' }).click()
  await expect(emma.page.getByRole('status')).toHaveText("If an account exists for that address, we've e-mailed a link to choose a new password. It works once, for an hour.")

  const mail = await smtp.waitFor('emma@kwgroup.uk', before)
  const link = resetLinkIn(mail.text)
  expect(smtp.messages.some((m) => JSON.stringify(m.to).includes('nobody@'))).toBe(false)

  // The reset page checks that both passwords match, then sets it.
  await emma.page.goto(link)
  await emma.page.getByLabel('New password', { exact: true }).fill('emma-new-password')
  await emma.page.getByLabel('Confirm new password').fill('emma-new-passwort')
  await emma.page.getByRole('button', { name: 'Set new password' }).click()
  await expect(emma.page.getByText('The two passwords are not the same.')).toBeVisible()
  await chooseNewPassword(emma.page, link, 'emma@kwgroup.uk', 'emma-new-password')

  // Sign in, the address already filled in.
  await emma.page.getByRole('link', { name: 'Sign in' }).click()
  await expect(emma.page.getByLabel('Email')).toHaveValue('emma@kwgroup.uk')
  await emma.page.getByLabel('Password').fill('emma-old-password')
  await emma.page.getByRole('button', { name: 'Sign in' }).click()
  await expect(emma.page.getByRole('alert')).toHaveText('The e-mail address or password is not right.')
  await emma.page.getByLabel('Password').fill('emma-new-password')
  await emma.page.getByRole('button', { name: 'Sign in' }).click()
  await expect(emma.page.getByRole('heading', { name: 'Account settings' })).toBeVisible()

  // The link worked once.
  await emma.page.goto(link)
  await expect(emma.page.getByRole('heading', { name: 'This reset link is not valid' })).toBeVisible()
  await emma.page.goto(server.url + '/reset-password?token=not-a-real-token')
  await expect(emma.page.getByRole('heading', { name: 'This reset link is not valid' })).toBeVisible()
  await emma.ctx.close()
})

test('admin sends a reset link from the edit form: e-mailed, shown with Copy, and it works', async ({ page, browser }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await createNow(page, server.url, { email: 'sam@kwgroup.uk', name: 'Sam Agent', role: 'Agent', password: 'sam-old-password' })
  await editUser(page, server.url, 'Sam Agent')
  const section = page.getByRole('region', { name: 'Password' })
  await expect(section).toBeVisible()

  const before = smtp.messages.length
  await section.getByRole('button', { name: 'Send password reset link' }).click()
  await expect(section.getByRole('status')).toHaveText('E-mailed to sam@kwgroup.uk — the link works once, for an hour')
  const shown = await section.getByLabel('Password reset link').inputValue()
  expect(shown).toContain('/reset-password?token=')
  await expect(section.getByRole('button', { name: 'Copy' })).toBeVisible()

  const mail = await smtp.waitFor('sam@kwgroup.uk', before)
  expect(resetLinkIn(mail.text)).toBe(shown)

  const sam = await freshPage(browser)
  await chooseNewPassword(sam.page, shown, 'sam@kwgroup.uk', 'sam-new-password')
  await signIn(sam.page, server.url, 'sam@kwgroup.uk', 'sam-new-password')
  await sam.ctx.close()
})

test('Create now with "choose their own password": the first sign-in lands on the change step and nothing else works first', async ({ page, browser }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await page.goto(server.url + '/admin/users/invite?tab=create')
  await expect(page.getByRole('checkbox', { name: 'Ask them to choose their own password at first sign-in' })).toBeChecked()
  // Generate: a strong password, shown once, with Copy.
  await page.getByRole('button', { name: 'Generate' }).click()
  const field = page.getByLabel('Password', { exact: true })
  await expect(field).toHaveAttribute('type', 'text')
  const temporary = await field.inputValue()
  expect(temporary).toMatch(/^\S{20}$/)
  await expect(page.getByRole('button', { name: 'Copy the generated password' })).toBeVisible()
  await page.getByRole('button', { name: 'Hide password' }).click()
  await expect(field).toHaveAttribute('type', 'password')
  await createNow(page, server.url, { email: 'jamie@kwgroup.uk', name: 'Jamie Lee', role: 'Manager', password: temporary, mustChange: true })
  await expect(page.getByText('must choose their own password at their first sign-in')).toBeVisible()
  await page.goto(server.url + '/admin/users')
  await expect(page.getByRole('row', { name: /Jamie Lee/ })).toContainText('Must change password')

  await editUser(page, server.url, 'Jamie Lee')
  await expect(page.getByRole('region', { name: 'Status' })).toContainText('Must change password')

  const jamie = await freshPage(browser)
  await signIn(jamie.page, server.url, 'jamie@kwgroup.uk', temporary)
  await expect(jamie.page).toHaveURL(/\/profile\/settings$/)
  await expect(jamie.page.getByRole('heading', { name: 'Choose your own password' })).toBeVisible()
  await expect(jamie.page.getByRole('navigation', { name: 'Main' }).getByRole('link')).toHaveText(['Account settings'])
  // Nothing else first: the users list sends them back.
  await jamie.page.goto(server.url + '/admin/users')
  await expect(jamie.page).toHaveURL(/\/profile\/settings$/)
  await expect(jamie.page.getByRole('heading', { name: 'Choose your own password' })).toBeVisible()

  await jamie.page.getByLabel('Temporary password').fill(temporary)
  await jamie.page.getByLabel('New password', { exact: true }).fill('jamie-own-password')
  await jamie.page.getByLabel('Confirm new password').fill('jamie-own-password')
  await jamie.page.getByRole('button', { name: 'Set my password' }).click()
  await expect(jamie.page).toHaveURL(/\/admin\/users$/)
  await expect(jamie.page.getByRole('heading', { name: 'Users' })).toBeVisible()
  await jamie.ctx.close()

  await page.reload()
  await expect(page.getByRole('region', { name: 'Status' })).not.toContainText('Must change password')
})

test('admin sets a temporary password: confirmed, and they must choose their own at the next sign-in', async ({ page, browser }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await createNow(page, server.url, { email: 'pat@kwgroup.uk', name: 'Pat Jones', role: 'Agent', password: 'pat-old-password' })
  await editUser(page, server.url, 'Pat Jones')
  const section = page.getByRole('region', { name: 'Password' })
  await section.getByRole('button', { name: 'Generate' }).click()
  const temporary = await section.getByLabel('Temporary password', { exact: true }).inputValue()
  await section.getByRole('button', { name: 'Set temporary password' }).click()
  const dialog = page.getByRole('dialog', { name: 'Set a temporary password for Pat Jones?' })
  await expect(dialog).toContainText('They must choose their own password at their next sign-in')
  await dialog.getByRole('button', { name: 'Set temporary password' }).click()
  await expect(section.getByRole('status')).toContainText('They must choose their own password at their next sign-in.')
  await expect(page.getByRole('region', { name: 'Status' })).toContainText('Must change password')

  const pat = await freshPage(browser)
  await signIn(pat.page, server.url, 'pat@kwgroup.uk', temporary)
  await expect(pat.page.getByRole('heading', { name: 'Choose your own password' })).toBeVisible()
  await pat.ctx.close()
})
