// Reference data every screen shows names from: departments and districts (loaded once per session).
import { reactive } from 'vue'
import { api } from './api.js'
import { loadedOnce } from './loader.js'

// Retired entries stay (old tickets show their names); pickers offer active ones only. Grassroots
// offices (基层所) are dispatch targets beside the departments.
export const refdata = reactive({ departments: [], districts: [], offices: [], loaded: false, error: null })

const session = loadedOnce(refdata, async () => {
  const [deps, dists, offices] = await Promise.all([api.get('/departments'), api.get('/districts'), api.get('/offices')])
  refdata.departments = deps.items || []
  refdata.districts = dists.items || []
  refdata.offices = offices.items || []
})

/** The directory, asked once per session. */
export const loadRefdata = session.load
/** Load again (after an admin changed the directory). */
export const reloadRefdata = session.reload

export function departmentName(code) {
  if (!code) return '—'
  if (code === 'center') return '管理中心'
  const found = refdata.departments.find((d) => d.code === code) || refdata.offices.find((o) => o.code === code)
  return found ? found.name : code
}

export function districtName(code) {
  if (!code) return '—'
  const found = refdata.districts.find((d) => d.code === code)
  return found ? found.name : code
}

/** Departments matching a keyword over name, code and duties (the same rule as GET /departments?q=). */
export function searchDepartments(keyword) {
  const q = (keyword || '').trim()
  const targets = [...refdata.departments, ...refdata.offices].filter((d) => d.active !== false)
  if (!q) return targets
  return targets.filter((d) => d.name.includes(q) || d.code === q.toUpperCase() || (d.duties || []).some((x) => x.includes(q)))
}
