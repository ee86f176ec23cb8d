"""The ticket vocabulary (DOMAIN.md glossary; docs/domain.md "Code map"): every code the platform
speaks - kinds, channels, roles, statuses, assignment states, reasons, results, clocks, actions -
the groups of statuses the rules speak of, and the one set of Simplified Chinese labels for them.

Everything that shows a code to a person (the portal, reports, the ledger, statistics, citizen
messages) takes its label from here; the portal reads :func:`document` through ``GET /vocabulary``.
Pure data: no I/O, imports nothing but the clock names.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any

from chalicelib.domain.clocks import ClockName


class Kind(StrEnum):
    """What the citizen wants (Art. 9 keeps complaints and reports apart)."""

    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    INQUIRY = "inquiry"  # 咨询
    SUGGESTION = "suggestion"  # 建议
    HELP_REQUEST = "help_request"  # 求助


class Channel(StrEnum):
    """Where the ticket came in."""

    PHONE = "phone"
    WEB = "web"
    UPPER_LEVEL = "upper_level"  # 上级交办
    HOTLINE_12345 = "hotline_12345"
    WALK_IN = "walk_in"
    MAIL = "mail"


class Role(StrEnum):
    """Who acts (DOMAIN.md "Who uses it")."""

    AGENT = "agent"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    DEPT_LEAD = "dept_lead"
    MANAGER = "manager"
    ADMIN = "admin"
    CITIZEN = "citizen"
    PARTNER = "partner"
    SYSTEM = "system"


ROLES: frozenset[str] = frozenset(r.value for r in Role)


class Priority(StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class Status(StrEnum):
    """Where the ticket stands. The lifecycle's action rows (``lifecycle/``) say how it moves."""

    PENDING_ACCEPTANCE = "pending_acceptance"  # 待受理 (agent-registered channels)
    INTERNET_INBOX = "internet_inbox"  # 互联网渠道待受理 (web portal)
    UPPER_LEVEL_PENDING = "upper_level_pending"  # 上级交办待受理
    NON_ACCEPTANCE_REVIEW = "non_acceptance_review"  # 不予受理审核
    TO_DISPATCH = "to_dispatch"  # 待分拨
    IN_HANDLING = "in_handling"  # 办理中 (assignments say how far each department is)
    CLOSURE_REVIEW = "closure_review"  # 结案审核
    PENDING_CALLBACK = "pending_callback"  # 待回访
    PENDING_EVALUATION = "pending_evaluation"  # 待评价 (web)
    REPLIED = "replied"  # 已回访/已评价, waiting to be closed or reopened
    CLOSED = "closed"  # 已办结
    ARCHIVED = "archived"  # 已归档


class Resolution(StrEnum):
    """How a closed ticket ended."""

    COMPLETED = "completed"  # handled, reviewed, called back
    DECLINED = "declined"  # 不予受理 (Art. 16)
    ANSWERED = "answered"  # answered directly (咨询直接答复)
    RETURNED_UPWARD = "returned_upward"  # upper-level assignment sent back up


class DispatchMode(StrEnum):
    SINGLE = "single"  # 单一部门
    LEAD_ASSIST = "lead_assist"  # 主办 + 协办
    PARALLEL = "parallel"  # 多部门并行
    LOWER_PLATFORM = "lower_platform"  # 下级平台 / 基层所


class AssignmentRole(StrEnum):
    SINGLE = "single"
    LEAD = "lead"
    ASSIST = "assist"
    PARALLEL = "parallel"
    LOWER_PLATFORM = "lower_platform"


class AssignmentStatus(StrEnum):
    TO_SIGN = "to_sign"  # 待签收
    IN_PROGRESS = "in_progress"  # 办理中
    PAUSED = "paused"  # 中止
    SUBMITTED = "submitted"  # 已提交办结
    PENDING_APPROVAL = "pending_approval"  # 待负责人审批 (呈批: the department's lead approves a closure first)
    COMPLETED = "completed"  # 办结审核通过
    RETURNED = "returned"  # 退回获准
    WITHDRAWN = "withdrawn"  # 随退回收回 (another share was returned, the ticket is re-dispatched)
    TRANSFERRED = "transferred"  # 审核转办


ACTIVE_ASSIGNMENT_STATUSES: frozenset[str] = frozenset(
    {AssignmentStatus.TO_SIGN, AssignmentStatus.IN_PROGRESS, AssignmentStatus.PAUSED, AssignmentStatus.SUBMITTED,
     AssignmentStatus.PENDING_APPROVAL}
)


