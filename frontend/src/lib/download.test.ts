import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from './api'
import { attachmentName, downloadFile } from './download'

// A response whose body arrives in the given chunks (then fails, with broken).
function streamed(chunks: string[], headers: Record<string, string>, broken = false): Response {
  const enc = new TextEncoder()
  let i = 0
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < chunks.length) c.enqueue(enc.encode(chunks[i++]))
      else if (broken) c.error(new TypeError('network error'))
      else c.close()
    },
  })
  return new Response(body, { status: 200, headers })
}

describe('downloadFile', () => {
  let saved: { name: string; text: Promise<string> }[]
  beforeEach(() => {
    saved = []
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      saved.push({ name: this.download, text: blobs.get(this.href)!.text() })
    })
    const blobs = new Map<string, Blob>()
    URL.createObjectURL = (b: Blob | MediaSource) => {
      const url = `blob:test/${blobs.size}`
      blobs.set(url, b as Blob)
      return url
    }
    URL.revokeObjectURL = () => {}
  })
  afterEach(() => vi.restoreAllMocks())

  it('counts lines as they stream in and saves the file under the server’s name', async () => {
    const fetchFn = vi.fn().mockResolvedValue(
      streamed(['name,email\nAda,', 'ada@kw.uk\nBob,bob@kw.uk\n'], { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="gatehouse-users-2026-05-18.csv"' }),
    )
    const seen: number[] = []
    const lines = await downloadFile('/download/users?q=ada', 'fallback.csv', (n) => seen.push(n), fetchFn as unknown as typeof fetch)
    expect(fetchFn).toHaveBeenCalledWith('/download/users?q=ada', { credentials: 'same-origin' })
    expect(lines).toBe(3)
    expect(seen).toEqual([1, 3])
    expect(saved.map((s) => s.name)).toEqual(['gatehouse-users-2026-05-18.csv'])
    expect(await saved[0].text).toBe('name,email\nAda,ada@kw.uk\nBob,bob@kw.uk\n')
  })

  it('rejects with the server’s message and saves nothing when refused', async () => {
    const body = { code: 'invalid', message: 'Choose Active or Inactive.', field: 'status' }
    const fetchFn = vi.fn().mockResolvedValue(new Response(JSON.stringify(body), { status: 400 }))
    const err = (await downloadFile('/download/users?status=x', 'u.csv', undefined, fetchFn as unknown as typeof fetch).catch((e) => e)) as ApiError
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject(body)
    expect(saved).toEqual([])
  })

  it('saves nothing from a download that breaks off', async () => {
    const fetchFn = vi.fn().mockResolvedValue(streamed(['name,email\nAda,ada@kw.uk\n'], { 'Content-Type': 'text/csv' }, true))
    const err = (await downloadFile('/download/users', 'u.csv', undefined, fetchFn as unknown as typeof fetch).catch((e) => e)) as ApiError
    expect(err.message).toBe('The export was interrupted. Try again.')
    expect(saved).toEqual([])
  })

  it('falls back to a name of its own', () => {
    expect(attachmentName(null, 'gatehouse-users.csv')).toBe('gatehouse-users.csv')
    expect(attachmentName('attachment; filename="a.csv"', 'b.csv')).toBe('a.csv')
  })
})
