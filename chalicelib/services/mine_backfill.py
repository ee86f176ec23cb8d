"""One-off migration: "my tickets" entries for tickets stored before that index existed (issue 19 item 5).

Every save writes a ticket's ``mine`` entries (``M#@<user>#...`` items, queues.mine_entries) with its
state, so a ticket changed since then has them; a ticket untouched since before carries none and is
missing from ``GET /tickets/mine``. This job walks every ticket once and writes the entries it lacks.

It is a migration, not a request path: it Scans the table (ticket items only), page by page, with a
time budget and a resumable cursor. Each ticket's missing entries are written in one transaction
conditional on the ticket's version, so a ticket changed meanwhile is skipped (its save wrote its
entries itself); writing is idempotent, a second run writes nothing. The entries are an index of the
ticket, not a change of it: no event, no outbox message, no version bump.

Run by the local runtime when it restores a data folder that has not had it (a marker entry in the
directory's CONFIG records the run); on AWS once after deploying, as docs/operations.md says
(``python -m chalicelib.services.mine_backfill`` with the stack's TABLE_NAME and credentials).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pynamodb.connection.base import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.queues import mine_entries
from chalicelib.observability import logger
from chalicelib.services import clock
from chalicelib.store import directory
from chalicelib.cursors import decode_cursor, encode_cursor
from chalicelib.store.models import QueueItem, TicketItem
from chalicelib.store.tickets import TICKET_SK, load_ticket, mine_items

MARKER = "migration:mine_backfill"
PAGE = 100  # ticket items read per Scan page
BUDGET_SECONDS = 600.0


@dataclass
class BackfillReport:
    """What one run did: tickets looked at, tickets given entries, entries written, tickets skipped
    (changed meanwhile), and the cursor to resume from when the budget ran out (None: finished)."""

    tickets: int = 0
    backfilled: list[str] = field(default_factory=list)
    entries: int = 0
    skipped: list[str] = field(default_factory=list)
    cursor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"tickets": self.tickets, "backfilled": len(self.backfilled), "entries": self.entries,
                "skipped": len(self.skipped), "finished": self.cursor is None}


def backfill(*, cursor: str | None = None, budget_seconds: float = BUDGET_SECONDS, page: int = PAGE) -> BackfillReport:
    """Write the missing "my tickets" entries of every ticket (from ``cursor``, until the budget is spent)."""
    report = BackfillReport()
    started = time.monotonic()
    start_key = decode_cursor(cursor)
    while True:
        result = TicketItem.scan(TicketItem.SK == TICKET_SK, limit=page, last_evaluated_key=start_key)
        for item in result:
            report.tickets += 1
            _backfill_one(item, report)
        start_key = result.last_evaluated_key
        if not start_key:
            return report
        if time.monotonic() - started > budget_seconds:
            report.cursor = encode_cursor(start_key)
            return report


def _backfill_one(item: TicketItem, report: BackfillReport) -> None:
    ticket = load_ticket(item)
    wanted = {qi.SK: qi for qi in mine_items(ticket, mine_entries(ticket))}
    if not wanted:
        return
    present = {qi.SK for qi in QueueItem.query(item.PK, QueueItem.SK.startswith("M#"),
                                              attributes_to_get=["PK", "SK"])}
    missing = [qi for sk, qi in wanted.items() if sk not in present]
    if not missing:
        return
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.condition_check(TicketItem, item.PK, item.SK, condition=TicketItem.version == ticket.version)
            for qi in missing:
                tx.save(qi)
    except TransactWriteError:
        report.skipped.append(ticket.id)  # changed meanwhile: that save wrote its entries
        return
    report.backfilled.append(ticket.id)
    report.entries += len(missing)


def _connection() -> Connection:
    return TicketItem._get_connection().connection


def done() -> bool:
    """Whether the migration has run to the end here (the marker entry exists)."""
    return directory.find_entry(directory.CONFIG, MARKER) is not None


def run_once() -> BackfillReport | None:
    """Run the backfill to its end unless it already ran (the marker), then record it; None when
    there was nothing to do. For the local runtime's start and a one-off run on AWS."""
    if done():
        return None
    report = backfill(budget_seconds=float("inf"))
    mark_done(report)
    logger.info("mine backfill done", extra=report.to_dict())
    return report


def mark_done(report: BackfillReport) -> None:
    """Record that the migration ran (what it did, when): later starts skip it."""
    directory.put_entry(directory.CONFIG, MARKER, {**report.to_dict(), "at": clock.now().isoformat()})


if __name__ == "__main__":  # python -m chalicelib.services.mine_backfill (AWS: once after deploying)
    import json

    outcome = run_once()
    print(json.dumps(outcome.to_dict() if outcome else {"already_done": True}, ensure_ascii=False))