class DeclineReason(StrEnum):
    """Art. 16: why a complaint is not accepted."""

    NOT_OUR_DUTY = "not_our_duty"
    HANDLED_ELSEWHERE = "handled_elsewhere"
    NOT_CONSUMPTION = "not_consumption"
    OVER_THREE_YEARS = "over_three_years"
    MISSING_OR_FALSE_MATERIALS = "missing_or_false_materials"
    REFUSED_IDENTITY_CHECK = "refused_identity_check"
    OTHER = "other"


class PauseReason(StrEnum):
    APPRAISAL_TESTING = "appraisal_testing"  # 检定、检验、检测、鉴定 (Art. 22)
    RECUSAL = "recusal"  # 回避申请 (Art. 21)
    AWAITING_CITIZEN = "awaiting_citizen"  # 等待群众补充材料


class MediationResult(StrEnum):
    SETTLED = "settled"  # 调解成功
    NOT_SETTLED = "not_settled"  # 调解不成
    TERMINATED = "terminated"  # 终止调解 (Art. 23)


class ReportResult(StrEnum):
    CASE_FILED = "case_filed"  # 立案
    NOT_FILED = "not_filed"  # 不予立案


HANDLED = "handled"  # 已办理: the result of inquiries, suggestions and help requests


class TerminationReason(StrEnum):
    """Art. 23: why mediation ended without an agreement."""

    WITHDRAWN_OR_RECONCILED = "withdrawn_or_reconciled"  # 撤回投诉或自行和解
    NO_AGREEMENT_ON_APPRAISAL = "no_agreement_on_appraisal"  # 检测鉴定机构或费用协商不成
    PARTY_ABSENT_OR_REFUSED = "party_absent_or_refused"  # 无正当理由不参加调解或明确拒绝调解
    NO_AGREEMENT_POSSIBLE = "no_agreement_possible"  # 明确表示无法达成调解协议
    TIME_LIMIT_EXPIRED = "time_limit_expired"  # 期限内未能达成调解协议
    INADMISSIBLE_FOUND = "inadmissible_found"  # 受理后发现不予受理情形
    OTHER_LEGAL_GROUND = "other_legal_ground"  # 法律法规规定的其他情形


class Satisfaction(StrEnum):
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"


CENTER = "center"  # the owner of every queue the dispatch/call centre works


STATUS_LABELS: dict[str, str] = {
    Status.PENDING_ACCEPTANCE: "待受理",
    Status.INTERNET_INBOX: "互联网渠道待受理",
    Status.UPPER_LEVEL_PENDING: "上级交办待受理",
    Status.NON_ACCEPTANCE_REVIEW: "不予受理审核中",
    Status.TO_DISPATCH: "待分拨",
    Status.IN_HANDLING: "办理中",
    Status.CLOSURE_REVIEW: "结案审核中",
    Status.PENDING_CALLBACK: "待回访",
    Status.PENDING_EVALUATION: "待评价",
    Status.REPLIED: "已回访",
    Status.CLOSED: "已办结",
    Status.ARCHIVED: "已归档",
}

DECLINE_REASON_LABELS: dict[str, str] = {
    DeclineReason.NOT_OUR_DUTY: "不属于本部门职责范围",
    DeclineReason.HANDLED_ELSEWHERE: "已由其他部门受理或处理",
    DeclineReason.NOT_CONSUMPTION: "不是为生活消费需要",
    DeclineReason.OVER_THREE_YEARS: "知道或应当知道权益受损之日起超过三年",
    DeclineReason.MISSING_OR_FALSE_MATERIALS: "未提供必要材料或材料不实",
    DeclineReason.REFUSED_IDENTITY_CHECK: "拒绝核实身份信息",
    DeclineReason.OTHER: "其他不予受理情形",
}

KIND_LABELS: dict[str, str] = {
    Kind.COMPLAINT: "投诉",
    Kind.REPORT: "举报",
    Kind.INQUIRY: "咨询",
    Kind.SUGGESTION: "建议",
    Kind.HELP_REQUEST: "求助",
}

