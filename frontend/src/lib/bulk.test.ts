import { describe, expect, it } from 'vitest'
import { bulkQuestion, bulkSummary, resendable } from './bulk'

describe('bulk actions', () => {
  it('asks with the count and what will happen', () => {
    expect(bulkQuestion('deactivate', 3).title).toBe('Deactivate 3 selected users?')
    expect(bulkQuestion('reactivate', 1).title).toBe('Reactivate 1 selected user?')
    expect(bulkQuestion('role', 2, 'MANAGER').title).toBe('Make 2 selected users Manager?')
    expect(bulkQuestion('deactivate', 2).message).toContain('signed out everywhere')
  })

  it('sums up what was done and lists each refusal with its reason', () => {
    const s = bulkSummary('deactivate', {
      done: [{ id: 1, name: 'A' }, { id: 2, name: 'B' }, { id: 3, name: 'C' }],
      refused: [{ id: 4, name: 'Ada', why: "This user's role is above yours." }],
    })
    expect(s.text).toBe('Deactivated 3. Refused 1:')
    expect(s.refusals).toEqual(["Ada — This user's role is above yours."])
  })

  it('names a refused user it may not see by number, and says nothing of refusals when there are none', () => {
    expect(bulkSummary('role', { done: [], refused: [{ id: 999, why: 'No such user.' }] }).refusals).toEqual(['User #999 — No such user.'])
    expect(bulkSummary('reactivate', { done: [{ id: 1, name: 'A' }], refused: [] })).toEqual({ text: 'Reactivated 1.', refusals: [] })
  })

  it('asks before re-sending invitations and names refused ones by address or number', () => {
    expect(bulkQuestion('resend', 3).title).toBe('Resend 3 selected invitations?')
    expect(bulkQuestion('resend', 1).title).toBe('Resend 1 selected invitation?')
    expect(bulkQuestion('resend', 2).message).toContain('old link stops working')
    const s = bulkSummary('resend', {
      done: [{ id: 1, name: 'a@kw.uk' }],
      refused: [
        { id: 2, name: 'b@kw.uk', why: 'This invitation was revoked and cannot be re-sent. Send a new invitation instead.' },
        { id: 9, why: 'There is no such invitation in this tenant.' },
      ],
    })
    expect(s.text).toBe('Resent 1. Refused 2:')
    expect(s.refusals).toEqual(['b@kw.uk — This invitation was revoked and cannot be re-sent. Send a new invitation instead.', 'Invitation #9 — There is no such invitation in this tenant.'])
  })

  it('offers for resend only invitations that have Resend and a role the caller may give', () => {
    const roles = ['AGENT', 'MANAGER', 'VENDOR'] as const
    expect(resendable({ state: 'pending', role: 'AGENT' }, [...roles])).toEqual({ ok: true })
    expect(resendable({ state: 'expired', role: 'MANAGER' }, [...roles])).toEqual({ ok: true })
    expect(resendable({ state: 'pending', role: 'ADMIN' }, [...roles])).toEqual({ ok: false, why: 'This invitation gives a role above yours.' })
    expect(resendable({ state: 'revoked', role: 'AGENT' }, [...roles]).ok).toBe(false)
    expect(resendable({ state: 'accepted', role: 'AGENT' }, [...roles]).why).toBe('This invitation was accepted; send a new one instead.')
  })
})
