import { afterEach, describe, expect, it, vi } from 'vitest'
import { cleanup, fireEvent, render, screen } from '@testing-library/svelte'
import Invite from './Invite.svelte'
import { useTransport } from '../lib/api'

describe('Create now', () => {
  afterEach(cleanup)

  it('shows every plain mistake at once, each beside its field, without asking the server', async () => {
    const transport = vi.fn().mockResolvedValue({ needed: false, codeRequired: false, resetByEmail: false })
    useTransport(transport)
    render(Invite)
    await fireEvent.click(screen.getByRole('tab', { name: /Create now/ }))
    await fireEvent.input(screen.getByLabelText('Email'), { target: { value: 'emma@' } })
    await fireEvent.input(screen.getByLabelText('Password', { exact: true }), { target: { value: 'short' } })
    await fireEvent.click(screen.getByRole('button', { name: 'Create user' }))
    const described = (label: string, exact = true) => {
      const input = screen.getByLabelText(label, { exact })
      expect(input.getAttribute('aria-invalid')).toBe('true')
      return document.getElementById(input.getAttribute('aria-describedby')!.split(' ')[0])?.textContent
    }
    expect(described('Email')).toBe('Enter an e-mail address like name@example.com.')
    expect(described('Full name')).toBe('Enter a name.')
    expect(described('Password')).toBe('Use at least 8 characters.')
    expect(transport.mock.calls.map((c) => c[0])).not.toContain('CreateUser')
  })
})
