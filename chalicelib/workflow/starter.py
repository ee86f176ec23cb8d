"""The workflow starter: a table-stream consumer watching ticket items.

For each changed ticket (the batch's changes to one ticket taken together: first old image, last
new image), once the change has committed:

* a new open ticket (registered, split, restored from a snapshot) -> start its flow, named after it;
* the ticket's position changed - its stage, a share's stage, or the next deadline of a scope
  (earlier or later) -> answer the task tokens armed for what it no longer is, so the execution
  enters the new stage or re-arms the same stage's wait (:func:`handlers.follow`);
* the ticket reached an end (declined, answered, closed) -> the same, and record the end.

Changes that move nothing the flow waits on (a progress note, an answered urging) cost no call.
Delivery is at least once; every decision is idempotent.
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain.errors import DomainError
from chalicelib.domain.ticket import Ticket
from chalicelib.observability import logger
from chalicelib.services import tickets as ticket_service
from chalicelib.streams import TableChange, consumer, is_ticket
from chalicelib.workflow import flow_metrics, flows, handlers, stages, tokens


def _ticket(image: dict[str, Any] | None) -> Ticket | None:
    if not image or not isinstance(image.get("data"), dict):
        return None
    try:
        return Ticket.from_dict(image["data"])
    except (DomainError, TypeError, ValueError):
        logger.error("unreadable ticket image", extra={"pk": str(image.get("PK", ""))[:80]})
        return None


def signature(ticket: Ticket, policy: Any) -> tuple[Any, ...]:
    """Everything the flow's tokens are armed with: the ticket's stage and wake, and each share's."""
    shares = tuple((a.id, stages.share_stage(ticket, a.id), stages.scope_wake(ticket, a.id, policy))
                   for a in ticket.assignments)
    return stages.ticket_stage(ticket), stages.scope_wake(ticket, stages.TICKET_SCOPE, policy), shares


def decide(old: Ticket | None, new: Ticket | None, policy: Any) -> str | None:
    """What the flow must do after a ticket changed from ``old`` to ``new``:
    ``"start"``, ``"follow"``, ``"end"`` or None."""
    if new is None:
        return None
    if old is None or (not old.is_open and new.is_open):
        return "start" if stages.has_flow(new) else None
    if signature(old, policy) == signature(new, policy):
        return None
    return "follow" if new.is_open else "end"


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
        old = _ticket(first[pk].old)
        if new is not None:
            flow_metrics.emit(old, new)
        decision = decide(old, new, policy)
        if decision is None or new is None:
            continue
        if decision == "start":
            flows.ensure_running(new, policy, reason="registered" if first[pk].old is None else "reopened",
                                 first=first[pk].old is None)
        if first[pk].old is not None:  # a new ticket's execution arms its first token itself
            handlers.follow(new, tokens.armed(new.id), policy)
        if decision == "end":
            flows.end(new.id, reason=new.resolution or new.status)
        done[new.id] = decision
    return done


@consumer("workflow_starter", accepts=is_ticket)
def on_ticket_changes(changes: list[TableChange]) -> None:
    """Stream entry point (see module docstring)."""
    react(changes)
