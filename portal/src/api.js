// The API client: same origin, bearer token from the session, the JSON error envelope turned
// into an ApiError with a message in Chinese.
import { session, clearSession } from './session.js'

const ERROR_TEXT = {
  unauthenticated: '登录已失效，请重新登录', // the server's code for a missing, invalid or expired token
  unauthorized: '登录已失效，请重新登录',
  forbidden: '无权执行此操作或查看此内容',
  not_found: '未找到相关记录',
  validation_failed: '填写内容有误，请检查后重试',
  illegal_transition: '工单当前状态不允许此操作',
  concurrent_modification: '数据已被他人更新，请刷新后重试', // a ticket route says 工单: see TICKET_TEXT
  duplicate: '相同诉求正在办理中，不再重复受理（第三十五条）',
  conflict: '操作冲突，请刷新后重试',
  rate_limited: '操作过于频繁，请稍后再试',
  too_many_requests: '操作过于频繁，请稍后再试',
  payload_too_large: '提交的内容过大',
  network: '网络异常，无法连接服务器',
  server: '服务器繁忙，请稍后再试',
  service_unavailable: '服务暂时不可用，请稍后再试',
  unsupported_media_type: '提交的格式不受支持',
}

// Codes whose wording names the ticket when the request was on a ticket route (the same code also
// comes from the roster, knowledge articles, the directory, settings and partner mappings).
const TICKET_TEXT = {
  concurrent_modification: '工单已被他人更新，请刷新后重试',
}

/** True for the ticket routes: /tickets… and the citizen's /public/tickets…. */
function isTicketPath(path) {
  return /^\/(public\/)?tickets(\/|\?|$)/.test(path || '')
}

export class ApiError extends Error {
  /** ``path`` (optional) is the request's route: it picks the ticket wording for a ticket route. */
  constructor(status, code, message, details, path = '') {
    // the UI speaks Chinese: an unknown code gets a generic message (the server's stays in serverMessage)
    super((isTicketPath(path) && TICKET_TEXT[code]) || ERROR_TEXT[code]
      || (status >= 500 ? ERROR_TEXT.server : `请求未成功（${code || status}）`))
    this.status = status
    this.code = code
    this.serverMessage = message
    this.details = details || {}
  }

  /** The problem the server named for form field ``name`` (or an entry of it: ``name[0]``, ``name.x``), or ''. */
  fieldProblem(name) {
    const d = this.details && typeof this.details === 'object' ? this.details : {}
    const key = Object.keys(d).find((k) => k === name || k.startsWith(name + '[') || k.startsWith(name + '.'))
    return key ? String(d[key]) : ''
  }

  /** Field-level problems as "field: problem" lines, for showing under a form. */
  get detailText() {
    const d = this.details
    if (!d || typeof d !== 'object') return ''
    return Object.entries(d)
      .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
      .map(([k, v]) => `${k}：${v}`)
      .join('；')
  }
}

function query(params) {
  if (!params) return ''
  const pairs = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '')
  return pairs.length ? '?' + new URLSearchParams(pairs).toString() : ''
}

/** Call the API; resolves with the parsed JSON body, rejects with ApiError. */
export async function request(method, path, { body, params, auth = true } = {}) {
  const headers = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  // The token this request carries: a late 401 for a token already replaced (the user signed in
  // again while an old request was in flight) must not end the new session.
  const sentToken = auth ? session.token : null
  if (sentToken) headers.Authorization = `Bearer ${sentToken}`
  let response
  try {
    response = await fetch(path + query(params), {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch (e) {
    throw new ApiError(0, 'network', String(e))
  }
  const text = await response.text()
  let data = null
  try { data = text ? JSON.parse(text) : null } catch { data = null }
  if (!response.ok) {
    const err = data && data.error ? data.error : {}
    const code = err.code || (response.status === 429 ? 'rate_limited' : response.status >= 500 ? 'server' : 'http_' + response.status)
    if (response.status === 401 && sentToken && session.token === sentToken) clearSession({ expired: true })
    throw new ApiError(response.status, code, err.message, err.details, path)
  }
  return data
}

export const api = {
  get: (path, params, opts = {}) => request('GET', path, { params, ...opts }),
  post: (path, body = {}, opts = {}) => request('POST', path, { body, ...opts }),
  put: (path, body = {}, opts = {}) => request('PUT', path, { body, ...opts }),
}

/** POST /tickets/{id}/<action-with-dashes> with the action's parameters. */
export function act(ticketId, action, params = {}) {
  return api.post(`/tickets/${encodeURIComponent(ticketId)}/${action.replaceAll('_', '-')}`, params)
}

let openapiPromise = null

/** The API's route list (from /openapi.json), cached: screens feature-detect optional routes. */
export function apiRoutes() {
  if (!openapiPromise) {
    openapiPromise = request('GET', '/openapi.json', { auth: false })
      .then((doc) => {
        const routes = {}
        for (const [path, ops] of Object.entries(doc.paths || {})) routes[path] = Object.keys(ops).map((m) => m.toUpperCase())
        return routes
      })
      .catch(() => { openapiPromise = null; return {} })
  }
  return openapiPromise
}

/** True when the API declares ``method path``. */
export async function hasRoute(method, path) {
  const routes = await apiRoutes()
  return (routes[path] || []).includes(method)
}

/** Every declared path that starts with ``prefix`` and answers ``method``. */
export async function routesUnder(prefix, method = 'GET') {
  const routes = await apiRoutes()
  return Object.keys(routes).filter((p) => p.startsWith(prefix) && routes[p].includes(method)).sort()
}
