"""Notifications for committed warnings, urgings and supervisions, and the to-do notice a
department gets when a ticket is dispatched (or transferred, or handed) to it.

A table-stream consumer reads the outbox messages written in the same transaction as each
``warning_recorded`` / ``urged`` / ``supervised`` transition, so a notification exists exactly
when the change does, whoever made it (the flow, the sweeper, a manager urging by hand, an upper
level). The notification id is the outbox key: a redelivered batch overwrites, never duplicates.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.calendar import TZ
from chalicelib.domain.deadlines import CENTRE_CLOCK_ROLES as _CENTRE_CLOCK_ROLES  # who at the centre answers
from chalicelib.domain.errors import NotFound
from chalicelib.domain.ticket import CENTER, Priority, Ticket
from chalicelib.domain.vocabulary import clock_label
from chalicelib.notifications import port
from chalicelib.notifications.model import Audience, Notification
from chalicelib.services import policy
from chalicelib.services import tickets as ticket_service
from chalicelib.streams import TableChange, consumer, is_outbox_insert

TOPICS = frozenset({"ticket.warning_recorded", "ticket.urged", "ticket.supervised",
                    "ticket.dispatched", "ticket.closure_reviewed", "ticket.non_acceptance_reviewed"})
# Events that give departments new shares (their payload lists them as ``assignments``).
_NEW_SHARE_TOPICS = frozenset({"ticket.dispatched", "ticket.closure_reviewed", "ticket.non_acceptance_reviewed"})
CENTRE_ROLES = ("agent", "dispatcher")
_URGING_SOURCES = {"system": "系统自动催办", "manual": "管理人员催办", "upper_level": "上级平台催办"}


def accepts(change: TableChange) -> bool:
    return is_outbox_insert(change) and change.item.get("topic") in TOPICS


def _when(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).astimezone(TZ).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(value)


def clock_audience(ticket: Ticket | None, key: str, departments: list[str] | None = None) -> Audience:
    """Who answers for clock ``key`` of ``ticket``: its assignment's department, the departments
    handling the ticket (``departments`` when the ticket was not read), or the centre's role for a
    centre clock."""
    name, _, assignment_id = key.partition(":")
    if name in _CENTRE_CLOCK_ROLES:  # the centre's clocks, also those kept per share (extension decision)
        return Audience(roles=_CENTRE_CLOCK_ROLES[name])
    if ticket is not None and assignment_id:
        assignment = ticket.assignment(assignment_id)
        if assignment is not None:
            return Audience(departments=(assignment.department,))
    if ticket is None and departments and (assignment_id or name not in _CENTRE_CLOCK_ROLES):
        return Audience(departments=tuple(departments))
    if name in _CENTRE_CLOCK_ROLES:
        return Audience(roles=_CENTRE_CLOCK_ROLES[name])
    departments = tuple(ticket.departments) if ticket is not None else ()
    return Audience(departments=departments) if departments else Audience(roles=("dispatcher",))


def _addressee(department: Any) -> Audience:
    if not department or department == CENTER:
        return Audience(roles=CENTRE_ROLES)
    return Audience(departments=(str(department),))


def _with_managers(audience: Audience) -> Audience:
    return Audience(departments=audience.departments, roles=tuple(dict.fromkeys((*audience.roles, "manager"))),
                    usernames=audience.usernames)


def build(change: TableChange, ticket: Ticket | None) -> Notification | None:
    """The notification for one outbox message (None for a topic that tells nobody)."""
    item = change.item
    topic = item.get("topic")
    payload = item.get("payload") or {}
    ticket_id = str(payload.get("ticket_id") or change.pk[2:])
    base = {"id": f"{ticket_id}/{change.sk}", "ticket_id": ticket_id,
            "created_at": str(payload.get("at") or item.get("created_at")),
            "urgent": payload.get("priority") == Priority.URGENT}
    key = str(payload.get("clock") or "")
    label = clock_label(key) if key else "办理时限"
    if topic == "ticket.warning_recorded":
        level = payload.get("level")
        audience = clock_audience(ticket, key, [str(d) for d in payload.get("departments") or []])
        if level == "red":
            return Notification(kind="warning_red", title=f"红牌预警：{label}已超期",
                                body=f"工单 {ticket_id} 的{label}已于 {_when(payload.get('due'))} 到期，现已超期，请立即办理。",
                                audience=_with_managers(audience), data={"clock": key, "level": "red"}, **base)
        return Notification(kind="warning_yellow", title=f"黄牌预警：{label}即将到期",
                            body=f"工单 {ticket_id} 的{label}将于 {_when(payload.get('due'))} 到期，请抓紧办理。",
                            audience=audience, data={"clock": key, "level": "yellow"}, **base)
    if topic == "ticket.urged":
        source = _URGING_SOURCES.get(str(payload.get("source")), "催办")
        return Notification(kind="urged", title=f"催办：工单 {ticket_id}",
                            body=f"{source}：工单 {ticket_id} 的{label}需尽快办理，请在平台上答复催办。",
                            audience=_addressee(payload.get("department")),
                            data={"clock": key, "urging_id": payload.get("urging_id")}, **base)
    if topic in _NEW_SHARE_TOPICS:
        return _dispatched(payload, ticket_id, base)
    if topic == "ticket.supervised":
        return Notification(kind="supervised", title=f"督办：工单 {ticket_id}",
                            body=f"工单 {ticket_id} 已被督办，请立即办理并反馈，督办将计入部门考核。",
                            audience=_with_managers(_addressee(payload.get("department"))),
                            data={"urging_id": payload.get("urging_id")}, **base)
    return None


def _dispatched(payload: dict[str, Any], ticket_id: str, base: dict[str, Any]) -> Notification | None:
    """The to-do notice (待办提醒) to the handlers and lead of each department given a new share, and,
    for a grassroots office's share, to the lead of the office's department too (who assigns and
    approves the office's work): in their inbox, and by e-mail/SMS to those with an address (held to
    working hours unless urgent). Each person is told once, whatever their part."""
    shares = [a for a in payload.get("assignments") or [] if isinstance(a, dict) and a.get("department")]
    departments = tuple(dict.fromkeys(str(a["department"]) for a in shares))
    if not departments:
        return None
    parents = policy.office_departments()  # office -> its department (cached)
    leads = tuple(dict.fromkeys(parents[d] for d in departments if d in parents))
    urgent = "（紧急）" if base["urgent"] else ""
    return Notification(kind="dispatched", title=f"待办提醒：新派工单 {ticket_id}{urgent}",
                        body=f"工单 {ticket_id} 已派至本部门{'（或下属基层所）' if leads else ''}，"
                             "请在签收时限内登录平台签收办理。",
                        audience=Audience(departments=departments, leads=leads),
                        data={"assignment_ids": [str(a.get("id")) for a in shares]}, **base)


def _needs_ticket(change: TableChange) -> bool:
    """A warning about an assignment's clock needs the ticket to name the department, unless the
    event's payload already says the ticket is with exactly one department."""
    payload = change.item.get("payload") or {}
    if change.item.get("topic") != "ticket.warning_recorded":
        return False
    return ":" in str(payload.get("clock") or "") and len(payload.get("departments") or []) != 1


def _ticket(ticket_id: str, cache: dict[str, Ticket | None]) -> Ticket | None:
    if ticket_id not in cache:
        try:
            cache[ticket_id] = ticket_service.repository().get(ticket_id)
        except NotFound:
            cache[ticket_id] = None
    return cache[ticket_id]


@consumer("notifier", accepts=accepts)
def on_events(changes: list[TableChange]) -> None:
    """Queue a notification for each warning, urging and supervision in the batch."""
    tickets: dict[str, Ticket | None] = {}
    notes = []
    for change in changes:
        ticket = _ticket(change.pk[2:], tickets) if _needs_ticket(change) else None
        note = build(change, ticket)
        if note is not None:
            notes.append(note)
    port.notify(notes)


__all__ = ["TOPICS", "accepts", "build", "clock_audience", "on_events"]
