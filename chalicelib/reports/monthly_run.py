"""Which reports fall due when the monthly schedule fires, and the scheduled run itself.

The schedule fires at 00:00 UTC on the 1st of every month - 08:00 Asia/Shanghai. It then owes
the report of the month just ended; on 1 January, 1 April, 1 July and 1 October also the quarter
just ended; on 1 January also the year. Scores for those periods are computed first, so that the
reports rank them. A schedule that fires twice creates each job once.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.analytics import assessment
from chalicelib.analytics.period import Period, month_period, quarter_period, year_period
from chalicelib.domain.calendar import TZ
from chalicelib.observability import logger
from chalicelib.reports import jobs

SYSTEM = "system"


def due(fired_at: datetime) -> list[tuple[str, Period]]:
    """(report type, period) owed by a firing at ``fired_at`` (any timezone)."""
    local = fired_at.astimezone(TZ)
    year, month = local.year, local.month
    last_year, last_month = (year - 1, 12) if month == 1 else (year, month - 1)
    owed: list[tuple[str, Period]] = [("monthly", month_period(last_year, last_month))]
    if month in (1, 4, 7, 10):
        quarter = (last_month - 1) // 3 + 1
        owed.append(("quarterly", quarter_period(last_year, quarter)))
    if month == 1:
        owed.append(("annual", year_period(year - 1)))
    return owed


def fire_time(event: dict[str, Any], default: datetime) -> datetime:
    """When the schedule fired (the event's ``time``, else ``default``)."""
    stamp = event.get("time") if isinstance(event, dict) else None
    if isinstance(stamp, str):
        try:
            return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            logger.warning("schedule event with an unreadable time", extra={"time": stamp[:40]})
    return default


def run_event(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The schedule handler's entry: the periods owed at the event's time, scored and queued."""
    from chalicelib.services import clock

    now = clock.now()
    return run(fire_time(event, now), now=now)


def run(fired_at: datetime, *, now: datetime) -> list[dict[str, Any]]:
    """Score the periods just ended and queue their reports (to be e-mailed to subscribers)."""
    created = []
    for report_type, period in due(fired_at):
        for audience in assessment.AUDIENCES:
            assessment.run(period, audience, actor=SYSTEM, now=now)
        job, new = jobs.create(report_type, period, requested_by=SYSTEM, now=now, scheduled=True, notify=True,
                               only_if_new=True)
        if new:
            created.append(job)
        logger.info("scheduled report", extra={"type": report_type, "period": period.label, "job_id": job["id"],
                                               "new": new})
    return created
