"""The workflow starter: a table-stream consumer watching ticket items.

For each changed ticket (the batch's changes to one ticket taken together: first old image, last
new image) it decides:

* the ticket entered an accepted, open state (accepted, handed to a local department, reopened,
  or restored from a snapshot) -> make sure its flow runs;
* the ticket stayed in its flow but its next wake-up came earlier (a dispatch starts a sign clock,
  a closure submission starts the review clock, a resume, a manual urging) -> re-arm the flow;
* the ticket closed -> end its flow;
* otherwise (later times, no times) nothing: the waiting execution re-reads at its wake-up and
  waits anew.

Delivery is at least once; every decision is idempotent.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.errors import DomainError
from chalicelib.domain.ticket import Status, Ticket
from chalicelib.observability import logger
from chalicelib.services import tickets as ticket_service
from chalicelib.streams import TableChange, consumer, is_ticket
from chalicelib.workflow import flows, schedule

_CLOSED = (Status.CLOSED, Status.ARCHIVED)


def _ticket(image: dict[str, Any] | None) -> Ticket | None:
    if not image or not isinstance(image.get("data"), dict):
        return None
    try:
        return Ticket.from_dict(image["data"])
    except (DomainError, TypeError, ValueError):
        logger.error("unreadable ticket image", extra={"pk": str(image.get("PK", ""))[:80]})
        return None


def _earlier(new: datetime | None, old: datetime | None) -> bool:
    return new is not None and (old is None or new < old)


def decide(old: Ticket | None, new: Ticket | None, policy: Any) -> str | None:
    """What the flow must do after a ticket changed from ``old`` to ``new``:
    ``"start"``, ``"rearm"``, ``"end"`` or None."""
    if new is None:
        return None
    if new.status in _CLOSED:
        return "end" if old is not None and schedule.has_flow(old.status) else None
    if not schedule.has_flow(new.status):
        return None
    if old is None or not schedule.has_flow(old.status):
        return "start"
    if _earlier(schedule.next_wake(new, policy), schedule.next_wake(old, policy)):
        return "rearm"
    return None


def react(changes: list[TableChange]) -> dict[str, str]:
    """Decide and act for every ticket in the batch; returns ticket id -> what was done."""
    first: dict[str, TableChange] = {}
    last: dict[str, TableChange] = {}
    for change in changes:
        first.setdefault(change.pk, change)
        last[change.pk] = change
    policy = ticket_service.current_policy()
    done: dict[str, str] = {}
    for pk, change in last.items():
        new = _ticket(change.new)
        decision = decide(_ticket(first[pk].old), new, policy)
        if decision is None or new is None:
            continue
        if decision == "start":
            flows.ensure_running(new, policy, reason="accepted", first=True)
        elif decision == "rearm":
            flows.rearm(new, policy, reason="checkpoint moved earlier")
        else:
            flows.end(new.id, reason=new.status)
        done[new.id] = decision
    return done


@consumer("workflow_starter", accepts=is_ticket)
def on_ticket_changes(changes: list[TableChange]) -> None:
    """Stream entry point (see module docstring)."""
    react(changes)
