import { describe, expect, it } from 'vitest'
import { actionLabel, beforeAfter, fromDayTime, presetRange, toDayTime } from './diff'

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

describe('time range inputs (dd/mm/yyyy HH:MM whatever the locale)', () => {
  it('round-trips a local time through ISO', () => {
    const iso = fromDayTime('18/05/2026 09:30')!
    expect(iso).toMatch(/^2026-05-1\dT\d\d:30:00\.000Z$/)
    expect(toDayTime(iso)).toBe('18/05/2026 09:30')
    expect(fromDayTime('')).toBe('')
    expect(toDayTime('not a time')).toBe('')
  })
  it('reads a day alone as its midnight, and other separators', () => {
    expect(toDayTime(fromDayTime('3/1/2027')!)).toBe('03/01/2027 00:00')
    expect(toDayTime(fromDayTime('03-01-2027 7:05')!)).toBe('03/01/2027 07:05')
    expect(toDayTime(fromDayTime(' 03.01.2027T23:59 ')!)).toBe('03/01/2027 23:59')
  })
  it('refuses what is not a real day or time, and the month-first order', () => {
    for (const bad of ['31/02/2026', '12/31/2026', '18/05/26', '2026-05-18T09:30', '18/05/2026 24:00', '18/05/2026 9:60', 'yesterday']) {
      expect(fromDayTime(bad), bad).toBeNull()
    }
  })
})

describe('actionLabel', () => {
  it('says actions in words, and makes words of an unknown code', () => {
    expect(actionLabel('sign_in_failed')).toBe('Sign-in failed')
    expect(actionLabel('disable_2fa')).toBe('2FA turned off')
    expect(actionLabel('some_new_thing')).toBe('Some new thing')
  })
})

describe('presetRange', () => {
  const now = new Date(2026, 4, 18, 9, 30) // 18 May 2026, 09:30 local
  it('runs the open presets up to now', () => {
    expect(presetRange('Last hour', now)).toEqual({ since: '18/05/2026 08:30', until: '' })
    expect(presetRange('Today', now)).toEqual({ since: '18/05/2026 00:00', until: '' })
    expect(presetRange('Last 7 days', now)).toEqual({ since: '12/05/2026 00:00', until: '' })
    expect(presetRange('Last 30 days', now)).toEqual({ since: '19/04/2026 00:00', until: '' })
  })
  it('closes yesterday at midnight', () => {
    expect(presetRange('Yesterday', now)).toEqual({ since: '17/05/2026 00:00', until: '18/05/2026 00:00' })
  })
  it('crosses month and year ends', () => {
    expect(presetRange('Yesterday', new Date(2027, 0, 1, 8, 0))).toEqual({ since: '31/12/2026 00:00', until: '01/01/2027 00:00' })
  })
})
