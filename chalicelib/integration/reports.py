"""The daily report to the regulatory data center (监管数据中心): yesterday's figures, signed and sent.

Figures only, no personal data: tickets received on the day by kind, channel, district, category
and current status, plus the day's partner traffic (received from upper levels, reported upward,
sent down). The report goes out through the same deliveries as every other webhook (durable
before the first send, retried, parked, replayable); its delivery id is derived from the day, so
running the job twice sends it once.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from chalicelib.integration import outbound, records, registry, sender
from chalicelib.integration.reconciliation import previous_day
from chalicelib.services import clock

PAGE = 500
MAX_PAGES = 2000  # a million tickets a day: far beyond the design load, and still bounded


def figures(day: str) -> dict[str, Any]:
    """Counts of the tickets received on ``day`` (one paginated Query on the by-day index)."""
    from chalicelib.services import tickets

    by: dict[str, Counter[str]] = {k: Counter() for k in ("kind", "channel", "district", "category", "status")}
    total = 0
    cursor = None
    for _ in range(MAX_PAGES):
        page, cursor = tickets.repository().received_on(day, limit=PAGE, cursor=cursor)
        for ticket in page:
            total += 1
            for key, counter in by.items():
                counter[str(getattr(ticket, key) or "unknown")] += 1
        if not cursor:
            break
    return {"received": total, **{f"by_{k}": dict(sorted(v.items())) for k, v in by.items()}}


def traffic(day: str) -> dict[str, Any]:
    """The day's integration traffic per partner kind (received from, sent to)."""
    out: dict[str, Counter[str]] = {"received_from": Counter(), "sent_to": Counter()}
    for entry in registry.list_all():
        kind = entry.get("kind", "unknown")
        out["received_from"][kind] += sum(1 for _ in records.inbound_on(entry["id"], day))
        out["sent_to"][kind] += sum(1 for _ in records.deliveries_on(entry["id"], day))
    return {k: dict(v) for k, v in out.items()}


def daily_report(now: datetime | None = None, day: str | None = None) -> dict[str, Any]:
    """Build yesterday's report and deliver it to every data-center partner; returns what was done."""
    now = now or clock.now()
    day = day or previous_day(now)
    centers = [e for e in registry.list_all() if e.get("kind") == "data_center" and e.get("enabled", True)]
    if not centers:
        return {"date": day, "deliveries": []}
    data = {"date": day, "title": f"{day} 投诉举报处置日报", "tickets": figures(day), "integration": traffic(day),
            "generated_at": now.isoformat()}
    created = []
    for entry in centers:
        event = outbound.PartnerEvent(entry["id"], "report.daily", data)
        for endpoint in registry.receivers(entry, event.type):
            delivery_id = sender.create(event, endpoint, f"report.daily:{day}", None, now)
            if delivery_id:
                created.append(delivery_id)
    for delivery_id in created:
        sender.attempt(delivery_id)
    return {"date": day, "deliveries": created}
