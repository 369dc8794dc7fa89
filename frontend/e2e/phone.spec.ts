import { test, expect, type Locator, type Page } from '@playwright/test'
import { cli, startServer, type Server } from './server'

// Every page on a phone (390 × 844, an iPhone 12–15): nothing scrolls the
// page sideways, and each page's main action can be reached — on screen,
// inside the viewport's width, and not covered by anything — after at most
// scrolling (the page down, or a table inside its own container).

const phone = { width: 390, height: 844 }
const demo = { email: 'alex@northgate.example', password: 'demo-password' }

let server: Server
test.beforeAll(async () => {
  server = await startServer((dir) => {
    const r = cli(['demo', '--data', dir])
    if (r.status !== 0) throw new Error('demo failed: ' + r.stderr)
  })
})
test.afterAll(async () => server?.stop())
test.use({ viewport: phone, hasTouch: true })

async function expectNoSidewaysScroll(page: Page) {
  const { scroll, client } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }))
  expect(scroll, `the page is ${scroll}px wide in a ${client}px window`).toBeLessThanOrEqual(client)
}

async function expectReachable(target: Locator) {
  await target.scrollIntoViewIfNeeded()
  await expect(target).toBeVisible()
  const box = (await target.boundingBox())!
  const width = target.page().viewportSize()!.width
  expect(box.x, 'starts inside the window').toBeGreaterThanOrEqual(0)
  expect(box.x + box.width, 'ends inside the window').toBeLessThanOrEqual(width + 0.5)
  const onTop = await target.evaluate((el) => {
    const r = el.getBoundingClientRect()
    const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)
    return !!hit && (hit === el || el.contains(hit))
  })
  expect(onTop, 'nothing covers it').toBe(true)
}

/** open loads a page and checks it; each check names the page when it fails. */
async function open(page: Page, path: string, heading: string | RegExp, actions: (page: Page) => Locator[]) {
  await test.step(path, async () => {
    await page.goto(server.url + path)
    await expect(page.getByRole('heading', { name: heading, level: 1 })).toBeVisible()
    await expectNoSidewaysScroll(page)
    for (const a of actions(page)) await expectReachable(a)
    await expectNoSidewaysScroll(page)
  })
}

async function signIn(page: Page) {
  await page.goto(server.url + '/login')
  await expectReachable(page.getByRole('button', { name: 'Sign in' }))
  await expectNoSidewaysScroll(page)
  await page.getByLabel('Email').fill(demo.email)
  await page.getByLabel('Password').fill(demo.password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expect(page.getByRole('heading', { name: 'Users', level: 1 })).toBeVisible()
}

async function call<T>(page: Page, method: string, ...args: unknown[]): Promise<T> {
  const r = await page.request.post(`${server.url}/api/App.${method}`, { headers: { 'X-Gatehouse': '1' }, data: args })
  expect(r.ok(), await r.text()).toBe(true)
  return (await r.json()) as T
}

test('the header folds into a menu with every link, the tenant switcher and Sign out', async ({ page }) => {
  await signIn(page)
  const menu = page.getByRole('button', { name: 'Menu' })
  await expectReachable(menu)
  await expect(page.getByRole('button', { name: 'Sign out', exact: true })).toBeHidden()
  await menu.click()
  await expect(menu).toHaveAttribute('aria-expanded', 'true')
  for (const name of ['Users', 'Audit log', 'Tenants', 'Settings', 'Account settings']) {
    await expectReachable(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }))
  }
  await expectReachable(page.getByRole('combobox', { name: 'Switch tenant' }))
  await expectReachable(page.getByRole('button', { name: 'Sign out', exact: true }))
  await expectNoSidewaysScroll(page)

  // A link closes the menu and goes there.
  await page.getByRole('link', { name: 'Settings', exact: true }).click()
  await expect(page.getByRole('heading', { name: 'Settings', level: 1 })).toBeVisible()
  await expect(menu).toHaveAttribute('aria-expanded', 'false')
  await menu.click()
  await page.keyboard.press('Escape')
  await expect(menu).toHaveAttribute('aria-expanded', 'false')
  await expect(menu).toBeFocused()

  await menu.click()
  await page.getByRole('button', { name: 'Sign out', exact: true }).click()
  await expect(page).toHaveURL(/\/login/)
})

