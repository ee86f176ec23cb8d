// The form behind each lifecycle action button: which parameters it asks for (lifecycle.PARAMS)
// and which assignment, urging or department it is about. Which of the caller's shares an action
// can be about comes from the ticket itself (``action_shares``, computed by the lifecycle's rows);
// labels come from the server's vocabulary. The server checks everything again.
import {
  DECISION, DECLINE_REASON, PAUSE_REASON, PRIORITY, RESULTS_BY_KIND, MEDIATION_RESULT, SATISFACTION,
  TERMINATION_REASON,
} from './labels.js'

const pick = (map, keys) => Object.fromEntries((keys || Object.keys(map)).map((k) => [k, map[k]]))
const ACTIVE = ['to_sign', 'in_progress', 'paused', 'submitted', 'pending_approval']

/** The caller's shares ``action`` can be about now, as the server's lifecycle says. */
export function sharesFor(ticket, action) {
  return ((ticket && ticket.action_shares) || {})[action] || []
}

function assignmentField(action) {
  return {
    key: 'assignment_id', label: '本部门承办', type: 'assignment', required: true,
    filter: (a, ctx) => sharesFor(ctx.ticket, action).includes(a.id),
  }
}

const textarea = (key, label, required = true, extra = {}) => ({ key, label, type: 'textarea', required, ...extra })

export const ACTION_FORMS = {
  accept: [
    { key: 'category', label: '问题分类', type: 'category' },
    { key: 'district', label: '属地', type: 'district' },
    { key: 'priority', label: '缓急程度', type: 'select', options: PRIORITY },
    textarea('text', '受理意见', false),
  ],
  decline: [
    { key: 'reason_code', label: '不予受理理由', type: 'select', options: DECLINE_REASON, required: true },
    textarea('text', '说明', false, { requiredWhen: (f) => f.reason_code === 'other', templates: 'decline' }),
  ],
  answer_directly: [textarea('answer', '答复内容', true, { templates: 'reply' })],
  review_non_acceptance: [
    { key: 'decision', label: '审核决定', type: 'select', optionsFor: () => pick(DECISION, ['return_upward', 'hand_to_local']), required: true },
    { key: 'department', label: '交办部门', type: 'department', required: true, when: (f) => f.decision === 'hand_to_local' },
    textarea('text', '审核意见', false),
  ],
  dispatch: [{ key: '_dispatch', type: 'dispatch' }],
  sign: [assignmentField('sign')],
  add_note: [assignmentField('add_note'), textarea('text', '反馈内容')],
  pause: [
    assignmentField('pause'),
    { key: 'reason', label: '中止原因', type: 'select', options: PAUSE_REASON, required: true },
    textarea('text', '说明', false),
  ],
  resume: [assignmentField('resume'), textarea('text', '说明', false)],
  request_extension: [
    assignmentField('request_extension'),
    { key: 'new_due', label: '申请延至', type: 'date', required: true },
    textarea('reason', '延期理由'),
  ],
  decide_extension: [
    { key: 'assignment_id', label: '延期申请', type: 'assignment', required: true, filter: (a) => Boolean(a.extension_request), describe: 'extension_request' },
    { key: 'decision', label: '审批决定', type: 'select', optionsFor: () => pick(DECISION, ['approve', 'refuse']), required: true },
    textarea('text', '审批意见', false, { requiredWhen: (f) => f.decision === 'refuse' }),
  ],
  request_return: [assignmentField('request_return'), textarea('reason', '退回理由'), textarea('basis', '退回依据')],
  decide_return: [
    { key: 'assignment_id', label: '退回申请', type: 'assignment', required: true, filter: (a) => Boolean(a.return_request), describe: 'return_request' },
    { key: 'decision', label: '审批决定', type: 'select', optionsFor: () => pick(DECISION, ['approve', 'refuse']), required: true },
    textarea('text', '审批意见', false, { requiredWhen: (f) => f.decision === 'refuse' }),
  ],
  submit_closure: [
    assignmentField('submit_closure'),
    {
      key: 'result', label: '办理结果', type: 'select', required: true,
      optionsFor: (ctx) => pick(MEDIATION_RESULT, RESULTS_BY_KIND[ctx.ticket.kind]),
      requiredFor: (ctx, f) => {
        const a = (ctx.ticket.assignments || []).find((x) => x.id === f.assignment_id)
        return !a || a.role !== 'assist'
      },
    },
    { key: 'termination_reason', label: '终止调解情形', type: 'select', options: TERMINATION_REASON, required: true, when: (f) => f.result === 'terminated' },
    textarea('facts', '办理情况', true, { placeholder: '调解过程、核查事实和处理结果' }),
  ],
  review_closure: [
    { key: 'decision', label: '审核决定', type: 'select', optionsFor: () => pick(DECISION, ['approve', 'rework', 'transfer']), required: true },
    textarea('reply', '答复群众', false, { when: (f) => f.decision === 'approve', templates: 'reply' }),
    { key: 'department', label: '转办部门', type: 'department', required: true, when: (f) => f.decision === 'transfer' },
    { key: 'district', label: '属地', type: 'district', when: (f) => f.decision === 'transfer' },
    textarea('text', '审核意见', false, { requiredWhen: (f) => f.decision && f.decision !== 'approve' }),
  ],
  record_termination_notice: [assignmentField('record_termination_notice'), textarea('text', '告知情况', false)],
  assign_handler: [
    assignmentField('assign_handler'),
    { key: 'handler', label: '承办人', type: 'handler', required: true },
  ],
  decide_closure_approval: [
    assignmentField('decide_closure_approval'),
    { key: 'decision', label: '审批决定', type: 'select', optionsFor: () => pick(DECISION, ['approve', 'send_back']), required: true },
    textarea('text', '审批意见', false, { requiredWhen: (f) => f.decision === 'send_back', placeholder: '退回时请写明需要补充或修改的内容' }),
  ],
  record_callback: [
    { key: 'satisfaction', label: '满意度', type: 'select', options: SATISFACTION, required: true },
    { key: 'solved', label: '问题是否解决', type: 'bool', required: true },
    textarea('comment', '群众意见', false),
    textarea('reply', '回复群众', false, { templates: 'reply' }),
  ],
  reply: [textarea('reply', '答复内容', true, { templates: 'reply', placeholder: '向群众答复办理结果' })],
  reopen: [textarea('reason', '重办理由')],
  close: [textarea('text', '办结说明', false)],
  archive: [],
  merge_repeat: [textarea('facts', '新增事实'), textarea('request', '诉求', false)],
  join: [
    { key: '_name', label: '共同投诉人', type: 'text', required: true },
    { key: '_phone', label: '联系电话', type: 'text', required: true },
    { key: '_address', label: '地址', type: 'text' },
  ],
  urge: [
    { key: 'department', label: '催办对象', type: 'ticket-department' },
    textarea('text', '催办内容'),
  ],
  answer_urging: [
    { key: 'urging_id', label: '催办事项', type: 'urging', required: true },
    textarea('text', '答复内容'),
  ],
  supervise: [
    { key: 'department', label: '督办对象', type: 'ticket-department' },
    textarea('reason', '督办事由'),
  ],
}

