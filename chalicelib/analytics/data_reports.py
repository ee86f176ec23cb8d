"""Data-reporting timeliness (数据上报及时率): the data centre's records counted on time or late, once.

Every ticket change is one record to each data centre (:mod:`chalicelib.integration.data_centre`),
sent as a ``ticket.record`` delivery. The table's stream shows this consumer (through the
analytics consumer, :mod:`.aggregator`) the two moments a record's fate is known:

* its delivery turns ``delivered`` (the data centre answered 2xx): ``data_report_on_time`` when
  ``delivered_at`` is within the partner's limit after the ticket change the record reports (its
  ``updated_at``; :func:`data_centre.reported_on_time`, 24 hours by default), else ``data_report_late``;
* the nightly reconciliation marks it ``overdue_at`` (never acknowledged, limit passed;
  :func:`chalicelib.integration.reconciliation.mark_overdue`): ``data_report_late``.

A record is counted once whatever happens to it afterwards: the count is claimed by partner, ticket
and version (``AGGC#<ticket>`` / ``<version>#dr#<partner>``, :mod:`.counters`), so a record found
overdue and acknowledged after a resend, a record sent to two endpoints, a resend of a record
already acknowledged, or the stream delivering a change again count nothing more. The claim is kept
400 days (the ledger's life), not the ticket changes' week: a record may be acknowledged long after
it was counted late.

Attribution: as the cube attributes every ticket-level figure - to the ticket's primary department
(the lead or single share, else the first; ``-`` before dispatch) with the ticket's district,
category, kind and channel, read from the ticket as it stands when the record is counted - and so
city-wide (``total``). Counted on the day of the acknowledgement or of the finding (Asia/Shanghai),
as every other measure is counted on the day its clock stopped.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chalicelib.analytics import ddb
from chalicelib.analytics.facts import Change, Dims, Fact, day_of, dims_of, primary_department
from chalicelib.analytics.measures import NONE
from chalicelib.integration import data_centre, registry
from chalicelib.observability import logger
from chalicelib.streams import TableChange

ON_TIME = "data_report_on_time"
LATE = "data_report_late"
CLAIM_TTL_SECONDS = 400 * 86400  # the partner ledger's life (records.LEDGER_TTL_DAYS)
_NO_DIMS = Dims(district=NONE, category=NONE, kind=NONE, channel=NONE, respondent=NONE)


def _is_record(change: TableChange) -> bool:
    return (change.pk.startswith("DLV#") and change.sk == "DELIVERY" and change.event_name == "MODIFY"
            and (change.new or {}).get("event_type") == data_centre.EVENT_TYPE)


def _acknowledged(change: TableChange) -> bool:
    new, old = change.new or {}, change.old or {}
    return new.get("status") == "delivered" and old.get("status") != "delivered" and bool(new.get("delivered_at"))


def _found_overdue(change: TableChange) -> bool:
    new, old = change.new or {}, change.old or {}
    return bool(new.get("overdue_at")) and not old.get("overdue_at") and new.get("status") != "delivered"


def accepts(change: TableChange) -> bool:
    """A data-centre record just acknowledged, or just found overdue by the nightly check."""
    return _is_record(change) and (_acknowledged(change) or _found_overdue(change))


def _outcome(change: TableChange, record: dict[str, Any]) -> tuple[str, str]:
    """(measure, when) of one accepted change."""
    new = change.new or {}
    if _acknowledged(change):
        entry = registry.find(str(new.get("partner_id")), cached=True)
        changed_at = record.get("updated_at") or new["created_at"]
        on_time = data_centre.reported_on_time(changed_at, new["delivered_at"], entry)
        return (ON_TIME if on_time else LATE), new["delivered_at"]
    return LATE, new["overdue_at"]


def changes_of(records: Sequence[TableChange]) -> list[Change]:
    """The counts of accepted delivery changes (one fact each), attributed as the module doc says;
    a delivery whose body or times cannot be read is logged and skipped (never a blocked shard)."""
    found: list[tuple[TableChange, str, int, tuple[str, str]]] = []
    for change in records:
        if not accepts(change):
            continue
        try:
            record = json.loads((change.new or {})["body"]).get("data") or {}
            measure, when = _outcome(change, record)
            found.append((change, str(record["ticket_id"]), int(record["version"]), (measure, day_of(when))))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            logger.error("analytics: unreadable data-centre record", extra={"pk": change.pk,
                                                                            "error": type(exc).__name__})
    if not found:
        return []
    tickets = {str(item["data"].get("id")): item["data"]
               for item in ddb.batch_get([(f"T#{ticket_id}", "TICKET") for _, ticket_id, _, _ in found])
               if isinstance(item.get("data"), dict)}
    out: list[Change] = []
    for change, ticket_id, version, (measure, day) in found:
        ticket = tickets.get(ticket_id)
        department = primary_department(ticket) if ticket else NONE
        partner = str((change.new or {}).get("partner_id"))
        out.append(Change(ticket_id=ticket_id, version=version, dims=dims_of(ticket) if ticket else _NO_DIMS,
                          facts=(Fact(measure, day, 1, department),), part=f"#dr#{partner}",
                          claim_ttl_seconds=CLAIM_TTL_SECONDS))
    return out
