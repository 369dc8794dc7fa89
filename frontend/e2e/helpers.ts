import { expect, type Page } from '@playwright/test'
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
