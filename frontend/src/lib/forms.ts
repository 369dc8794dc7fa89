import { ApiError } from './api'

/** FormErrors holds one message per field, plus a form-wide one. */
export type FormErrors = Record<string, string>

/** errorsFrom turns a failed call into messages for the form. */
export function errorsFrom(e: unknown, fields: string[]): FormErrors {
  const err = e instanceof ApiError ? e : new ApiError('internal', 'Something went wrong. Please try again.')
  if (err.field && fields.includes(err.field)) return { [err.field]: err.message }
  return { form: err.message }
}

// The server checks every field and answers with the first it refuses. So
// that a form shows every mistake at once, beside its field, the plain ones
// (empty, not an address, too short or too long) are checked here first,
// in the server's words; anything subtler still comes back from the server.

/** A check returns what to fix, or '' when the value is fine. */
export type Check = (value: string) => string

export const required =
  (message: string): Check =>
  (v) =>
    v.trim() ? '' : message

/** email: the shape core's cleanEmail asks for (the rest it checks itself). */
export const email: Check = (v) => {
  const s = v.trim()
  if (!s) return 'Enter an e-mail address.'
  const at = s.lastIndexOf('@')
  if (at < 0 || at === s.length - 1) return 'Enter an e-mail address like name@example.com.'
  if (at === 0) return 'Enter the part before the @, like name@example.com.'
  return ''
}

/** optionalEmail: empty, or an address. */
export const optionalEmail: Check = (v) => (v.trim() ? email(v) : '')

/** password: auth.CheckPassword's limits (8 characters, 72 bytes). */
export const password: Check = (v) => {
  if ([...v].length < 8) return 'Use at least 8 characters.'
  if (new TextEncoder().encode(v).length > 72) return 'Use at most 72 bytes (about 72 plain letters; emoji and accents take more).'
  return ''
}

/** wholeNumber: empty, or a whole number of 0 or more written in digits. */
export const wholeNumber =
  (message: string): Check =>
  (v) =>
    v.trim() === '' || /^\d+$/.test(v.trim()) ? '' : message

export const maxChars =
  (n: number, message = `Use at most ${n} characters.`): Check =>
  (v) =>
    [...v.trim()].length > n ? message : ''

/** check runs each field's checks and keeps the first problem of each. */
export function check(values: Record<string, string>, checks: Record<string, Check[]>): FormErrors {
  const out: FormErrors = {}
  for (const [field, list] of Object.entries(checks)) {
    for (const c of list) {
      const problem = c(values[field] ?? '')
      if (problem) {
        out[field] = problem
        break
      }
    }
  }
  return out
}

/** hasErrors says whether any field (or the form) has a message. */
export const hasErrors = (e: FormErrors) => Object.values(e).some(Boolean)

/** focusFirstInvalid moves focus to the first field marked invalid in a form, after it renders. */
export function focusFirstInvalid(form: HTMLFormElement | null | undefined) {
  requestAnimationFrame(() => form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus())
}

/** confirmError is the confirmation field's message when it differs. */
export function confirmError(value: string, confirm: string, message = 'The two passwords are not the same.'): FormErrors | null {
  return value === confirm ? null : { confirm: message }
}
