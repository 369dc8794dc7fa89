import { ApiError } from './api'

// Exports in a LAN browser: GET a /download/… route with the session
// cookie, count the lines as they stream in (a long export shows
// progress), then save the file under the name the server gave it. The
// desktop window saves through the native dialog instead (api.save…Export).

/** saveBlob hands a blob to the browser as a downloaded file. */
export function saveBlob(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.click()
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** The file name from a Content-Disposition header, or the fallback. */
export function attachmentName(disposition: string | null, fallback: string): string {
  return /filename="([^"]+)"/.exec(disposition ?? '')?.[1] ?? fallback
}

/**
 * downloadFile saves what url answers as a file and resolves with how many
 * lines it had; onLines hears the count as it grows. A refusal rejects
 * with the server's message; a broken stream saves nothing.
 */
export async function downloadFile(url: string, fallbackName: string, onLines?: (lines: number) => void, fetchFn: typeof fetch = fetch): Promise<number> {
  let res: Response
  try {
    res = await fetchFn(url, { credentials: 'same-origin' })
  } catch {
    throw new ApiError('network', 'Cannot reach Gatehouse. Check that it is still running and try again.')
  }
  if (!res.ok || !res.body) {
    const body = await res.json().catch(() => null)
    throw new ApiError(body?.code ?? 'internal', body?.message ?? `The export failed (${res.status}).`, body?.field)
  }
  const reader = res.body.getReader()
  const parts: Uint8Array[] = []
  let lines = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      parts.push(value)
      for (const b of value) if (b === 10) lines++
      onLines?.(lines)
    }
  } catch {
    throw new ApiError('network', 'The export was interrupted. Try again.')
  }
  saveBlob(new Blob(parts as BlobPart[], { type: res.headers.get('Content-Type') ?? 'text/plain' }), attachmentName(res.headers.get('Content-Disposition'), fallbackName))
  return lines
}
