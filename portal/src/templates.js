// Reply templates (答复模板): the centre's templates from GET /reply-templates (filtered by use and
// kind); the standard wording below only while that route is absent.
import { api, hasRoute } from './api.js'

export const FALLBACK_TEMPLATES = [
  { id: 'settled', title: '调解成功', use: 'reply', text: '您反映的问题经承办部门调解，双方已达成一致意见，商家同意按您的诉求处理。感谢您的监督。' },
  { id: 'rectified', title: '已责令整改', use: 'reply', text: '经核查，您反映的情况属实，承办部门已责令被投诉方限期整改，并将跟踪整改落实情况。' },
  { id: 'not-settled', title: '调解不成', use: 'reply', text: '承办部门已组织双方调解，因双方意见分歧较大未能达成一致，您可依法通过仲裁或诉讼途径解决。' },
  { id: 'case-filed', title: '举报已立案', use: 'reply', text: '您举报的问题经核查已立案调查，调查结果将依法处理。感谢您的举报。' },
  { id: 'inquiry', title: '咨询答复', use: 'reply', text: '您咨询的问题已由相关部门答复，如仍有疑问，可再次拨打热线咨询。' },
]

const cache = new Map()

/** Templates for ``use`` (reply, callback, decline...), a ticket ``kind`` and its ``category`` (those
 *  linked to it or above it, and unlinked ones); [] when none apply. */
export function loadTemplates({ use, kind, category } = {}) {
  const key = `${use || ''}|${kind || ''}|${category || ''}`
  if (!cache.has(key)) {
    const promise = hasRoute('GET', '/reply-templates').then(async (present) => {
      if (!present) return FALLBACK_TEMPLATES.filter((t) => !use || t.use === use)
      const items = (await api.get('/reply-templates', { use, kind, category: category || undefined })).items || []
      return items.filter((t) => t.active !== false)
    }).catch((e) => { cache.delete(key); throw e })
    cache.set(key, promise)
  }
  return cache.get(key)
}
