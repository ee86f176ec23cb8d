"""What is counted (measures), along which dimensions, and the rates derived from them.

A *measure* is a count of things that happened on a day (Asia/Shanghai): "received" is a ticket
registered that day, "sign_on_time" an assignment signed within its limit that day. Durations
are kept as a sum of seconds (``*_seconds``) beside a count (``*_n``) so averages add up over any
period. A *rate* is a formula over measures, evaluated on the sums of a period.

Every figure is attributed to exactly one value of each dimension (a ticket-level figure to the
ticket's primary department), so breakdowns add up to the totals.
"""
from __future__ import annotations

from chalicelib.analytics import formula
from chalicelib.domain.vocabulary import CHANNEL_LABELS, KIND_LABELS  # the one set of labels (re-exported)

# measure -> label (Simplified Chinese)
MEASURES: dict[str, str] = {
    # intake and acceptance
    "received": "登记量",
    "accepted": "受理量",
    "declined": "不予受理",
    "answered": "直接答复",
    "accept_on_time": "按时受理",
    "accept_late": "超时受理",
    "repeat_merged": "重复件合并",
    "joined": "联名投诉追加",
    # dispatch and departments
    "dispatched": "派单量",
    "sent_down": "下派下级平台",
    "signed": "签收量",
    "sign_on_time": "按时签收",
    "sign_late": "超时签收",
    "paused": "中止计时",
    "extension_requested": "延期申请",
    "extended": "延期批准",
    "return_requested": "退单申请",
    "returned": "退单批准",
    "submitted": "办结提交",
    "handle_on_time": "按时办结",
    "handle_late": "超时办结",
    "lower_results": "下级平台反馈办结",
    "mediation_on_time": "调解按期",
    "mediation_late": "调解超期",
    "verification_on_time": "核查按期",
    "verification_late": "核查超期",
    # results
    "settled": "调解成功",
    "not_settled": "调解不成",
    "terminated": "终止调解",
    "case_filed": "立案",
    "not_filed": "不予立案",
    # review, reply, closure
    "reviewed": "结案审核",
    "review_on_time": "按时审核",
    "review_late": "超时审核",
    "reworked": "退回重办",
    "transferred": "审核转办",
    "callback": "回访量",
    "callback_on_time": "按时回访",
    "callback_late": "超时回访",
    "evaluated": "网上评价",
    "feedback": "评价总数",
    "satisfied": "满意",
    "basically_satisfied": "基本满意",
    "dissatisfied": "不满意",
    "solved": "已解决",
    "reopened": "重办",
    "closed": "办结量",
    "completed": "办理完结",
    "closed_on_time": "全程按期办结",
    "returned_upward": "退回上级",
    "reported_upward": "向上级反馈结果",
    # per-ticket data reporting to the city's data centre (analytics/data_reports.py): a record
    # acknowledged within its limit, or acknowledged after it / found overdue unacknowledged
    "data_report_on_time": "数据上报及时",
    "data_report_late": "数据上报超时",
    # supervision
    "urged": "催办",
    "urged_upper": "上级催办",
    "urging_answered": "催办回复",
    "supervised": "督办",
    "warned_yellow": "黄牌预警",
    "warned_red": "红牌预警",
    # durations: sums of seconds and their counts
    "accept_seconds": "受理用时(秒)",
    "accept_n": "受理用时样本",
    "sign_seconds": "签收用时(秒)",
    "sign_n": "签收用时样本",
    "handle_seconds": "办理用时(秒)",
    "handle_n": "办理用时样本",
    "review_seconds": "审核用时(秒)",
    "review_n": "审核用时样本",
    "callback_seconds": "回访用时(秒)",
    "callback_n": "回访用时样本",
    "total_seconds": "全流程用时(秒)",
    "total_n": "全流程用时样本",
    # the call centre (CTI), per agent only (chalicelib/store/calls.py adds them with each call record)
    "calls_offered": "呼入话务量",
    "calls_answered": "接听量",
    "call_handle_seconds": "通话处理用时(秒)",
}

DURATION_MEASURES = frozenset(m for m in MEASURES if m.endswith("_seconds") or m.endswith("_n"))
COUNT_MEASURES = frozenset(MEASURES) - DURATION_MEASURES

