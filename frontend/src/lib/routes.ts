// Page paths with parameters, matched in order.

export interface Match {
  name: string
  params: Record<string, string>
}

const patterns: { name: string; re: RegExp; keys: string[] }[] = [
  { name: 'users', re: /^\/admin\/users\/?$/, keys: [] },
  { name: 'invite', re: /^\/admin\/users\/invite\/?$/, keys: [] },
  { name: 'edit', re: /^\/admin\/users\/(\d{1,15})\/edit\/?$/, keys: ['id'] },
  { name: 'audit', re: /^\/admin\/audit\/?$/, keys: [] },
  { name: 'settings', re: /^\/admin\/settings\/?$/, keys: [] },
  { name: 'tenants', re: /^\/admin\/tenants\/?$/, keys: [] },
  { name: 'profile', re: /^\/profile\/settings\/?$/, keys: [] },
]

export function matchRoute(path: string): Match | null {
  for (const p of patterns) {
    const m = p.re.exec(path)
    if (m) return { name: p.name, params: Object.fromEntries(p.keys.map((k, i) => [k, m[i + 1]])) }
  }
  return null
}
