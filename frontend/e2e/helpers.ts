import { expect, type Browser, type Page } from '@playwright/test'
import { cli } from './server'

export const admin = { org: 'KW Group', name: 'Mitch Kendall', email: 'mitch@kwgroup.uk', password: 'correct horse battery' }

/** setupAdmin creates the first SUPER_ADMIN with the CLI (the server is not running yet). */
export function setupAdmin(dataDir: string) {
  const r = cli(['setup', '--data', dataDir, '--email', admin.email, '--name', admin.name, '--organisation', admin.org, '--password-stdin'], admin.password + '\n')
  if (r.status !== 0) throw new Error('setup failed: ' + r.stderr)
}

export async function signIn(page: Page, url: string, email: string, password: string) {
  await page.goto(url + '/login')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('button', { name: 'Sign out', exact: true })).toBeVisible()
}

export interface NewUser {
  email: string
  name: string
  role: string
  password: string
  /** Leave "Ask them to choose their own password at first sign-in" ticked (the default). */
  mustChange?: boolean
}

/** createNow adds a user with Create now; unless mustChange, they can sign in straight away. */
export async function createNow(page: Page, url: string, u: NewUser) {
  await page.goto(url + '/admin/users/invite?tab=create')
  await page.getByLabel('Email').fill(u.email)
  await page.getByLabel('Full name').fill(u.name)
  await page.getByLabel('Role').selectOption({ label: u.role })
  await page.getByLabel('Password', { exact: true }).fill(u.password)
  await page.getByRole('checkbox', { name: 'Ask them to choose their own password at first sign-in' }).setChecked(!!u.mustChange)
  await page.getByRole('button', { name: 'Create user' }).click()
  await expect(page.getByRole('status')).toContainText('Account created')
}

/** freshPage opens a page in a new browser context: another person, signed out. */
export async function freshPage(browser: Browser) {
  const ctx = await browser.newContext()
  return { ctx, page: await ctx.newPage() }
}

/** editUser opens the edit form of the user named name from the users list. */
export async function editUser(page: Page, url: string, name: string) {
  await page.goto(url + '/admin/users')
  await page.getByRole('link', { name: `Edit ${name}` }).click()
  await expect(page.getByRole('heading', { name: `Edit ${name}` })).toBeVisible()
}
