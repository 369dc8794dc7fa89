import { describe, expect, it, vi } from 'vitest'
import { ApiError, api, httpTransport, pickTransport, toApiError, useTransport, wailsTransport, whenDamaged, whenPasswordChangeRequired } from './api'

describe('pickTransport', () => {
  it('uses the Wails bindings inside the desktop window', async () => {
    const Me = vi.fn().mockResolvedValue({ user: { name: 'Mitch' } })
    const t = pickTransport({ go: { main: { App: { Me } } } })
    await expect(t('Me', [])).resolves.toEqual({ user: { name: 'Mitch' } })
    expect(Me).toHaveBeenCalledWith()
  })

  it('uses HTTP in a LAN browser', async () => {
    const fetchFn = vi.fn().mockResolvedValue(new Response(JSON.stringify({ users: [] }), { status: 200 }))
    const t = httpTransport(fetchFn as unknown as typeof fetch)
    await t('ListUsers', [{ search: 'emma' }])
    const [url, init] = fetchFn.mock.calls[0]
    expect(url).toBe('/api/App.ListUsers')
    expect(init.method).toBe('POST')
    expect(init.headers['X-Gatehouse']).toBe('1')
    expect(JSON.parse(init.body)).toEqual([{ search: 'emma' }])
  })
})

describe('errors', () => {
  it('keeps the code, message and field of an HTTP error', async () => {
    const body = { code: 'invalid', message: 'Enter an e-mail address.', field: 'email' }
    const t = httpTransport((async () => new Response(JSON.stringify(body), { status: 400 })) as unknown as typeof fetch)
    const err = (await t('SignIn', [{}]).catch((e) => e)) as ApiError
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject(body)
  })

  it('explains an unreachable server', async () => {
    const t = httpTransport((async () => {
      throw new TypeError('Failed to fetch')
    }) as unknown as typeof fetch)
    const err = (await t('Me', []).catch((e) => e)) as ApiError
    expect(err.code).toBe('network')
    expect(err.message).toMatch(/Cannot reach Gatehouse/)
  })

  it('turns a non-JSON error page into a readable message', async () => {
    const t = httpTransport((async () => new Response('<html>502</html>', { status: 502 })) as unknown as typeof fetch)
    const err = (await t('Me', []).catch((e) => e)) as ApiError
    expect(err.message).toContain('502')
  })

  it('reads the error objects and strings the window rejects with', async () => {
    const obj = wailsTransport({ Me: () => Promise.reject({ code: 'forbidden', message: 'Your role does not allow this.' }) })
    await expect(obj('Me', [])).rejects.toMatchObject({ code: 'forbidden' })
    const str = wailsTransport({ Me: () => Promise.reject(JSON.stringify({ code: 'unauthenticated', message: 'Signed out' })) })
    await expect(str('Me', [])).rejects.toMatchObject({ code: 'unauthenticated' })
    expect(toApiError('plain words').message).toBe('plain words')
    expect(toApiError(undefined).code).toBe('internal')
  })
})

describe('steps and states any call can report', () => {
  it('sends a user holding a temporary password to the change step, and reports a damaged database', async () => {
    const changeFirst = vi.fn()
    const damaged = vi.fn()
    whenPasswordChangeRequired(changeFirst)
    whenDamaged(damaged)
    useTransport(async (method) => {
      throw new ApiError(method === 'ListUsers' ? 'password_change_required' : 'damaged', 'no')
    })
    await expect(api.listUsers({})).rejects.toMatchObject({ code: 'password_change_required' })
    expect(changeFirst).toHaveBeenCalledTimes(1)
    expect(damaged).not.toHaveBeenCalled()
    await expect(api.updateUser({ id: 2, name: 'Pat' })).rejects.toMatchObject({ code: 'damaged' })
    expect(damaged).toHaveBeenCalledTimes(1)
  })
})