test('every signed-in page fits the phone and its actions can be reached', async ({ page }) => {
  await signIn(page)
  const list = await call<{ users: { id: number; name: string }[] }>(page, 'ListUsers', { search: 'priya' })
  const priya = list.users[0]

  await open(page, '/admin/users', 'Users', (p) => [
    p.getByRole('link', { name: '+ Invite user' }),
    p.getByRole('combobox', { name: 'Sort by' }),
    p.getByRole('link', { name: 'Edit Tom Becker' }),
    p.getByRole('button', { name: 'Deactivate Tom Becker' }),
    p.getByRole('button', { name: 'Reactivate Rhys Jones (Office)' }),
    p.getByRole('checkbox', { name: 'Select Tom Becker' }),
  ])
  // Ticked, the bulk bar's actions fit too.
  await page.getByRole('checkbox', { name: 'Select Tom Becker' }).check()
  for (const name of ['Deactivate', 'Reactivate', 'Apply']) await expectReachable(page.getByRole('region', { name: 'Bulk actions' }).getByRole('button', { name }))
  await expectNoSidewaysScroll(page)

  await open(page, '/admin/users?tab=invitations', 'Users', (p) => [
    p.getByRole('button', { name: /^Resend invitation to / }).first(),
    p.getByRole('button', { name: /^Revoke invitation to / }).last(),
  ])
  await open(page, '/admin/users/invite', 'Invite user', (p) => [p.getByRole('button', { name: 'Send invitation' })])
  await open(page, '/admin/users/invite?tab=create', 'Invite user', (p) => [p.getByRole('button', { name: 'Create user' })])
  await open(page, `/admin/users/${priya.id}/edit`, `Edit ${priya.name}`, (p) => [
    p.getByRole('link', { name: '← Users' }),
    p.getByRole('button', { name: 'Save changes' }),
    p.getByRole('button', { name: 'Deactivate' }),
    p.getByRole('button', { name: 'Send password reset link' }),
  ])
  await open(page, '/admin/tenants', 'Tenants', (p) => [p.getByRole('button', { name: 'Rename Harbour Dental' }), p.getByRole('button', { name: 'Create tenant' })])
  await open(page, '/admin/settings', 'Settings', (p) => [p.getByRole('button', { name: 'Save e-mail settings' }), p.getByRole('button', { name: 'Back up now' }), p.getByRole('button', { name: 'Save links' })])
  await open(page, '/profile/settings', 'Account settings', (p) => [p.getByRole('button', { name: 'Change password' }), p.getByRole('button', { name: 'Sign out everywhere' })])

  // Account settings: the account's facts read on one line each, not a word per line.
  for (const fact of ['Name', 'Email', 'Role', 'Tenant']) {
    const dd = page.locator('dt', { hasText: new RegExp(`^${fact}$`) }).locator('xpath=following-sibling::dd[1]')
    const lines = await dd.evaluate((el) => Math.round(el.getBoundingClientRect().height / parseFloat(getComputedStyle(el).lineHeight)))
    expect(lines, `${fact} takes ${lines} lines`).toBe(1)
  }
  await open(page, '/no-such-page', /not found/i, () => [])
})

test('the audit log fits the phone', async ({ page }) => {
  await signIn(page)
  await open(page, '/admin/audit', 'Audit log', (p) => [p.getByRole('button', { name: /^Details of event / }).first()])
})

test('pages without a session fit the phone: sign-in, invitation, password reset, setup', async ({ page, browser }) => {
  await signIn(page)
  const invite = await call<{ link: string }>(page, 'InviteUser', { email: 'phone.check@northgate.example', role: 'AGENT' })
  const list = await call<{ users: { id: number }[] }>(page, 'ListUsers', { search: 'tom' })
  const reset = await call<{ link: string }>(page, 'SendPasswordReset', list.users[0].id)

  const visitor = await (await browser.newContext({ viewport: phone })).newPage()
  await visitor.goto(invite.link)
  await expect(visitor.getByRole('heading', { name: /^Join / })).toBeVisible()
  await expectNoSidewaysScroll(visitor)
  await expectReachable(visitor.getByRole('button', { name: 'Accept invitation' }))
  await visitor.goto(reset.link)
  await expect(visitor.getByRole('heading', { name: 'Choose a new password' })).toBeVisible()
  await expectNoSidewaysScroll(visitor)
  await expectReachable(visitor.getByRole('button', { name: 'Set new password' }))
  await visitor.goto(server.url + '/invite/accept?token=not-a-token')
  await expect(visitor.getByRole('heading', { name: 'This invitation link is not valid' })).toBeVisible()
  await expectNoSidewaysScroll(visitor)
  await expectReachable(visitor.getByRole('link', { name: 'Go to sign in' }))
  await visitor.context().close()

  const fresh = await startServer()
  try {
    const setup = await (await browser.newContext({ viewport: phone })).newPage()
    await setup.goto(fresh.url + '/setup' + (fresh.setupCode ? `?code=${fresh.setupCode}` : ''))
    await expect(setup.getByRole('heading', { name: 'Set up Gatehouse' })).toBeVisible()
    await expectNoSidewaysScroll(setup)
    await expectReachable(setup.getByRole('button', { name: 'Create administrator' }))
    await setup.context().close()
  } finally {
    await fresh.stop()
  }
})

test('between phone and desktop (a tablet, a narrow window) the header, list and account page fit too', async ({ page }) => {
  await signIn(page)
  for (const width of [600, 834, 1024]) {
    await page.setViewportSize({ width, height: 900 })
    await open(page, '/admin/users', 'Users', (p) => [p.getByRole('link', { name: 'Edit Tom Becker' }), p.getByRole('button', { name: 'Deactivate Tom Becker' })])
    await open(page, '/admin/users?tab=invitations', 'Users', (p) => [p.getByRole('button', { name: /^Revoke invitation to / }).last()])
    await open(page, '/profile/settings', 'Account settings', (p) => [p.getByRole('button', { name: 'Change password' })])
    const signOut = page.getByRole('button', { name: 'Sign out', exact: true })
    if (!(await signOut.isVisible())) await page.getByRole('button', { name: 'Menu' }).click()
    await expectReachable(signOut)
  }
})
