"""Applying what a checkpoint found due: warnings, automatic urgings and supervisions, as the system.

Each step goes through the ticket door (:meth:`TicketService.change`): one lifecycle transition
saved in its own transaction, conditional on the version
just read (optimistic locking), and decided on the ticket as it is: read afresh, or exactly as our
own last save left it. A warning whose deadline an extension, pause or resume moved meanwhile is
never applied, and a concurrent change only costs a re-read. The same function serves the state machine's checkpoints and the sweeper,
so running it twice applies nothing twice.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from chalicelib.domain import deadlines as schedule
from chalicelib.domain.deadlines import Step
from chalicelib.domain.errors import ConcurrentModification, DomainError, NotFound
from chalicelib.domain.ticket import SYSTEM_ACTOR, Policy, Ticket
from chalicelib.observability import logger
from chalicelib.services import clock
from chalicelib.services import tickets as ticket_service
from chalicelib.services.tickets import TicketService

MAX_STEPS = 32  # a ticket with several overdue clocks needs a handful; this bounds a bug's loop


@dataclass
class CheckResult:
    """What one checkpoint did, and what the flow waits for next."""

    ticket_id: str
    found: bool
    status: str | None = None
    applied: list[Step] = field(default_factory=list)
    skipped: int = 0  # steps a concurrent change made moot
    supervise_at: datetime | None = None
    next_wake: datetime | None = None
    ticket: Ticket | None = None

    def summary(self) -> list[str]:
        return [f"{s.action}:{s.clock or ''}:{s.level or s.department or ''}" for s in self.applied]


def run_checkpoint(ticket_id: str, *, service: TicketService | None = None,
                   policy: Policy | None = None, now: Callable[[], datetime] = clock.now) -> CheckResult:
    """Apply, one transaction each, every step due on the ticket now; idempotent.

    ``service``: the ticket door (the default one if not given); ``policy``: the rules to decide
    and apply with (read once per sweep by the caller), else the door's.
    """
    door = service or ticket_service.default()
    policy = policy or door.policy()
    door = door.using(policy=policy)  # the steps are decided and applied by the same rules
    repo = door.repository
    result = CheckResult(ticket_id=ticket_id, found=True)
    ticket: Ticket | None = None
    fresh: Ticket | None = None  # the ticket as our own last save left it (its condition held)
    for _ in range(MAX_STEPS):
        if fresh is not None:
            ticket = fresh
        else:
            try:
                ticket = repo.get(ticket_id)
            except NotFound:
                result.found = False
                return result
        fresh = None
        moment = now()
        step = schedule.next_step(ticket, moment, policy)
        if step is None:
            break
        try:
            outcome, = door.change(ticket, [(step.action, step.params)], SYSTEM_ACTOR, now=moment)
        except ConcurrentModification:
            result.skipped += 1
            continue  # someone changed the ticket: read it again and decide afresh
        except DomainError as exc:
            # The rules refused a step they proposed: a bug, not a race. Stop rather than loop.
            logger.error("workflow step refused", extra={"ticket_id": ticket_id, "action": step.action,
                                                          "code": exc.code, "error": exc.message})
            break
        result.applied.append(step)
        ticket = fresh = outcome.ticket  # stored exactly so (conditional on the version we read)
    else:
        logger.warning("workflow step budget exhausted", extra={"ticket_id": ticket_id, "steps": MAX_STEPS})
    if ticket is not None:
        result.ticket = ticket
        result.status = ticket.status
        result.supervise_at = schedule.supervision_at(ticket, policy)
        result.next_wake = schedule.next_wake(ticket, policy)
    return result
