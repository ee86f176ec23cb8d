"""Ticket use cases: register, act (every lifecycle transition), view, timeline, queues, reveal.

Each use case loads through the repository, calls the pure domain, and saves state + timeline +
outbox in one transaction. Budgets (tests/services/test_budgets.py): register = one Query
(repeat detection) + one transaction; a transition = one GetItem + one transaction.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import intake, lifecycle
from chalicelib.domain.errors import Duplicate, Forbidden, ValidationFailed
from chalicelib.domain.privacy import REVEAL_ROLES, can_reveal, event_view_for, party_names, summary_view_for, view_for
from chalicelib.domain.queues import DEPARTMENT_QUEUES, QUEUES_BY_ROLE
from chalicelib.domain.ticket import CENTER, Actor, Channel, Outcome, Policy, Role, Ticket, TimelineEvent
from chalicelib.services import clock, people, policy, recommend
from chalicelib.store.models import EventItem
from chalicelib.store.tickets import TicketRepository, companions, new_ticket_id, new_tracking_code, ticket_pk

DEPARTMENT_ROLES = (Role.HANDLER, Role.DEPT_LEAD)

_repo = TicketRepository()


def repository() -> TicketRepository:
    return _repo


def current_policy() -> Policy:
    """The SLA rules and the calendar in force."""
    return Policy(sla=policy.sla_rules(), calendar=policy.working_calendar())


@dataclass(frozen=True)
class Registration:
    """What registering produced: new tickets, or the open ticket new facts were merged into."""

    tickets: list[Ticket]
    merged_into: Ticket | None = None


def register(data: Any, actor: Actor) -> Registration:
    """Register a submission (Art. 9 split, Art. 35 repeats: duplicate refused, new facts merged)."""
    submission = validate_registration(data)  # a bad submission is refused before any repeat check
    phone = submission.complainant.phone
    if phone:
        match = intake.classify_repeat(data, _repo.recent_for_complainant(intake.normalize_phone(phone)))
        if match.kind == "duplicate":
            raise Duplicate("the same complaint is already being handled (Art. 35)",
                            details={"ticket_id": match.ticket_id})
        if match.kind == "new_facts" and match.ticket_id:
            merged = _merge_new_facts(match.ticket_id, data, actor)
            return Registration(tickets=[], merged_into=merged)
    now = clock.now()
    prepared = recommend.prepare(data)  # jurisdiction: an empty district is filled in when located for sure
    outcomes = intake.register(prepared.data, actor=actor, now=now, policy=current_policy(),
                               new_id=lambda: new_ticket_id(now), new_tracking_code=new_tracking_code)
    outcomes = recommend.attach(outcomes, prepared.jurisdiction, now=now)  # the model's top 3, CPU only
    _repo.create(outcomes, now=now)
    return Registration(tickets=[o.ticket for o in outcomes])


def validate_registration(data: Any) -> intake.Submission:
    """Check a registration completely (fields, then the district against the directory), writing nothing."""
    if not isinstance(data, dict):
        raise ValidationFailed("the submission must be an object", details={"body": "must be an object"})
    submission = intake.validate_submission(data, now=clock.now())
    check_districts({"district": submission.district})
    return submission


def check_districts(params: Any) -> None:
    """A district named in a registration or an action must be one of the city's (the directory's)."""
    named = intake.named_codes(params, ("district",))
    if not named:
        return
    known = policy.district_codes()
    unknown = {key: f"no district {code}" for key, code in named if code not in known}
    if unknown:
        raise ValidationFailed("unknown district", details=unknown)


def _merge_new_facts(ticket_id: str, data: dict, actor: Actor) -> Ticket:
    params = {"facts": data.get("facts")}
    if data.get("request"):
        params["request"] = data["request"]
    if data.get("channel"):
        params["channel"] = data["channel"]
    merge_actor = actor if actor.role != Role.CITIZEN else Actor(username=actor.username, role=Role.CITIZEN)
    return act(ticket_id, "merge_repeat", params, merge_actor, check_scope=False)


def holders(ticket: Ticket) -> set[str]:
    """Departments and offices that hold (or held) a share of the ticket, and the departments of
    those offices: a grassroots office's share is its department's too."""
    held = {a.department for a in ticket.assignments}
    offices = policy.office_departments()
    return held | {offices[code] for code in held if code in offices}


def check_scope(ticket: Ticket, actor: Actor) -> None:
    """Department roles see only tickets their department (or one of its offices) holds or held a share of."""
    if actor.role in DEPARTMENT_ROLES:
        urged = {u.department for u in ticket.urgings}
        if actor.department not in holders(ticket) | urged:
            raise Forbidden("this ticket belongs to another department")
    elif actor.role in (Role.CITIZEN, Role.PARTNER):
        raise Forbidden("use the citizen or partner interface for this ticket")


def load(ticket_id: str, actor: Actor) -> Ticket:
    """The ticket, if ``actor`` may see it."""
    ticket = _repo.get(ticket_id)
    check_scope(ticket, actor)
    return ticket


def act(ticket_id: str, action: str, params: Any, actor: Actor, *, check_scope: bool = True) -> Ticket:
    """Take one lifecycle action: one read, one transaction; a concurrent change is a 409."""
    if action not in lifecycle.ACTIONS:
        raise ValidationFailed(f"unknown action {action}", details={"action": "unknown action"})
    params = params if params is not None else {}
    ticket = _repo.get(ticket_id)
    _check_departments(action, params, ticket)
    check_districts(params)
    if check_scope:
        _scope_for_action(ticket, actor)
    outcome = lifecycle.apply(ticket, action, params, actor=actor,
                              now=clock.now(), policy=current_policy())
    with companions(recommend.corrections):  # a dispatcher overruling the model: a labelled example
        _repo.save(ticket, [outcome], now=clock.now())
    return outcome.ticket


_DEPARTMENT_PARAMS = {"dispatch": ("department", "lead", "assists", "departments"),
                      "review_non_acceptance": ("department",), "review_closure": ("department",),
                      "urge": ("department",), "supervise": ("department",)}
_SHARE_ADDRESSED = frozenset({"urge", "supervise"})  # may name whoever holds a share, a lower platform too


def _check_departments(action: str, params: Any, ticket: Ticket) -> None:
    """Departments named in an action must exist (the domain knows codes, not the directory); a
    lower-level platform holding a share of the ticket counts as one (it can be urged and supervised)."""
    named = intake.named_codes(params, _DEPARTMENT_PARAMS.get(action, ()))
    if not named:
        return
    known = policy.department_codes() | {CENTER}
    if action in _SHARE_ADDRESSED:
        known |= set(ticket.departments)
    unknown = {key: f"no department {code}" for key, code in named if code not in known}
    if unknown:
        raise ValidationFailed("unknown department", details=unknown)


def _scope_for_action(ticket: Ticket, actor: Actor) -> None:
    if actor.role in DEPARTMENT_ROLES:
        check_scope(ticket, actor)


def apply_outcomes(before: Ticket, outcomes: list[Outcome]) -> Ticket:
    """Save transitions a caller computed itself (system jobs that chain several actions)."""
    _repo.save(before, outcomes, now=clock.now())
    return outcomes[-1].ticket


def view(ticket: Ticket, actor: Actor, *, reveal: bool = False) -> dict[str, Any]:
    """The ticket as ``actor`` may see it, with the actions they can take now."""
    data = view_for(ticket.to_dict(), actor, reveal=reveal)
    data["allowed_actions"] = lifecycle.allowed_actions(ticket, actor)
    data["action_shares"] = lifecycle.action_shares(ticket, actor)  # which own shares each can be about
    data["registered_by_name"] = people.display_name(
        ticket.registered_by, Role.CITIZEN if ticket.channel == Channel.WEB else None)
    return data


def reveal(ticket_id: str, actor: Actor, reason: str) -> dict[str, Any]:
    """Show personal data in clear, recording who saw it, when and why (an append-only event)."""
    if actor.role not in REVEAL_ROLES:
        raise Forbidden(f"role {actor.role} may not reveal personal data")
    ticket = load(ticket_id, actor)
    if not can_reveal(ticket.to_dict(), actor):
        raise Forbidden("a reporter's identity is not shown to departments (Art. 37)")
    shown = view(ticket, actor, reveal=True)
    now = clock.now()
    event = TimelineEvent(type="personal_data_revealed", at=now, actor=actor, from_status=ticket.status,
                          to_status=ticket.status, data={"reason": reason, "fields": ["complainant"]})
    EventItem(ticket_pk(ticket.id), f"E#{ticket.version:010d}#R{uuid.uuid4().hex[:12]}", data=event.to_dict()).save()
    return shown


def timeline(ticket_id: str, actor: Actor) -> list[dict[str, Any]]:
    """Every stage: who, when, what, from which state to which, deadline met or missed."""
    ticket = load(ticket_id, actor)
    names = party_names(ticket.to_dict())
    return [event_view_for(event.to_dict(), ticket.kind, actor, names=names) for event in _repo.timeline(ticket.id)]


def queue(name: str, actor: Actor, *, limit: int, cursor: str | None) -> dict[str, Any]:
    """One page of one of the caller's work queues, sorted by deadline."""
    allowed = QUEUES_BY_ROLE.get(actor.role, ())
    if name not in allowed:
        raise Forbidden(f"queue {name} is not for role {actor.role}", details={"queues": list(allowed)})
    owner = actor.department if name in DEPARTMENT_QUEUES and actor.role in DEPARTMENT_ROLES else CENTER
    if owner is None:
        raise Forbidden("a department queue needs a department")
    items, next_cursor = _repo.queue(name, owner, limit=limit, cursor=cursor)
    return {"queue": name, "owner": owner, "items": [summary_view_for(i, actor) for i in items],
            "next_cursor": next_cursor}
