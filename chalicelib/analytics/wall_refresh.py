"""The manager's wall computed off the request path, as city walls are (issue 14).

A scheduled function (``wall_refresh`` in app.py, every minute) computes the wall for the periods the
portal offers (:data:`STANDARD_DAYS`: 近7日, 近30日, 近90日, each ending today in Asia/Shanghai) and
the current backlog once, and stores each answer as one item of the single table::

    PK = WALL#<scope>    SK = <from>..<to>    answer = the JSON answer    as_of = when it was read
    expires_at = TTL (:data:`TTL_SECONDS`)

``GET /stats/wall`` for one of those periods answers from its item with one GetItem while the item is
fresh (:data:`FRESH_SECONDS`), whatever the number of tickets; for any other period, or a missing or
stale item (the schedule stopped, the day just changed), it computes as before
(:func:`wall.wall`, kept a minute per process). Every answer says when its figures were read
(``as_of``), which the wall shows as 数据更新于 HH:MM.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from chalicelib.analytics import ddb, wall
from chalicelib.analytics.period import Period, today
from chalicelib.services import clock

STANDARD_DAYS = (7, 30, 90)
"""The wall page's periods (portal ManagerWall.vue: 近7日, 近30日, 近90日), each ending today."""
SCOPE = "city"
"""The wall is the centre's (dispatchers and managers see the city); one scope."""
FRESH_SECONDS = 120
"""A stored answer is served while it was read less than this ago: the schedule runs every minute,
so one missed run still serves; two fall back to computing."""
TTL_SECONDS = 3600
"""Stored answers expire (DynamoDB TTL) an hour after they were read: nothing keeps old days."""


def standard_periods(now: datetime) -> list[Period]:
    """The periods the wall offers, ending on ``now``'s day in Asia/Shanghai."""
    day = today(now)
    return [Period(day - timedelta(days=days - 1), day) for days in STANDARD_DAYS]


def _key(period: Period) -> dict[str, dict[str, str]]:
    return {"PK": ddb.S(f"WALL#{SCOPE}"), "SK": ddb.S(f"{period.start.isoformat()}..{period.end.isoformat()}")}


def refresh(now: datetime | None = None) -> list[Period]:
    """Compute and store the wall of every standard period (the scheduled function's work): the
    backlog is counted once for all, each period's counters read afresh (not the per-process cache).
    Returns the periods stored."""
    now = now or clock.now()
    queues = wall.count_backlog()
    periods = standard_periods(now)
    for period in periods:
        answer = wall.compute(period)
        answer["queues"] = queues
        store(period, answer)
    return periods


def store(period: Period, answer: dict[str, Any]) -> None:
    """Keep ``answer`` (with its ``as_of``) as the item of ``period``; it expires after :data:`TTL_SECONDS`."""
    as_of = datetime.fromisoformat(answer["as_of"])
    ddb.ddb().put_item(TableName=ddb.table(), Item={
        **_key(period), "answer": ddb.S(json.dumps(answer, ensure_ascii=False, separators=(",", ":"))),
        "as_of": ddb.S(answer["as_of"]), "expires_at": ddb.N(int(as_of.timestamp()) + TTL_SECONDS)})


def stored(period: Period, now: datetime | None = None) -> dict[str, Any] | None:
    """The stored answer of ``period`` if it is a standard period and its item was read less than
    :data:`FRESH_SECONDS` ago (one GetItem), else None. Other periods read nothing."""
    now = now or clock.now()
    if period not in standard_periods(now):
        return None
    item = ddb.ddb().get_item(TableName=ddb.table(), Key=_key(period)).get("Item")
    if not item:
        return None
    age = (now - datetime.fromisoformat(item["as_of"]["S"])).total_seconds()
    if age >= FRESH_SECONDS:
        return None
    answer: dict[str, Any] = json.loads(item["answer"]["S"])
    return answer


def serve(period: Period) -> dict[str, Any]:
    """What ``GET /stats/wall`` answers: the stored answer while fresh, else computed now (with the
    live backlog; both kept briefly per process, see :mod:`wall`)."""
    return stored(period) or wall.wall(period, queue_counts=wall.current_backlog)
