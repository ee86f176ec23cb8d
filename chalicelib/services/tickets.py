"""Ticket use cases: the one door through which every ticket changes (docs/domain.md, "Lifecycle").

:class:`TicketService` holds its ports - the repository, the clock and the policy (SLA rules and
calendar) - and is the only place that calls ``lifecycle.apply`` and saves the result: staff and
citizen routes (:meth:`TicketService.act`), the workflow's timers and partner webhooks
(:meth:`TicketService.change`, several steps decided on a ticket already read, one transaction),
registration (:meth:`TicketService.register`) and demo seeding (:meth:`TicketService.playback`).
A department's staff may act only on tickets their department holds or held a share of, on
every one of these paths; the system and partner platforms keep their own rights.

Each use case loads through the repository, calls the pure domain, and saves state + timeline +
outbox in one transaction. Budgets (tests/services/test_budgets.py): register = one Query
(repeat detection) + one transaction; a transition = one GetItem + one transaction, also when the
caller states the version it saw (the save's condition checks that version itself).

The default door (real repository, system clock, policy in force) is built once, on first use,
by :func:`default`; the module-level functions are shortcuts to it for callers that hold no door.
"""
from __future__ import annotations

import dataclasses
import threading
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Sequence

from chalicelib.domain import intake, lifecycle
from chalicelib.domain.errors import ConcurrentModification, Duplicate, Forbidden, ValidationFailed
from chalicelib.domain.privacy import (REVEAL_ROLES, can_reveal, event_view_for, party_names, summary_view_for,
                                       view_for)
from chalicelib.domain.queues import (DEPARTMENT_QUEUES, MINE, OFFICE_QUEUES, PERSONAL_QUEUES, QUEUES_BY_ROLE,
                                      personal_owner)
from chalicelib.domain.ticket import (CENTER, Actor, Channel, Outcome, Policy, Role, Ticket,
                                      TimelineEvent)
from chalicelib.services import categories, category_suggestions, clock, people, policy, recommend
from chalicelib.store.models import EventItem
from chalicelib.store.tickets import (TicketRepository, companions, new_ticket_id, new_tracking_code,
                                      received_cursor, summary, ticket_pk)

DEPARTMENT_ROLES = (Role.HANDLER, Role.DEPT_LEAD)
MINE_ROLES = frozenset({Role.AGENT, Role.DISPATCHER, Role.HANDLER, Role.DEPT_LEAD, Role.MANAGER, Role.ADMIN})
Step = tuple[str, dict[str, Any]]  # (action, params): one lifecycle transition to take


def current_policy() -> Policy:
    """The SLA rules and the calendar in force."""
    return Policy(sla=policy.sla_rules(), calendar=policy.working_calendar(),
                  approval_departments=policy.approval_departments())


def system_now() -> datetime:
    """The system clock, read at each call (tests replace ``services.clock.now``)."""
    return clock.now()


@dataclass(frozen=True)
class Registration:
    """What registering produced: new tickets, or the open ticket new facts were merged into."""

    tickets: list[Ticket]
    merged_into: Ticket | None = None


# --------------------------------------------------------------------------- rules of the door
def validate_registration(data: Any, *, now: datetime | None = None) -> intake.Submission:
    """Check a registration completely (fields, then the district against the directory), writing nothing."""
    if not isinstance(data, dict):
        raise ValidationFailed("the submission must be an object", details={"body": "must be an object"})
    submission = intake.validate_submission(data, now=now or system_now())
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


def check_department_scope(ticket: Ticket, actor: Actor) -> None:
    """An actor from a department acts only within its scope; other roles keep their rights
    (the lifecycle's role table decides what they may do)."""
    if actor.role in DEPARTMENT_ROLES:
        check_scope(ticket, actor)


_DEPARTMENT_PARAMS = {"dispatch": ("department", "lead", "assists", "departments"),
                      "review_non_acceptance": ("department",), "review_closure": ("department",),
                      "urge": ("department",), "supervise": ("department",)}
_SHARE_ADDRESSED = frozenset({"urge", "supervise"})  # may name whoever holds a share, a lower platform too


def check_departments(action: str, params: Any, ticket: Ticket) -> None:
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


