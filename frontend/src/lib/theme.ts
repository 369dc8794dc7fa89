// Light and dark: follow the system unless the user picked one.

export type Theme = 'system' | 'light' | 'dark'
const key = 'gatehouse.theme'

export function currentTheme(): Theme {
  const t = localStorage.getItem(key)
  return t === 'light' || t === 'dark' ? t : 'system'
}

export function applyTheme(t: Theme = currentTheme()) {
  if (t === 'system') localStorage.removeItem(key)
  else localStorage.setItem(key, t)
  const dark = t === 'dark' || (t === 'system' && matchMedia('(prefers-color-scheme: dark)').matches)
  document.documentElement.dataset.theme = dark ? 'dark' : 'light'
}
