import { afterEach, describe, expect, it, vi } from 'vitest'
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte'
import Invitations from './Invitations.svelte'
import { useTransport, type InvitationView, type Me } from '../lib/api'
import { session } from '../lib/session.svelte'

// jsdom has no <dialog> methods.
HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) { this.open = true }
HTMLDialogElement.prototype.close ??= function (this: HTMLDialogElement) { this.open = false }

const inv = (id: number, email: string, role: InvitationView['role'], state: InvitationView['state']): InvitationView => ({
  id, email, role, state, tenantId: 1, inviterName: 'Mitch', createdAt: '2026-05-18T09:00:00Z', expiresAt: '2026-05-25T09:00:00Z', mail: null,
})

describe('Invitations bulk resend', () => {
  afterEach(() => {
    cleanup()
    session.me = null
  })

  it('ticks only what the caller may resend, asks, and sums up what was done and refused', async () => {
    session.me = { inviteRoles: ['AGENT', 'MANAGER', 'VENDOR'] } as unknown as Me
    const list = [inv(1, 'ann@kw.uk', 'AGENT', 'pending'), inv(2, 'bob@kw.uk', 'MANAGER', 'expired'), inv(3, 'boss@kw.uk', 'ADMIN', 'pending')]
    const answer = { done: [{ id: 1, name: 'ann@kw.uk' }], refused: [{ id: 2, name: 'bob@kw.uk', why: 'This invitation was revoked and cannot be re-sent. Send a new invitation instead.' }] }
    const transport = vi.fn(async (method: string) => {
      switch (method) {
        case 'ListInvitations':
          return { invitations: list, next: '', pending: 3, unsent: 0 }
        case 'SetupStatus':
          return { needed: false, codeRequired: false, resetByEmail: true }
        case 'BulkResendInvitations':
          return answer
      }
      throw new Error('unexpected ' + method)
    })
    useTransport(transport)
    render(Invitations)
    const boss = (await screen.findByLabelText('Select the invitation to boss@kw.uk')) as HTMLInputElement
    expect(boss.disabled).toBe(true)
    expect(boss.title).toBe('This invitation gives a role above yours.')
    expect(screen.queryByRole('region', { name: 'Bulk actions' })).toBeNull()

    // One in the table's header, one above the cards (phones): CSS shows one.
    const all = screen.getAllByLabelText('Select all invitations shown')
    expect(all).toHaveLength(2)
    await fireEvent.click(all[0])
    expect((all[1] as HTMLInputElement).checked).toBe(true)
    const bar = screen.getByRole('region', { name: 'Bulk actions' })
    expect(within(bar).getByText('2 selected')).toBeTruthy()
    await fireEvent.click(within(bar).getByRole('button', { name: 'Resend' }))
    const dialog = screen.getByRole('dialog') // the open one
    expect(dialog.textContent).toContain('Resend 2 selected invitations?')
    expect(transport.mock.calls.map((c) => c[0])).not.toContain('BulkResendInvitations')
    await fireEvent.click([...dialog.querySelectorAll('button')].find((b) => b.textContent === 'Resend')!)

    await waitFor(() => expect(screen.getByText('Resent 1. Refused 1:')).toBeTruthy())
    expect(transport).toHaveBeenCalledWith('BulkResendInvitations', [{ ids: [1, 2] }])
    expect(screen.getByText('bob@kw.uk — This invitation was revoked and cannot be re-sent. Send a new invitation instead.')).toBeTruthy()
    await waitFor(() => expect(screen.queryByRole('region', { name: 'Bulk actions' })).toBeNull())
    expect((screen.getByLabelText('Select the invitation to ann@kw.uk') as HTMLInputElement).checked).toBe(false)
  })
})
