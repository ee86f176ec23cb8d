// Figures for the manager's monitoring wall computed from ticket summaries over a period
// (GET /tickets), used while the dedicated statistics routes are absent and beside them.
import { CHANNEL, KIND, STATUS } from './labels.js'
import { fmtDate } from './format.js'

const OPEN = new Set(['pending_acceptance', 'internet_inbox', 'upper_level_pending', 'non_acceptance_review',
  'to_dispatch', 'in_handling', 'closure_review', 'pending_callback', 'pending_evaluation', 'replied'])

function countBy(items, keyOf) {
  const out = new Map()
  for (const item of items) {
    for (const key of [].concat(keyOf(item) ?? [])) {
      if (key === null || key === undefined || key === '') continue
      out.set(key, (out.get(key) || 0) + 1)
    }
  }
  return out
}

const top = (map, n) => [...map.entries()].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0]))).slice(0, n)

/** Everything the wall draws, from ticket summaries. */
export function aggregate(items, { from, to } = {}) {
  const byStatus = countBy(items, (t) => t.status)
  const byDay = countBy(items, (t) => fmtDate(t.created_at))
  const days = []
  if (from && to) {
    for (let d = new Date(from + 'T00:00:00Z'); d <= new Date(to + 'T00:00:00Z'); d = new Date(d.getTime() + 86400000)) {
      days.push(d.toISOString().slice(0, 10))
    }
  }
  return {
    total: items.length,
    open: items.filter((t) => OPEN.has(t.status)).length,
    closed: items.filter((t) => t.status === 'closed' || t.status === 'archived').length,
    yellow: items.filter((t) => t.warning === 'yellow').length,
    red: items.filter((t) => t.warning === 'red').length,
    byStatus: Object.keys(STATUS).filter((s) => byStatus.get(s)).map((s) => ({ name: STATUS[s], value: byStatus.get(s), code: s })),
    byKind: top(countBy(items, (t) => t.kind), 10).map(([k, v]) => ({ name: KIND[k] || k, value: v })),
    byChannel: top(countBy(items, (t) => t.channel), 10).map(([k, v]) => ({ name: CHANNEL[k] || k, value: v })),
    byDay: (days.length ? days : [...byDay.keys()].sort()).map((d) => [d.slice(5), byDay.get(d) || 0]),
    byDepartment: top(countBy(items, (t) => t.departments || []), 12),
    warningsByDepartment: top(countBy(items.filter((t) => t.warning === 'yellow' || t.warning === 'red'), (t) => t.departments || []), 12),
    hotRespondents: top(countBy(items, (t) => t.respondent), 10).filter(([, v]) => v >= 2),
    hotCategories: top(countBy(items, (t) => t.category), 10),
    byDistrict: top(countBy(items, (t) => t.district), 12),
  }
}

export function barOption(pairs, { horizontal = false, color = '#1f5fbf', nameOf = (x) => x } = {}) {
  const names = pairs.map(([k]) => nameOf(k))
  const values = pairs.map(([, v]) => v)
  const category = { type: 'category', data: horizontal ? [...names].reverse() : names, axisLabel: { interval: 0, fontSize: 11, rotate: horizontal ? 0 : (names.length > 6 ? 30 : 0) } }
  const value = { type: 'value', minInterval: 1 }
  return {
    tooltip: { trigger: 'axis' },
    grid: { left: horizontal ? 110 : 40, right: 20, top: 20, bottom: horizontal ? 20 : 50 },
    xAxis: horizontal ? value : category,
    yAxis: horizontal ? category : value,
    series: [{ type: 'bar', data: horizontal ? [...values].reverse() : values, itemStyle: { color }, barMaxWidth: 26 }],
  }
}

export function pieOption(data) {
  return {
    tooltip: { trigger: 'item', formatter: '{b}：{c}（{d}%）' },
    legend: { type: 'scroll', orient: 'vertical', right: 0, top: 'middle', textStyle: { fontSize: 11 } },
    series: [{ type: 'pie', radius: ['38%', '68%'], center: ['38%', '50%'], data, label: { show: false } }],
  }
}

export function lineOption(pairs) {
  return {
    tooltip: { trigger: 'axis' },
    grid: { left: 40, right: 20, top: 20, bottom: 30 },
    xAxis: { type: 'category', data: pairs.map(([d]) => d), boundaryGap: false },
    yAxis: { type: 'value', minInterval: 1 },
    series: [{ type: 'line', data: pairs.map(([, v]) => v), smooth: true, areaStyle: { opacity: 0.15 }, itemStyle: { color: '#1f5fbf' } }],
  }
}
