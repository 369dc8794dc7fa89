import { ApiError } from './api'

/** FormErrors holds one message per field, plus a form-wide one. */
export type FormErrors = Record<string, string>

/** errorsFrom turns a failed call into messages for the form. */
export function errorsFrom(e: unknown, fields: string[]): FormErrors {
  const err = e instanceof ApiError ? e : new ApiError('internal', 'Something went wrong. Please try again.')
  if (err.field && fields.includes(err.field)) return { [err.field]: err.message }
  return { form: err.message }
}
