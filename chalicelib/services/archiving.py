"""The archive job (issue 19 item 4): closed tickets are archived once their archive clock is due,
without anyone doing it.

Closing a ticket starts its archive clock (the ``archive`` rule of the SLA rules, which managers
edit: 15 natural days by default) and puts it in the ``to_archive`` work queue sorted by that due
time. Once a day the scheduled function reads the queue up to now (one Query on GSI1, never a
Scan) and archives each ticket through the one door (:meth:`TicketService.change`) as the system
actor, so the archive is a timeline event like any other. A ticket changed meanwhile (reopened, or
archived by a manager) is skipped: the door's version check refuses the stale change, and a
reopened ticket has left the queue.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.domain.errors import ConcurrentModification, IllegalTransition, NotFound
from chalicelib.domain.ticket import CENTER, SYSTEM_ACTOR, Status
from chalicelib.observability import logger
from chalicelib.services import tickets as ticket_service
from chalicelib.services.tickets import TicketService

QUEUE = "to_archive"
PAGE = 100  # tickets read per Query
BUDGET_SECONDS = 600.0  # stop early well inside the function's timeout; the next day's run goes on


@dataclass
class ArchiveReport:
    """What one run did (logged; tests read it)."""

    archived: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    out_of_time: bool = False

    def to_dict(self) -> dict:
        return {"archived": len(self.archived), "skipped": len(self.skipped), "out_of_time": self.out_of_time}


def archive_due(now: datetime | None = None, *, door: TicketService | None = None,
                budget_seconds: float = BUDGET_SECONDS) -> ArchiveReport:
    """Archive every closed ticket whose archive clock is due at ``now`` (default: the door's clock)."""
    door = door or ticket_service.default()
    now = now or door.clock()
    door = door.using(policy=door.policy())  # the rules read once for the whole run
    report = ArchiveReport()
    started = time.monotonic()
    seen: set[str] = set()
    while True:
        batch = [i for i in door.repository.due_in_queue(QUEUE, CENTER, now, limit=PAGE) if i not in seen]
        if not batch:
            break
        for ticket_id in batch:
            if time.monotonic() - started > budget_seconds:
                report.out_of_time = True
                break
            seen.add(ticket_id)
            if _archive_one(door, ticket_id, now):
                report.archived.append(ticket_id)
            else:
                report.skipped.append(ticket_id)
        if report.out_of_time:
            break
    logger.info("archive run done", extra=report.to_dict())
    return report


def _archive_one(door: TicketService, ticket_id: str, now: datetime) -> bool:
    """Archive one ticket through the door; False when it is no longer a closed ticket to archive."""
    try:
        ticket = door.repository.get(ticket_id)
        if ticket.status != Status.CLOSED:
            return False
        door.change(ticket, [("archive", {})], SYSTEM_ACTOR, now=now)
    except (NotFound, IllegalTransition, ConcurrentModification) as exc:
        logger.info("archive skipped", extra={"ticket_id": ticket_id, "reason": type(exc).__name__})
        return False
    return True


def run_scheduled() -> ArchiveReport:
    """The daily scheduled function's body (app.py wires it)."""
    return archive_due()


__all__ = ["ArchiveReport", "QUEUE", "archive_due", "run_scheduled"]
