"""JSON Schemas of the lifecycle actions' bodies: what each parameter is, its type, its choices.

The parameter names of each action come from the lifecycle itself (``lifecycle.PARAMS``); this
module says what each one holds. The action routes validate their bodies with
:func:`action_body`, and the OpenAPI document publishes the very same schemas, so a client reads
exactly what the server checks. The schema is the first gate (types, choices, lengths); the
lifecycle still checks what depends on the ticket (which decision needs a text, which dispatch
mode needs which departments, whether an assignment exists...).
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain import lifecycle
from chalicelib.domain.intake import CODE_RE, MAX_CODE, MAX_FACTS, MAX_REQUEST
from chalicelib.domain.ticket import (
    BASIS_POINTS,
    DECLINE_REASON_LABELS,
    HANDLED,
    Channel,
    DeclineReason,
    DispatchMode,
    MediationResult,
    PauseReason,
    Priority,
    ReportResult,
    Satisfaction,
    TerminationReason,
)


def _text(description: str, max_length: int = MAX_REQUEST) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, "description": description}


def _choice(values: Any, description: str) -> dict[str, Any]:
    return {"type": "string", "enum": sorted(str(v) for v in values), "description": description}


def _code(description: str) -> dict[str, Any]:
    return {"type": "string", "pattern": CODE_RE.pattern, "maxLength": MAX_CODE, "description": description}


def _codes(description: str, min_items: int) -> dict[str, Any]:
    return {"type": "array", "items": _code("a department code"), "minItems": min_items, "maxItems": 20,
            "description": description}


_DECLINE_REASONS = "; ".join(f"{r.value} = {DECLINE_REASON_LABELS[r]}" for r in DeclineReason)

# What a parameter holds when its name means the same in every action.
PARAM_SCHEMAS: dict[str, dict[str, Any]] = {
    "category": _text("Category (诉求分类): a code of the active category tree (GET /categories)", 64),
    "district": _code("District (属地) code, one of GET /districts"),
    "priority": _choice(Priority, "normal, or urgent (shorter sign limit)"),
    "text": _text("Free text for the record: a note, an opinion, the reason for a decision"),
    "reason_code": _choice(DeclineReason, f"Why the complaint is not accepted (Art. 16): {_DECLINE_REASONS}; "
                                          "other needs a text"),
    "answer": _text("The direct answer to an inquiry (咨询直接答复), sent to the citizen", MAX_FACTS),
    "department": _code("Department code (GET /departments)"),
    "mode": _choice(DispatchMode, "single: one department (department); lead_assist: 主办+协办 (lead, assists); "
                                  "parallel: several in parallel (departments, at least 2); lower_platform: "
                                  "to a lower-level platform or grassroots office (platform)"),
    "lead": _code("The lead department (主办) of a lead_assist dispatch"),
    "assists": _codes("The assisting departments (协办) of a lead_assist dispatch", 1),
    "departments": _codes("The departments of a parallel dispatch", 2),
    "platform": _code("The lower-level platform or grassroots office of a lower_platform dispatch"),
    "auto": {"type": "object", "additionalProperties": False, "required": ["model_version", "probability_bp"],
             "description": "The system only: the model behind a dispatch it made by itself",
             "properties": {"model_version": _text("The model version", 64),
                            "probability_bp": {"type": "integer", "minimum": 0, "maximum": BASIS_POINTS,
                                               "description": "The model's probability in basis points"}}},
    "assignment_id": {"type": "string", "minLength": 1, "maxLength": 16,
                      "description": "The assignment (交办, one department's share) acted on, e.g. A1; may be "
                                     "left out when only one of the caller's assignments qualifies"},
    "reason": _text("The reason, for the record"),
    "new_due": {"type": "string", "maxLength": 40,
                "description": "The requested deadline: a date YYYY-MM-DD (due at its end) or an ISO 8601 "
                               "date-time with its UTC offset; later than the current deadline"},
    "basis": _text("The basis (依据) for returning the ticket: the rule or duty list it relies on"),
    "result": _choice([*MediationResult, *ReportResult, HANDLED],
                      "The outcome: complaints settled / not_settled / terminated (调解成功/不成/终止), reports "
                      "case_filed / not_filed (立案/不予立案), other kinds handled; may be left out when the "
                      "kind has one outcome, or by an assisting department"),
    "termination_reason": _choice(TerminationReason, "Why mediation was terminated (Art. 23); only with result "
                                                     "terminated, and then required"),
    "facts": _text("The facts established (办理情况)", MAX_FACTS),
    "reply": _text("The reply to the citizen (答复内容)", MAX_FACTS),
    "assignment_ids": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 16},
                       "minItems": 1, "maxItems": 50,
                       "description": "The submitted assignments sent back for rework (default: all)"},
    "satisfaction": _choice(Satisfaction, "satisfied (满意), basically_satisfied (基本满意), dissatisfied (不满意)"),
    "solved": {"type": "boolean", "description": "Whether the problem was solved (是否解决)"},
    "comment": _text("The citizen's comment (评价意见)", 500),
    "request": _text("What the citizen asks for (诉求)"),
    "channel": _choice(Channel, "Where the repeat came in"),
    "complainant": {"type": "object", "additionalProperties": False, "required": ["name", "phone"],
                    "description": "The complainant who joins the ticket (Art. 12)",
                    "properties": {"name": _text("Name", 100), "phone": _text("Mobile or landline", 20),
                                   "address": _text("Address", 300), "id_number": _text("ID number", 18)}},
    "source_ticket_id": _text("The ticket the joining complainant first filed, if any", 64),
    "clock": {"type": "string", "minLength": 1, "maxLength": 64,
              "description": "A clock of the ticket, by its key: acceptance, handling:A1, mediation..."},
    "urging_id": {"type": "string", "minLength": 1, "maxLength": 16, "description": "The urging (催办), e.g. U1"},
    "level": _choice(("yellow", "red"), "The warning level (黄牌/红牌)"),
    "handler": {"type": "string", "minLength": 1, "maxLength": 64,
                "description": "The username of a handler of the caller's department (指派承办人)"},
}

# Where the same name means something else in one action.
ACTION_PARAM_SCHEMAS: dict[tuple[str, str], dict[str, Any]] = {
    ("review_non_acceptance", "decision"): _choice(
        ("return_upward", "hand_to_local"),
        "return_upward: send the upper-level assignment back; hand_to_local: give it to a local department "
        "(department required)"),
    ("review_non_acceptance", "department"): _code("The local department, with hand_to_local"),
    ("decide_extension", "decision"): _choice(("approve", "refuse"), "approve moves the deadline; refuse needs "
                                                                      "a text"),
    ("decide_closure_approval", "decision"): _choice(
        ("approve", "send_back"), "approve: the closure goes on to the centre's closure review; send_back: back "
                                  "to the handler (text required)"),
    ("decide_return", "decision"): _choice(("approve", "refuse"), "approve sends the ticket back to dispatch; "
                                                                   "refuse needs a text"),
    ("review_closure", "decision"): _choice(
        ("approve", "rework", "transfer"),
        "approve: on to reply/callback (reply optional); rework: back to the departments (assignment_ids "
        "optional, text required); transfer: to another department (department required, district optional, "
        "text required)"),
    ("review_closure", "department"): _code("The department a transfer goes to"),
    ("review_closure", "district"): _code("The new district of a transfer (GET /districts)"),
    ("pause", "reason"): _choice(PauseReason, "Why the clock pauses: appraisal_testing (检验检测鉴定, Art. 22), "
                                              "recusal (回避, Art. 21), awaiting_citizen (等待补充材料)"),
    ("request_extension", "reason"): _text("Why more time is needed"),
    ("reopen", "reason"): _text("Why the ticket is reopened (重办)"),
    ("supervise", "reason"): _text("Why the ticket is supervised (督办)"),
    ("urge", "department"): _code("The department urged (default: whoever is responsible now; center = the centre)"),
    ("urge", "text"): _text("The urging (催办内容)"),
    ("answer_urging", "text"): _text("The answer to the urging"),
    ("add_note", "text"): _text("The progress note (阶段反馈)"),
    ("decline", "text"): _text("Explanation; required with reason_code other"),
    ("merge_repeat", "facts"): _text("The new facts of the repeat (Art. 35)", MAX_FACTS),
}

EXPECTED_VERSION = {"type": "integer", "minimum": 1,
                    "description": "The ticket version the caller saw: a different current version is a 409"}


def param_schema(action: str, name: str) -> dict[str, Any]:
    """The schema of one parameter of one action (KeyError for a name nobody described)."""
    return ACTION_PARAM_SCHEMAS.get((action, name)) or PARAM_SCHEMAS[name]


def action_body(action: str) -> dict[str, Any]:
    """The request body of ``POST /tickets/{id}/<action>``: the action's parameters, typed, and
    ``expected_version``; nothing else."""
    params = sorted(lifecycle.PARAMS[action])
    return {"type": "object",
            "description": f"Parameters of the lifecycle action {action}",
            "properties": {**{p: param_schema(action, p) for p in params}, "expected_version": EXPECTED_VERSION},
            "additionalProperties": False}
