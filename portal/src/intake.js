import { computed, reactive, ref } from 'vue'

// Which facts each kind needs (mirrors chalicelib/domain/intake.py REQUIRED: Art. 10 for complaints),
// and the phone and ID formats, so forms validate as the person types.
export const REQUIRED = {
  complaint: ['complainant.name', 'complainant.phone', 'complainant.address', 'respondent.name', 'respondent.address', 'request', 'facts'],
  report: ['complainant.name', 'complainant.phone', 'respondent.name', 'respondent.address', 'facts'],
  inquiry: ['complainant.name', 'complainant.phone', 'request'],
  suggestion: ['complainant.name', 'complainant.phone', 'request'],
  help_request: ['complainant.name', 'complainant.phone', 'complainant.address', 'request', 'facts'],
}

export const PHONE_RE = /^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$/
export const ID_NUMBER_RE = /^\d{17}[\dXx]$/

export const FIELD_LABELS = {
  'complainant.name': '姓名', 'complainant.phone': '联系电话', 'complainant.address': '联系地址',
  'complainant.id_number': '身份证号', 'respondent.name': '被投诉/举报对象', 'respondent.address': '对象地址',
  'respondent.phone': '对象电话', 'respondent.credit_code': '统一社会信用代码', request: '诉求', facts: '事实与理由',
  report_facts: '举报事实', report_request: '举报诉求', kind: '类型', channel: '渠道', category: '问题分类',
  district: '属地', priority: '缓急程度', external_ref: '上级工单号',
}

/** The kinds a form's "kind" choice stands for ("mixed" = complaint + report, split by Art. 9). */
export function kindsOf(choice) {
  return choice === 'mixed' ? ['complaint', 'report'] : [choice]
}

export function requiredFields(choice) {
  return new Set(kindsOf(choice).flatMap((k) => REQUIRED[k] || []))
}

const get = (obj, path) => path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj)

/** Problems per field path for the submission ``data`` (empty when it may be sent). */
export function intakeProblems(data, choice) {
  const problems = {}
  for (const path of requiredFields(choice)) {
    const v = get(data, path)
    if (typeof v !== 'string' || !v.trim()) problems[path] = `请填写${FIELD_LABELS[path]}`
  }
  const phone = get(data, 'complainant.phone')
  if (phone && !PHONE_RE.test(phone.trim())) problems['complainant.phone'] = '请填写11位手机号或带区号的固定电话'
  const id = get(data, 'complainant.id_number')
  if (id && !ID_NUMBER_RE.test(id.trim())) problems['complainant.id_number'] = '身份证号应为18位'
  const rphone = get(data, 'respondent.phone')
  if (rphone && !PHONE_RE.test(rphone.trim())) problems['respondent.phone'] = '电话格式不正确'
  if (choice === 'mixed' && !(data.report_facts || '').trim()) problems.report_facts = '请填写举报的违法事实'
  return problems
}

/** The JSON body for POST /tickets or /public/tickets: trimmed strings, empty values left out. */
export function submissionBody(data, choice) {
  const clean = (obj) => Object.fromEntries(Object.entries(obj)
    .map(([k, v]) => [k, typeof v === 'string' ? v.trim() : v])
    .filter(([, v]) => v !== '' && v !== null && v !== undefined))
  const body = clean({ ...data, complainant: undefined, respondent: undefined })
  body.kind = choice === 'mixed' ? ['complaint', 'report'] : choice
  body.complainant = clean(data.complainant)
  const respondent = clean(data.respondent)
  if (Object.keys(respondent).length) body.respondent = respondent
  if (choice !== 'mixed') { delete body.report_facts; delete body.report_request }
  return body
}

/** Server-side validation details ({"complainant.phone": "..."}) as Chinese field messages. */
export function serverProblems(err) {
  const out = {}
  for (const [k, v] of Object.entries((err && err.details) || {})) {
    if (typeof v === 'string') out[k] = `${FIELD_LABELS[k] || k}：${v === 'required' ? '必填' : v}`
  }
  return out
}

/** A registration form's state (the citizen's 我要投诉举报 and the agent's 登记): the kind chosen,
 * the ``data`` (``blank()`` to start), and the problems to show under each field: the form's own
 * once the person has left the field (``touch``) or tried to send, the server's after a refusal.
 * ``listProblems``: the alert of a form that may not be sent lists the problems too (not only
 * under the fields). */
export function intakeForm(blank, { listProblems = false } = {}) {
  const kind = ref('complaint')
  const data = reactive(blank())
  const touched = reactive({})
  const submitted = ref(false)
  const busy = ref(false)
  const failure = ref(null)
  const serverErrors = ref({})
  const problems = computed(() => intakeProblems(data, kind.value))
  const need = (path) => requiredFields(kind.value).has(path)
  const err = (path) => serverErrors.value[path] || ((submitted.value || touched[path]) ? problems.value[path] || '' : '')
  const touch = (path) => { touched[path] = true; delete serverErrors.value[path] }

  /** Run ``send`` (the POST and what follows it) unless the form's own checks fail; a refusal
   * (ApiError) goes to ``failure`` and its field problems under the fields. */
  async function submit(send) {
    submitted.value = true
    failure.value = null
    serverErrors.value = {}
    if (Object.keys(problems.value).length) {
      const detailText = listProblems ? Object.values(problems.value).join('；') : ''
      failure.value = { message: '请按提示补全必填信息', detailText, details: {} }
      return
    }
    busy.value = true
    try {
      await send()
    } catch (e) {
      failure.value = e
      serverErrors.value = serverProblems(e)
    } finally {
      busy.value = false
    }
  }

  /** Empty the form for the next registration. */
  function clear() {
    Object.assign(data, blank())
    for (const k of Object.keys(touched)) delete touched[k]
    submitted.value = false
    failure.value = null
    serverErrors.value = {}
  }

  return { kind, data, busy, failure, need, err, touch, submit, clear }
}
