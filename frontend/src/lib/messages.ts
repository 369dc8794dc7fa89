import type { InvitationView } from './api'
import { formatDateTime } from './format'

// Texts that tell people what happened, kept in one place so the tests can
// pin them down and they cannot drift back to something untrue.

/** Where people change their password, 2FA and sessions. */
export const securityPlace = 'Account settings → Security'

export const resetRequested = "If an account exists for that address, we've e-mailed a link to choose a new password. It works once, for an hour."

export const mailNotSetUp = 'E-mail is not set up — copy the link and send it yourself'

export const resetEmailed = (email: string) => `E-mailed to ${email} — the link works once, for an hour`

export const mustChooseOwn = 'They must choose their own password at their next sign-in'

export const lostDevice = 'Lost your device? Ask your administrator to reset your 2FA.'
/** The code step's hint when the user has recovery codes left. */
export const useRecoveryCode = 'Lost your device? Enter one of your recovery codes instead.'

/** What Deactivate does, asked before it is done (users list and edit page). */
export const deactivateWarning = 'They are signed out everywhere at once and cannot sign in until reactivated. Their account and history are kept.'

export const damagedTitle = 'The database is damaged — restore from a backup'

/** invitationSent says where a new or re-sent invitation's link went. */
export function invitationSent(mailSetUp: boolean): string {
  return mailSetUp
    ? "The link is being e-mailed; you can also copy it and share it directly. It works once and expires in 7 days. The e-mail's state shows in the invitations list."
    : `${mailNotSetUp}. It works once and expires in 7 days.`
}

export type MailTone = 'plain' | 'neutral' | 'fail'

/**
 * invitationMail is the invitations list's E-mail cell. An invitation that
 * was never e-mailed because SMTP is not set up is not a failure; an
 * accepted or revoked one no longer needs its e-mail, so none is reported.
 */
export function invitationMail(inv: Pick<InvitationView, 'state' | 'mail'>, mailSetUp: boolean): { text: string; tone: MailTone; reason: string } {
  const m = inv.mail
  const none = { text: '—', tone: 'plain' as MailTone, reason: '' }
  if (!m) return none
  if (m.state === 'sent') return { text: `Sent ${formatDateTime(m.sentAt)}`, tone: 'plain', reason: '' }
  if (inv.state === 'accepted' || inv.state === 'revoked') return none
  // The outbox fails a message at once when SMTP is missing, with that reason.
  const noSMTP = (m.state === 'failed' && m.reason === 'no_smtp') || (m.state === 'queued' && !mailSetUp)
  if (noSMTP) return { text: 'Not e-mailed (no SMTP)', tone: 'neutral', reason: '' }
  switch (m.state) {
    case 'queued':
      return { text: m.attempts > 0 ? `Retrying ${formatDateTime(m.nextAttemptAt)}` : 'Queued', tone: 'plain', reason: m.error }
    case 'failed':
      return { text: 'Failed', tone: 'fail', reason: m.error }
    default:
      return { text: 'Not sent', tone: 'plain', reason: '' }
  }
}

/** The invitations list's offer once e-mail is set up. */
export function sendUnsent(n: number): string {
  return n === 1 ? 'Send the 1 unsent invitation now' : `Send the ${n} unsent invitations now`
}
