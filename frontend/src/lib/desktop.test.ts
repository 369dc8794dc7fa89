import { afterEach, describe, expect, it, vi } from 'vitest'
import { cleanup, render, screen, waitFor } from '@testing-library/svelte'
import { backupFormPath, listenToMenu } from './desktop'
import { router } from './router.svelte'
import { useTransport, type Settings } from './api'
import SettingsPage from '../pages/Settings.svelte'

const settings: Settings = {
  baseUrl: '',
  defaultBaseUrl: 'https://office:8420',
  multiTenant: false,
  security: { recoveryCodes: false, requireMfaForAdmins: false, adminReset2fa: false },
  retentionDays: 0,
  lan: { running: true, urls: ['https://192.168.1.20:8420'], https: true, fingerprint: '', customCert: false, subject: '', notAfter: '' },
  lanEnabled: true,
  backupKeepDays: 0,
  backupRecipient: '',
  smtp: { host: '', port: 0, security: 'starttls', username: '', hasPassword: false, fromName: '', fromAddress: '', configured: false },
}

describe("the window's menu", () => {
  afterEach(() => {
    cleanup()
    router.navigate('/', true)
  })

  it('does nothing in a browser', () => {
    expect(() => listenToMenu({})()).not.toThrow()
  })

  it('Back up now… opens the backup form, ready for the passphrase', async () => {
    const handlers: Record<string, () => void> = {}
    const off = vi.fn()
    const stop = listenToMenu({ runtime: { EventsOn: (name, cb) => ((handlers[name] = cb as () => void), off) } })
    router.navigate('/admin/users', true)
    handlers['menu:backup']()
    expect(router.path + location.search).toBe(backupFormPath)

    useTransport(vi.fn(async (method: string) => (method === 'GetSettings' ? settings : null)))
    Element.prototype.scrollIntoView = vi.fn() // jsdom has no layout
    render(SettingsPage)
    const passphrase = await screen.findByLabelText('Passphrase')
    await waitFor(() => expect(document.activeElement).toBe(passphrase))
    expect(Element.prototype.scrollIntoView).toHaveBeenCalled()
    // The query is dropped, so the menu works again from this page.
    expect(router.query.has('backup')).toBe(false)
    expect(router.path).toBe('/admin/settings')
    stop()
    expect(off).toHaveBeenCalled()
  })
})