/** Turn the dialog's form into the action's parameters (drops empty optional values). */
export function toParams(action, form) {
  if (action === 'join') {
    return { complainant: { name: form._name, phone: form._phone, ...(form._address ? { address: form._address } : {}) } }
  }
  if (action === 'dispatch') return dispatchParams(form)
  const out = {}
  for (const [k, v] of Object.entries(form)) {
    if (k.startsWith('_') || v === '' || v === null || v === undefined) continue
    out[k] = v
  }
  return out
}

export function dispatchParams(form) {
  const out = { mode: form.mode }
  if (form.mode === 'single') out.department = form.department
  if (form.mode === 'lead_assist') { out.lead = form.lead; out.assists = form.assists }
  if (form.mode === 'parallel') out.departments = form.departments
  if (form.mode === 'lower_platform') out.platform = form.platform
  if (form.district) out.district = form.district
  if (form.text) out.text = form.text
  return out
}

/** Actions a person takes from the ticket page (system-only ones never show). */
export const UI_ACTIONS = Object.keys(ACTION_FORMS)

export const PRIMARY_ACTIONS = new Set(['accept', 'dispatch', 'sign', 'submit_closure', 'review_closure', 'record_callback', 'reply',
  'decide_extension', 'decide_return', 'review_non_acceptance', 'close', 'answer_urging', 'assign_handler'])

/** Actions shown as one button per decision (办结呈批: 同意 / 退回), each opening the form with it chosen. */
export const DECISION_BUTTONS = {
  decide_closure_approval: [['approve', '同意', 'primary'], ['send_back', '退回', 'warning']],
}

export const ACTIVE_ASSIGNMENT = ACTIVE

/** What is missing for the chosen dispatch mode (shown instead of sending a request that must fail). */
export function dispatchProblem(f) {
  if (f.mode === 'single' && !f.department) return '请选择承办部门'
  if (f.mode === 'lead_assist' && (!f.lead || !(f.assists || []).length)) return '请选择主办部门和至少一个协办部门'
  if (f.mode === 'parallel' && (f.departments || []).length < 2) return '多部门并行至少选择两个部门'
  if (f.mode === 'lower_platform' && !f.platform) return '请填写下级平台编码'
  return ''
}
