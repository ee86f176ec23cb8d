// The measures, rates and dimensions statistics offer (GET /stats/measures), loaded once per page
// load: their Chinese labels are shown wherever a measure's code would otherwise appear.
import { reactive } from 'vue'
import { api } from './api.js'

export const measureCatalog = reactive({ measures: [], rates: [], dimensions: [], periods: [], loaded: false })
let pending = null

export function loadMeasureCatalog() {
  if (!pending) {
    pending = api.get('/stats/measures')
      .then((answer) => Object.assign(measureCatalog, answer, { loaded: true }))
      .catch((e) => { pending = null; throw e })
  }
  return pending
}

/** The label of a statistics row: its dimension values' labels, joined ('—' for the total row of a query without dimensions). */
export function rowLabel(row) {
  return Object.values(row.labels || row.keys || {}).join(' / ') || '—'
}

/** The Chinese label of a measure, rate or dimension code (the code itself until the catalog is loaded). */
export function measureLabel(name) {
  const all = [...measureCatalog.measures, ...measureCatalog.rates, ...measureCatalog.dimensions]
  return all.find((m) => m.name === name)?.label || name
}
