// Everything a person reads about codes the API returns, in Simplified Chinese.

export const STATUS = {
  pending_acceptance: '待受理', internet_inbox: '互联网渠道待受理', upper_level_pending: '上级交办待受理',
  non_acceptance_review: '不予受理审核中', to_dispatch: '待分拨', in_handling: '办理中',
  closure_review: '结案审核中', pending_callback: '待回访', pending_evaluation: '待评价',
  replied: '已回访', closed: '已办结', archived: '已归档',
}

export const STATUS_TAG = {
  pending_acceptance: 'warning', internet_inbox: 'warning', upper_level_pending: 'warning',
  non_acceptance_review: 'warning', to_dispatch: 'warning', in_handling: 'primary',
  closure_review: 'primary', pending_callback: 'success', pending_evaluation: 'success',
  replied: 'success', closed: 'info', archived: 'info',
}

export const KIND = { complaint: '投诉', report: '举报', inquiry: '咨询', suggestion: '建议', help_request: '求助' }

export const CHANNEL = {
  phone: '电话', web: '互联网', upper_level: '上级交办', hotline_12345: '12345热线', walk_in: '来访', mail: '信件',
}

export const PRIORITY = { normal: '普通', urgent: '紧急' }

export const ROLE = {
  agent: '座席', dispatcher: '派审员', handler: '部门处理人', dept_lead: '部门负责人',
  manager: '管理中心', admin: '系统管理员', citizen: '公众', partner: '上下级平台', system: '系统',
}

export const DISPATCH_MODE = {
  single: '单一部门', lead_assist: '主办 + 协办', parallel: '多部门并行', lower_platform: '下派下级平台/基层所',
}

export const ASSIGNMENT_ROLE = { single: '承办', lead: '主办', assist: '协办', parallel: '并行', lower_platform: '下级平台' }

export const ASSIGNMENT_STATUS = {
  to_sign: '待签收', in_progress: '办理中', paused: '已中止计时', submitted: '已提交办结',
  completed: '审核通过', returned: '已退回', withdrawn: '已收回', transferred: '已转办',
}

export const SATISFACTION = { satisfied: '满意', basically_satisfied: '基本满意', dissatisfied: '不满意' }

export const MEDIATION_RESULT = {
  settled: '调解成功', not_settled: '调解不成', terminated: '终止调解（第二十三条）',
  case_filed: '立案', not_filed: '不予立案', handled: '已办理',
}

export const RESULTS_BY_KIND = {
  complaint: ['settled', 'not_settled', 'terminated'],
  report: ['case_filed', 'not_filed'],
  inquiry: ['handled'], suggestion: ['handled'], help_request: ['handled'],
}

export const TERMINATION_REASON = {
  withdrawn_or_reconciled: '投诉人撤回投诉或双方自行和解',
  no_agreement_on_appraisal: '检测鉴定机构或费用协商不成',
  party_absent_or_refused: '无正当理由不参加调解或明确拒绝调解',
  no_agreement_possible: '明确表示无法达成调解协议',
  time_limit_expired: '期限内未能达成调解协议',
  inadmissible_found: '受理后发现不予受理情形',
  other_legal_ground: '法律法规规定的其他情形',
}

export const PAUSE_REASON = {
  appraisal_testing: '检定、检验、检测、鉴定（第二十二条）', recusal: '回避申请（第二十一条）',
  awaiting_citizen: '等待群众补充材料',
}

export const DECLINE_REASON = {
  not_our_duty: '不属于本部门职责范围', handled_elsewhere: '已由其他部门受理或处理',
  not_consumption: '不是为生活消费需要', over_three_years: '知道或应当知道权益受损之日起超过三年',
  missing_or_false_materials: '未提供必要材料或材料不实', refused_identity_check: '拒绝核实身份信息',
  other: '其他不予受理情形',
}

export const CLOCK = {
  acceptance: '受理时限', sign: '签收时限', handling: '办理时限', mediation: '调解时限',
  termination_notice: '终止调解告知', report_verification: '举报核查时限', closure_review: '结案审核时限',
  callback: '回访时限',
}

export const UNIT = { working_days: '工作日', natural_days: '自然日', hours: '小时', seconds: '秒' }

export const QUEUE = {
  internet_inbox: '互联网渠道', upper_assignments: '上级交办', pending_acceptance: '待受理',
  pending_callback: '待回访', to_dispatch: '待分拨', extension_requests: '延期申请', return_requests: '退回申请',
  closure_reviews: '结案审核', non_acceptance_reviews: '不予受理审核', to_sign: '待签收', in_progress: '办理中',
  urgings: '催办待答复', warnings: '预警工单',
}

export const ACTION = {
  accept: '受理', decline: '不予受理', answer_directly: '直接答复', review_non_acceptance: '不予受理审核',
  dispatch: '分拨', sign: '签收', add_note: '阶段反馈', pause: '中止计时', resume: '恢复计时',
  request_extension: '申请延期', decide_extension: '审批延期', request_return: '申请退回',
  decide_return: '审批退回', submit_closure: '提交办结', review_closure: '结案审核',
  record_termination_notice: '登记终止告知', record_callback: '登记回访', evaluate: '评价',
  reopen: '重办', close: '办结归档', archive: '归档', merge_repeat: '合并重复件', join: '并案',
  urge: '催办', answer_urging: '答复催办', record_warning: '记录预警', supervise: '督办',
}

export const EVENT = {
  registered: '登记', accepted: '受理', declined: '不予受理', answered: '直接答复',
  non_acceptance_reviewed: '不予受理审核', dispatched: '分拨', signed: '签收', note_added: '阶段反馈',
  paused: '中止计时', resumed: '恢复计时', extension_requested: '申请延期', extension_decided: '延期审批',
  return_requested: '申请退回', return_decided: '退回审批', closure_submitted: '提交办结',
  closure_reviewed: '结案审核', termination_notice_recorded: '终止调解告知', callback_recorded: '回访',
  evaluated: '公众评价', reopened: '重办', closed: '办结', archived: '归档', repeat_merged: '重复件合并',
  complainant_joined: '并案', urged: '催办', urging_answered: '催办答复', warning_recorded: '预警',
  supervised: '督办', personal_data_revealed: '查看个人信息',
}

export const WARNING = { none: '正常', yellow: '黄牌', red: '红牌' }

export const DECISION = {
  approve: '同意', refuse: '不同意', rework: '退回重办', transfer: '转办',
  return_upward: '退回上级', hand_to_local: '交本地部门办理',
}

export function label(map, code) {
  if (code === null || code === undefined || code === '') return '—'
  return map[code] || code
}
