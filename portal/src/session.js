// Who is signed in: the token and user, kept in sessionStorage (gone when the tab closes).
import { reactive } from 'vue'

const KEY = 'complaint-platform-session'

function restore() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null')
    if (saved && saved.token && saved.user) return saved
  } catch { /* a damaged entry is ignored: the user signs in again */ }
  return { token: null, user: null }
}

export const session = reactive({ ...restore(), expired: false })

export function setSession(token, user) {
  session.token = token
  session.user = user
  session.expired = false
  sessionStorage.setItem(KEY, JSON.stringify({ token, user }))
}

/** Sign out; ``expired`` when the server refused the token (the login page then says so). */
export function clearSession({ expired = false } = {}) {
  session.token = null
  session.user = null
  session.expired = expired
  sessionStorage.removeItem(KEY)
}

/** The workbench a role lands on after signing in. */
export function homeFor(role) {
  return {
    agent: '/agent', dispatcher: '/dispatcher', handler: '/department', dept_lead: '/department',
    manager: '/manager', admin: '/admin/models',
  }[role] || '/login'
}