# The results a closure of each kind may carry (mediation for complaints, a filing decision for reports).
RESULTS_BY_KIND: dict[str, frozenset[str]] = {
    Kind.COMPLAINT: frozenset(MediationResult),
    Kind.REPORT: frozenset(ReportResult),
    Kind.INQUIRY: frozenset({HANDLED}),
    Kind.SUGGESTION: frozenset({HANDLED}),
    Kind.HELP_REQUEST: frozenset({HANDLED}),
}

# --- the groups of statuses the rules speak of (the one definition) ----------------------------

FINISHED: frozenset[str] = frozenset({Status.CLOSED, Status.ARCHIVED})
OPEN: frozenset[str] = frozenset(Status) - FINISHED
ACCEPTING: frozenset[str] = frozenset({Status.PENDING_ACCEPTANCE, Status.INTERNET_INBOX, Status.UPPER_LEVEL_PENDING})
HANDLING: frozenset[str] = frozenset({Status.IN_HANDLING})
MERGEABLE: frozenset[str] = ACCEPTING | {Status.TO_DISPATCH, Status.IN_HANDLING}  # before any closure was submitted
AFTER_CLOSURE: frozenset[str] = frozenset({Status.CLOSURE_REVIEW, Status.PENDING_CALLBACK, Status.PENDING_EVALUATION,
                                           Status.REPLIED})
NOTICE_DUE: frozenset[str] = AFTER_CLOSURE | {Status.IN_HANDLING, Status.TO_DISPATCH}  # an Art. 23 notice may be pending
CALLING_BACK: frozenset[str] = frozenset({Status.PENDING_CALLBACK, Status.PENDING_EVALUATION})

STATUS_GROUPS: dict[str, frozenset[str]] = {
    "open": OPEN, "finished": FINISHED, "accepting": ACCEPTING, "handling": HANDLING, "mergeable": MERGEABLE,
    "after_closure": AFTER_CLOSURE, "notice_due": NOTICE_DUE, "calling_back": CALLING_BACK,
}

# --- the groups of roles the lifecycle speaks of ------------------------------------------------

AGENT, DISPATCHER, MANAGER, ADMIN, CITIZEN, SYSTEM, PARTNER = (
    frozenset({r}) for r in (Role.AGENT, Role.DISPATCHER, Role.MANAGER, Role.ADMIN, Role.CITIZEN, Role.SYSTEM,
                             Role.PARTNER))
CENTRE_ROLES: frozenset[str] = AGENT | DISPATCHER
DEPARTMENT_ROLES: frozenset[str] = frozenset({Role.HANDLER, Role.DEPT_LEAD}) | PARTNER  # partner: a lower platform
URGERS: frozenset[str] = MANAGER | DISPATCHER | SYSTEM | PARTNER

# --- labels (Simplified Chinese) ---------------------------------------------------------------

