// Strong random passwords for "Generate": 20 characters from an alphabet
// without look-alikes (0/O, 1/l/I), drawn with crypto.getRandomValues and
// rejection sampling so every character is equally likely (about 118 bits).

export const passwordAlphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!'
const generatedLength = 20

export function generatePassword(length = generatedLength): string {
  const n = passwordAlphabet.length
  const limit = 256 - (256 % n) // bytes at or above this would favour the first characters
  let out = ''
  while (out.length < length) {
    for (const b of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (b < limit && out.length < length) out += passwordAlphabet[b % n]
    }
  }
  return out
}
