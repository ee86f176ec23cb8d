// The manager's monitoring wall: what it draws, from the one answer of GET /stats/wall (the
// analytics counters for the period, plus the current backlog per work queue).
import { CHANNEL, KIND, QUEUE } from './labels.js'

/** The stages a ticket waits in now, in the order it passes them (requests, urgings and warnings
 * overlay tickets already counted in a stage, so they are not stages). */
export const STAGES = ['internet_inbox', 'upper_assignments', 'pending_acceptance', 'non_acceptance_reviews', 'to_dispatch',
  'to_sign', 'in_progress', 'closure_reviews', 'pending_callback']

const pairs = (rows, measure, nameOf = (r) => r.label) => rows.filter((r) => r[measure]).map((r) => [nameOf(r), r[measure]])

/** Everything the wall draws, from the /stats/wall answer. */
export function fromWall(answer) {
  const f = answer.figures
  const queues = answer.queues || {}
  const stages = STAGES.filter((s) => queues[s]).map((s) => ({ name: QUEUE[s] || s, value: queues[s], code: s }))
  return {
    total: f.received,
    accepted: f.accepted,
    closed: f.closed,
    open: STAGES.reduce((sum, s) => sum + (queues[s] || 0), 0),
    yellow: f.warned_yellow,
    red: f.warned_red,
    urged: f.urged,
    supervised: f.supervised,
    satisfactionRate: f.satisfaction_rate === null || f.satisfaction_rate === undefined ? '—' : Math.round(f.satisfaction_rate * 10) / 10,
    satisfaction: answer.satisfaction,
    byStage: stages,
    queuePairs: Object.entries(queues).filter(([, v]) => v > 0).map(([k, v]) => [QUEUE[k] || k, v]),
    byKind: answer.by_kind.map((r) => ({ name: KIND[r.code] || r.label, value: r.received })),
    byChannel: answer.by_channel.map((r) => ({ name: CHANNEL[r.code] || r.label, value: r.received })),
    daily: answer.daily.map((d) => [d.day.slice(5), d.received, d.closed]),
    byDepartment: pairs(answer.by_department, 'dispatched'),
    hotspots: answer.hot_respondents.map((r) => [`对象：${r.label}`, r.received])
      .concat(answer.by_category.slice(0, 5).map((r) => [`分类：${r.label}`, r.received]))
      .sort((a, b) => b[1] - a[1]).slice(0, 10),
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

/** A daily trend: rows of [day, value, value...], one line per series name. */
export function lineOption(rows, names = ['数量']) {
  const colors = ['#1f5fbf', '#2e9e5b', '#d9822b']
  return {
    tooltip: { trigger: 'axis' },
    legend: names.length > 1 ? { top: 0, right: 10, textStyle: { fontSize: 11 } } : undefined,
    grid: { left: 40, right: 20, top: names.length > 1 ? 28 : 20, bottom: 30 },
    xAxis: { type: 'category', data: rows.map(([d]) => d), boundaryGap: false },
    yAxis: { type: 'value', minInterval: 1 },
    series: names.map((name, i) => ({ type: 'line', name, data: rows.map((r) => r[i + 1]), smooth: true, showSymbol: rows.length <= 31,
      areaStyle: i === 0 ? { opacity: 0.15 } : undefined, itemStyle: { color: colors[i % colors.length] } })),
  }
}
