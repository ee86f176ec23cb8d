"""What the ticket flow must do on a ticket now, and when it should next look: pure rules, no I/O.

At a checkpoint the flow takes, one at a time, the first :class:`Step` that is due:

1. a running clock that reached its yellow point gets its yellow warning (黄牌), then, past its due
   time, its red one (红牌) - always in that order, so the timeline shows both;
2. a clock whose red warning is recorded gets an automatic urging (催办) for each responsible
   department, once per deadline (an urging made before an extension moved the deadline does not
   count for the new one);
3. an urging after which the ticket is still overdue ``supervise_after_working_days`` working days
   later makes the ticket supervised (督办), via :func:`lifecycle.supervision_due`.

Everything is decided on the ticket as it is *now*: a warning for a deadline that an extension,
pause or resume moved is simply no longer due. :func:`next_wake` says when the next step can
become due, which is what the state machine waits for.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from chalicelib.domain import lifecycle
from chalicelib.domain.calendar import TZ
from chalicelib.domain.clocks import ClockName, ClockState, next_checkpoint, warning_level
from chalicelib.domain.errors import NotFound
from chalicelib.domain.ticket import (
    CENTER,
    AssignmentRole,
    AssignmentStatus,
    Policy,
    Status,
    Ticket,
)

CLOCK_LABELS: dict[str, str] = {
    ClockName.ACCEPTANCE: "受理时限",
    ClockName.SIGN: "签收时限",
    ClockName.HANDLING: "办理时限",
    ClockName.MEDIATION: "调解时限",
    ClockName.TERMINATION_NOTICE: "终止调解告知时限",
    ClockName.REPORT_VERIFICATION: "举报核查时限",
    ClockName.CLOSURE_REVIEW: "结案审核时限",
    ClockName.CALLBACK: "回访时限",
}

# Ticket-level clocks the departments handling the ticket answer for (the others are the centre's).
_DEPARTMENT_TICKET_CLOCKS = frozenset({ClockName.MEDIATION, ClockName.REPORT_VERIFICATION})
_ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Step:
    """One system action the flow takes: ``lifecycle.apply(ticket, action, params, SYSTEM_ACTOR)``."""

    action: str  # record_warning | urge | supervise
    params: dict[str, Any] = field(default_factory=dict)
    clock: str | None = None
    level: str | None = None  # yellow | red, for warnings
    department: str | None = None  # who the urging or supervision is addressed to


def clock_label(key: str) -> str:
    """The Chinese name of the clock behind a clock key (``handling:A1`` -> 办理时限)."""
    return CLOCK_LABELS.get(lifecycle.clock_name(key), lifecycle.clock_name(key))


def responsible_departments(ticket: Ticket, key: str) -> list[str]:
    """Who answers for clock ``key``: the department holding its assignment, the departments
    working a ticket-level handling clock, otherwise the centre (``CENTER``)."""
    name, _, assignment_id = key.partition(":")
    active = ticket.departments
    if assignment_id:
        assignment = ticket.assignment(assignment_id)
        if assignment is not None and assignment.department in active:
            return [assignment.department]
        return [CENTER]
    if name in _DEPARTMENT_TICKET_CLOCKS and ticket.status == Status.IN_HANDLING:
        working = [a for a in ticket.active_assignments if a.status != AssignmentStatus.SUBMITTED]
        primary = [a.department for a in working if a.role != AssignmentRole.ASSIST]
        departments = list(dict.fromkeys(primary or [a.department for a in working]))
        if departments:
            return departments
    return [CENTER]


def _running(ticket: Ticket) -> list[tuple[str, ClockState]]:
    """Running clocks, the one whose checkpoint comes first first (ties by key: deterministic)."""
    running = [(key, state) for key, state in ticket.clocks.items() if state.status == "running"]
    return sorted(running, key=lambda kv: (next_checkpoint(kv[1]) or kv[1].due, kv[0]))


def _urged_for_deadline(ticket: Ticket, key: str, department: str, state: ClockState) -> bool:
    """An automatic urging about this clock's current deadline already went to ``department``."""
    return any(u.source == "system" and u.clock == key and u.department == department and u.at >= state.due
               for u in ticket.urgings)


def urging_text(key: str) -> str:
    return f"系统自动催办：{clock_label(key)}已超期，请尽快办理并答复催办。"


def supervision_reason(key: str | None, days: int) -> str:
    what = clock_label(key) if key else "办理时限"
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
    for urging in lifecycle.supervision_due(ticket, now, policy):
        days = _supervise_after(ticket, urging.clock, policy) if urging.clock else 0
        return Step("supervise", {"urging_id": urging.id, "reason": supervision_reason(urging.clock, days)},
                    clock=urging.clock, department=urging.department)
    return None


def _supervise_after(ticket: Ticket, key: str, policy: Policy) -> int:
    rule = policy.sla.rule_for(lifecycle.clock_name(key), kind=ticket.kind, category=ticket.category,
                               priority=ticket.priority)
    return rule.supervise_after_working_days


def supervision_at(ticket: Ticket, policy: Policy) -> datetime | None:
    """The earliest moment :func:`lifecycle.supervision_due` will name an urging of ``ticket``.

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
        if state is None or state.status != "running":
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
    "CLOCK_LABELS", "Step", "clock_checkpoint", "clock_label", "next_step",
    "next_wake", "responsible_departments", "supervision_at", "supervision_reason", "urging_text",
]
