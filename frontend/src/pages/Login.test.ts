import { afterEach, describe, expect, it, vi } from 'vitest'
import { cleanup, fireEvent, render, screen } from '@testing-library/svelte'
import Login from './Login.svelte'
import { useTransport } from '../lib/api'

const box = 'Keep me signed in on this computer'

function transport() {
  return vi.fn(async (method: string) => {
    if (method === 'SetupStatus') return { needed: false, codeRequired: false, resetByEmail: false }
    if (method === 'SignIn') return { step: 'totp', me: null, recoveryCodes: false }
    return null
  })
}

async function signIn() {
  await fireEvent.input(screen.getByLabelText('Email'), { target: { value: 'sam@kwgroup.uk' } })
  await fireEvent.input(screen.getByLabelText('Password'), { target: { value: 'password123' } })
  await fireEvent.click(screen.getByRole('button', { name: 'Sign in' }))
}

describe('Keep me signed in', () => {
  afterEach(() => {
    cleanup()
    delete (globalThis as { go?: unknown }).go
  })

  it('is not offered in a browser, which keeps its own cookie', async () => {
    const t = transport()
    useTransport(t)
    render(Login)
    expect(screen.queryByLabelText(box)).toBeNull()
    await signIn()
    expect(t).toHaveBeenCalledWith('SignIn', [{ email: 'sam@kwgroup.uk', password: 'password123', remember: false }])
  })

  it('is offered in the window, unticked, and sent when ticked', async () => {
    ;(globalThis as { go?: unknown }).go = { main: { App: {} } }
    const t = transport()
    useTransport(t)
    render(Login)
    const check = screen.getByLabelText(box) as HTMLInputElement
    expect(check.type).toBe('checkbox')
    expect(check.checked).toBe(false)
    await fireEvent.click(check)
    await signIn()
    expect(t).toHaveBeenCalledWith('SignIn', [{ email: 'sam@kwgroup.uk', password: 'password123', remember: true }])
    expect(await screen.findByRole('heading', { name: 'Two-factor authentication' })).toBeTruthy()
  })
})
