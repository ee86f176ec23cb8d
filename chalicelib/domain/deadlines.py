"""Deadlines (docs/domain.md "Code map"): what the clocks of a ticket ask for now, who answers
for each clock, and when anyone needs to look again. Pure rules over a ticket: no I/O.

The ticket flow (workflow), the partner webhooks (integration) and the statistics (analytics) all
ask here. At a checkpoint the flow takes, one at a time, the first :class:`Step` that is due:

1. a running clock that reached its yellow point gets its yellow warning (黄牌), then, past its due
   time, its red one (红牌) - always in that order, so the timeline shows both;
2. a clock whose red warning is recorded gets an automatic urging (催办) for each responsible
   department, once per deadline (an urging made before an extension moved the deadline does not
   count for the new one);
3. an urging after which the ticket is still overdue ``supervise_after_working_days`` working days
   later makes the ticket supervised (督办), via :func:`supervision_due`.

Everything is decided on the ticket as it is *now*: a warning for a deadline that an extension,
pause or resume moved is simply no longer due. :func:`next_wake` says when the next step can
become due, which is what the state machine waits for; :func:`clock_checkpoint` is what the
store's checkpoint index (GSI4) holds.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from chalicelib.domain.calendar import TZ
from chalicelib.domain.clocks import (
    ClockName,
    ClockState,
    clock_name,
    deadline_kept,
    next_checkpoint,
    warning_level,
)
from chalicelib.domain.errors import NotFound
from chalicelib.domain.ticket import Policy, Ticket, Urging, aware
from chalicelib.domain.vocabulary import (
    CENTER,
    CLOCK_LABELS,
    AssignmentRole,
    AssignmentStatus,
    Role,
    Status,
    clock_label,
)

# Ticket-level clocks the departments handling the ticket answer for; the others are the centre's, and
# which of its roles answers for each. An assignment's clocks (sign, handling, termination notice) are
# its department's, except the centre's decisions on a share's request (extension, return), which are
# kept per share (``extension_decision:A1``) but answered by the dispatcher.
DEPARTMENT_TICKET_CLOCKS = frozenset({ClockName.MEDIATION, ClockName.REPORT_VERIFICATION,
                                      ClockName.MATTER_HANDLING})
CENTRE_CLOCK_ROLES: dict[str, tuple[str, ...]] = {
    ClockName.ACCEPTANCE: (Role.AGENT.value,),
    ClockName.CALLBACK: (Role.AGENT.value,),
    ClockName.EVALUATION: (Role.AGENT.value,),  # no evaluation in time: the agent calls back
    ClockName.REPLY: (Role.AGENT.value,),  # the citizen still waits for the result's reply (待答复)
    ClockName.CLOSURE_REVIEW: (Role.DISPATCHER.value,),
    ClockName.DISPATCH: (Role.DISPATCHER.value,),
    ClockName.NON_ACCEPTANCE_REVIEW: (Role.DISPATCHER.value,),
    ClockName.EXTENSION_DECISION: (Role.DISPATCHER.value,),
    ClockName.RETURN_DECISION: (Role.DISPATCHER.value,),
}
CENTRE_CLOCKS = frozenset(CENTRE_CLOCK_ROLES)
_ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Step:
    """One system action the flow takes: ``lifecycle.apply(ticket, action, params, SYSTEM_ACTOR)``."""

    action: str  # record_warning | urge | supervise
    params: dict[str, Any] = field(default_factory=dict)
    clock: str | None = None
    level: str | None = None  # yellow | red, for warnings
    department: str | None = None  # who the urging or supervision is addressed to


# --- who answers ------------------------------------------------------------------------------


def working_departments(ticket: Ticket) -> list[str]:
    """Who answers for the ticket as a whole: while it is in handling, the departments whose shares
    are still working (the single/lead/parallel ones first; assists only when no other is left),
    otherwise - or when none is working - the centre. An urging without an addressee goes here."""
    if ticket.status != Status.IN_HANDLING:
        return [CENTER]
    working = [a for a in ticket.active_assignments if a.status != AssignmentStatus.SUBMITTED]
    primary = [a.department for a in working if a.role != AssignmentRole.ASSIST] or [a.department for a in working]
    return list(dict.fromkeys(primary)) or [CENTER]


def responsible_departments(ticket: Ticket, key: str) -> list[str]:
    """Who answers for clock ``key``: the centre for its own clocks (also those kept per share), the
    department holding its assignment, the departments working a ticket-level handling clock
    (:func:`working_departments`), otherwise the centre."""
    name, _, assignment_id = key.partition(":")
    if name in CENTRE_CLOCK_ROLES:
        return [CENTER]
    if assignment_id:
        assignment = ticket.assignment(assignment_id)
        if assignment is not None and assignment.department in ticket.departments:
            return [assignment.department]
        return [CENTER]
    if name in DEPARTMENT_TICKET_CLOCKS:
        return working_departments(ticket)
    return [CENTER]


# --- did a clock meet its deadline --------------------------------------------------------------


def met_deadline_data(state: Mapping[str, Any]) -> bool | None:
    """``clocks.met_deadline`` on a stored clock (``ClockState.to_dict()``), without decoding the
    ticket: True/False once stopped, None while it runs (statistics read stream images)."""
    if state.get("status") != "stopped" or not state.get("stopped_at"):
        return None
    paused_at = state.get("paused_at")
    return deadline_kept(datetime.fromisoformat(state["stopped_at"]),
                         datetime.fromisoformat(paused_at) if paused_at else None,
                         datetime.fromisoformat(state["due"]))


# --- what is due now ----------------------------------------------------------------------------


def _running(ticket: Ticket) -> list[tuple[str, ClockState]]:
    """Running clocks, the one whose checkpoint comes first first (ties by key: deterministic)."""
    running = [(key, state) for key, state in ticket.clocks.items() if state.status == "running"]
    return sorted(running, key=lambda kv: (next_checkpoint(kv[1]) or kv[1].due, kv[0]))


def _urged_for_deadline(ticket: Ticket, key: str, department: str, state: ClockState) -> bool:
    """An automatic urging about this clock's current deadline already went to ``department``."""
    return any(u.source == "system" and u.clock == key and u.department == department and u.at >= state.due
               for u in ticket.urgings)


