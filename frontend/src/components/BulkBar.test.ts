import { afterEach, describe, expect, it, vi } from 'vitest'
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/svelte'
import BulkBar from './BulkBar.svelte'
import { useTransport } from '../lib/api'

// jsdom has no <dialog> methods.
HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) { this.open = true }
HTMLDialogElement.prototype.close ??= function (this: HTMLDialogElement) { this.open = false }

describe('BulkBar', () => {
  afterEach(cleanup)

  it('asks first, then sends the selection and reports the answer', async () => {
    const answer = { done: [{ id: 2, name: 'Pat' }], refused: [{ id: 1, name: 'Mitch', why: 'You cannot deactivate yourself.' }] }
    const transport = vi.fn().mockResolvedValue(answer)
    useTransport(transport)
    const ondone = vi.fn()
    render(BulkBar, { ids: [1, 2], roles: ['AGENT', 'MANAGER'], ondone, onclear: () => {} })
    expect(screen.getByText('2 selected')).toBeTruthy()
    await fireEvent.click(screen.getByRole('button', { name: 'Deactivate' }))
    expect(transport).not.toHaveBeenCalled()
    const dialog = screen.getByRole('dialog', { hidden: true })
    expect(dialog.textContent).toContain('Deactivate 2 selected users?')
    const confirm = [...dialog.querySelectorAll('button')].find((b) => b.textContent === 'Deactivate')!
    await fireEvent.click(confirm)
    await waitFor(() => expect(ondone).toHaveBeenCalledWith('deactivate', answer))
    expect(transport).toHaveBeenCalledWith('BulkUsers', [{ ids: [1, 2], action: 'deactivate', role: undefined }])
  })

  it('changes the role only once one is chosen', async () => {
    const transport = vi.fn().mockResolvedValue({ done: [], refused: [] })
    useTransport(transport)
    render(BulkBar, { ids: [5], roles: ['AGENT', 'MANAGER'], ondone: () => {}, onclear: () => {} })
    const apply = screen.getByRole('button', { name: 'Apply' }) as HTMLButtonElement
    expect(apply.disabled).toBe(true)
    await fireEvent.change(screen.getByLabelText('New role for the selected users'), { target: { value: 'MANAGER' } })
    expect(apply.disabled).toBe(false)
    await fireEvent.click(apply)
    const dialog = screen.getByRole('dialog', { hidden: true })
    expect(dialog.textContent).toContain('Make 1 selected user Manager?')
    await fireEvent.click([...dialog.querySelectorAll('button')].find((b) => b.textContent === 'Change role')!)
    await waitFor(() => expect(transport).toHaveBeenCalledWith('BulkUsers', [{ ids: [5], action: 'role', role: 'MANAGER' }]))
  })

  it('re-sends ticked invitations, and offers nothing meant for users', async () => {
    const answer = { done: [{ id: 7, name: 'a@kw.uk' }], refused: [] }
    const transport = vi.fn().mockResolvedValue(answer)
    useTransport(transport)
    const ondone = vi.fn()
    render(BulkBar, { of: 'invitations', ids: [7, 8], ondone, onclear: () => {} })
    expect(screen.queryByRole('button', { name: 'Deactivate' })).toBeNull()
    expect(screen.queryByLabelText('New role for the selected users')).toBeNull()
    await fireEvent.click(screen.getByRole('button', { name: 'Resend' }))
    const dialog = screen.getByRole('dialog', { hidden: true })
    expect(dialog.textContent).toContain('Resend 2 selected invitations?')
    await fireEvent.click([...dialog.querySelectorAll('button')].find((b) => b.textContent === 'Resend')!)
    await waitFor(() => expect(ondone).toHaveBeenCalledWith('resend', answer))
    expect(transport).toHaveBeenCalledWith('BulkResendInvitations', [{ ids: [7, 8] }])
  })
})
