// The before/after view of an audit event's metadata.

export interface DiffRow {
  field: string
  before: string
  after: string
  changed: boolean
}

function show(v: unknown): string {
  if (v === undefined) return ''
  if (typeof v === 'string') return v
  return JSON.stringify(v)
}

/** beforeAfter lists every field of meta.before and meta.after, marking the ones that changed. */
export function beforeAfter(meta: unknown): DiffRow[] {
  if (!meta || typeof meta !== 'object') return []
  const m = meta as { before?: unknown; after?: unknown }
  const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v)
  if (!isObj(m.before) && !isObj(m.after)) {
    if (m.before === undefined && m.after === undefined) return []
    return [{ field: '(value)', before: show(m.before), after: show(m.after), changed: show(m.before) !== show(m.after) }]
  }
  const b = isObj(m.before) ? m.before : {}
  const a = isObj(m.after) ? m.after : {}
  const fields = [...new Set([...Object.keys(b), ...Object.keys(a)])]
  return fields.map((field) => {
    const before = show(b[field])
    const after = show(a[field])
    return { field, before, after, changed: before !== after }
  })
}

/** toLocalInput turns an ISO time into the value of a datetime-local input. */
export function toLocalInput(iso: string): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (isNaN(d.getTime())) return ''
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/** fromLocalInput turns a datetime-local value into an ISO time (UTC). */
export function fromLocalInput(v: string): string {
  if (!v) return ''
  const d = new Date(v)
  return isNaN(d.getTime()) ? '' : d.toISOString()
}

/** The audit page's date presets. */
export const presets = ['Last hour', 'Today', 'Yesterday', 'Last 7 days', 'Last 30 days'] as const
export type Preset = (typeof presets)[number]

/**
 * presetRange returns the From/To values (datetime-local, the viewer's own
 * clock) of a preset at now; To is empty when the range runs to now.
 */
export function presetRange(p: Preset, now: Date): { since: string; until: string } {
  const iso = (d: Date) => toLocalInput(d.toISOString())
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate())
  const daysAgo = (n: number) => new Date(midnight.getFullYear(), midnight.getMonth(), midnight.getDate() - n)
  switch (p) {
    case 'Last hour':
      return { since: iso(new Date(now.getTime() - 3600_000)), until: '' }
    case 'Today':
      return { since: iso(midnight), until: '' }
    case 'Yesterday':
      return { since: iso(daysAgo(1)), until: iso(midnight) }
    case 'Last 7 days':
      return { since: iso(daysAgo(6)), until: '' }
    case 'Last 30 days':
      return { since: iso(daysAgo(29)), until: '' }
  }
}
