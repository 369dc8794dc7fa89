import { describe, expect, it } from 'vitest'
import { bulkQuestion, bulkSummary } from './bulk'

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
})
