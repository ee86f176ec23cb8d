"""The sweeper: the 5-minute backstop behind the ticket flow's timers.

It never scans. Through GSI4 it finds:

* tickets whose next clock checkpoint (``CK#<shard>``) passed more than ``grace`` ago - the
  execution that should have handled it is late, lost or was never started (a ticket not yet
  accepted has no execution: its acceptance clock is warned here);
* flows whose supervision moment (``WF#<shard>``) passed;

and for each applies what is due (the same code as a checkpoint, so nothing is applied twice) and
makes sure an accepted ticket's flow has a running execution again. It then sends the e-mails and
SMS that quiet hours held back and whose time has come. Running it twice changes nothing.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.notifications import deferred
from chalicelib.observability import logger
from chalicelib.services import clock
from chalicelib.services import tickets as ticket_service
from chalicelib.workflow import flows, records, stages, timers

GRACE = timedelta(seconds=60)  # a healthy execution handles its checkpoint within seconds
BUDGET_SECONDS = 45.0  # stay well inside the function's 60 s timeout; the rest waits 5 minutes


@dataclass
class SweepReport:
    """What one sweep found and repaired."""

    examined: int = 0
    steps_applied: int = 0
    executions_restored: int = 0
    notifications_released: int = 0
    out_of_time: bool = False
    tickets: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"examined": self.examined, "steps_applied": self.steps_applied,
                "executions_restored": self.executions_restored,
                "notifications_released": self.notifications_released, "out_of_time": self.out_of_time}


def overdue_tickets(now: datetime, *, limit: int = 500) -> list[str]:
    """Ticket ids with a clock checkpoint or a supervision moment at or before ``now`` (GSI4)."""
    repo = ticket_service.repository()
    ids = {ticket.id for ticket in repo.due_checkpoints(now, limit=limit)}
    ids.update(records.due_supervisions(now, limit=limit))
    return sorted(ids)


def sweep(now: datetime | None = None, *, grace: timedelta = GRACE, budget_seconds: float = BUDGET_SECONDS,
          limit: int = 500) -> SweepReport:
    """One pass of the backstop (see the module docstring)."""
    now = now or clock.now()
    started = time.monotonic()
    report = SweepReport()
    policy = ticket_service.current_policy()
    for ticket_id in overdue_tickets(now - grace, limit=limit):
        if time.monotonic() - started > budget_seconds:
            report.out_of_time = True
            break
        report.examined += 1
        report.tickets.append(ticket_id)
        result = timers.run_checkpoint(ticket_id, policy=policy)
        report.steps_applied += len(result.applied)
        if result.ticket is None or not stages.has_flow(result.ticket):
            continue
        before = records.get(ticket_id)
        records.record_check(ticket_id, now=clock.now(), supervise_at=result.supervise_at)
        after = flows.ensure_running(result.ticket, policy, reason="sweeper")
        if after is not None and (before is None or after.generation != before.generation):
            report.executions_restored += 1
    if time.monotonic() - started <= budget_seconds:
        report.notifications_released = deferred.release_due(now)
    else:
        report.out_of_time = True
    logger.info("sweep done", extra=report.to_dict())
    return report