def with_offices(actor: Actor) -> Actor:
    """``actor`` with the scope the directory gives it: a department lead leads the department's
    grassroots offices too (assigns and approves their shares); every other actor as it is."""
    if actor.role != Role.DEPT_LEAD or not actor.department or actor.offices:
        return actor
    offices = policy.offices_of(actor.department)
    return dataclasses.replace(actor, offices=offices) if offices else actor


def _handler_unit(action: str, params: dict, ticket: Ticket, actor: Actor) -> str | None:
    """The department or office whose handler the share named (or the one share open to
    ``assign_handler``) needs; None when the lifecycle will refuse the choice itself."""
    aid = params.get("assignment_id")
    if isinstance(aid, str):
        share = ticket.assignment(aid)
        return share.department if share is not None else None
    shares = lifecycle.action_shares(ticket, actor).get(action, [])
    if len(shares) == 1:
        share = ticket.assignment(shares[0])
        return share.department if share is not None else None
    return actor.department if not actor.offices else None


def check_handler(action: str, params: Any, actor: Actor, ticket: Ticket) -> None:
    """A lead assigns a share only to an active handler of the unit holding it (their department, or
    one of its grassroots offices for an office's share), checked against the user directory."""
    if action != "assign_handler" or not isinstance(params, dict) or not isinstance(params.get("handler"), str):
        return  # the lifecycle refuses a missing or malformed handler itself
    unit = _handler_unit(action, params, ticket, actor)
    if unit is None:
        return  # no such share, or several: the lifecycle says which
    user = people.find_user(params["handler"])
    if user is None or not user.get("active", True) or user.get("role") != Role.HANDLER \
            or user.get("department") != unit:
        raise ValidationFailed("not a handler of the unit holding this share",
                               details={"handler": f"no active handler {params['handler']} in {unit}"})


def check_version(ticket: Ticket, expected_version: int | None) -> None:
    """The version the caller saw must still be the ticket's: otherwise a 409, nothing written."""
    if expected_version is not None and ticket.version != expected_version:
        raise ConcurrentModification("the ticket changed since you loaded it: reload and try again",
                                     details={"expected_version": expected_version, "version": ticket.version})


def view(ticket: Ticket, actor: Actor, *, reveal: bool = False) -> dict[str, Any]:
    """The ticket as ``actor`` may see it, with the actions they can take now."""
    actor = with_offices(actor)
    data = view_for(ticket.to_dict(), actor, reveal=reveal)
    data["allowed_actions"] = lifecycle.allowed_actions(ticket, actor)
    data["action_shares"] = lifecycle.action_shares(ticket, actor)  # which own shares each can be about
    data.update(categories.view(ticket.category))  # the category's code, path and label (old free text as written)
    data["registered_by_name"] = people.display_name(
        ticket.registered_by, Role.CITIZEN if ticket.channel == Channel.WEB else None)
    return data


