import { afterEach, describe, expect, it, vi } from 'vitest'
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte'
import SecurityCard from './SecurityCard.svelte'
import RetentionCard from './RetentionCard.svelte'
import { useTransport, type Settings, type SettingsRisk } from '../../lib/api'

// jsdom has no <dialog> methods.
HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
  this.open = true
}
HTMLDialogElement.prototype.close ??= function (this: HTMLDialogElement) {
  this.open = false
}

const base: Settings = {
  baseUrl: '',
  defaultBaseUrl: 'https://gatehouse.test:8420',
  multiTenant: false,
  security: { recoveryCodes: false, requireMfaForAdmins: false, adminReset2fa: false },
  retentionDays: 0,
  lan: { running: false, urls: [], https: false, fingerprint: '', customCert: false, subject: '', notAfter: '' },
  lanEnabled: true,
  backupKeepDays: 0,
  backupRecipient: '',
  smtp: { host: '', port: 0, security: 'starttls', username: '', hasPassword: false, fromName: '', fromAddress: '', configured: false },
}

/** server answers SettingsImpact with risks and UpdateSettings by applying the input to base. */
function server(risks: SettingsRisk[] = []) {
  return vi.fn(async (method: string, args: unknown[]) => {
    const input = args[0] as Record<string, unknown>
    if (method === 'SettingsImpact') return { risks }
    if (method === 'UpdateSettings') {
      const { recoveryCodes, requireMfaForAdmins, adminReset2fa, retentionDays } = input as Record<string, never>
      return {
        ...base,
        retentionDays: retentionDays ?? base.retentionDays,
        security: {
          recoveryCodes: recoveryCodes ?? base.security.recoveryCodes,
          requireMfaForAdmins: requireMfaForAdmins ?? base.security.requireMfaForAdmins,
          adminReset2fa: adminReset2fa ?? base.security.adminReset2fa,
        },
      }
    }
    throw new Error('unexpected ' + method)
  })
}

const calls = (t: ReturnType<typeof server>, method: string) => t.mock.calls.filter(([m]) => m === method)
const save = () => screen.getByRole('button', { name: 'Save security settings' }) as HTMLButtonElement
const status = (form: HTMLElement) => within(form).getByRole('status')

