import { describe, expect, it } from 'vitest'
import { beforeAfter, fromLocalInput, presetRange, toLocalInput } from './diff'

describe('beforeAfter', () => {
  it('marks the fields that changed', () => {
    const rows = beforeAfter({ before: { name: 'Emma', role: 'AGENT', active: true }, after: { name: 'Emma', role: 'ADMIN', active: true } })
    expect(rows).toEqual([
      { field: 'name', before: 'Emma', after: 'Emma', changed: false },
      { field: 'role', before: 'AGENT', after: 'ADMIN', changed: true },
      { field: 'active', before: 'true', after: 'true', changed: false },
    ])
  })

  it('handles a creation (no before) and lists only after', () => {
    const rows = beforeAfter({ after: { email: 'a@b.co' } })
    expect(rows).toEqual([{ field: 'email', before: '', after: 'a@b.co', changed: true }])
  })

  it('has nothing to show for events without before/after', () => {
    expect(beforeAfter(null)).toEqual([])
    expect(beforeAfter({ extra: { reason: 'wrong password' } })).toEqual([])
  })

  it('shows lists and nested values as JSON', () => {
    const rows = beforeAfter({ before: ['KW'], after: ['KW', 'Acme (shadow)'] })
    expect(rows[0]).toMatchObject({ field: '(value)', before: '["KW"]', changed: true })
  })
})

describe('time range inputs', () => {
  it('round-trips a local time through ISO', () => {
    const iso = fromLocalInput('2026-05-18T09:30')
    expect(iso).toMatch(/^2026-05-1\dT\d\d:30:00\.000Z$/)
    expect(toLocalInput(iso)).toBe('2026-05-18T09:30')
    expect(fromLocalInput('')).toBe('')
    expect(toLocalInput('not a time')).toBe('')
  })
})

describe('presetRange', () => {
  const now = new Date(2026, 4, 18, 9, 30) // 18 May 2026, 09:30 local
  it('runs the open presets up to now', () => {
    expect(presetRange('Last hour', now)).toEqual({ since: '2026-05-18T08:30', until: '' })
    expect(presetRange('Today', now)).toEqual({ since: '2026-05-18T00:00', until: '' })
    expect(presetRange('Last 7 days', now)).toEqual({ since: '2026-05-12T00:00', until: '' })
    expect(presetRange('Last 30 days', now)).toEqual({ since: '2026-04-19T00:00', until: '' })
  })
  it('closes yesterday at midnight', () => {
    expect(presetRange('Yesterday', now)).toEqual({ since: '2026-05-17T00:00', until: '2026-05-18T00:00' })
  })
  it('crosses month and year ends', () => {
    expect(presetRange('Yesterday', new Date(2027, 0, 1, 8, 0))).toEqual({ since: '2026-12-31T00:00', until: '2027-01-01T00:00' })
  })
})