# --------------------------------------------------------------------------- the door
@dataclass(frozen=True)
class TicketService:
    """Every ticket use case, with its ports passed in: ``repository`` (load and save), ``clock``
    (the current time) and ``policy`` (the SLA rules and calendar in force, read per use)."""

    repository: TicketRepository
    clock: Callable[[], datetime] = system_now
    policy: Callable[[], Policy] = current_policy

    def using(self, *, policy: Policy | None = None) -> TicketService:
        """This door with a fixed policy (a job applying many tickets reads the rules once)."""
        return self if policy is None else dataclasses.replace(self, policy=lambda: policy)

    # ----------------------------------------------------------------------- changes
    def register(self, data: Any, actor: Actor, *, then: Sequence[Step] = (),
                 then_actor: Actor | None = None) -> Registration:
        """Register a submission (Art. 9 split, Art. 35 repeats: duplicate refused, new facts merged).

        ``category_code`` (or a legacy ``category`` naming one category) is checked against the active
        category tree and stored as the ticket's ``category`` (services/categories.py).

        ``then``: steps taken at once on the new ticket by ``then_actor`` (``actor`` if not given), in
        the registration's own transaction, so the ticket first appears at its last state with every
        event (a 12345 case whose handling unit is mapped arrives accepted and dispatched). Only a
        single new ticket takes them: a split submission or merged facts leave them to the centre."""
        data, shown = category_suggestions.take_shown(data, actor.role, at=self.clock())  # what the screen showed
        data = categories.normalize_registration(data, actor.role)
        submission = validate_registration(data, now=self.clock())  # refused before any repeat check
        phone = submission.complainant.phone
        if phone:
            match = intake.classify_repeat(data, self.repository.recent_for_complainant(intake.normalize_phone(phone)))
            if match.kind == "duplicate":
                raise Duplicate("the same complaint is already being handled (Art. 35)",
                                details={"ticket_id": match.ticket_id})
            if match.kind == "new_facts" and match.ticket_id:
                return Registration(tickets=[], merged_into=self._merge_new_facts(match.ticket_id, data, actor))
        now = self.clock()
        prepared = recommend.prepare(data)  # jurisdiction: an empty district is filled in when located for sure
        outcomes = intake.register(prepared.data, actor=actor, now=now, policy=self.policy(),
                                   new_id=lambda: new_ticket_id(now), new_tracking_code=new_tracking_code)
        outcomes = recommend.attach(outcomes, prepared.jurisdiction, now=now)  # the model's top 3, CPU only
        outcomes = category_suggestions.attach(outcomes, shown, now=now)  # the categories suggested, to measure them
        history = self._then(outcomes[0], then, then_actor or actor, now) if then and len(outcomes) == 1 else []
        self.repository.create(outcomes, now=now, history=history)
        return Registration(tickets=[history[-1].ticket] if history else [o.ticket for o in outcomes])

    def _then(self, registered: Outcome, steps: Sequence[Step], actor: Actor, now: datetime) -> list[Outcome]:
        """The outcomes of ``steps`` on a ticket just registered, checked as :meth:`change` checks them."""
        rules = self.policy()
        played: list[Outcome] = []
        current = registered.ticket
        for action, params in steps:
            check_departments(action, params, current)
            check_districts(params)
            played.append(lifecycle.apply(current, action, params, actor=actor, now=now, policy=rules))
            current = played[-1].ticket
        return played

    def _merge_new_facts(self, ticket_id: str, data: dict, actor: Actor) -> Ticket:
        params = {"facts": data.get("facts")}
        if data.get("request"):
            params["request"] = data["request"]
        if data.get("channel"):
            params["channel"] = data["channel"]
        merge_actor = actor if actor.role != Role.CITIZEN else Actor(username=actor.username, role=Role.CITIZEN)
        return self.act(ticket_id, "merge_repeat", params, merge_actor)

    def act(self, ticket_id: str, action: str, params: Any, actor: Actor, *,
            expected_version: int | None = None) -> Ticket:
        """Take one lifecycle action: one read, one transaction; a concurrent change is a 409.

        ``expected_version``: the version the caller saw. A ticket at another version is a 409 at
        once, and the save is conditional on that very version, so a change landing between the
        read and the write is a 409 too; nothing is written either way.
        """
        if action not in lifecycle.ACTIONS:
            raise ValidationFailed(f"unknown action {action}", details={"action": "unknown action"})
        params = categories.normalize_params(params if params is not None else {})
        actor = with_offices(actor)
        ticket = self.repository.get(ticket_id)
        if expected_version is not None:  # may they see it at all, before telling them it changed
            check_department_scope(ticket, actor)
            check_version(ticket, expected_version)
        check_departments(action, params, ticket)
        check_districts(params)
        check_department_scope(ticket, actor)
        check_handler(action, params, actor, ticket)
        now = self.clock()
        outcome = lifecycle.apply(ticket, action, params, actor=actor, now=now, policy=self.policy())
        with companions(recommend.corrections):  # a dispatcher overruling the model: a labelled example
            self.repository.save(ticket, [outcome], now=self.clock(),
                                 expected_version=expected_version if expected_version is not None else ticket.version)
        return outcome.ticket

    def change(self, ticket: Ticket, steps: Sequence[Step], actor: Actor, *,
               now: datetime | None = None) -> list[Outcome]:
        """Take ``steps`` in order on ``ticket`` as the caller read it, saved in one transaction
        conditional on its version (a concurrent change: ConcurrentModification, nothing written).

        For system jobs and partner platforms that decide on a ticket they already read and may
        chain several actions (a lower platform's report signs first; an upper-level urging goes
        to each responsible department). Named departments and districts are checked against the
        directory for every actor but the system (whose steps come from the ticket itself).
        """
        if not steps:
            raise ValueError("a change takes at least one step")
        moment = now or self.clock()
        rules = self.policy()
        check_department_scope(ticket, actor)
        outcomes: list[Outcome] = []
        current = ticket
        for action, params in steps:
            if actor.role != Role.SYSTEM:
                check_departments(action, params, current)
                check_districts(params)
            outcomes.append(lifecycle.apply(current, action, params, actor=actor, now=moment, policy=rules))
            current = outcomes[-1].ticket
        self.repository.save(ticket, outcomes, now=moment, expected_version=ticket.version)
        return outcomes

    def playback(self, data: Any, actor: Actor, *, at: datetime) -> Playback:
        """Start a ticket registered at ``at`` (in the past) whose history is played before it is
        stored; see :class:`Playback`."""
        data = categories.normalize_registration(data, actor.role)  # a code of the category tree, as register
        outcomes = intake.register(data, actor=actor, now=at, policy=self.policy(),
                                   new_id=lambda: new_ticket_id(at), new_tracking_code=new_tracking_code)
        return Playback(self, outcomes[0])

    def reveal(self, ticket_id: str, actor: Actor, reason: str) -> dict[str, Any]:
        """Show personal data in clear, recording who saw it, when and why (an append-only event)."""
        if actor.role not in REVEAL_ROLES:
            raise Forbidden(f"role {actor.role} may not reveal personal data")
        ticket = self.load(ticket_id, actor)
        if not can_reveal(ticket.to_dict(), actor):
            raise Forbidden("a reporter's identity is not shown to departments (Art. 37)")
        shown = view(ticket, actor, reveal=True)
        event = TimelineEvent(type="personal_data_revealed", at=self.clock(), actor=actor,
                              from_status=ticket.status, to_status=ticket.status,
                              data={"reason": reason, "fields": ["complainant"]})
        EventItem(ticket_pk(ticket.id), f"E#{ticket.version:010d}#R{uuid.uuid4().hex[:12]}",
                  data=event.to_dict()).save()
        return shown

    # ----------------------------------------------------------------------- reads
    def load(self, ticket_id: str, actor: Actor) -> Ticket:
        """The ticket, if ``actor`` may see it."""
        ticket = self.repository.get(ticket_id)
        check_scope(ticket, actor)
        return ticket

    def timeline(self, ticket_id: str, actor: Actor) -> list[dict[str, Any]]:
        """Every stage: who, when, what, from which state to which, deadline met or missed."""
        ticket = self.load(ticket_id, actor)
        names = party_names(ticket.to_dict())
        return [event_view_for(event.to_dict(), ticket.kind, actor, names=names)
                for event in self.repository.timeline(ticket.id)]

    def queue(self, name: str, actor: Actor, *, limit: int, cursor: str | None) -> dict[str, Any]:
        """One page of one of the caller's work queues, sorted by deadline."""
        allowed = QUEUES_BY_ROLE.get(actor.role, ())
        if name not in allowed:
            raise Forbidden(f"queue {name} is not for role {actor.role}", details={"queues": list(allowed)})
        owner = actor.department if name in DEPARTMENT_QUEUES and actor.role in DEPARTMENT_ROLES else CENTER
        if name in PERSONAL_QUEUES:  # the caller's own ("assigned to me")
            owner = personal_owner(actor.username)
        if owner is None:
            raise Forbidden("a department queue needs a department")
        offices = policy.offices_of(owner) if name in OFFICE_QUEUES and actor.role == Role.DEPT_LEAD else []
        if offices:  # a lead sees the department's grassroots offices' work too, each row naming its owner
            items, next_cursor = self.repository.queues(name, [owner, *offices], limit=limit, cursor=cursor)
        else:
            items, next_cursor = self.repository.queue(name, owner, limit=limit, cursor=cursor)
        return {"queue": name, "owner": owner, "offices": offices,
                "items": [summary_view_for(i, actor) for i in items], "next_cursor": next_cursor}

    def mine(self, actor: Actor, *, limit: int, cursor: str | None) -> dict[str, Any]:
        """One page (newest first) of the tickets the caller registered, dispatched, handled or approved,
        open or closed, masked as lists are; each row's ``ref`` says how they took part."""
        if actor.role not in MINE_ROLES:
            raise Forbidden(f"role {actor.role} has no tickets of its own")
        items, next_cursor = self.repository.queue(MINE, personal_owner(actor.username), limit=limit,
                                                   cursor=cursor, newest_first=True)
        return {"items": [summary_view_for(i, actor) for i in items], "next_cursor": next_cursor}

    def search(self, actor: Actor, start: date, end: date, *, filters: dict[str, str], department: str | None,
               limit: int, cursor: str | None, read_page: int) -> tuple[list[dict[str, Any]], str | None]:
        """One page (newest first) of the tickets received from ``start`` to ``end`` matching
        ``filters`` (ticket attributes) and held by ``department``, masked for ``actor``, and the
        next page's cursor. A department's staff search their own department's tickets only.

        Reads ``read_page`` tickets of the period at a time (GSI2: the months touched x shards), so
        a narrow filter reads few pages; the cursor is the sort key of the last ticket looked at.
        """
        if actor.role in DEPARTMENT_ROLES:
            department = actor.department
        items: list[dict[str, Any]] = []
        while True:
            tickets, following = self.repository.received_between(
                start, end, limit=max(limit, read_page), cursor=cursor, newest_first=True)
            cursor = following
            for n, ticket in enumerate(tickets):
                if all(str(getattr(ticket, k)) == v for k, v in filters.items()) and \
                        (department is None or department in holders(ticket)):
                    items.append(summary_view_for(summary(ticket), actor))
                    if len(items) == limit:
                        cursor = following if n == len(tickets) - 1 else received_cursor(ticket)
                        break
            if len(items) == limit or cursor is None:
                break
        return items[:limit], cursor


