"""What each outbox message means to each partner: the outbound event types and their payloads.

An outbox message (``ticket.<event>``, written with the transition that caused it) becomes zero
or more partner events:

* to the ticket's **origin** (the upper level or the 12345 hotline it came from): acceptance
  (``ticket.accepted``), a final decline (``ticket.declined``), return upward
  (``ticket.returned``), progress (``ticket.progress``: dispatched, signed, notes, pauses,
  urging answers, reopening, approved extensions, and any other change of status - a closure
  submitted, a return or rework decided, the archive), the approved closure (``ticket.closed``) and the citizen's
  evaluation (``ticket.evaluated``); a resent snapshot of where the ticket stands
  (``ticket.synced``, :func:`snapshot`, when the reconciliation found it out of step); a 12345
  platform's events also carry its own status words (:mod:`.hotline12345`);
* to the **data centre**: a record of every change (``ticket.record``, :mod:`.data_centre`);
* to a **lower-level platform**: the share dispatched to it (``ticket.assigned``, with the facts
  it needs to handle the ticket), urgings addressed to it (``ticket.urged``), its share taken
  back (``ticket.recalled``) and the review of its closure (``ticket.reviewed``).

Every partner event is ``{"type", "timestamp", "data"}`` (Standard Webhooks' payload shape);
``data`` always names our ``ticket_id`` and, when known, the partner's ``external_id``. A report
(举报) sent down never carries the reporter's identity (Art. 37).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.domain.ticket import (
    AssignmentRole,
    AssignmentStatus,
    Kind,
    Status,
    STATUS_LABELS,
    Ticket,
)
from chalicelib.domain.vocabulary import EVENT_LABELS
from chalicelib.services import categories

PROGRESS_STAGES: dict[str, str] = {
    "dispatched": "已分拨", "signed": "已签收", "note_added": "阶段反馈", "paused": "中止计时",
    "resumed": "恢复计时", "urging_answered": "催办已答复", "reopened": "重办", "extension_decided": "延期审批",
}
ENDED = frozenset({AssignmentStatus.RETURNED, AssignmentStatus.WITHDRAWN, AssignmentStatus.TRANSFERRED})


@dataclass(frozen=True)
class PartnerEvent:
    """One event for one partner."""

    partner_id: str
    type: str
    data: dict[str, Any]

    def envelope(self, timestamp: str) -> dict[str, Any]:
        return {"type": self.type, "timestamp": timestamp, "data": self.data}


def needs_ticket(topic: str) -> bool:
    """Whether a topic can concern a partner at all (the sender skips the others cheaply)."""
    return topic.startswith("ticket.") and topic not in ("ticket.registered", "ticket.warning_recorded",
                                                         "ticket.repeat_merged", "ticket.complainant_joined")


def _base(ticket: Ticket, payload: dict[str, Any], external_id: str | None) -> dict[str, Any]:
    status = payload.get("status") or ticket.status  # the state this event left it in
    return {"ticket_id": ticket.id, "external_id": external_id, "status": status,
            "status_label": STATUS_LABELS.get(status, status), "version": payload.get("version"),
            "at": payload.get("at")}


def _category(ticket: Ticket) -> dict[str, Any]:
    """A ticket's category for another platform: ``category`` in words (the entry's own name, or the
    free text an old ticket or the partner itself gave), and our tree's code and path beside it."""
    shown = categories.view(ticket.category)
    name = shown["category_path"][-1] if shown["category_path"] else ticket.category
    return {"category": name, "category_code": shown["category_code"], "category_path": shown["category_path"]}


def for_origin(topic: str, payload: dict[str, Any], ticket: Ticket, external_id: str | None) -> tuple[str, dict] | None:
    """(event type, data) for the partner a ticket came from, or None when it has nothing to hear."""
    event = topic.removeprefix("ticket.")
    data = _base(ticket, payload, external_id)
    if event == "accepted":
        return "ticket.accepted", {**data, **_category(ticket), "district": ticket.district}
    if event == "declined":
        if payload.get("status") != Status.CLOSED:
            return None  # an upper-level assignment's decline is reviewed first (non_acceptance_review)
        return "ticket.declined", {**data, "reason_code": payload.get("reason_code"), "reply": _last_reply(ticket)}
    if event == "non_acceptance_reviewed":
        if payload.get("decision") == "return_upward":
            return "ticket.returned", {**data, "reason_code": ticket.acceptance.reason_code if ticket.acceptance else None,
                                       "reason": ticket.acceptance.text if ticket.acceptance else None,
                                       "review": ticket.non_acceptance_review.text if ticket.non_acceptance_review else None}
        return "ticket.accepted", {**data, "via": "non_acceptance_review"}
    if event in PROGRESS_STAGES:
        if event == "extension_decided" and payload.get("decision") != "approve":
            return None
        return "ticket.progress", {**data, "stage": event, "stage_label": PROGRESS_STAGES[event],
                                   "departments": payload.get("departments") or [],
                                   "deadline_met": payload.get("deadline_met")}
    if event == "closure_reviewed" and payload.get("decision") == "approve":
        done = [a for a in ticket.assignments if a.status == AssignmentStatus.COMPLETED and a.closure]
        return "ticket.closed", {
            **data, "reply": _last_reply(ticket),
            "results": [{"department": a.department, "role": a.role, "result": a.closure.result,
                         "termination_reason": a.closure.termination_reason, "facts": a.closure.facts}
                        for a in done if a.closure is not None],
        }
    if event in ("callback_recorded", "evaluated"):
        last = ticket.last_feedback
        return "ticket.evaluated", {**data, "via": "callback" if event == "callback_recorded" else "evaluation",
                                    "satisfaction": last.satisfaction if last else payload.get("satisfaction"),
                                    "solved": last.solved if last else payload.get("solved")}
    if payload.get("from_status") and payload.get("from_status") != payload.get("status"):
        # any other change of status (a closure submitted, a return or a rework decided, the archive):
        # the origin hears it as progress, so what it holds never falls behind (feeds.py reconciles it)
        return "ticket.progress", {**data, "stage": event, "stage_label": EVENT_LABELS.get(event, event),
                                   "departments": payload.get("departments") or [],
                                   "deadline_met": payload.get("deadline_met")}
    return None