# rate -> (formula, label, unit). Units: "%" (a share, 0-100), "h" (hours), "" (plain).
RATES: dict[str, tuple[str, str, str]] = {
    "accept_rate": ("accept_on_time / (accept_on_time + accept_late)", "按时受理率", "%"),
    "sign_rate": ("sign_on_time / (sign_on_time + sign_late)", "按时签收率", "%"),
    "handle_rate": ("handle_on_time / (handle_on_time + handle_late)", "按时办结率", "%"),
    "review_rate": ("review_on_time / (review_on_time + review_late)", "按时审核率", "%"),
    "callback_rate": ("callback_on_time / (callback_on_time + callback_late)", "回访及时率", "%"),
    "data_report_rate": ("data_report_on_time / (data_report_on_time + data_report_late)", "数据上报及时率", "%"),
    "closed_on_time_rate": ("closed_on_time / completed", "全程按期办结率", "%"),
    "satisfaction_rate": ("(satisfied + basically_satisfied) / feedback", "满意率", "%"),
    "solved_rate": ("solved / feedback", "解决率", "%"),
    "return_rate": ("returned / dispatched", "退单率", "%"),
    "extension_rate": ("extended / dispatched", "延期率", "%"),
    "rework_rate": ("reworked / reviewed", "重办率", "%"),
    "mediation_success_rate": ("settled / (settled + not_settled + terminated)", "调解成功率", "%"),
    "urging_rate": ("urged / dispatched", "被催办率", "%"),
    "avg_accept_hours": ("accept_seconds / accept_n / 3600", "平均受理用时", "h"),
    "avg_sign_hours": ("sign_seconds / sign_n / 3600", "平均签收用时", "h"),
    "avg_handle_hours": ("handle_seconds / handle_n / 3600", "平均办理用时", "h"),
    "avg_review_hours": ("review_seconds / review_n / 3600", "平均审核用时", "h"),
    "avg_callback_hours": ("callback_seconds / callback_n / 3600", "平均回访用时", "h"),
    "avg_total_hours": ("total_seconds / total_n / 3600", "平均全流程用时", "h"),
}

MEASURE_NAMES: frozenset[str] = frozenset(MEASURES)
ALL_NAMES: frozenset[str] = MEASURE_NAMES | frozenset(RATES)

# Dimensions of the cube (every fact carries one value of each) and the 1-D breakdowns kept apart.
CUBE_DIMENSIONS: tuple[str, ...] = ("department", "district", "category", "kind", "channel")
MARGINALS: tuple[str, ...] = ("total", *CUBE_DIMENSIONS, "agent", "respondent")
TIME_DIMENSIONS: tuple[str, ...] = ("day", "month")
#: The category tree's levels (领域, 事项, 具体问题): read from the ``category`` counters, each stored
#: category counted under its ancestor at that level (``analytics.category_breakdown``).
CATEGORY_LEVELS: dict[str, int] = {"category_l1": 1, "category_l2": 2, "category_l3": 3}
DIMENSIONS: tuple[str, ...] = (*CUBE_DIMENSIONS, *CATEGORY_LEVELS, "agent", "respondent", *TIME_DIMENSIONS)
RESPONDENT_MEASURES = frozenset({"received"})  # what is counted per respondent (hotspots, top lists)
NONE = "-"  # a dimension without a value (not yet dispatched, no category...)

DIMENSION_LABELS: dict[str, str] = {
    "department": "承办部门", "district": "属地", "category": "类别", "kind": "诉求类型", "channel": "来源渠道",
    "category_l1": "类别（领域）", "category_l2": "类别（事项）", "category_l3": "类别（具体问题）",
    "agent": "经办人", "respondent": "被投诉对象", "day": "日期", "month": "月份",
}


def label(name: str) -> str:
    """The Chinese label of a measure or rate."""
    if name in MEASURES:
        return MEASURES[name]
    if name in RATES:
        return RATES[name][1]
    return name


def unit(name: str) -> str:
    return RATES[name][2] if name in RATES else ""


def rate_formula(name: str) -> formula.Formula:
    return formula.parse(RATES[name][0], MEASURE_NAMES)


def value_of(name: str, sums: dict[str, int]) -> float | int | None:
    """A measure's sum, or a rate evaluated on the sums (percent rates as 0-100, rounded)."""
    if name in MEASURES:
        return int(sums.get(name, 0))
    if name in RATES:
        raw = formula.evaluate(rate_formula(name), sums)
        if raw is None:
            return None
        return round(raw * 100, 2) if RATES[name][2] == "%" else round(raw, 2)
    raise KeyError(name)


def needed(names: list[str] | tuple[str, ...]) -> frozenset[str]:
    """The measures a list of measures and rates reads."""
    out: set[str] = set()
    for name in names:
        out |= rate_formula(name).names if name in RATES else {name}
    return frozenset(out)


def dimension_label(dimension: str, value: str) -> str:
    """How a dimension value is shown (kinds and channels in Chinese; '-' as 未指定)."""
    if value == NONE:
        return "未分派" if dimension == "department" else "未指定"
    if dimension == "kind":
        return KIND_LABELS.get(value, value)
    if dimension == "channel":
        return CHANNEL_LABELS.get(value, value)
    return value
