import type { BulkAction, BulkResult, Role } from './api'
import { roleName } from './roles'

// What a bulk action on the users list asks before it runs, and what it
// says after: how many were done, and each refusal with its reason.

const plural = (n: number, one: string, many = one + 's') => `${n} ${n === 1 ? one : many}`

export function bulkVerb(action: BulkAction, role?: Role): string {
  if (action === 'role') return `Change role to ${roleName(role)}`
  return action === 'deactivate' ? 'Deactivate' : 'Reactivate'
}

/** bulkQuestion is the confirm dialog's title and text. */
export function bulkQuestion(action: BulkAction, n: number, role?: Role): { title: string; message: string } {
  const who = plural(n, 'selected user')
  switch (action) {
    case 'deactivate':
      return { title: `Deactivate ${who}?`, message: 'Each is signed out everywhere at once and cannot sign in until reactivated. Accounts and history are kept. Anyone you may not deactivate is left as they are and listed with the reason.' }
    case 'reactivate':
      return { title: `Reactivate ${who}?`, message: 'Each can sign in again with their password. Anyone you may not reactivate is left as they are and listed with the reason.' }
    default:
      return { title: `Make ${who} ${roleName(role)}?`, message: 'Each gets the new role at once. Anyone whose role you may not change to it is left as they are and listed with the reason.' }
  }
}

const doneWord: Record<BulkAction, string> = { deactivate: 'Deactivated', reactivate: 'Reactivated', role: 'Changed the role of' }

/** bulkSummary says what was done ("Deactivated 3.") and lists each refusal as "Ada — why". */
export function bulkSummary(action: BulkAction, r: BulkResult): { text: string; refusals: string[] } {
  let text = `${doneWord[action]} ${r.done.length}.`
  if (r.refused.length > 0) text += ` Refused ${r.refused.length}:`
  const refusals = r.refused.map((x) => `${x.name || `User #${x.id}`} — ${x.why}`)
  return { text, refusals }
}
