// Reference data every screen shows names from: departments and districts (loaded once per session).
import { reactive } from 'vue'
import { api } from './api.js'

export const refdata = reactive({ departments: [], districts: [], loaded: false, error: null })
let loading = null

export function loadRefdata() {
  if (!loading) {
    loading = Promise.all([api.get('/departments'), api.get('/districts')])
      .then(([deps, dists]) => {
        refdata.departments = deps.items || []
        refdata.districts = dists.items || []
        refdata.loaded = true
      })
      .catch((e) => { refdata.error = e; loading = null })
  }
  return loading
}

export function departmentName(code) {
  if (!code) return '—'
  if (code === 'center') return '管理中心'
  const found = refdata.departments.find((d) => d.code === code)
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
  if (!q) return refdata.departments
  return refdata.departments.filter((d) => d.name.includes(q) || d.code === q.toUpperCase() || (d.duties || []).some((x) => x.includes(q)))
}
