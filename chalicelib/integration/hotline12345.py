"""The 12345 exchange format: a 12345 platform's case in, our ticket's state out, in its words.

The city's 12345 platform (a partner of kind ``hotline_12345``) assigns cases to us in its own
format (``ticket.assigned`` with ``data.case``) and hears back, and asks, in its own status
vocabulary. Both mappings are declared here once, as tables, and written out in
docs/integration-mapping.md (tests/integration/test_partner_12345.py checks the two agree):

* :data:`CASE_FIELDS` - each field of a 12345 case, the ticket field it fills and how;
* :data:`STATUS_12345` - each of our statuses, the 12345 status it is reported as.

A case is translated into an ordinary registration (the intake rules then check it as they check
any ticket); its ``case_no`` is the external id, so the same case sent twice is one ticket.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

import fastjsonschema

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.ticket import Kind, Priority, Resolution, Status, Ticket


@dataclass(frozen=True)
class CaseField:
    """One field of a 12345 case: where it goes in our registration, and how it is translated."""

    name: str  # the 12345 field
    label: str  # its Chinese name in the 12345 format
    target: str  # the registration field it fills (dotted: complainant.phone)
    how: str  # as_is | kind | category | district | priority | unit


APPEAL_TYPES: dict[str, str] = {"投诉": Kind.COMPLAINT, "举报": Kind.REPORT, "咨询": Kind.INQUIRY,
                                "求助": Kind.HELP_REQUEST, "建议": Kind.SUGGESTION}
URGENCY: dict[str, str] = {"一般": Priority.NORMAL, "紧急": Priority.URGENT}

CASE_FIELDS: tuple[CaseField, ...] = (
    CaseField("case_no", "工单编号", "external_id", "as_is"),
    CaseField("appeal_type", "诉求类型", "kind", "kind"),
    CaseField("caller_name", "诉求人姓名", "complainant.name", "as_is"),
    CaseField("caller_phone", "联系电话", "complainant.phone", "as_is"),
    CaseField("caller_address", "联系地址", "complainant.address", "as_is"),
    CaseField("target_name", "被反映对象", "respondent.name", "as_is"),
    CaseField("target_address", "被反映对象地址", "respondent.address", "as_is"),
    CaseField("content", "诉求内容", "facts", "as_is"),
    CaseField("demand", "诉求人要求", "request", "as_is"),
    CaseField("matter", "事项分类", "category", "category"),
    CaseField("area", "所属区域", "district", "district"),
    CaseField("urgency", "紧急程度", "priority", "priority"),
    CaseField("received_time", "来电时间", "received_at", "as_is"),
    CaseField("unit_code", "承办单位编码", "assignments[].department", "unit"),
    CaseField("unit_name", "承办单位", "assignments[].department", "unit"),
)

# Our status -> (12345 status code, its label). Closed tickets are told apart by how they ended.
STATUS_12345: dict[str, tuple[str, str]] = {
    Status.PENDING_ACCEPTANCE: ("received", "已签收待受理"),
    Status.INTERNET_INBOX: ("received", "已签收待受理"),
    Status.UPPER_LEVEL_PENDING: ("received", "已签收待受理"),
    Status.NON_ACCEPTANCE_REVIEW: ("received", "已签收待受理"),
    Status.TO_DISPATCH: ("accepted", "已受理"),
    Status.IN_HANDLING: ("handling", "办理中"),
    Status.CLOSURE_REVIEW: ("handling", "办理中"),
    Status.PENDING_CALLBACK: ("replied", "已答复待回访"),
    Status.PENDING_EVALUATION: ("replied", "已答复待回访"),
    Status.REPLIED: ("replied", "已答复待回访"),
    Status.CLOSED: ("closed", "已办结"),
    Status.ARCHIVED: ("closed", "已办结"),
}
CLOSED_AS: dict[str, tuple[str, str]] = {
    Resolution.RETURNED_UPWARD: ("returned", "已退回"),
    Resolution.DECLINED: ("declined", "不予受理"),
}

_TEXT = {"type": "string", "minLength": 1, "maxLength": 10000}
_SHORT = {"type": "string", "minLength": 1, "maxLength": 200}
_CASE = fastjsonschema.compile({
    "type": "object", "additionalProperties": False,
    "properties": {
        "case_no": {"type": "string", "minLength": 1, "maxLength": 128,
                    "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]*$"},
        "appeal_type": {"type": "string", "enum": sorted(APPEAL_TYPES)},
        "caller_name": _SHORT, "caller_phone": {"type": "string", "maxLength": 40},
        "caller_address": _SHORT, "target_name": _SHORT, "target_address": _SHORT,
        "content": _TEXT, "demand": {"type": "string", "maxLength": 2000},
        "matter": {"type": "string", "minLength": 1, "maxLength": 200},
        "area": {"type": "string", "minLength": 1, "maxLength": 64},
        "urgency": {"type": "string", "enum": sorted(URGENCY)},
        "received_time": {"type": "string", "maxLength": 64},
        "unit_code": {"type": "string", "minLength": 1, "maxLength": 100},
        "unit_name": {"type": "string", "minLength": 1, "maxLength": 100},
    },
    "required": ["case_no", "appeal_type", "content"],
})


def status_of(ticket: Ticket) -> tuple[str, str]:
    """The ticket's status in the 12345 vocabulary: (code, label)."""
    return status_for(ticket.status, ticket.resolution)


