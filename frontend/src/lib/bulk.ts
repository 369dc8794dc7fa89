import type { BulkAction, BulkResult, InvitationView, Role } from './api'
import { roleName } from './roles'

// What a bulk action on the users list or the invitations asks before it
// runs, and what it says after: how many were done, and each refusal with
// its reason.

/** A bulk action: on users (BulkAction), or re-sending invitations. */
export type BulkVerb = BulkAction | 'resend'

const plural = (n: number, one: string, many = one + 's') => `${n} ${n === 1 ? one : many}`

export function bulkVerb(action: BulkVerb, role?: Role): string {
  if (action === 'role') return `Change role to ${roleName(role)}`
  return { deactivate: 'Deactivate', reactivate: 'Reactivate', resend: 'Resend' }[action]
}

/** bulkQuestion is the confirm dialog's title and text. */
export function bulkQuestion(action: BulkVerb, n: number, role?: Role): { title: string; message: string } {
  const who = plural(n, 'selected user')
  switch (action) {
    case 'resend':
      return {
        title: `Resend ${plural(n, 'selected invitation')}?`,
        message: 'Each gets a new link, valid for 7 days, e-mailed when e-mail is set up; its old link stops working. Any you may not resend is left as it is and listed with the reason.',
      }
    case 'deactivate':
      return { title: `Deactivate ${who}?`, message: 'Each is signed out everywhere at once and cannot sign in until reactivated. Accounts and history are kept. Anyone you may not deactivate is left as they are and listed with the reason.' }
    case 'reactivate':
      return { title: `Reactivate ${who}?`, message: 'Each can sign in again with their password. Anyone you may not reactivate is left as they are and listed with the reason.' }
    default:
      return { title: `Make ${who} ${roleName(role)}?`, message: 'Each gets the new role at once. Anyone whose role you may not change to it is left as they are and listed with the reason.' }
  }
}

const doneWord: Record<BulkVerb, string> = { deactivate: 'Deactivated', reactivate: 'Reactivated', role: 'Changed the role of', resend: 'Resent' }

/** bulkSummary says what was done ("Deactivated 3.") and lists each refusal as "Ada — why". */
export function bulkSummary(action: BulkVerb, r: BulkResult): { text: string; refusals: string[] } {
  let text = `${doneWord[action]} ${r.done.length}.`
  if (r.refused.length > 0) text += ` Refused ${r.refused.length}:`
  const unnamed = action === 'resend' ? 'Invitation' : 'User'
  const refusals = r.refused.map((x) => `${x.name || `${unnamed} #${x.id}`} — ${x.why}`)
  return { text, refusals }
}

/**
 * resendable says whether an invitation may be ticked for Resend: it has
 * Resend (pending or expired) and gives a role the caller may give (roles).
 * The server checks again; this only keeps the offer honest.
 */
export function resendable(inv: Pick<InvitationView, 'state' | 'role'>, roles: Role[]): { ok: boolean; why?: string } {
  if (inv.state !== 'pending' && inv.state !== 'expired') return { ok: false, why: `This invitation was ${inv.state}; send a new one instead.` }
  if (!roles.includes(inv.role)) return { ok: false, why: 'This invitation gives a role above yours.' }
  return { ok: true }
}
