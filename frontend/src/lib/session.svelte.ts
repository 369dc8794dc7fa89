import { api, type Capability, type Me } from './api'

// The signed-in user, shared by every page.
class Session {
  me = $state<Me | null>(null)
  /** The server said its database is damaged: every page shows the banner. */
  damaged = $state(false)

  can(c: Capability): boolean {
    return !!this.me?.capabilities.includes(c)
  }
}

export const session = new Session()

export async function signOut() {
  try {
    await api.signOut()
  } finally {
    session.me = null
  }
}
