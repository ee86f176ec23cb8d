"""Work queues (待办): which lists a ticket shows up in, for whom, and by when (docs/domain.md "Code map").

The store keeps one queue item per :class:`QueueEntry` (a GSI sorted by ``due``), rewritten
in the same transaction as the ticket, so that opening a queue is one Query. This module
only decides the entries; it never reads or writes anything.

* agents (owner ``center``): internet_inbox, upper_assignments, pending_acceptance, pending_reply
  (待答复: the closure was approved without a reply to the citizen; the reply clock), pending_callback
  (待回访, the callback clock), pending_evaluation (待评价, web tickets, the evaluation clock), urgings
  (those addressed to the centre, e.g. a national urging before dispatch)
* dispatchers (owner ``center``): to_dispatch, extension_requests, return_requests,
  closure_reviews, non_acceptance_reviews, urgings (the centre's, as for agents)
* departments (owner = the department code): to_sign, in_progress, urgings; a grassroots office owns
  its own, and its department's lead opens them merged with the department's (services.tickets.queue)
* managers (owner ``center``): warnings (every running clock with a yellow or red warning recorded),
  to_archive (closed tickets by the due time of their archive clock; the archive job reads it)
* department leads also: closure_approvals (handlers' closures waiting for their approval, 呈批; a
  department's lead sees its offices' too)
* a person (owner ``@<username>``): assigned_to_me (shares their lead assigned them), and mine
  (:func:`mine_entries`: every ticket they took part in, open or closed; stored under its own prefix)

``key`` is unique across all tickets: the ticket id, plus ``#<assignment, urging or clock>``
when a ticket can appear more than once in a queue.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.domain.clocks import ClockName, ClockState
from chalicelib.domain.clocks import clock_key
from chalicelib.domain.ticket import CENTER, AssignmentStatus as AS, Role, Status as S, Ticket


@dataclass(frozen=True)
class QueueEntry:
    queue: str
    owner: str  # "center" or a department code
    due: datetime | None  # the deadline the queue is sorted by; None sorts last
    key: str
    clock: str | None = None  # the key of the clock giving ``due`` (a row shows it with its warning)


# Which queues each role opens (the API checks the caller against this).
QUEUES_BY_ROLE: dict[str, tuple[str, ...]] = {
    Role.AGENT: ("internet_inbox", "upper_assignments", "pending_acceptance", "pending_reply", "pending_callback",
                 "pending_evaluation", "urgings"),
    Role.DISPATCHER: ("to_dispatch", "extension_requests", "return_requests", "closure_reviews",
                      "non_acceptance_reviews", "urgings"),
    Role.HANDLER: ("to_sign", "in_progress", "urgings", "assigned_to_me"),
    Role.DEPT_LEAD: ("to_sign", "in_progress", "urgings", "closure_approvals"),
    Role.MANAGER: ("warnings", "to_archive"),
}
DEPARTMENT_QUEUES = frozenset({"to_sign", "in_progress", "urgings", "closure_approvals"})  # the caller's department
PERSONAL_QUEUES = frozenset({"assigned_to_me"})  # owned by the caller (see :func:`personal_owner`)
MINE = "mine"  # every ticket a person registered, dispatched, handled or approved (:func:`mine_entries`)
# (for the centre's roles, "urgings" holds the urgings addressed to the centre itself)
# a department's lead opens these with its grassroots offices' entries too
OFFICE_QUEUES = frozenset({"to_sign", "in_progress", "urgings", "closure_approvals"})
QUEUES: frozenset[str] = frozenset(q for qs in QUEUES_BY_ROLE.values() for q in qs)

# Ticket statuses that put the whole ticket in a centre queue, and the clock giving its due.
_STATUS_QUEUES: dict[str, tuple[str, str | None]] = {
    S.INTERNET_INBOX: ("internet_inbox", ClockName.ACCEPTANCE),
    S.UPPER_LEVEL_PENDING: ("upper_assignments", ClockName.ACCEPTANCE),
    S.PENDING_ACCEPTANCE: ("pending_acceptance", ClockName.ACCEPTANCE),
    S.PENDING_CALLBACK: ("pending_callback", ClockName.CALLBACK),
    S.PENDING_EVALUATION: ("pending_evaluation", ClockName.EVALUATION),
    S.TO_DISPATCH: ("to_dispatch", ClockName.DISPATCH),
    S.CLOSURE_REVIEW: ("closure_reviews", ClockName.CLOSURE_REVIEW),
    S.NON_ACCEPTANCE_REVIEW: ("non_acceptance_reviews", ClockName.NON_ACCEPTANCE_REVIEW),
}


def _due(state: ClockState | None) -> datetime | None:
    """A running clock's due time; a paused or stopped clock has no deadline to sort by."""
    return state.due if state is not None and state.status == "running" else None


