import { describe, expect, it } from 'vitest'
import { activityOf } from './activity'
import type { AuditEvent } from './api'

let n = 0
function ev(p: Partial<AuditEvent>): AuditEvent {
  n++
  return {
    id: n, time: `2026-05-18T09:${String(n).padStart(2, '0')}:00Z`, actorName: 'Mitch', actorEmail: 'mitch@kw.uk', action: 'update',
    resourceType: 'user', resourceId: '7', ip: '', tenantId: 1, meta: null, actorId: 1, subjectName: '', subjectEmail: '', change: '', ...p,
  }
}

describe('activityOf', () => {
  const ann = { id: 7, email: 'Ann@kw.uk' }
  it('merges events by and about the user, newest first, each once', () => {
    const signIn = ev({ actorEmail: 'ann@kw.uk', action: 'sign_in', resourceType: 'session' })
    const promoted = ev({ subjectEmail: 'ann@kw.uk', change: 'role AGENT → MANAGER' })
    const both = ev({ actorEmail: 'ann@kw.uk', subjectEmail: 'ann@kw.uk' })
    const got = activityOf(ann, [signIn, both], [both, promoted], 10)
    expect(got.map((e) => e.id)).toEqual([both.id, promoted.id, signIn.id])
  })
  it("drops a free-text match about someone else (ann@ inside joann@)", () => {
    const joann = ev({ subjectEmail: 'joann@kw.uk', resourceId: '9' })
    const invite = ev({ resourceType: 'invitation', resourceId: '3', subjectEmail: 'ann@kw.uk' })
    expect(activityOf(ann, [], [joann, invite], 10).map((e) => e.id)).toEqual([invite.id])
  })
  it('keeps at most max', () => {
    const many = Array.from({ length: 12 }, () => ev({ subjectEmail: 'ann@kw.uk' }))
    expect(activityOf(ann, [], many, 8)).toHaveLength(8)
  })
})
