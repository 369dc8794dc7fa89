import { test, expect, type Page } from '@playwright/test'
import { startServer, type Server } from './server'
import { admin, createNow, freshPage, setupAdmin, signIn } from './helpers'

// Settings (issue 13): one save model — every card staged until its own
// Save, "Unsaved changes" while staged, "Saved" after — and risky settings
// that ask first, saying what will happen, counted by the server.

let server: Server
test.beforeAll(async () => {
  server = await startServer(setupAdmin)
})
test.afterAll(async () => {
  await server?.stop()
})

/** saved reads the settings as stored, through the API with the page's own session. */
async function saved(page: Page) {
  const res = await page.request.post(server.url + '/api/App.GetSettings', { data: [], headers: { 'X-Gatehouse': '1' } })
  expect(res.ok(), await res.text()).toBe(true)
  return (await res.json()) as { multiTenant: boolean; retentionDays: number; lanEnabled: boolean; security: { recoveryCodes: boolean; requireMfaForAdmins: boolean } }
}

async function openSettings(page: Page) {
  await page.goto(server.url + '/admin/settings')
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible()
}

test('one save model: each card stages its changes, says so, saves on its own button, from the keyboard', async ({ page }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await openSettings(page)
  for (const name of ['Save e-mail settings', 'Save multi-tenant', 'Save security settings', 'Save retention', 'Save daily backups', 'Save LAN setting', 'Save links']) {
    await expect(page.getByRole('button', { name }), `${name} before any change`).toBeDisabled()
  }

  // A checkbox is staged, not saved on change.
  const security = page.getByRole('form', { name: 'Security' })
  const codes = security.getByRole('checkbox', { name: 'Offer one-time recovery codes when people set up 2FA' })
  await codes.focus()
  await page.keyboard.press('Space')
  await expect(codes).toBeChecked()
  await expect(security.getByRole('status')).toHaveText('Unsaved changes')
  expect((await saved(page)).security.recoveryCodes).toBe(false)

  // Another card is untouched by it, and staging there is shown there.
  const retention = page.getByRole('form', { name: 'Audit log retention' })
  await retention.getByLabel('Keep events for (days)').fill('400')
  await expect(retention.getByRole('status')).toHaveText('Unsaved changes')

  // Closing or reloading the page with staged changes asks first.
  const asked = new Promise<string>((ok) => page.once('dialog', (d) => (ok(d.type()), d.dismiss())))
  await page.evaluate(() => setTimeout(() => location.reload()))
  expect(await asked).toBe('beforeunload')
  await expect(codes).toBeChecked() // still here: the reload was refused

  // Discard puts a card back as saved.
  await retention.getByRole('button', { name: 'Discard changes' }).click()
  await expect(retention.getByLabel('Keep events for (days)')).toHaveValue('')
  await expect(retention.getByRole('button', { name: 'Save retention' })).toBeDisabled()
  await expect(retention.getByRole('status')).toHaveText('')

  // Save from the keyboard: Tab to the card's button, Enter.
  await codes.focus()
  for (let i = 0; i < 8 && !(await security.getByRole('button', { name: 'Save security settings' }).evaluate((b) => b === document.activeElement)); i++) await page.keyboard.press('Tab')
  await expect(security.getByRole('button', { name: 'Save security settings' })).toBeFocused()
  await page.keyboard.press('Enter')
  await expect(security.getByRole('status')).toHaveText('Security settings saved.')
  await expect(security.getByRole('button', { name: 'Save security settings' })).toBeDisabled()
  expect((await saved(page)).security.recoveryCodes).toBe(true)

  // Editing again replaces "Saved" with "Unsaved changes"; a server error sits beside its field.
  await retention.getByLabel('Keep events for (days)').fill('99999')
  await expect(retention.getByRole('status')).toHaveText('Unsaved changes')
  await retention.getByLabel('Keep events for (days)').press('Enter')
  await expect(page.locator('#retention-days-error')).toHaveText('Keep events for 1 to 36,500 days, or 0 to keep everything.')
  await expect(retention.getByLabel('Keep events for (days)')).toBeFocused()
  await retention.getByLabel('Keep events for (days)').fill('400')
  await retention.getByRole('button', { name: 'Save retention' }).click()
  await expect(retention.getByRole('status')).toHaveText('Saved. Events older than 400 days are removed each hour.')
  expect((await saved(page)).retentionDays).toBe(400) // nothing that old: saved without asking
})

