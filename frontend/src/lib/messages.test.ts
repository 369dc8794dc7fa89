import { describe, expect, it } from 'vitest'
import type { InvitationView, MailStatus } from './api'
import { sendUnsent, damagedTitle, invitationMail, invitationSent, lostDevice, mailNotSetUp, mustChooseOwn, resetEmailed, resetRequested, securityPlace, useRecoveryCode } from './messages'

// The words of issue 12, pinned so they cannot drift back to untrue ones.
describe('messages', () => {
  it('say what happened, in the words people were promised', () => {
    expect(securityPlace).toBe('Account settings → Security')
    expect(resetRequested).toBe("If an account exists for that address, we've e-mailed a link to choose a new password. It works once, for an hour.")
    expect(mailNotSetUp).toBe('E-mail is not set up — copy the link and send it yourself')
    expect(resetEmailed('emma@kwgroup.uk')).toBe('E-mailed to emma@kwgroup.uk — the link works once, for an hour')
    expect(mustChooseOwn).toBe('They must choose their own password at their next sign-in')
    expect(lostDevice).toBe('Lost your device? Ask your administrator to reset your 2FA.')
    expect(useRecoveryCode).toBe('Lost your device? Enter one of your recovery codes instead.')
    expect(damagedTitle).toBe('The database is damaged — restore from a backup')
  })

  it('never claim an invitation is being e-mailed when e-mail is not set up', () => {
    expect(invitationSent(false)).toContain(mailNotSetUp)
    expect(invitationSent(false)).not.toMatch(/being e-mailed/)
    expect(invitationSent(true)).toMatch(/being e-mailed/)
  })
})

describe('invitationMail', () => {
  const mail = (m: Partial<MailStatus>): MailStatus => ({ state: 'queued', error: '', attempts: 0, nextAttemptAt: null, sentAt: null, ...m })
  const inv = (state: InvitationView['state'], m: MailStatus | null) => ({ state, mail: m })
  const noSMTP = mail({ state: 'failed', reason: 'no_smtp', attempts: 1, error: 'e-mail is not set up in Settings; copy the link and share it instead' })

  it('shows an invitation never e-mailed for want of SMTP as neutral, not a failure', () => {
    expect(invitationMail(inv('pending', noSMTP), false)).toEqual({ text: 'Not e-mailed (no SMTP)', tone: 'neutral', reason: '' })
    // Still true after SMTP is set up later: that one was never sent.
    expect(invitationMail(inv('pending', noSMTP), true).tone).toBe('neutral')
    // Queued while SMTP is missing: the outbox will not send it either.
    expect(invitationMail(inv('pending', mail({})), false).text).toBe('Not e-mailed (no SMTP)')
  })

  it('shows a real delivery failure in red with its reason', () => {
    const r = invitationMail(inv('pending', mail({ state: 'failed', attempts: 8, error: '550 mailbox unavailable' })), true)
    expect(r).toEqual({ text: 'Failed', tone: 'fail', reason: '550 mailbox unavailable' })
  })

  it('reports no delivery problem for accepted or revoked invitations', () => {
    for (const state of ['accepted', 'revoked'] as const) {
      expect(invitationMail(inv(state, noSMTP), false)).toEqual({ text: '—', tone: 'plain', reason: '' })
      expect(invitationMail(inv(state, mail({ state: 'failed', error: 'timeout' })), true).tone).toBe('plain')
    }
    expect(invitationMail(inv('accepted', mail({ state: 'sent', sentAt: '2026-05-18T09:30:00Z' })), true).text).toMatch(/^Sent 18\/05/)
  })

  it('shows queued and retrying mail plainly', () => {
    expect(invitationMail(inv('pending', mail({})), true).text).toBe('Queued')
    expect(invitationMail(inv('pending', mail({ attempts: 2, nextAttemptAt: '2026-05-18T09:30:00Z', error: 'timeout' })), true)).toMatchObject({ text: expect.stringMatching(/^Retrying 18\/05/), tone: 'plain' })
    expect(invitationMail(inv('pending', null), true).text).toBe('—')
  })
})

describe('sendUnsent', () => {
  it('counts the unsent invitations it offers to send', () => {
    expect(sendUnsent(1)).toBe('Send the 1 unsent invitation now')
    expect(sendUnsent(3)).toBe('Send the 3 unsent invitations now')
  })
})
