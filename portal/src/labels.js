// Everything a person reads about codes the API returns, in Simplified Chinese: the labels come from
// the server's one vocabulary (GET /vocabulary, chalicelib/domain/vocabulary.py), loaded once per
// session before any staff page shows; only the tag colours below are the portal's own.
import { reactive } from 'vue'
import { api } from './api.js'
import { loadedOnce } from './loader.js'

const maps = {}
const map = (name) => (maps[name] = reactive({}))

export const STATUS = map('status')
export const KIND = map('kind')
export const CHANNEL = map('channel')
export const PRIORITY = map('priority')
export const ROLE = map('role')
export const DISPATCH_MODE = map('dispatch_mode')
export const ASSIGNMENT_ROLE = map('assignment_role')
export const ASSIGNMENT_STATUS = map('assignment_status')
export const SATISFACTION = map('satisfaction')
export const MEDIATION_RESULT = map('result') // every closure result (mediation, report, handled)
export const RESOLUTION = map('resolution')
export const TERMINATION_REASON = map('termination_reason')
export const PAUSE_REASON = map('pause_reason')
export const DECLINE_REASON = map('decline_reason')
export const CLOCK = map('clock')
export const UNIT = map('unit')
export const WARNING = map('warning')
export const DECISION = map('decision')
export const ACTION = map('action')
export const EVENT = map('event')
export const QUEUE = map('queue')
export const RESULTS_BY_KIND = reactive({})
export const STATUS_GROUPS = reactive({})
export const vocabulary = reactive({ loaded: false, error: null })

/** Load the vocabulary (once; again after a failure). Pages still show codes if it cannot load. */
export const loadVocabulary = loadedOnce(vocabulary, async () => {
  const doc = await api.get('/vocabulary')
  for (const [name, labels] of Object.entries(doc.labels || {})) {
    if (maps[name]) Object.assign(maps[name], labels)
  }
  Object.assign(RESULTS_BY_KIND, doc.results_by_kind || {})
  Object.assign(STATUS_GROUPS, doc.status_groups || {})
  vocabulary.error = null
}).load

export const STATUS_TAG = {
  pending_acceptance: 'warning', internet_inbox: 'warning', upper_level_pending: 'warning',
  non_acceptance_review: 'warning', to_dispatch: 'warning', in_handling: 'primary',
  closure_review: 'primary', pending_callback: 'success', pending_evaluation: 'success',
  replied: 'success', closed: 'info', archived: 'info',
}

export function label(map, code) {
  if (code === null || code === undefined || code === '') return '—'
  return map[code] || code
}
