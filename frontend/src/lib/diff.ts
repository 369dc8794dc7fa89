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

const pad = (n: number) => String(n).padStart(2, '0')

/**
 * toDayTime shows an ISO time as dd/mm/yyyy HH:MM on the viewer's clock,
 * whatever the browser's or the system's locale (native date pickers
 * follow the locale and show mm/dd/yyyy in en-US).
 */
export function toDayTime(iso: string): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (isNaN(d.getTime())) return ''
  return `${pad(d.getDate())}/${pad(d.getMonth() + 1)}/${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/**
 * fromDayTime reads dd/mm/yyyy or dd/mm/yyyy HH:MM (viewer's clock; "-" or
 * "." also separate the date, a space or "T" the time) and returns the ISO
 * time in UTC, '' for an empty value, or null when it is not a real date.
 */
export function fromDayTime(v: string): string | null {
  const s = v.trim()
  if (!s) return ''
  const m = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]+(\d{1,2}):(\d{2}))?$/.exec(s)
  if (!m) return null
  const [day, month, year, hour, minute] = [m[1], m[2], m[3], m[4] ?? '0', m[5] ?? '0'].map(Number)
  if (hour > 23 || minute > 59) return null
  const d = new Date(year, month - 1, day, hour, minute)
  // new Date rolls 31/02 over into March: such a date does not exist.
  if (d.getFullYear() !== year || d.getMonth() !== month - 1 || d.getDate() !== day) return null
  return d.toISOString()
}

/** The audit page's date presets. */
export const presets = ['Last hour', 'Today', 'Yesterday', 'Last 7 days', 'Last 30 days'] as const
export type Preset = (typeof presets)[number]

/**
 * presetRange returns the From/To values (dd/mm/yyyy HH:MM, the viewer's
 * own clock) of a preset at now; To is empty when the range runs to now.
 */
export function presetRange(p: Preset, now: Date): { since: string; until: string } {
  const iso = (d: Date) => toDayTime(d.toISOString())
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

/** The audit log's actions in words; the code stays on hover and in exports. */
export const actionLabels: Record<string, string> = {
  setup: 'Set up',
  sign_in: 'Signed in',
  sign_in_failed: 'Sign-in failed',
  sign_in_blocked: 'Sign-in blocked',
  sign_out: 'Signed out',
  create: 'Created',
  update: 'Updated',
  deactivate: 'Deactivated',
  reactivate: 'Reactivated',
  invite: 'Invited',
  resend: 'Invitation resent',
  revoke: 'Invitation revoked',
  accept: 'Invitation accepted',
  email_sent: 'E-mail sent',
  email_failed: 'E-mail failed',
  enable_2fa: '2FA turned on',
  disable_2fa: '2FA turned off',
  reset_2fa: '2FA reset',
  new_recovery_codes: 'New recovery codes',
  password_reset_requested: 'Password reset requested',
  password_reset_link: 'Password reset link made',
  password_reset: 'Password reset',
  set_temporary_password: 'Temporary password set',
  change_password: 'Password changed',
  end_session: 'Device signed out',
  lock: 'Locked',
  unlock: 'Unlocked',
  switch: 'Switched tenant',
  rename: 'Renamed',
  set_memberships: 'Tenants changed',
  backup: 'Backed up',
  backup_delete: 'Old backup deleted',
  prune: 'Old events removed',
  restore: 'Restored',
}

/** actionLabel is an action in words: a known one from the table, any other from its code. */
export function actionLabel(code: string): string {
  if (actionLabels[code]) return actionLabels[code]
  const s = code.replace(/_/g, ' ')
  return s.charAt(0).toUpperCase() + s.slice(1)
}
