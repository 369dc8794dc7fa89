// A small history router: the path is reactive state; links and code call
// navigate(). The LAN server and the window both serve the app shell for
// every page path.

class Router {
  path = $state(location.pathname)
  query = $state(new URLSearchParams(location.search))

  constructor() {
    addEventListener('popstate', () => this.sync())
  }

  sync() {
    this.path = location.pathname
    this.query = new URLSearchParams(location.search)
  }

  navigate(to: string, replace = false) {
    if (to === location.pathname + location.search) return
    if (replace) history.replaceState(null, '', to)
    else history.pushState(null, '', to)
    this.sync()
  }
}

export const router = new Router()

/** link is a Svelte action for <a href> elements: in-app navigation without reloads. */
export function link(node: HTMLAnchorElement) {
  const onClick = (e: MouseEvent) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
    const href = node.getAttribute('href')
    if (!href || !href.startsWith('/')) return
    e.preventDefault()
    router.navigate(href)
  }
  node.addEventListener('click', onClick)
  return { destroy: () => node.removeEventListener('click', onClick) }
}
