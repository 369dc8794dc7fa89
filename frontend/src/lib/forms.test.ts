import { describe, expect, it } from 'vitest'
import { ApiError } from './api'
import { check, confirmError, email, errorsFrom, hasErrors, maxChars, optionalEmail, password, required } from './forms'

describe('form checks', () => {
  it('reports every field that is wrong at once, the first problem of each', () => {
    const errors = check(
      { email: 'emma@', name: '  ', password: 'short' },
      { email: [email], name: [required('Enter a name.'), maxChars(100)], password: [password] },
    )
    expect(errors).toEqual({ email: 'Enter an e-mail address like name@example.com.', name: 'Enter a name.', password: 'Use at least 8 characters.' })
    expect(hasErrors(errors)).toBe(true)
    expect(hasErrors(check({ email: 'emma@kwgroup.uk' }, { email: [email] }))).toBe(false)
  })

  it("uses the server's words for addresses", () => {
    expect(email('')).toBe('Enter an e-mail address.')
    expect(email('no-at-sign')).toBe('Enter an e-mail address like name@example.com.')
    expect(email('@kwgroup.uk')).toBe('Enter the part before the @, like name@example.com.')
    expect(email('zoë@bücher.example')).toBe('')
    expect(optionalEmail('')).toBe('')
  })

  it('counts password characters and bytes as bcrypt does', () => {
    expect(password('1234567')).toBe('Use at least 8 characters.')
    expect(password('ëëëëëëëë')).toBe('') // 8 characters, 16 bytes
    expect(password('é'.repeat(37))).toMatch(/^Use at most 72 bytes/) // 74 bytes
    expect(password('a'.repeat(72))).toBe('')
  })

  it('puts a server error beside its field, or above the form', () => {
    expect(errorsFrom(new ApiError('conflict', 'Taken.', 'email'), ['email'])).toEqual({ email: 'Taken.' })
    expect(errorsFrom(new ApiError('forbidden', 'No.', 'other'), ['email'])).toEqual({ form: 'No.' })
  })
})

describe('confirmError', () => {
  it('says nothing when the two agree, and names the confirmation field when not', () => {
    expect(confirmError('a long password', 'a long password')).toBeNull()
    expect(confirmError('a long password', 'a long pasword')).toEqual({ confirm: 'The two passwords are not the same.' })
    expect(confirmError('x', 'y', 'The two new passwords are not the same.')).toEqual({ confirm: 'The two new passwords are not the same.' })
  })
})
