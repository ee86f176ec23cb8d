"""Where a ticket stands in the ticket flow, in the state machine's words: pure, no I/O.

The state machine (``stepfunctions/ticket_flow.asl.json``) has one state per business stage. It
never decides anything: each human stage waits on a task token, and the platform answers the token
with the ticket's :func:`position` computed from the *committed* ticket. The state machine's
``Route`` choice then enters the state named by ``position["stage"]``; in handling, a Map runs one
iteration per department share and routes on each share's stage.

A position also says how long the stage's task may wait (``timeout``, for ``TimeoutSecondsPath``):
until the scope's next *wake* (a clock's yellow point or due time, or a supervision moment). When
the task times out, the state machine runs a deadline checkpoint (warnings, urgings, supervision,
applied by :mod:`chalicelib.workflow.timers`) and returns to the same stage. A position whose wake
has already passed when it is computed is ``due``: the state machine goes straight to the
checkpoint instead of entering a waiting task with a one-second timeout (such a task could time out
before its own token was even sent: moto's interpreter then reads the state's input as the timeout -
issue 16's ``'>' not supported between 'dict' and 'int'`` - and on AWS it is a wasted round trip). A token armed with a
``(stage, wake)`` that the committed ticket no longer has is answered at once, so a deadline moved
earlier (or later) re-arms the wait inside the same execution.

Scopes: ``"ticket"`` for the ticket-level stages, an assignment id (``A1``...) for a share in
handling. In handling, the *primary* share (the first active non-assisting share) also carries the
ticket-level clocks (mediation, verification...) and the supervision moments, so one iteration
fires them and the others do not repeat it.
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from chalicelib.domain import deadlines as schedule
from chalicelib.domain.clocks import next_checkpoint
from chalicelib.domain.ticket import (
    AssignmentRole,
    AssignmentStatus,
    Policy,
    Resolution,
    Status,
    Ticket,
)
from chalicelib.store.tickets import NEVER_TIMESTAMP, timer_timestamp

TICKET_SCOPE = "ticket"

# The longest a stage's task waits with nothing due (then a checkpoint looks again): 30 days.
IDLE_SECONDS = 30 * 24 * 3600
# After a checkpoint that could not apply what is due (a refused step, a race): never spin, wait.
RETRY_SECONDS = 300
# How long a completed ticket's flow waits in the archive stage (for archiving or a reopening).
ARCHIVE_WAIT_SECONDS = 30 * 24 * 3600

# Ticket status -> the state machine's stage (closed tickets: by resolution, see :func:`ticket_stage`).
STAGE_OF_STATUS: dict[str, str] = {
    Status.PENDING_ACCEPTANCE: "acceptance",
    Status.INTERNET_INBOX: "acceptance",
    Status.UPPER_LEVEL_PENDING: "acceptance",
    Status.NON_ACCEPTANCE_REVIEW: "non_acceptance_review",
    Status.TO_DISPATCH: "dispatch",
    Status.IN_HANDLING: "handling",
    Status.CLOSURE_REVIEW: "closure_review",
    Status.PENDING_CALLBACK: "callback",
    Status.PENDING_EVALUATION: "evaluation",
    Status.REPLIED: "close",
    Status.ARCHIVED: "archived",
}
STAGE_OF_RESOLUTION: dict[str, str] = {
    Resolution.COMPLETED: "archive",
    Resolution.DECLINED: "declined",
    Resolution.ANSWERED: "answered",
    Resolution.RETURNED_UPWARD: "returned_upward",
}
# Stages after which the execution ends (no token is waited on).
FINAL_STAGES = frozenset({"declined", "answered", "returned_upward", "archived"})

# Stage -> the state of stepfunctions/ticket_flow.asl.json that waits in it (share stages: in the Map).
STATE_OF_STAGE: dict[str, str] = {
    "acceptance": "Acceptance", "non_acceptance_review": "NonAcceptanceReview", "dispatch": "Dispatch",
    "handling": "Handling", "closure_review": "ClosureReview", "callback": "Callback", "evaluation": "Evaluation",
    "close": "Close", "archive": "Archive", "archived": "Archived", "declined": "Declined",
    "answered": "DirectAnswer", "returned_upward": "ReturnedUpward",
}
STATE_OF_SHARE_STAGE: dict[str, str] = {"sign": "Sign", "handling": "HandleShare", "paused": "Paused"}

SHARE_STAGE_OF_STATUS: dict[str, str] = {
    AssignmentStatus.TO_SIGN: "sign",
    AssignmentStatus.IN_PROGRESS: "handling",
    AssignmentStatus.PAUSED: "paused",
    AssignmentStatus.PENDING_APPROVAL: "handling",  # the lead's approval (呈批) is within the handling time
}
SHARE_DONE = "done"


def ticket_stage(ticket: Ticket) -> str:
    """The ticket-level stage of ``ticket`` (``handling`` while departments work on it)."""
    if ticket.status == Status.CLOSED:
        return STAGE_OF_RESOLUTION.get(ticket.resolution or Resolution.COMPLETED, "archive")
    return STAGE_OF_STATUS[ticket.status]


def has_flow(ticket: Ticket) -> bool:
    """Whether ``ticket`` should have a running execution (every open ticket, from registration)."""
    return ticket.is_open


def share_stage(ticket: Ticket, assignment_id: str) -> str:
    """The stage of one department share; ``done`` once it no longer waits on its department, or
    once the ticket left handling (which ends the handling Map)."""
    assignment = ticket.assignment(assignment_id)
    if assignment is None or ticket.status != Status.IN_HANDLING:
        return SHARE_DONE
    return SHARE_STAGE_OF_STATUS.get(assignment.status, SHARE_DONE)


def _waiting_shares(ticket: Ticket) -> list[str]:
    """Ids of the shares still waiting on their department, in assignment order."""
    if ticket.status != Status.IN_HANDLING:
        return []
    return [a.id for a in ticket.assignments if a.status in SHARE_STAGE_OF_STATUS]


def primary_share(ticket: Ticket) -> str | None:
    """The share that carries the ticket-level clocks in handling: the first waiting non-assisting
    share, else the first waiting share."""
    waiting = _waiting_shares(ticket)
    leading = [a.id for a in ticket.assignments if a.id in waiting and a.role != AssignmentRole.ASSIST]
    return (leading or waiting or [None])[0]


def scope_wake(ticket: Ticket, scope: str, policy: Policy) -> datetime | None:
    """The next moment something can fall due for ``scope``: a yellow point or due time of its
    clocks, or (for the scope carrying the ticket-level clocks) a supervision moment."""
    if not ticket.is_open:
        return None
    if scope == TICKET_SCOPE and ticket.status != Status.IN_HANDLING:
        return schedule.next_wake(ticket, policy)
    if scope == TICKET_SCOPE or share_stage(ticket, scope) == SHARE_DONE:
        return None
    primary = scope == primary_share(ticket)
    points = []
    for key, state in ticket.clocks.items():
        _, _, owner = key.partition(":")
        if owner == scope or (primary and not owner):
            point = next_checkpoint(state)
            if point is not None:
                points.append(point)
    if primary:
        supervise = schedule.supervision_at(ticket, policy)
        if supervise is not None:
            points.append(supervise)
    return min(points) if points else None


def timeout_seconds(wake: datetime | None, now: datetime, *, after_checkpoint: bool = False) -> int:
    """Whole seconds the stage's task may wait before its deadline checkpoint (at least 1).

    Rounded up plus one second, so the checkpoint never runs before the moment. A wake already past
    right after a checkpoint means the checkpoint could not apply it: wait ``RETRY_SECONDS`` rather
    than loop."""
    if wake is None:
        return IDLE_SECONDS
    seconds = (wake - now).total_seconds()
    if seconds <= 0:
        return RETRY_SECONDS if after_checkpoint else 1
    return min(IDLE_SECONDS, math.ceil(seconds) + 1)


def is_due(wake: datetime | None, now: datetime, *, after_checkpoint: bool = False) -> bool:
    """Whether the scope's checkpoint should run now rather than after a waiting task: its wake has
    passed. Never right after a checkpoint (one that could not apply what is due waits
    ``RETRY_SECONDS`` instead: no spinning)."""
    return wake is not None and wake <= now and not after_checkpoint


def _stamp(moment: datetime | None) -> str:
    return timer_timestamp(moment) if moment is not None else NEVER_TIMESTAMP


def share_position(ticket: Ticket, assignment_id: str, policy: Policy, now: datetime, *,
                   after_checkpoint: bool = False) -> dict[str, Any]:
    """What a share's iteration of the handling Map needs: its stage, wake and timeout."""
    assignment = ticket.assignment(assignment_id)
    wake = scope_wake(ticket, assignment_id, policy)
    stage = share_stage(ticket, assignment_id)
    return {"scope": assignment_id, "department": assignment.department if assignment else None,
            "role": assignment.role if assignment else None, "stage": stage,
            "wake": _stamp(wake), "timeout": timeout_seconds(wake, now, after_checkpoint=after_checkpoint),
            "due": stage != SHARE_DONE and is_due(wake, now, after_checkpoint=after_checkpoint)}


