"""Keeping exactly one execution running per open ticket.

* :func:`ensure_running` - start the ticket's flow unless its current execution runs (registration,
  a reopening after the flow ended, a restored runtime, the sweeper finding a lost execution).
  Starting twice is harmless.
* :func:`end` - the ticket reached an end (declined, answered, closed): record why. The execution
  ends by itself once its waiting token is answered with that stage.

A deadline that moves no longer replaces the execution: the waiting token is answered and the
execution re-enters the same stage with the new deadline (:mod:`chalicelib.workflow.handlers`).
"""
from __future__ import annotations

from chalicelib.domain import deadlines as schedule
from chalicelib.domain.ticket import Policy, Ticket
from chalicelib.observability import logger
from chalicelib.services import clock
from chalicelib.workflow import executions, records, stages
from chalicelib.workflow.records import FlowRecord


def tags(ticket: Ticket) -> dict[str, str]:
    """What an operator filters a ticket's execution by (no personal data)."""
    values = {"ticket_id": ticket.id, "kind": ticket.kind, "channel": ticket.channel,
              "category": ticket.category or "", "district": ticket.district or "", "priority": ticket.priority}
    return {k: str(v) for k, v in values.items()}


def _start(ticket: Ticket, name: str, generation: int, policy: Policy) -> None:
    executions.start(ticket.id, name, generation=generation, tags=tags(ticket),
                     position=stages.position(ticket, policy, clock.now()))


def _claim_and_start(ticket: Ticket, expected: int, policy: Policy, *, reason: str) -> FlowRecord | None:
    """Move the flow to generation ``expected + 1`` and start its execution; None when another
    starter moved it first."""
    now = clock.now()
    generation = expected + 1
    name = executions.execution_name(ticket.id, generation)
    arn = executions.execution_arn(name)
    supervise_at = schedule.supervision_at(ticket, policy)
    if not records.claim_generation(ticket.id, expected=expected, name=name, arn=arn, now=now,
                                    supervise_at=supervise_at):
        return None
    _start(ticket, name, generation, policy)
    logger.info("ticket flow started", extra={"ticket_id": ticket.id, "execution": name, "reason": reason})
    return FlowRecord(ticket_id=ticket.id, generation=generation, execution_name=name, execution_arn=arn,
                      started_at=now.isoformat())


def _start_next(ticket: Ticket, record: FlowRecord | None, policy: Policy, *, reason: str) -> FlowRecord | None:
    started = _claim_and_start(ticket, record.generation if record else 0, policy, reason=reason)
    if started is not None:
        return started
    # Another starter moved the flow on first: make sure its execution runs (same name: harmless).
    current = records.get(ticket.id)
    if current is not None and current.execution_name:
        _start(ticket, current.execution_name, current.generation, policy)
    return current


def ensure_running(ticket: Ticket, policy: Policy, *, reason: str, first: bool = False) -> FlowRecord | None:
    """Make sure ``ticket``'s flow has a running execution (None when the ticket needs none).

    ``first``: the ticket was just registered, so most likely no flow exists yet - claim the first
    generation straight away (two calls instead of three); if a flow exists after all, check it."""
    if not stages.has_flow(ticket):
        return None
    if first:
        started = _claim_and_start(ticket, 0, policy, reason=reason)
        if started is not None:
            return started
    record = records.get(ticket.id)
    if record is not None and record.execution_arn:
        info = executions.describe(record.execution_arn)
        if info is not None and info.running:
            return record
    return _start_next(ticket, record, policy, reason=reason)


def end(ticket_id: str, *, reason: str) -> bool:
    """Record that the ticket's flow reached its end (its execution finishes by itself); False
    when the ticket never had a flow."""
    record = records.get(ticket_id)
    if record is None or not record.execution_arn:
        return False
    records.mark_ended(ticket_id, generation=record.generation, reason=reason, now=clock.now())
    return True


def restart(ticket: Ticket, policy: Policy, *, reason: str) -> FlowRecord | None:
    """An operator's restart: stop the ticket's current execution if it still runs, and start the
    next generation, which enters the ticket's committed stage. None when the ticket needs no flow."""
    if not stages.has_flow(ticket):
        return None
    record = records.get(ticket.id)
    if record is not None and record.execution_arn:
        executions.stop(record.execution_arn, error="Restarted", cause=reason[:200])
    return _start_next(ticket, record, policy, reason=reason)
