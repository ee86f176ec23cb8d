// Dates and deadlines as a desk clerk reads them (Asia/Shanghai wall time).
const pad = (n) => String(n).padStart(2, '0')

/** "2026-11-24 23:06" in Beijing time, whatever the browser's zone. */
export function fmtTime(iso) {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const bj = new Date(d.getTime() + 8 * 3600 * 1000)
  return `${bj.getUTCFullYear()}-${pad(bj.getUTCMonth() + 1)}-${pad(bj.getUTCDate())} ${pad(bj.getUTCHours())}:${pad(bj.getUTCMinutes())}`
}

export function fmtDate(iso) {
  return iso ? fmtTime(iso).slice(0, 10) : '—'
}

/** A tab's title with its count when there is one: "待签收（3）", "待签收（200+）" when ``more`` wait
 * beyond the count, or just "待签收". */
export function counted(text, count, more = false) {
  return count ? `${text}（${count}${more ? '+' : ''}）` : text
}

/** Today in Beijing as YYYY-MM-DD, shifted by ``days``. */
export function beijingDay(days = 0) {
  const d = new Date(Date.now() + 8 * 3600 * 1000 + days * 86400 * 1000)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
}

/** Time left until ``iso`` as text ("剩余 2天3小时", "已超期 5小时") and whether it is overdue. */
export function remaining(iso, now = Date.now()) {
  if (!iso) return { text: '不计时', overdue: false, seconds: null }
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000)
  const abs = Math.abs(seconds)
  const days = Math.floor(abs / 86400)
  const hours = Math.floor((abs % 86400) / 3600)
  const minutes = Math.floor((abs % 3600) / 60)
  const span = days > 0 ? `${days}天${hours}小时` : hours > 0 ? `${hours}小时${minutes}分` : `${minutes}分钟`
  return { text: seconds >= 0 ? `剩余 ${span}` : `已超期 ${span}`, overdue: seconds < 0, seconds }
}

export function percent(value) {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`
}
