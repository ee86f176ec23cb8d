"""The manager's monitoring wall in one answer, from the analytics counters.

The wall used to fetch up to 2,000 ticket summaries (and then tickets one by one for satisfaction)
and could not show more than 31 days. Everything here is read from the pre-aggregated counters,
so the cost depends on the months of the period and the number of distinct values (departments,
categories...), never on the number of tickets; any period the statistics accept (up to three
years) works. Only the current backlog (``queues``) is a real-time figure: one counting Query per
work queue, as on the monitoring screen.
"""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from chalicelib.analytics import counters, statistics
from chalicelib.analytics.measures import value_of
from chalicelib.analytics.period import Period
from chalicelib.analytics.statistics import Query
from chalicelib.store import directory
from chalicelib.workflow import monitoring

FIGURES = ("received", "accepted", "dispatched", "closed", "warned_yellow", "warned_red", "urged", "supervised",
           "feedback", "satisfied", "basically_satisfied", "dissatisfied", "satisfaction_rate",
           "closed_on_time_rate", "solved_rate")
DAILY = ("received", "closed")
BREAKDOWNS = {  # name on the wall -> (dimension, measures, top)
    "by_kind": ("kind", ("received",), 10),
    "by_channel": ("channel", ("received",), 10),
    "by_category": ("category", ("received",), 10),
    "by_district": ("district", ("received",), 15),
    "by_department": ("department", ("dispatched", "warned_yellow", "warned_red", "urged", "supervised"), 15),
}
HOT_RESPONDENTS = 10
HOT_RESPONDENT_MIN = 2  # a respondent is "hot" from its second ticket in the period
DEPARTMENT_BACKLOG = ("to_sign", "in_progress", "urgings")
BACKLOG_WORKERS = 8  # the counting Queries are independent: a few at a time, not one after another


def current_backlog() -> dict[str, int]:
    """What waits now in every work queue of the city: the centre's queues, and the departments'
    to-sign, in-progress and urging queues summed over the departments (a ticket handled by two
    departments counts in each). One counting Query per queue, never a ticket read."""
    scopes = [monitoring.Scope(kind="centre", owner=monitoring.CENTER)]
    scopes += [monitoring.Scope(kind="department", owner=str(entry["code"]))
               for entry in directory.list_entries(directory.DEPARTMENTS) if entry.get("code")]
    with ThreadPoolExecutor(max_workers=BACKLOG_WORKERS) as pool:
        answers = list(pool.map(monitoring.queue_counts, scopes))
    counts = dict(answers[0])
    for name in DEPARTMENT_BACKLOG:
        counts.setdefault(name, 0)
    for department in answers[1:]:
        for name in DEPARTMENT_BACKLOG:
            counts[name] += department.get(name, 0)
    return counts


def _rows(answer: dict[str, Any], dimension: str) -> list[dict[str, Any]]:
    return [{"code": row["keys"][dimension], "label": row["labels"][dimension], **row["values"]}
            for row in answer["rows"]]


def _hot_respondents(period: Period) -> tuple[list[dict[str, Any]], bool]:
    """Respondents with repeated tickets: exact per day up to 62 days, else from the year top lists
    over the months the period touches (``True`` as the second value says so)."""
    if period.days <= statistics.RESPONDENT_EXACT_DAYS:
        answer = statistics.run(Query(period, ("received",), ("respondent",), top=HOT_RESPONDENTS))
        rows = _rows(answer, "respondent")
        by_month = False
    else:
        months = set(period.months())
        totals: Counter = Counter()
        names: dict[str, str] = {}
        for year in range(period.start.year, period.end.year + 1):
            for entry in counters.top_respondents(year):
                count = sum(n for mm, n in entry["months"].items() if f"{year:04d}-{mm}" in months)
                if count:
                    totals[entry["key"]] += count
                    names[entry["key"]] = entry.get("name") or entry["key"]
        rows = [{"code": key, "label": names[key], "received": count}
                for key, count in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:HOT_RESPONDENTS]]
        by_month = True
    return [r for r in rows if (r.get("received") or 0) >= HOT_RESPONDENT_MIN], by_month


def wall(period: Period, *, queue_counts: Callable[[], dict[str, int]] | None = None) -> dict[str, Any]:
    """Everything the wall draws for ``period`` (the city): figures, daily trend, breakdowns,
    repeated respondents, satisfaction, and - when ``queue_counts`` is given - the current backlog."""
    labels = statistics.Labels()
    per_day = counters.read("total", period, by_day=True).get(counters.TOTAL, {})
    sums: Counter = Counter()
    for counts in per_day.values():
        sums.update(counts)
    figures = {name: value_of(name, sums) for name in FIGURES}
    answer: dict[str, Any] = {
        "period": period.to_dict(),
        "figures": figures,
        "daily": [{"day": day.isoformat(), **{name: value_of(name, per_day.get(day.isoformat(), Counter()))
                                              for name in DAILY}} for day in period.each_day()],
        "satisfaction": {name: figures[name] or 0 for name in ("satisfied", "basically_satisfied", "dissatisfied")},
    }
    for name, (dimension, names, top) in BREAKDOWNS.items():
        answer[name] = _rows(statistics.run(Query(period, names, (dimension,), top=top), labels=labels), dimension)
    answer["hot_respondents"], answer["hot_respondents_by_month"] = _hot_respondents(period)
    if queue_counts is not None:
        answer["queues"] = queue_counts()
    return answer
