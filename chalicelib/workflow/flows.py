"""Keeping exactly one execution running per accepted, open ticket.

* :func:`ensure_running` - start the ticket's flow unless its current execution runs (acceptance,
  reopening, a restored runtime, the sweeper finding a lost execution). Starting twice is harmless.
* :func:`rearm` - a change brought the next checkpoint forward: a waiting execution cannot be told
  to wake earlier, so it is stopped and the next generation starts and waits for the new time.
* :func:`end` - the ticket closed: stop a still-waiting execution and record why.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.ticket import Policy, Ticket
from chalicelib.observability import logger
from chalicelib.services import clock
from chalicelib.store.tickets import timer_timestamp
from chalicelib.workflow import executions, records, schedule
from chalicelib.workflow.records import FlowRecord


def _supervise_stamp(moment: datetime | None) -> str:
    return timer_timestamp(moment) if moment is not None else executions.NEVER


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
    executions.start(ticket.id, name, generation=generation, supervise_at=_supervise_stamp(supervise_at))
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
        supervise_at = schedule.supervision_at(ticket, policy)
        executions.start(ticket.id, current.execution_name, generation=current.generation,
                         supervise_at=_supervise_stamp(supervise_at))
    return current


def ensure_running(ticket: Ticket, policy: Policy, *, reason: str, first: bool = False) -> FlowRecord | None:
    """Make sure ``ticket``'s flow has a running execution (None when the ticket needs none).

    ``first``: the ticket was just accepted, so most likely no flow exists yet - claim the first
    generation straight away (two calls instead of three); if a flow exists after all, check it."""
    if not schedule.has_flow(ticket.status):
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


def rearm(ticket: Ticket, policy: Policy, *, reason: str) -> FlowRecord | None:
    """Replace the waiting execution by one that waits for the ticket's new, earlier checkpoint."""
    if not schedule.has_flow(ticket.status):
        return None
    record = records.get(ticket.id)
    if record is not None and record.execution_arn:
        executions.stop(record.execution_arn, error="Rearmed", cause=f"checkpoint moved earlier ({reason})",
                        check=False)
    return _start_next(ticket, record, policy, reason=reason)


def end(ticket_id: str, *, reason: str) -> bool:
    """Stop the ticket's waiting execution because the ticket no longer needs one; True if one was
    running. (An execution that reads the closed ticket first ends by itself.)"""
    record = records.get(ticket_id)
    if record is None or not record.execution_arn:
        return False
    stopped = executions.stop(record.execution_arn, error="TicketClosed", cause=reason)
    records.mark_ended(ticket_id, generation=record.generation, reason=reason, now=clock.now())
    return stopped
