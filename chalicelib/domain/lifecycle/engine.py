"""Taking a lifecycle action (docs/domain.md "Code map"): ``apply`` checks the action's row, runs
its handler on a copy of the ticket and returns the new ticket with one timeline event and one
outbox message; ``allowed_actions`` and ``action_shares`` say what the caller could do now.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from chalicelib.domain.errors import Forbidden, IllegalTransition, ValidationFailed
from chalicelib.domain.lifecycle.context import Context
from chalicelib.domain.lifecycle.registry import BY_ACTION, ROWS
from chalicelib.domain.ticket import Actor, OutboxMessage, Outcome, Policy, Ticket, TimelineEvent, aware, encode

# Keys of event data that are structured (no free text): these travel in outbox payloads.
OUTBOX_KEYS = frozenset({
    "assignment_id", "assignment_ids", "assignments", "department", "departments", "mode", "decision",
    "reason_code", "result", "termination_reason", "satisfaction", "solved", "level", "clock",
    "due", "new_due", "urging_id", "source", "clocks_stopped", "ready_for_review", "restarted",
    "clocks_reopened", "clocks_withdrawn",
    "district", "category", "priority", "to_department",
})


def apply(ticket: Ticket, action: str, params: dict, *, actor: Actor, now: datetime, policy: Policy) -> Outcome:
    """Take ``action`` on ``ticket``: the new ticket (version + 1), one event, one outbox message.

    ``now`` must be timezone-aware; a ``now`` earlier than the ticket's last change (clock skew
    between functions) is taken as that moment, so a timeline never runs backwards.
    The input ticket is never changed; on any DomainError nothing is produced.
    """
    entry = BY_ACTION.get(action) if isinstance(action, str) else None
    if entry is None:
        raise ValidationFailed(f"unknown action {action!r}", details={"action": "unknown action"})
    now = max(aware(now, "now"), ticket.updated_at)
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ValidationFailed("parameters must be an object", details={"params": "must be an object"})
    unknown = sorted(set(params) - entry.params)
    if unknown:
        raise ValidationFailed("unknown parameters", details={k: "unknown parameter" for k in unknown})
    if actor.role not in entry.roles:
        raise Forbidden(f"role {actor.role} may not {action}", details={"role": actor.role, "action": action})
    if ticket.status not in entry.sources:
        raise IllegalTransition(f"cannot {action} a ticket in status {ticket.status}",
                                details={"status": ticket.status, "action": action})
    ctx = Context(ticket=ticket.copy(), action=action, params=params, actor=actor, now=now, policy=policy)
    event_type = entry.handler(ctx)
    t = ctx.ticket
    entry.check_target(ticket.status, t.status)
    t.version = ticket.version + 1
    t.updated_at = now
    data = encode(ctx.data)  # plain JSON-safe values from here on
    if ctx.clocks_stopped:
        data["clocks_stopped"] = dict(ctx.clocks_stopped)
    event = TimelineEvent(type=event_type, at=now, actor=actor, from_status=ticket.status,
                          to_status=t.status, data=data, deadline_met=ctx.deadline_met)
    payload = encode({
        "ticket_id": t.id, "event": event_type, "kind": t.kind, "channel": t.channel,
        "from_status": ticket.status, "status": t.status, "version": t.version, "at": now.isoformat(),
        "actor_role": actor.role, "external_ref": t.external_ref, "category": t.category,
        "district": t.district, "priority": t.priority, "departments": t.departments,
        "deadline_met": ctx.deadline_met,
        **{k: v for k, v in data.items() if k in OUTBOX_KEYS},
    })
    return Outcome(ticket=t, events=[event], outbox=[OutboxMessage(topic=f"ticket.{event_type}", payload=payload)])


def allowed_actions(ticket: Ticket, actor: Actor) -> list[str]:
    """The actions ``actor`` could take on ``ticket`` now (for the UI's buttons), in table order.

    Parameters can still make an allowed action fail (a missing reason, a deadline passed).
    """
    return [entry.name for entry in ROWS if entry.open_to(ticket, actor)]


def can_apply(ticket: Ticket, action: str, actor: Actor) -> bool:
    """True when ``action`` is among :func:`allowed_actions` (cheap check for one button)."""
    entry = BY_ACTION.get(action)
    return entry is not None and entry.open_to(ticket, actor)


def action_shares(ticket: Ticket, actor: Actor) -> dict[str, list[str]]:
    """For each allowed action taken on one's own share: the ids of the shares (assignments) of the
    actor's department it could be about now (the UI offers only these)."""
    return {entry.name: entry.shares(ticket, actor) for entry in ROWS
            if entry.share is not None and entry.open_to(ticket, actor)}
