// Knowledge base (知识库): article kinds in Chinese, and the suggestion search the registration screen runs.
import { api } from './api.js'

export const KB_KIND = { policy: '政策法规', procedure: '办理流程', faq: '常见问答', duty: '部门职责' }

/** The API takes at most this many characters of search text: the latest typed part counts most. */
export const MAX_SEARCH_TEXT = 500

/** Articles suggested for what is being typed (best first); empty for too little text. */
export async function suggestArticles(text, { category, limit = 3 } = {}) {
  const clean = (text || '').trim()
  if (clean.length < 4) return { terms: [], items: [] }
  return api.get('/knowledge/search', { text: clean.slice(-MAX_SEARCH_TEXT), category: category || undefined, limit })
}