def urging_text(key: str) -> str:
    """The text of the system's automatic urging about clock ``key``."""
    return f"系统自动催办：{clock_label(key)}已超期，请尽快办理并答复催办。"


def supervision_reason(key: str | None, days: int) -> str:
    """The reason the system gives when it supervises after an urging about clock ``key``."""
    what = clock_label(key) if key else CLOCK_LABELS[ClockName.HANDLING]
    return f"系统自动督办：{what}超期，催办后{days}个工作日仍未办结。"


def next_step(ticket: Ticket, now: datetime, policy: Policy) -> Step | None:
    """The first system action due on ``ticket`` at ``now``, or None when nothing is due."""
    if not ticket.is_open:
        return None
    for key, state in _running(ticket):
        deserved = warning_level(state, now)
        if state.warning == "none" and deserved != "none":
            return Step("record_warning", {"clock": key, "level": "yellow"}, clock=key, level="yellow")
        if state.warning == "yellow" and deserved == "red":
            return Step("record_warning", {"clock": key, "level": "red"}, clock=key, level="red")
        if state.warning == "red":
            for department in responsible_departments(ticket, key):
                if not _urged_for_deadline(ticket, key, department, state):
                    return Step("urge", {"clock": key, "department": department, "text": urging_text(key)},
                                clock=key, department=department)
    for urging in supervision_due(ticket, now, policy):
        days = _supervise_after(ticket, urging.clock, policy) if urging.clock else 0
        return Step("supervise", {"urging_id": urging.id, "reason": supervision_reason(urging.clock, days)},
                    clock=urging.clock, department=urging.department)
    return None


def _supervise_after(ticket: Ticket, key: str, policy: Policy) -> int:
    rule = policy.sla.rule_for(clock_name(key), kind=ticket.kind, category=ticket.category,
                               priority=ticket.priority)
    return rule.supervise_after_working_days


def supervision_due(ticket: Ticket, now: datetime, policy: Policy) -> list[Urging]:
    """Urgings after which the ticket should now be supervised (督办).

    An urging about a clock counts when that clock is still running past its due time (and has not
    started afresh since the urging: a re-dispatch, a merge or a rework) and
    at least ``supervise_after_working_days`` working days (per the clock's rule) have passed
    since the urging, and no supervision names it yet. The timers call this, then ``supervise``.
    """
    now = aware(now, "now")
    done = {s.urging_id for s in ticket.supervisions if s.urging_id}
    due: list[Urging] = []
    for urging in ticket.urgings:
        if urging.id in done or urging.clock is None:
            continue
        state = ticket.clocks.get(urging.clock)
        if state is None or state.status != "running" or now <= state.due or urging.at < state.started_at:
            continue  # (an urging made before the clock started again is about an earlier period)
        try:
            days = _supervise_after(ticket, urging.clock, policy)
        except NotFound:
            continue
        if policy.calendar.working_days_between(urging.at.date(), now.date()) >= days:
            due.append(urging)
    return due


# --- when to look again -------------------------------------------------------------------------


def supervision_at(ticket: Ticket, policy: Policy) -> datetime | None:
    """The earliest moment :func:`supervision_due` will name an urging of ``ticket``.

    An urging about a clock still running counts from the start of the N-th working day after
    the day it was made (N = the clock rule's ``supervise_after_working_days``), and never before
    the clock's due time has passed.
    """
    if not ticket.is_open:
        return None
    done = {s.urging_id for s in ticket.supervisions if s.urging_id}
    earliest: datetime | None = None
    for urging in ticket.urgings:
        if urging.id in done or urging.clock is None:
            continue
        state = ticket.clocks.get(urging.clock)
        if state is None or state.status != "running" or urging.at < state.started_at:
            continue
        try:
            days = _supervise_after(ticket, urging.clock, policy)
        except NotFound:
            continue
        day = urging.at.astimezone(TZ).date()
        for _ in range(days):
            day = policy.calendar.next_working_day(day)
        moment = max(datetime.combine(day, time(0), tzinfo=TZ), urging.at, state.due + _ONE_MICROSECOND)
        earliest = moment if earliest is None else min(earliest, moment)
    return earliest


def clock_checkpoint(ticket: Ticket) -> datetime | None:
    """The earliest yellow point or due time still to be warned about (what GSI4 holds)."""
    if not ticket.is_open:
        return None
    points = [p for p in (next_checkpoint(state) for state in ticket.clocks.values()) if p is not None]
    return min(points) if points else None


def next_wake(ticket: Ticket, policy: Policy) -> datetime | None:
    """When the flow should next look at ``ticket``: the first clock checkpoint or supervision."""
    candidates = [m for m in (clock_checkpoint(ticket), supervision_at(ticket, policy)) if m is not None]
    return min(candidates) if candidates else None


__all__ = [
    "CENTRE_CLOCKS", "CENTRE_CLOCK_ROLES", "CLOCK_LABELS", "DEPARTMENT_TICKET_CLOCKS", "Step", "clock_checkpoint", "clock_label", "met_deadline_data",
    "next_step", "next_wake", "responsible_departments", "supervision_at", "supervision_due", "supervision_reason",
    "urging_text", "working_departments",
]