class Playback:
    """A back-dated ticket played through the real lifecycle, then stored at once (demo seeding).

    Each :meth:`step` is a transition at a given time, by the door's rules (department scope
    included); :meth:`store` writes the registration and its whole history in one transaction, so
    the ticket first appears at its last state with every event, and its flow cannot act on it
    between registration and history.
    """

    def __init__(self, door: TicketService, registered: Outcome) -> None:
        self._door = door
        self._policy = door.policy()
        self.chain: list[Outcome] = [registered]

    @property
    def ticket(self) -> Ticket:
        """The ticket as the last step left it."""
        return self.chain[-1].ticket

    def step(self, action: str, params: dict[str, Any], actor: Actor, *, at: datetime) -> Ticket:
        """Take one lifecycle action at ``at`` (after the previous step)."""
        check_department_scope(self.ticket, actor)
        params = categories.normalize_params(params)  # an acceptance's category as a code, as act
        self.chain.append(lifecycle.apply(self.ticket, action, params, actor=actor, now=at, policy=self._policy))
        return self.ticket

    def store(self, *, until: datetime) -> Ticket:
        """Store the ticket with the steps played up to ``until`` (the registration at least)."""
        chain = [o for o in self.chain if o.ticket.updated_at <= until] or self.chain[:1]
        self._door.repository.create([chain[0]], now=chain[-1].ticket.updated_at, history=chain[1:])
        return chain[-1].ticket


# --------------------------------------------------------------------------- the default door
_default: TicketService | None = None
_default_lock = threading.Lock()


def default() -> TicketService:
    """The door wired to the real adapters (built once per process)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = TicketService(repository=TicketRepository())
    return _default


def repository() -> TicketRepository:
    """The default door's repository (for readers outside the ticket use cases)."""
    return default().repository


def register(data: Any, actor: Actor) -> Registration:
    """:meth:`TicketService.register` through the default door."""
    return default().register(data, actor)


def act(ticket_id: str, action: str, params: Any, actor: Actor, *, expected_version: int | None = None) -> Ticket:
    """:meth:`TicketService.act` through the default door."""
    return default().act(ticket_id, action, params, actor, expected_version=expected_version)