def status_for(status: str | None, resolution: str | None = None) -> tuple[str, str]:
    """(12345 code, label) of one of our statuses (and, when closed, how it ended)."""
    if status in (Status.CLOSED, Status.ARCHIVED) and resolution in CLOSED_AS:
        return CLOSED_AS[str(resolution)]
    return STATUS_12345.get(str(status), ("unknown", "未知"))


def _category(value: str) -> str:
    """A 12345 matter (a path "领域/事项/具体问题" or one name) as our category code: the entry with
    that whole path, else the one active entry named like its last part; otherwise the text itself
    (a partner's own classification is kept, decision 0014)."""
    from chalicelib.services import categories

    tree = categories.tree()
    parts = [p.strip() for p in value.replace("＞", "/").replace(">", "/").split("/") if p.strip()]
    if not parts:
        return value
    same_path = sorted(c for c in tree.nodes if tree.is_active(c) and tree.path(c) == parts)
    if same_path:
        return same_path[0]
    return tree.by_name(parts[-1]) or value.strip()


_names_cache: dict[str, Any] = {"owner": None, "at": 0.0, "districts": {}, "units": {}}
_names_lock = threading.Lock()
NAMES_CACHE_SECONDS = 60.0


def _names() -> dict[str, Any]:
    """District name -> code and unit (department, office) code -> name, read from the directory
    (two Queries) and kept a minute per process."""
    from chalicelib.aws import client
    from chalicelib.store import directory

    owner = client("dynamodb")
    with _names_lock:
        if _names_cache["owner"] is owner and time.monotonic() - _names_cache["at"] < NAMES_CACHE_SECONDS:
            return _names_cache
    districts = {d["name"]: d["code"] for d in directory.list_entries(directory.DISTRICTS) if d.get("active", True)}
    units = {u["code"]: u["name"] for kind in (directory.DEPARTMENTS, directory.OFFICES)
             for u in directory.list_entries(kind)}
    with _names_lock:
        _names_cache.update(owner=owner, at=time.monotonic(), districts=districts, units=units)
        return _names_cache


def _district(value: str) -> str:
    """A 12345 area (our code, or a district's name such as 姑苏区) as our district code; ValidationFailed
    when it names no district of ours."""
    names = _names()["districts"]
    if value in names.values():
        return value
    code = names.get(value.strip())
    if code is None:
        raise ValidationFailed("unknown area", details={"data.case.area": f"no district {value}"})
    return str(code)


_TRANSLATE: dict[str, Callable[[Any], Any]] = {
    "as_is": lambda v: v, "kind": lambda v: APPEAL_TYPES[v], "category": _category, "district": _district,
    "priority": lambda v: URGENCY[v],
}


