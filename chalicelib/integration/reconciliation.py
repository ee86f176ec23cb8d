"""Reconciliation (对账) of one partner's traffic on one day, and the nightly check.

Per direction, from the ledger (one Query per partner and day, no scan):

* outbound - ``sent`` (deliveries created), ``acknowledged`` (answered 2xx), ``failed`` (parked),
  ``pending`` (still being retried);
* inbound - ``received`` (authentic webhooks accepted), with what became of them: ``applied``
  (an effect on a ticket), ``ignored`` (a stale sequence, an already-registered external id:
  acknowledged, no effect), ``rejected`` (valid, but refused by the ticket's state).

Each bucket carries its count and its ids. The day balances when every sent webhook was
acknowledged and no received one was rejected; anything else is a mismatch. The nightly job
also reconciles each upper-level, 12345 and data-centre feed ticket by ticket for the day
(:mod:`chalicelib.integration.feeds`: missing, failed, pending, status mismatches), writes each
partner's mismatches to the reports bucket (``reconciliation/<day>/<partner>.json``) and raises a
warning. A partner an admin switched off is not sent anything, so its per-ticket books are not
checked at night (the 平台对接 page still shows them on demand).

For each data centre the nightly job also marks the records it never acknowledged whose limit
(:func:`data_centre.report_due`) has passed (:func:`mark_overdue`): the analytics stream consumer
counts each such record once as ``data_report_late`` (:mod:`chalicelib.analytics.data_reports`), so a
record that never arrives is not invisible in the reporting timeliness.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.aws import client
from chalicelib.config import get_settings
from chalicelib.domain.calendar import TZ
from chalicelib.integration import data_centre, feeds, records, registry
from chalicelib.integration.records import DeliveryItem, iso
from chalicelib.observability import logger, metrics
from chalicelib.services import clock

APPLIED = frozenset({"registered", "merged", "linked_duplicate", "applied"})
IGNORED = frozenset({"already_registered", "ignored_stale"})


def _bucket(ids: list[str]) -> dict[str, Any]:
    return {"count": len(ids), "ids": ids}


def reconcile(partner_id: str, day: str) -> dict[str, Any]:
    """The day's reconciliation for one partner (see the module doc)."""
    sent: list[str] = []
    acknowledged: list[str] = []
    failed: list[str] = []
    pending: list[str] = []
    for item in records.deliveries_on(partner_id, day):
        sent.append(item.delivery_id)
        {"delivered": acknowledged, "failed": failed}.get(str(item.status), pending).append(item.delivery_id)
    received: list[str] = []
    applied: list[str] = []
    ignored: list[str] = []
    rejected: list[str] = []
    ticket_ids: set[str] = set()
    types: Counter[str] = Counter()
    for item in records.inbound_on(partner_id, day):
        received.append(item.webhook_id)
        types[str(item.type)] += 1
        outcome = str(item.outcome)
        if outcome in APPLIED:
            applied.append(item.webhook_id)
        elif outcome in IGNORED:
            ignored.append(item.webhook_id)
        else:
            rejected.append(item.webhook_id)
        if item.ticket_id and item.type == "ticket.assigned" and outcome in APPLIED:
            ticket_ids.add(str(item.ticket_id))
    mismatches = ([{"direction": "outbound", "id": i, "problem": "failed"} for i in failed]
                  + [{"direction": "outbound", "id": i, "problem": "not_acknowledged"} for i in pending]
                  + [{"direction": "inbound", "id": i, "problem": "rejected"} for i in rejected])
    return {
        "partner_id": partner_id, "date": day,
        "outbound": {"sent": _bucket(sent), "acknowledged": _bucket(acknowledged), "failed": _bucket(failed),
                     "pending": _bucket(pending)},
        "inbound": {"received": _bucket(received), "applied": _bucket(applied), "ignored": _bucket(ignored),
                    "rejected": _bucket(rejected), "by_type": dict(types),
                    "tickets_registered": len(ticket_ids)},
        "balanced": not mismatches,
        "mismatches": mismatches,
    }


