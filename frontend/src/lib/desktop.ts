// The desktop window's own menu (window.go) asks the page for things with
// Wails events; in a browser there is no such menu and nothing listens.
import { router } from './router.svelte'

interface WailsRuntime {
  EventsOn?: (name: string, callback: (...data: unknown[]) => void) => () => void
}

/** Where Gatehouse › Back up now… leads: the encrypted backup's form, in view. */
export const backupFormPath = '/admin/settings?backup=1'

/** listenToMenu makes the window's menu items work; it returns a function that stops listening. */
export function listenToMenu(win: { runtime?: WailsRuntime } = globalThis as { runtime?: WailsRuntime }): () => void {
  const on = win.runtime?.EventsOn
  if (!on) return () => {}
  // A backup needs a passphrase, which the page asks for (then the save
  // dialog): the menu opens that form rather than a second way to back up.
  return on('menu:backup', () => router.navigate(backupFormPath))
}
