import type { AuditEvent } from './api'

/**
 * activityOf merges a user's events by them and about them (newest first,
 * each once) and keeps at most max. "About" comes from a free-text search
 * for their e-mail, which can also match a longer address ("ann@" in
 * "joann@"), so only events whose subject is this user are kept from it.
 */
export function activityOf(user: { id: number; email: string }, by: AuditEvent[], about: AuditEvent[], max: number): AuditEvent[] {
  const email = user.email.toLowerCase()
  const isAbout = (e: AuditEvent) =>
    e.subjectEmail.toLowerCase() === email || ((e.resourceType === 'user' || e.resourceType === 'session') && e.resourceId === String(user.id))
  const seen = new Set<number>()
  const out: AuditEvent[] = []
  for (const e of [...by, ...about.filter(isAbout)]) {
    if (seen.has(e.id)) continue
    seen.add(e.id)
    out.push(e)
  }
  out.sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || b.id - a.id)
  return out.slice(0, max)
}