def queue_entries(ticket: Ticket) -> list[QueueEntry]:
    """Every queue entry ``ticket`` should have right now (once closed: only ``to_archive``, until archived)."""
    if not ticket.is_open:
        return _archive_entries(ticket)
    entries: list[QueueEntry] = []
    status_queue = _STATUS_QUEUES.get(ticket.status)
    if status_queue is not None:
        queue, clock = status_queue
        entries.append(QueueEntry(queue, CENTER, _due(ticket.clocks.get(clock)) if clock else None, ticket.id,
                                  clock=clock.value if clock and clock in ticket.clocks else None))
    reply = ticket.clocks.get(ClockName.REPLY.value)
    if reply is not None and reply.status != "stopped" and ticket.status in (S.PENDING_CALLBACK, S.PENDING_EVALUATION):
        entries.append(QueueEntry("pending_reply", CENTER, _due(reply), ticket.id, clock=ClockName.REPLY.value))
    for a in ticket.assignments:
        sign = ticket.clocks.get(clock_key(ClockName.SIGN, a.id))
        handling = ticket.clocks.get(clock_key(ClockName.HANDLING, a.id))
        key = f"{ticket.id}#{a.id}"
        if ticket.status == S.IN_HANDLING and a.status == AS.TO_SIGN:
            entries.append(QueueEntry("to_sign", a.department, _due(sign), key))
        if ticket.status == S.IN_HANDLING and a.status in (AS.IN_PROGRESS, AS.PAUSED):
            entries.append(QueueEntry("in_progress", a.department, _due(handling), key))
            if a.assigned_to:
                entries.append(QueueEntry("assigned_to_me", personal_owner(a.assigned_to), _due(handling), key))
        if ticket.status == S.IN_HANDLING and a.status == AS.PENDING_APPROVAL:
            entries.append(QueueEntry("closure_approvals", a.department, _due(handling), key))
        if a.extension_request is not None:
            decision = ticket.clocks.get(clock_key(ClockName.EXTENSION_DECISION, a.id))
            entries.append(QueueEntry("extension_requests", CENTER, _due(decision) or _due(handling), key))
        if a.return_request is not None:
            decision = ticket.clocks.get(clock_key(ClockName.RETURN_DECISION, a.id))
            entries.append(QueueEntry("return_requests", CENTER, _due(decision) or _due(handling) or _due(sign), key))
    for u in ticket.urgings:
        if u.answered_at is None:
            due = _due(ticket.clocks.get(u.clock)) if u.clock else None
            entries.append(QueueEntry("urgings", u.department, due, f"{ticket.id}#{u.id}"))
    for name, state in ticket.clocks.items():
        if state.status == "running" and state.warning in ("yellow", "red"):
            entries.append(QueueEntry("warnings", CENTER, state.due, f"{ticket.id}#{name}"))
    return entries


def _archive_entries(ticket: Ticket) -> list[QueueEntry]:
    """A closed ticket waits in ``to_archive`` until its archive clock is due (the daily archive job
    reads the queue up to today: one Query, no Scan); an archived one is in no queue."""
    if ticket.status != S.CLOSED:
        return []
    due = _due(ticket.clocks.get(ClockName.ARCHIVE))
    if due is None:
        return []
    return [QueueEntry("to_archive", CENTER, due, ticket.id, clock=ClockName.ARCHIVE.value)]


def personal_owner(username: str) -> str:
    """The owner of a person's own queue entries (``@`` + username: never a department code)."""
    return f"@{username}"


def involvement(ticket: Ticket) -> dict[str, list[str]]:
    """Who took part in ``ticket`` and how: username -> some of ``registered`` (staff who registered
    or accepted it), ``dispatched``, ``handled`` (signed, assigned, submitted a closure) and
    ``approved`` (a lead's approval of a closure). Citizens and the system are not listed."""
    seen: dict[str, list[str]] = {}

    def add(username: str | None, how: str) -> None:
        if username and username != "system" and how not in seen.setdefault(username, []):
            seen[username].append(how)

    if ticket.channel != "web":
        add(ticket.registered_by, "registered")
    if ticket.acceptance is not None:
        add(ticket.acceptance.by, "registered")
    for a in ticket.assignments:
        add(a.dispatched_by, "dispatched")
        add(a.owner, "handled")
        add(a.assigned_to, "handled")
        if a.closure is not None:
            add(a.closure.submitted_by, "handled")
            add(a.closure.approved_by, "approved")
    return seen


def mine_entries(ticket: Ticket) -> list[QueueEntry]:
    """One entry per person in :func:`involvement`, open or closed alike, sorted by when the ticket
    came in (``due`` holds the creation time; the list is read newest first). The key carries how
    the person took part (``<id>#registered+handled``)."""
    return [QueueEntry(MINE, personal_owner(user), ticket.created_at, f"{ticket.id}#{'+'.join(sorted(hows))}")
            for user, hows in involvement(ticket).items()]