def to_assignment(case: Any) -> dict[str, Any]:
    """A 12345 case as our ``ticket.assigned`` data (``{"external_id", "ticket"}``); ValidationFailed
    naming ``data.case.<field>`` when the case does not follow the format. The handling unit it names
    (承办单位, the 12345 platform's own) is not a ticket field: :func:`unit_of` reads it."""
    try:
        _CASE(case)
    except fastjsonschema.JsonSchemaValueException as exc:
        field = ".".join(str(p) for p in (exc.path or [])[1:]) or "case"
        raise ValidationFailed("invalid 12345 case", details={
            f"data.case.{field}" if field != "case" else "data.case": exc.message.replace("data.", "")[:200]}) from None
    out: dict[str, Any] = {}
    for spec in CASE_FIELDS:
        if spec.name not in case or case[spec.name] in (None, "") or spec.how == "unit":
            continue
        value = _TRANSLATE[spec.how](case[spec.name])
        head, _, tail = spec.target.partition(".")
        if tail:
            out.setdefault(head, {})[tail] = value
        else:
            out[head] = value
    external_id = out.pop("external_id")
    return {"external_id": external_id, "ticket": out}


def unit_of(case: Any) -> dict[str, str] | None:
    """The handling unit (承办单位) a 12345 case names, in the 12345 platform's directory:
    ``{"code", "name"}`` (either may be missing), or None when it names none. Routed by the
    partner's unit mapping (:mod:`chalicelib.integration.units`)."""
    if not isinstance(case, dict):
        return None
    unit = {key: case[field].strip() for key, field in (("code", "unit_code"), ("name", "unit_name"))
            if isinstance(case.get(field), str) and case[field].strip()}
    return unit or None


def department_names() -> dict[str, str]:
    """Our department and office codes -> their names (the 12345 platform knows units by name)."""
    return dict(_names()["units"])


def decorate(data: dict[str, Any], ticket: Ticket) -> dict[str, Any]:
    """An outbound event's data with the 12345 status and the units named (added, nothing replaced)."""
    code, label = status_for(data.get("status"), ticket.resolution if data.get("status") in
                             (Status.CLOSED, Status.ARCHIVED) else None)
    names = department_names()
    extra: dict[str, Any] = {"case_no": data.get("external_id"), "status_12345": code, "status_12345_label": label}
    if "departments" in data:
        extra["department_names"] = [names.get(d, d) for d in data.get("departments") or []]
    return {**data, **extra}


def answer(ticket: Ticket, case_no: str, now: datetime) -> dict[str, Any]:
    """What a status query about one case answers: where the ticket stands, in both vocabularies."""
    from chalicelib.domain.vocabulary import RESULT_LABELS, SATISFACTION_LABELS, STATUS_LABELS

    code, label = status_of(ticket)
    names = department_names()
    due = [c.due for key, c in ticket.clocks.items() if key.startswith("handling") and getattr(c, "due", None)]
    lead = next((a for a in ticket.assignments if a.closure is not None and a.closure.result), None)
    last = ticket.last_feedback
    return {
        "case_no": case_no, "found": True, "ticket_id": ticket.id, "status": ticket.status,
        "status_label": STATUS_LABELS.get(ticket.status, ticket.status), "status_12345": code,
        "status_12345_label": label, "version": ticket.version, "updated_at": ticket.updated_at.isoformat(),
        "departments": ticket.departments, "department_names": [names.get(d, d) for d in ticket.departments],
        "handling_due": min(due).isoformat() if due else None,
        "result": lead.closure.result if lead and lead.closure else None,
        "result_label": RESULT_LABELS.get(lead.closure.result, lead.closure.result) if lead and lead.closure else None,
        "reply": ticket.replies[-1].text if ticket.replies else None,
        "satisfaction": last.satisfaction if last else None,
        "satisfaction_label": SATISFACTION_LABELS.get(last.satisfaction) if last else None,
        "closed_at": ticket.closed_at.isoformat() if ticket.closed_at else None,
        "answered_at": now.isoformat(),
    }