CHANNEL_LABELS: dict[str, str] = {
    Channel.PHONE: "电话", Channel.WEB: "互联网", Channel.UPPER_LEVEL: "上级交办", Channel.HOTLINE_12345: "12345热线",
    Channel.WALK_IN: "来访", Channel.MAIL: "信件",
}
PRIORITY_LABELS: dict[str, str] = {Priority.NORMAL: "普通", Priority.URGENT: "紧急"}
ROLE_LABELS: dict[str, str] = {
    Role.AGENT: "座席", Role.DISPATCHER: "派审员", Role.HANDLER: "部门处理人", Role.DEPT_LEAD: "部门负责人",
    Role.MANAGER: "管理中心", Role.ADMIN: "系统管理员", Role.CITIZEN: "公众", Role.PARTNER: "上下级平台", Role.SYSTEM: "系统",
}
DISPATCH_MODE_LABELS: dict[str, str] = {
    DispatchMode.SINGLE: "单一部门", DispatchMode.LEAD_ASSIST: "主办 + 协办", DispatchMode.PARALLEL: "多部门并行",
    DispatchMode.LOWER_PLATFORM: "下派下级平台/基层所",
}
ASSIGNMENT_ROLE_LABELS: dict[str, str] = {
    AssignmentRole.SINGLE: "承办", AssignmentRole.LEAD: "主办", AssignmentRole.ASSIST: "协办",
    AssignmentRole.PARALLEL: "并行", AssignmentRole.LOWER_PLATFORM: "下级平台",
}
ASSIGNMENT_STATUS_LABELS: dict[str, str] = {
    AssignmentStatus.TO_SIGN: "待签收", AssignmentStatus.IN_PROGRESS: "办理中", AssignmentStatus.PAUSED: "已中止计时",
    AssignmentStatus.SUBMITTED: "已提交办结", AssignmentStatus.COMPLETED: "审核通过", AssignmentStatus.RETURNED: "已退回",
    AssignmentStatus.WITHDRAWN: "已收回", AssignmentStatus.TRANSFERRED: "已转办",
    AssignmentStatus.PENDING_APPROVAL: "待负责人审批",
}
SATISFACTION_LABELS: dict[str, str] = {
    Satisfaction.SATISFIED: "满意", Satisfaction.BASICALLY_SATISFIED: "基本满意", Satisfaction.DISSATISFIED: "不满意",
}
RESULT_LABELS: dict[str, str] = {
    MediationResult.SETTLED: "调解成功", MediationResult.NOT_SETTLED: "调解不成",
    MediationResult.TERMINATED: "终止调解（第二十三条）", ReportResult.CASE_FILED: "立案",
    ReportResult.NOT_FILED: "不予立案", HANDLED: "已办理",
}
RESOLUTION_LABELS: dict[str, str] = {
    Resolution.COMPLETED: "已办结", Resolution.DECLINED: "不予受理", Resolution.ANSWERED: "直接答复",
    Resolution.RETURNED_UPWARD: "退回上级",
}
TERMINATION_REASON_LABELS: dict[str, str] = {
    TerminationReason.WITHDRAWN_OR_RECONCILED: "投诉人撤回投诉或双方自行和解",
    TerminationReason.NO_AGREEMENT_ON_APPRAISAL: "检测鉴定机构或费用协商不成",
    TerminationReason.PARTY_ABSENT_OR_REFUSED: "无正当理由不参加调解或明确拒绝调解",
    TerminationReason.NO_AGREEMENT_POSSIBLE: "明确表示无法达成调解协议",
    TerminationReason.TIME_LIMIT_EXPIRED: "期限内未能达成调解协议",
    TerminationReason.INADMISSIBLE_FOUND: "受理后发现不予受理情形",
    TerminationReason.OTHER_LEGAL_GROUND: "法律法规规定的其他情形",
}
PAUSE_REASON_LABELS: dict[str, str] = {
    PauseReason.APPRAISAL_TESTING: "检定、检验、检测、鉴定（第二十二条）", PauseReason.RECUSAL: "回避申请（第二十一条）",
    PauseReason.AWAITING_CITIZEN: "等待群众补充材料",
}
CLOCK_LABELS: dict[str, str] = {
    ClockName.ACCEPTANCE: "受理时限", ClockName.SIGN: "签收时限", ClockName.HANDLING: "办理时限",
    ClockName.MEDIATION: "调解时限", ClockName.TERMINATION_NOTICE: "终止调解告知时限",
    ClockName.REPORT_VERIFICATION: "举报核查时限", ClockName.CLOSURE_REVIEW: "结案审核时限", ClockName.CALLBACK: "回访时限",
    ClockName.EVALUATION: "评价时限", ClockName.ARCHIVE: "归档期限",
    ClockName.DISPATCH: "分拨时限", ClockName.NON_ACCEPTANCE_REVIEW: "不予受理审核时限",
    ClockName.EXTENSION_DECISION: "延期审批时限", ClockName.RETURN_DECISION: "退回审批时限",
    ClockName.MATTER_HANDLING: "求助建议办结时限", ClockName.REPLY: "答复时限",
}
UNIT_LABELS: dict[str, str] = {"working_days": "工作日", "natural_days": "自然日", "hours": "小时", "seconds": "秒"}
WARNING_LABELS: dict[str, str] = {"none": "正常", "yellow": "黄牌", "red": "红牌"}
DECISION_LABELS: dict[str, str] = {
    "approve": "同意", "refuse": "不同意", "rework": "退回重办", "transfer": "转办",
    "return_upward": "退回上级", "hand_to_local": "交本地部门办理",
    "send_back": "退回修改",
}
# The lifecycle's actions (``lifecycle.ACTIONS``; a test keeps the two equal) and its events.
ACTION_LABELS: dict[str, str] = {
    "accept": "受理", "decline": "不予受理", "answer_directly": "直接答复", "review_non_acceptance": "不予受理审核",
    "dispatch": "分拨", "sign": "签收", "add_note": "阶段反馈", "pause": "中止计时", "resume": "恢复计时",
    "request_extension": "申请延期", "decide_extension": "审批延期", "request_return": "申请退回",
    "decide_return": "审批退回", "submit_closure": "提交办结", "review_closure": "结案审核",
    "record_termination_notice": "登记终止告知", "record_callback": "登记回访", "evaluate": "评价",
    "reopen": "重办", "close": "办结归档", "archive": "归档", "merge_repeat": "合并重复件", "join": "并案",
    "urge": "催办", "answer_urging": "答复催办", "record_warning": "记录预警", "supervise": "督办",
    "assign_handler": "指派承办人", "decide_closure_approval": "办结审批", "reply": "答复群众",
}
EVENT_LABELS: dict[str, str] = {
    "registered": "登记", "accepted": "受理", "declined": "不予受理", "answered": "直接答复",
    "non_acceptance_reviewed": "不予受理审核", "dispatched": "分拨", "signed": "签收", "note_added": "阶段反馈",
    "paused": "中止计时", "resumed": "恢复计时", "extension_requested": "申请延期", "extension_decided": "延期审批",
    "return_requested": "申请退回", "return_decided": "退回审批", "closure_submitted": "提交办结",
    "closure_reviewed": "结案审核", "termination_notice_recorded": "终止调解告知", "callback_recorded": "回访",
    "evaluated": "公众评价", "reopened": "重办", "closed": "办结", "archived": "归档", "repeat_merged": "重复件合并",
    "complainant_joined": "并案", "urged": "催办", "urging_answered": "催办答复", "warning_recorded": "预警",
    "supervised": "督办", "personal_data_revealed": "查看个人信息",
    "handler_assigned": "指派承办人", "closure_proposed": "办结呈批", "closure_sent_back": "呈批退回",
    "reply_recorded": "答复群众",
}
QUEUE_LABELS: dict[str, str] = {
    "internet_inbox": "互联网渠道", "upper_assignments": "上级交办", "pending_acceptance": "待受理",
    "pending_callback": "待回访", "to_dispatch": "待分拨", "extension_requests": "延期申请", "return_requests": "退回申请",
    "closure_reviews": "结案审核", "non_acceptance_reviews": "不予受理审核", "to_sign": "待签收", "in_progress": "办理中",
    "urgings": "催办待答复", "warnings": "预警工单",
    "assigned_to_me": "指派给我", "closure_approvals": "办结呈批", "mine": "我的工单",
    "pending_evaluation": "待评价", "to_archive": "待归档", "pending_reply": "待答复",
}


