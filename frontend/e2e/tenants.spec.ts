import { test, expect, type Browser, type Page } from '@playwright/test'
import { startServer, type Server } from './server'
import { admin, createNow, setupAdmin, signIn } from './helpers'

let server: Server
test.beforeAll(async () => {
  server = await startServer(setupAdmin)
})
test.afterAll(async () => {
  await server?.stop()
})

async function asUser(browser: Browser, email: string, password: string) {
  const ctx = await browser.newContext()
  const page = await ctx.newPage()
  await signIn(page, server.url, email, password)
  return { ctx, page }
}

test('multi-tenant: create Acme, shadow staff switch in unseen, invite into Acme, default tenant decides where sign-in lands', async ({ page, browser }) => {
  await signIn(page, server.url, admin.email, admin.password)
  await createNow(page, server.url, { email: 'sam@kwgroup.uk', name: 'Sam Agent', role: 'Agent', password: 'sam-password-1' })

  // Off by default: no tenant pickers, no Tenants page.
  await expect(page.getByRole('link', { name: 'Tenants' })).toHaveCount(0)
  await page.getByRole('link', { name: 'Settings', exact: true }).click()
  const mt = page.getByRole('form', { name: 'Multi-tenant' })
  await mt.getByRole('checkbox', { name: 'Multi-tenant' }).check()
  await mt.getByRole('button', { name: 'Save multi-tenant' }).click()
  await expect(mt.getByRole('status')).toHaveText('Saved. Multi-tenant is on.')

  await page.getByRole('link', { name: 'Tenants' }).click()
  await expect(page.getByRole('row', { name: /KW Group/ })).toContainText('Admin tenancy')
  await page.getByLabel('Tenant name').fill('kw group')
  await page.getByRole('button', { name: 'Create tenant' }).click()
  await expect(page.getByText('A tenant with this name already exists.')).toBeVisible()
  await page.getByLabel('Tenant name').fill('Acme')
  await page.getByRole('button', { name: 'Create tenant' }).click()
  await expect(page.getByRole('status')).toContainText('Tenant Acme created')
  await expect(page.getByRole('row', { name: /Acme/ })).toBeVisible()

  // Sam, of the MSP, has a shadow membership and switches into Acme.
  const sam = await asUser(browser, 'sam@kwgroup.uk', 'sam-password-1')
  const samSwitcher = sam.page.getByLabel('Switch tenant')
  await expect(samSwitcher.locator('option', { hasText: 'Acme (shadow)' })).toHaveCount(1)
  await samSwitcher.selectOption({ label: 'Acme (shadow)' })
  await expect(samSwitcher).toHaveValue(/\d+/)
  await expect(sam.page.getByText('Acme', { exact: true }).first()).toBeVisible()
  await sam.page.reload()
  await expect(sam.page.getByRole('main')).toContainText('Acme')

  // Acme's users list does not show the MSP's shadow members.
  await page.getByLabel('Switch tenant').selectOption({ label: 'Acme (shadow)' })
  await page.getByRole('link', { name: 'Users', exact: true }).click()
  await expect(page.getByText('No users in this tenant yet.')).toBeVisible()

  // Back in the MSP, invite Dana into Acme with the tenant picker.
  await page.getByLabel('Switch tenant').selectOption({ label: 'KW Group' })
  await page.getByRole('link', { name: '+ Invite user' }).click()
  await page.getByLabel('Email').fill('dana@acme.example')
  await page.getByLabel('Tenant', { exact: true }).selectOption({ label: 'Acme' })
  await page.getByRole('button', { name: 'Send invitation' }).click()
  await expect(page.getByRole('status')).toContainText('in Acme')
  const link = await page.getByLabel('Invitation link').inputValue()

  const danaCtx = await browser.newContext()
  const dana = await danaCtx.newPage()
  await dana.goto(link)
  await expect(dana.getByRole('heading', { name: 'Join Acme' })).toBeVisible()
  await dana.getByLabel('Full name').fill('Dana Customer')
  await dana.getByLabel('Password', { exact: true }).fill('dana-password-1')
  await dana.getByLabel('Confirm password').fill('dana-password-1')
  await dana.getByRole('button', { name: 'Accept invitation' }).click()
  await expect(dana.getByRole('heading', { name: 'Your account' })).toBeVisible()
  await expect(dana.getByRole('banner')).toContainText('Acme')

  // The SUPER_ADMIN finds Dana with the tenant filter and edits her memberships.
  await page.goto(server.url + '/admin/users')
  await page.getByLabel('Filter by tenant').selectOption({ label: 'Acme' })
  await page.getByRole('link', { name: 'Edit Dana Customer' }).click()
  await expect(page.getByRole('heading', { name: 'Tenant memberships' })).toBeVisible()
  await page.getByLabel('Member of KW Group').check()
  await page.getByLabel('Default tenant KW Group').check()
  await page.getByRole('button', { name: 'Save memberships' }).click()
  await expect(page.getByText('Memberships saved.')).toBeVisible()

  await dana.getByRole('button', { name: 'Sign out', exact: true }).click()
  await signIn(dana, server.url, 'dana@acme.example', 'dana-password-1')
  await expect(dana.getByLabel('Switch tenant')).toHaveValue(await optionValue(dana, 'KW Group'))

  await page.getByLabel('Default tenant Acme').check()
  await page.getByRole('button', { name: 'Save memberships' }).click()
  await expect(page.getByText('Memberships saved.')).toBeVisible()
  await dana.getByRole('button', { name: 'Sign out', exact: true }).click()
  await signIn(dana, server.url, 'dana@acme.example', 'dana-password-1')
  await expect(dana.getByLabel('Switch tenant')).toHaveValue(await optionValue(dana, 'Acme'))

  await sam.ctx.close()
  await danaCtx.close()
})

async function optionValue(page: Page, label: string) {
  return (await page.getByLabel('Switch tenant').locator('option', { hasText: new RegExp(`^${label}`) }).getAttribute('value'))!
}