def previous_day(now: datetime) -> str:
    return (now.astimezone(TZ).date() - timedelta(days=1)).isoformat()


def overdue_days(entry: dict[str, Any], now: datetime) -> list[str]:
    """The days whose records the nightly check reads: yesterday and as many days before as the
    limit spans, plus one (a record of the last day read becomes overdue before the next night's
    run, when that day is read again)."""
    back = math.ceil(data_centre.report_within_hours(entry) / 24) + 1
    today = now.astimezone(TZ).date()
    return [(today - timedelta(days=n)).isoformat() for n in range(back, 0, -1)]


def mark_overdue(entry: dict[str, Any], now: datetime) -> list[str]:
    """Mark the data centre's records (``ticket.record`` deliveries) of :func:`overdue_days` that it
    has not acknowledged and whose limit has passed: ``overdue_at``, once (conditional: never on a
    delivered one, never twice). Returns the deliveries marked."""
    marked: list[str] = []
    for day in overdue_days(entry, now):
        for item in records.deliveries_on(entry["id"], day):
            if item.event_type != data_centre.EVENT_TYPE or item.status == "delivered" or item.overdue_at:
                continue
            changed_at = (json.loads(item.body).get("data") or {}).get("updated_at") or item.created_at
            if now <= data_centre.report_due(changed_at, entry):
                continue
            try:
                item.update(actions=[DeliveryItem.overdue_at.set(iso(now))],
                            condition=DeliveryItem.overdue_at.does_not_exist() & (DeliveryItem.status != "delivered"))
            except UpdateError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
                continue  # acknowledged (or marked) meanwhile
            marked.append(item.delivery_id)
    return marked


def nightly(now: datetime | None = None, day: str | None = None) -> dict[str, Any]:
    """Reconcile every partner for ``day`` (default: yesterday, Asia/Shanghai); store and warn on mismatches."""
    now = now or clock.now()
    day = day or previous_day(now)
    date.fromisoformat(day)
    summary: dict[str, Any] = {"date": day, "partners": {}, "written": []}
    for entry in registry.list_all():
        result = reconcile(entry["id"], day)
        enabled = entry.get("enabled", True)
        if entry.get("kind") in feeds.FEED_KINDS and enabled:  # and ticket by ticket: what it holds vs. ours
            one_day = date.fromisoformat(day)
            result["tickets"] = feeds.reconcile_tickets(entry["id"], feeds.Period(one_day, one_day))
            result["balanced"] = result["balanced"] and result["tickets"]["balanced"]
        summary["partners"][entry["id"]] = {
            "balanced": result["balanced"], "mismatches": len(result["mismatches"]),
            "ticket_differences": len(result.get("tickets", {}).get("differences", []))}
        if entry.get("kind") == "data_center":  # records it never acknowledged, past their limit
            summary["partners"][entry["id"]]["overdue_records"] = len(mark_overdue(entry, now))
        if result["balanced"]:
            continue
        key = f"reconciliation/{day}/{entry['id']}.json"
        report = {**result, "generated_at": now.isoformat(),
                  "title": f"{entry.get('name', entry['id'])} {day} 对账差异"}
        client("s3").put_object(Bucket=get_settings().reports_bucket, Key=key,
                                Body=json.dumps(report, ensure_ascii=False, indent=1).encode("utf-8"),
                                ContentType="application/json; charset=utf-8")
        summary["written"].append(key)
        logger.warning("partner reconciliation mismatch", extra={
            "partner": entry["id"], "date": day, "mismatches": len(result["mismatches"]),
            "outbound_failed": result["outbound"]["failed"]["count"],
            "outbound_pending": result["outbound"]["pending"]["count"],
            "inbound_rejected": result["inbound"]["rejected"]["count"], "report": key,
            "ticket_differences": summary["partners"][entry["id"]]["ticket_differences"]})
        metrics.add_metric(name="ReconciliationMismatches", unit="Count", value=len(result["mismatches"]))
    return summary