test('risky settings ask first with a count: Cancel changes nothing, confirming saves', async ({ page, browser }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await createNow(page, server.url, { email: 'ada@kwgroup.uk', name: 'Ada Admin', role: 'Admin', password: 'ada-password-1' })
  await createNow(page, server.url, { email: 'abe@kwgroup.uk', name: 'Abe Admin', role: 'Admin', password: 'abe-password-1' })
  await createNow(page, server.url, { email: 'sam@kwgroup.uk', name: 'Sam Agent', role: 'Agent', password: 'sam-password-1' })
  await openSettings(page)

  const security = page.getByRole('form', { name: 'Security' })
  await security.getByRole('checkbox', { name: 'Require 2FA for Admins and Super admins' }).check()
  await security.getByRole('button', { name: 'Save security settings' }).click()
  const dialog = page.getByRole('dialog', { name: 'Require 2FA for admins?' })
  await expect(dialog).toBeVisible()
  // Mitch (the SUPER_ADMIN signed in here), Ada and Abe; not Sam.
  await expect(dialog).toContainText('3 admins without 2FA will have to set it up at their next sign-in')
  await expect(dialog).toContainText('You are one of them')
  await page.screenshot({ path: 'test-results/settings-confirm.png' })

  await dialog.getByRole('button', { name: 'Cancel' }).click()
  await expect(dialog).toBeHidden()
  await expect(security.getByRole('status')).toHaveText('Unsaved changes')
  expect((await saved(page)).security.requireMfaForAdmins).toBe(false)

  await security.getByRole('button', { name: 'Save security settings' }).click()
  await dialog.getByRole('button', { name: 'Save changes' }).click()
  await expect(security.getByRole('status')).toHaveText('Security settings saved.')
  expect((await saved(page)).security.requireMfaForAdmins).toBe(true)

  // What the dialog said happens: Ada is sent to set up 2FA when she signs in.
  const ada = await freshPage(browser)
  await ada.page.goto(server.url + '/login')
  await ada.page.getByLabel('Email').fill('ada@kwgroup.uk')
  await ada.page.getByLabel('Password').fill('ada-password-1')
  await ada.page.getByRole('button', { name: 'Sign in' }).click()
  await expect(ada.page).toHaveURL(/\/profile\/settings$/)
  await expect(ada.page.getByRole('button', { name: 'Set up 2FA' })).toBeVisible()
  await ada.ctx.close()

  // Multi-tenant: on saves at once (nothing to count); off, with a tenant, asks.
  const mt = page.getByRole('form', { name: 'Multi-tenant' })
  await mt.getByRole('checkbox', { name: 'Multi-tenant' }).check()
  await mt.getByRole('button', { name: 'Save multi-tenant' }).click()
  await expect(mt.getByRole('status')).toHaveText('Saved. Multi-tenant is on.')
  await page.getByRole('link', { name: 'Tenants' }).click()
  await page.getByLabel('Tenant name').fill('Acme')
  await page.getByRole('button', { name: 'Create tenant' }).click()
  await expect(page.getByRole('row', { name: /Acme/ })).toBeVisible()

  await page.getByRole('link', { name: 'Settings', exact: true }).click()
  await mt.getByRole('checkbox', { name: 'Multi-tenant' }).uncheck()
  await mt.getByRole('button', { name: 'Save multi-tenant' }).click()
  const off = page.getByRole('dialog', { name: 'Turn multi-tenant off?' })
  await expect(off).toContainText('Turning multi-tenant off hides 1 tenant (Acme) from the tenant switcher and the Tenants page.')
  await page.keyboard.press('Escape') // Esc cancels too
  await expect(off).toBeHidden()
  expect((await saved(page)).multiTenant).toBe(true)
  await expect(page.getByRole('link', { name: 'Tenants' })).toBeVisible()

  await mt.getByRole('button', { name: 'Save multi-tenant' }).click()
  await off.getByRole('button', { name: 'Save changes' }).click()
  await expect(mt.getByRole('status')).toHaveText('Saved. Multi-tenant is off.')
  await expect(page.getByRole('link', { name: 'Tenants' })).toHaveCount(0)
  expect((await saved(page)).multiTenant).toBe(false)

  // Turning the LAN off says who is on the LAN now (this browser is).
  const lan = page.getByRole('form', { name: 'LAN server' })
  await lan.getByRole('checkbox', { name: 'Serve the office LAN from the desktop app' }).uncheck()
  await lan.getByRole('button', { name: 'Save LAN setting' }).click()
  const lanDialog = page.getByRole('dialog', { name: 'Stop serving the office LAN?' })
  await expect(lanDialog).toContainText('The desktop app will stop serving the office LAN from its next start')
  await expect(lanDialog).toContainText('You are signed in from another computer, and will lose access then.')
  await lanDialog.getByRole('button', { name: 'Cancel' }).click()
  await lan.getByRole('button', { name: 'Discard changes' }).click()
  await expect(lan.getByRole('checkbox', { name: 'Serve the office LAN from the desktop app' })).toBeChecked()
  expect((await saved(page)).lanEnabled).toBe(true)
})