def _last_reply(ticket: Ticket) -> str | None:
    return ticket.replies[-1].text if ticket.replies else None


def lower_platform_shares(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """(platform id, assignment id) of the shares a ``dispatched`` message sends down."""
    return [(str(a.get("department")), str(a.get("id"))) for a in payload.get("assignments") or []
            if isinstance(a, dict) and a.get("role") == AssignmentRole.LOWER_PLATFORM]


def assigned_to_lower(ticket: Ticket, partner_id: str, assignment_id: str, payload: dict[str, Any]) -> PartnerEvent:
    """The share sent down: what a lower-level platform needs to handle the ticket."""
    share = ticket.assignment(assignment_id)
    sign_due = ticket.clocks.get(f"sign:{assignment_id}")
    reporter_hidden = ticket.kind == Kind.REPORT
    data = {
        **_base(ticket, payload, None), "assignment_id": assignment_id, "kind": ticket.kind,
        **_category(ticket), "priority": ticket.priority, "district": ticket.district,
        "received_at": ticket.received_at.isoformat(), "request": ticket.request, "facts": ticket.facts,
        "respondent": ticket.respondent.to_dict() if ticket.respondent else None,
        "complainant": None if reporter_hidden else ticket.complainant.to_dict(),
        "reporter_withheld": reporter_hidden,
        "sign_due": sign_due.due.isoformat() if sign_due else None,
        "dispatched_at": share.dispatched_at.isoformat() if share else payload.get("at"),
    }
    return PartnerEvent(partner_id, "ticket.assigned", data)


def for_lower(topic: str, payload: dict[str, Any], ticket: Ticket, partner_id: str,
              external_id: str | None) -> list[PartnerEvent]:
    """Events for a lower-level platform the ticket was sent down to (other than the assignment)."""
    event = topic.removeprefix("ticket.")
    shares = [a for a in ticket.assignments if a.department == partner_id and a.role == AssignmentRole.LOWER_PLATFORM]
    if not shares:
        return []
    base = _base(ticket, payload, external_id)
    out: list[PartnerEvent] = []
    if event == "urged" and payload.get("department") == partner_id:
        urging = next((u for u in ticket.urgings if u.id == payload.get("urging_id")), None)
        out.append(PartnerEvent(partner_id, "ticket.urged", {
            **base, "urging_id": payload.get("urging_id"), "text": urging.text if urging else None,
            "source": payload.get("source")}))
    if event in ("return_decided", "closure_reviewed"):
        moment = payload.get("at")
        for share in shares:
            if share.status in ENDED and share.ended_at is not None and share.ended_at.isoformat() == moment:
                out.append(PartnerEvent(partner_id, "ticket.recalled", {
                    **base, "assignment_id": share.id, "assignment_status": share.status}))
    decision = payload.get("decision") if event == "closure_reviewed" else "reopen" if event == "reopened" else None
    if decision in ("approve", "rework", "reopen"):
        reviewed = set(payload.get("assignment_ids") or [])
        for share in shares:
            if share.id in reviewed:
                out.append(PartnerEvent(partner_id, "ticket.reviewed", {
                    **base, "assignment_id": share.id, "decision": decision, "assignment_status": share.status}))
    return out


def snapshot(ticket: Ticket, external_id: str | None, at: str) -> dict[str, Any]:
    """``ticket.synced``: where a ticket stands now, all at once, for its origin partner (sent when an
    administrator resends a ticket the reconciliation found out of step)."""
    last = ticket.last_feedback
    done = [a for a in ticket.assignments if a.closure is not None]
    return {**_base(ticket, {"status": ticket.status, "version": ticket.version, "at": at}, external_id),
            **_category(ticket), "district": ticket.district, "resolution": ticket.resolution,
            "departments": ticket.departments, "reply": _last_reply(ticket),
            "results": [{"department": a.department, "role": a.role, "result": a.closure.result,
                         "termination_reason": a.closure.termination_reason, "facts": a.closure.facts}
                        for a in done if a.closure is not None],
            "satisfaction": last.satisfaction if last else None, "solved": last.solved if last else None,
            "closed_at": ticket.closed_at.isoformat() if ticket.closed_at else None}