describe('a settings card', () => {
  afterEach(cleanup)

  it('stages a toggle until Save, says so, and can put it back', async () => {
    const t = server()
    useTransport(t)
    render(SecurityCard, { settings: base, onsaved: () => {} })
    const form = screen.getByRole('form', { name: 'Security' })
    expect(save().disabled).toBe(true)
    expect(status(form).textContent).toBe('')

    await fireEvent.click(screen.getByRole('checkbox', { name: /recovery codes/ }))
    expect(t).not.toHaveBeenCalled()
    expect(save().disabled).toBe(false)
    expect(status(form).textContent).toBe('Unsaved changes')

    await fireEvent.click(screen.getByRole('button', { name: 'Discard changes' }))
    expect((screen.getByRole('checkbox', { name: /recovery codes/ }) as HTMLInputElement).checked).toBe(false)
    expect(save().disabled).toBe(true)
    expect(status(form).textContent).toBe('')
    expect(t).not.toHaveBeenCalled()
  })

  it('saves with nothing to confirm: asks the impact, saves, says Saved', async () => {
    const t = server()
    useTransport(t)
    // The page hands the saved settings back to the card, as Settings.svelte does.
    const onsaved = vi.fn((s: Settings) => rerender({ settings: s }))
    const { rerender } = render(SecurityCard, { settings: base, onsaved })
    await fireEvent.click(screen.getByRole('checkbox', { name: /recovery codes/ }))
    await fireEvent.submit(screen.getByRole('form', { name: 'Security' }))
    await waitFor(() => expect(onsaved).toHaveBeenCalled())
    expect(calls(t, 'SettingsImpact')[0][1]).toEqual([{ recoveryCodes: true, requireMfaForAdmins: false, adminReset2fa: false }])
    expect(calls(t, 'UpdateSettings')).toHaveLength(1)
    expect(onsaved.mock.calls[0][0].security.recoveryCodes).toBe(true)
    await waitFor(() => expect(status(screen.getByRole('form', { name: 'Security' })).textContent).toBe('Security settings saved.'))
    expect(screen.queryByRole('dialog')).toBeNull()
    await waitFor(() => expect(save().disabled).toBe(true))
  })

  it('asks first when the server counts a risk: Cancel saves nothing, confirming saves', async () => {
    const risk = { setting: 'requireMfaForAdmins', title: 'Require 2FA for admins?', message: '36 admins without 2FA will have to set it up at their next sign-in.', count: 36 } as const
    const t = server([risk])
    useTransport(t)
    const onsaved = vi.fn()
    render(SecurityCard, { settings: base, onsaved })
    await fireEvent.click(screen.getByRole('checkbox', { name: /Require 2FA/ }))
    await fireEvent.click(save())

    const dialog = await screen.findByRole('dialog')
    expect(within(dialog).getByRole('heading').textContent).toBe('Require 2FA for admins?')
    expect(dialog.textContent).toContain('36 admins without 2FA will have to set it up at their next sign-in.')
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }))
    expect(dialog.hasAttribute('open')).toBe(false)
    expect(calls(t, 'UpdateSettings')).toHaveLength(0)
    expect(onsaved).not.toHaveBeenCalled()
    expect(status(screen.getByRole('form', { name: 'Security' })).textContent).toBe('Unsaved changes')

    await fireEvent.click(save())
    await waitFor(() => expect(dialog.hasAttribute('open')).toBe(true))
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Save changes' }))
    await waitFor(() => expect(onsaved).toHaveBeenCalled())
    expect(calls(t, 'UpdateSettings')[0][1]).toEqual([{ recoveryCodes: false, requireMfaForAdmins: true, adminReset2fa: false }])
  })

  it('lists each risk when a save carries several', async () => {
    const risks: SettingsRisk[] = [
      { setting: 'requireMfaForAdmins', title: 'Require 2FA for admins?', message: '3 admins without 2FA…', count: 3 },
      { setting: 'adminReset2fa', title: 'Another?', message: 'Something else, counted.', count: 1 },
    ]
    useTransport(server(risks))
    render(SecurityCard, { settings: base, onsaved: () => {} })
    await fireEvent.click(screen.getByRole('checkbox', { name: /Require 2FA/ }))
    await fireEvent.click(save())
    const dialog = await screen.findByRole('dialog')
    expect(within(dialog).getByRole('heading').textContent).toBe('Save these changes?')
    expect(within(dialog).getAllByRole('listitem').map((li) => li.textContent)).toEqual(['Require 2FA for admins? 3 admins without 2FA…', 'Another? Something else, counted.'])
  })

  it("shows a plain mistake beside its field without asking the server, and the server's own beside it too", async () => {
    const t = vi.fn(async (method: string) => {
      if (method === 'SettingsImpact') throw { code: 'invalid', field: 'retentionDays', message: 'Keep events for 1 to 36,500 days, or 0 to keep everything.' }
      throw new Error('unexpected ' + method)
    })
    useTransport(t)
    render(RetentionCard, { settings: base, onsaved: () => {} })
    const days = screen.getByLabelText('Keep events for (days)') as HTMLInputElement
    await fireEvent.input(days, { target: { value: 'ten' } })
    await fireEvent.click(screen.getByRole('button', { name: 'Save retention' }))
    expect(days.getAttribute('aria-invalid')).toBe('true')
    expect(document.getElementById('retention-days-error')?.textContent).toBe('Enter a whole number of days, or leave it empty to keep everything.')
    expect(t).not.toHaveBeenCalled()

    await fireEvent.input(days, { target: { value: '99999' } })
    await fireEvent.click(screen.getByRole('button', { name: 'Save retention' }))
    await waitFor(() => expect(document.getElementById('retention-days-error')?.textContent).toBe('Keep events for 1 to 36,500 days, or 0 to keep everything.'))
    expect(status(screen.getByRole('form', { name: 'Audit log retention' })).textContent).toBe('Unsaved changes')
  })
})