def position(ticket: Ticket, policy: Policy, now: datetime, *, after_checkpoint: bool = False) -> dict[str, Any]:
    """The ticket-level position: its stage, wake and timeout, and in handling one entry per share
    still waiting on its department (the handling Map's items)."""
    stage = ticket_stage(ticket)
    wake = scope_wake(ticket, TICKET_SCOPE, policy)
    timeout = ARCHIVE_WAIT_SECONDS if stage == "archive" else timeout_seconds(
        wake, now, after_checkpoint=after_checkpoint)
    due = stage not in FINAL_STAGES and stage != "archive" and is_due(wake, now, after_checkpoint=after_checkpoint)
    return {"scope": TICKET_SCOPE, "stage": stage, "status": ticket.status, "wake": _stamp(wake),
            "timeout": timeout, "due": due, "shares": [share_position(ticket, a, policy, now, after_checkpoint=after_checkpoint)
                                           for a in _waiting_shares(ticket)]}


def scope_position(ticket: Ticket, scope: str, policy: Policy, now: datetime, *,
                   after_checkpoint: bool = False) -> dict[str, Any]:
    """The position the token of ``scope`` is answered with."""
    if scope == TICKET_SCOPE:
        return position(ticket, policy, now, after_checkpoint=after_checkpoint)
    return share_position(ticket, scope, policy, now, after_checkpoint=after_checkpoint)


def waiting_state(scope: str, stage: str) -> str:
    """The state an execution armed in ``scope`` for ``stage`` waits in."""
    names = STATE_OF_STAGE if scope == TICKET_SCOPE else STATE_OF_SHARE_STAGE
    return names.get(stage, stage)


def armed_differs(ticket: Ticket, scope: str, policy: Policy, *, stage: str, wake: str) -> bool:
    """Whether a token armed for ``(stage, wake)`` of ``scope`` must be answered now: the committed
    ticket is in another stage there, or its next wake moved."""
    current_stage = ticket_stage(ticket) if scope == TICKET_SCOPE else share_stage(ticket, scope)
    if current_stage != stage:
        return True
    if scope == TICKET_SCOPE and stage == "archive":
        return False
    return _stamp(scope_wake(ticket, scope, policy)) != wake
