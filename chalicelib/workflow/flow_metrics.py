"""CloudWatch metrics (EMF) the operations dashboard reads, derived from committed ticket changes.

The workflow starter sees every committed change of a ticket item (old and new image), so it
counts here what the dashboard plots per hour: tickets registered, accepted and closed, yellow and
red warnings (red = overdue), urgings, supervisions, and dispatch corrections (returns approved and
transfers: the complement of the automatic dispatch's precision). Pure: it only adds metrics.
"""
from __future__ import annotations

from chalicelib.domain.ticket import AssignmentStatus, Ticket
from chalicelib.observability import count

_CORRECTED = (AssignmentStatus.RETURNED, AssignmentStatus.TRANSFERRED)


def _warnings(ticket: Ticket | None, level: str) -> int:
    if ticket is None:
        return 0
    levels = ("yellow", "red") if level == "yellow" else ("red",)
    return sum(1 for state in ticket.clocks.values() if state.warning in levels)


def _corrected(ticket: Ticket | None) -> int:
    return 0 if ticket is None else sum(1 for a in ticket.assignments if a.status in _CORRECTED)


def changes(old: Ticket | None, new: Ticket) -> dict[str, int]:
    """What the change from ``old`` to ``new`` adds to each dashboard metric (zeros left out)."""
    values = {
        "TicketsRegistered": int(old is None),
        "TicketsAccepted": int(old is not None and old.acceptance is None and new.acceptance is not None
                               and new.acceptance.outcome == "accepted"),
        "TicketsClosed": int(new.status == "closed" and (old is None or old.status != "closed")),
        "WarningsYellow": max(0, _warnings(new, "yellow") - _warnings(old, "yellow")),
        "WarningsRed": max(0, _warnings(new, "red") - _warnings(old, "red")),
        "Urgings": max(0, len(new.urgings) - (len(old.urgings) if old else 0)),
        "Supervisions": max(0, len(new.supervisions) - (len(old.supervisions) if old else 0)),
        "DispatchCorrected": max(0, _corrected(new) - _corrected(old)),
    }
    return {name: value for name, value in values.items() if value}


def emit(old: Ticket | None, new: Ticket) -> dict[str, int]:
    """Add the change's metrics; returns them (for tests)."""
    values = changes(old, new)
    for name, value in values.items():
        count(name, value)
    return values