def clock_label(key: str) -> str:
    """The Chinese name of the clock behind a clock key (``handling:A1`` -> 办理时限)."""
    name = key.split(":", 1)[0]
    return CLOCK_LABELS.get(name, name)


def _codes(labels: dict[str, str]) -> dict[str, str]:
    return {str(code): text for code, text in labels.items()}


def document() -> dict[str, Any]:
    """The whole vocabulary as JSON-safe data (``GET /vocabulary``): labels per code list, the
    status groups and the results each kind's closure takes. The same for every caller."""
    return {
        "labels": {name: _codes(labels) for name, labels in (
            ("status", STATUS_LABELS), ("kind", KIND_LABELS), ("channel", CHANNEL_LABELS),
            ("priority", PRIORITY_LABELS), ("role", ROLE_LABELS), ("dispatch_mode", DISPATCH_MODE_LABELS),
            ("assignment_role", ASSIGNMENT_ROLE_LABELS), ("assignment_status", ASSIGNMENT_STATUS_LABELS),
            ("satisfaction", SATISFACTION_LABELS), ("result", RESULT_LABELS), ("resolution", RESOLUTION_LABELS),
            ("termination_reason", TERMINATION_REASON_LABELS), ("pause_reason", PAUSE_REASON_LABELS),
            ("decline_reason", DECLINE_REASON_LABELS), ("clock", CLOCK_LABELS), ("unit", UNIT_LABELS),
            ("warning", WARNING_LABELS), ("decision", DECISION_LABELS), ("action", ACTION_LABELS),
            ("event", EVENT_LABELS), ("queue", QUEUE_LABELS),
        )},
        "status_groups": {name: [str(s) for s in Status if s in group] for name, group in STATUS_GROUPS.items()},
        "results_by_kind": {str(kind): [str(r) for r in RESULT_LABELS if r in results]
                            for kind, results in RESULTS_BY_KIND.items()},
    }
