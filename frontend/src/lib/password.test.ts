import { afterEach, describe, expect, it, vi } from 'vitest'
import { generatePassword, passwordAlphabet } from './password'

describe('generatePassword', () => {
  afterEach(() => vi.restoreAllMocks())

  it('makes 20 characters from the alphabet, well over 100 bits, different every time', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 200; i++) {
      const p = generatePassword()
      expect(p).toHaveLength(20)
      expect([...p].every((ch) => passwordAlphabet.includes(ch))).toBe(true)
      seen.add(p)
    }
    expect(seen.size).toBe(200)
    expect(20 * Math.log2(passwordAlphabet.length)).toBeGreaterThan(100)
    expect(passwordAlphabet).not.toMatch(/[0O1lI]/)
  })

  it('draws from crypto.getRandomValues', () => {
    const spy = vi.spyOn(crypto, 'getRandomValues')
    generatePassword()
    expect(spy).toHaveBeenCalled()
  })

  it('skips bytes that would favour the first characters (no modulo bias)', () => {
    const n = passwordAlphabet.length
    const limit = 256 - (256 % n)
    // The first draw is all biased bytes; the second is all the byte for 'C'.
    let call = 0
    vi.spyOn(crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(a: T): T => {
      ;(a as unknown as Uint8Array).fill(call++ === 0 ? limit : 2)
      return a
    })
    expect(generatePassword(8)).toBe('CCCCCCCC')
    expect(call).toBe(2)
  })

  it('uses every character about equally often', () => {
    const counts = new Map<string, number>()
    const draws = 4000
    for (let i = 0; i < draws; i++) for (const ch of generatePassword()) counts.set(ch, (counts.get(ch) ?? 0) + 1)
    expect(counts.size).toBe(passwordAlphabet.length)
    const expected = (draws * 20) / passwordAlphabet.length
    for (const c of counts.values()) expect(Math.abs(c - expected) / expected).toBeLessThan(0.15)
  })
})
