// The dispatch model's suggestion on a ticket (field ``recommendation``): ranked departments with
// probabilities (basis points or fractions), the threshold, the model version and the located district.
const fraction = (bp, p) => (typeof bp === 'number' ? bp / 10000 : typeof p === 'number' ? p : null)

export function normalizeRecommendation(rec) {
  if (!rec || typeof rec !== 'object') return null
  const raw = Array.isArray(rec) ? rec : rec.departments || rec.top || rec.ranked || rec.items || []
  const items = (Array.isArray(raw) ? raw : [])
    .map((x) => (Array.isArray(x)
      ? { department: x[0], probability: Number(x[1]) }
      : { department: x.department || x.code, probability: fraction(x.probability_bp, x.probability ?? x.score) ?? 0 }))
    .filter((x) => typeof x.department === 'string' && x.department)
  if (!items.length) return null
  const place = rec.jurisdiction && typeof rec.jurisdiction === 'object' ? rec.jurisdiction : null
  const district = place ? place.district : (rec.district && typeof rec.district === 'object' ? rec.district.code : rec.district)
  return {
    items,
    auto: Boolean(rec.auto),
    threshold: fraction(rec.threshold_bp, rec.threshold),
    modelVersion: rec.model_version || rec.version || null,
    district: district || null,
    place: place ? place.place || null : null,
    abstain: rec.abstain || null,
  }
}

/** The suggestion route the API offers for a text being typed, if any. */
export function suggestionRoute(routes) {
  return Object.keys(routes).sort().find((p) => routes[p].includes('POST') && !p.includes('{')
    && /(recommend|predict|suggest)/.test(p)) || null
}

/** The categories suggested for a text (``categories`` of the suggestion route): items with code,
 * path label and confidence (0..1), or none with the reason it abstained. Null when not offered. */
export function normalizeCategorySuggestions(raw) {
  if (!raw || typeof raw !== 'object') return null
  const items = (Array.isArray(raw.items) ? raw.items : [])
    .filter((x) => x && typeof x.code === 'string' && x.code)
    .map((x) => ({
      code: x.code,
      label: x.label || (Array.isArray(x.path) ? x.path.join(' / ') : x.name || x.code),
      confidence: typeof x.confidence === 'number' ? x.confidence : 0,
      matched: Array.isArray(x.matched) ? x.matched : [],
      method: x.method === 'model' ? 'model' : 'keywords',
    }))
  return { items, abstain: raw.abstain || null, method: raw.method === 'model' ? 'model' : 'keywords' }
}
