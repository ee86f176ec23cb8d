"""The analytics stream consumer: ticket item changes -> facts -> counters, exactly once.

Registered with :mod:`chalicelib.streams` (app.py imports this module). Each batch of ticket item
changes becomes one call to :func:`counters.apply`, which merges the batch's counter updates and
counts every change once even when the stream delivers records again (see :mod:`counters`). The
data centre's records acknowledged or found overdue (delivery items, :mod:`.data_reports`) are
counted in the same call.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.analytics import counters, data_reports, ddb
from chalicelib.analytics.facts import Change, derive
from chalicelib.observability import logger
from chalicelib.streams import TableChange, consumer, is_ticket


def accepts(change: TableChange) -> bool:
    """Ticket items created or changed (never removed: nothing is deleted), and data-centre records
    acknowledged or found overdue."""
    return (is_ticket(change) and change.event_name in ("INSERT", "MODIFY")) or data_reports.accepts(change)


def _ticket(image: dict[str, Any] | None) -> dict[str, Any] | None:
    if not image:
        return None
    data = image.get("data")
    return data if isinstance(data, dict) and data.get("id") else None


def _counted_before(ticket_id: str) -> bool:
    """True when some change of the ticket was counted already (one claim is enough to know)."""
    answer = ddb.ddb().query(TableName=ddb.table(), KeyConditionExpression="PK = :p",
                             ExpressionAttributeValues={":p": ddb.S(f"AGGC#{ticket_id}")}, Limit=1)
    return bool(answer.get("Items"))


def changes_of(records: Sequence[TableChange]) -> list[Change]:
    """The facts of each ticket change; a record that cannot be read is logged and skipped.

    A malformed image would otherwise block the stream shard for a day of retries; skipping it
    is visible in the logs (and in a metric), never silent. A ticket item *inserted* at a later
    version (a restore, or a backfill into a fresh table) brings its whole history: it is counted
    only if nothing of that ticket was counted before.
    """
    out: list[Change] = []
    for record in records:
        if not is_ticket(record):
            continue  # a data-centre record: data_reports.changes_of
        new = _ticket(record.new)
        if new is None:
            logger.error("analytics: ticket record without data", extra={"pk": record.pk, "event": record.event_name})
            continue
        old = _ticket(record.old) if record.event_name == "MODIFY" else None
        if old is None and int(new.get("version") or 1) > 1 and _counted_before(str(new["id"])):
            continue
        try:
            out.append(derive(old, new))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            logger.error("analytics: unreadable ticket change", extra={"pk": record.pk, "error": type(exc).__name__})
    return out


@consumer("analytics", accepts=accepts)
def aggregate(records: list[TableChange]) -> None:
    """Count a stream batch (raises on storage errors so the batch is retried: that is safe)."""
    report = counters.apply(changes_of(records) + data_reports.changes_of(records))
    logger.info("analytics batch", extra={"records": len(records), "counted": report.counted,
                                          "already_counted": report.already_counted,
                                          "updates": report.updates})
