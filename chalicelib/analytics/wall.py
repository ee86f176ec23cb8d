"""The manager's monitoring wall in one answer, from the analytics counters.

The wall used to fetch up to 2,000 ticket summaries (and then tickets one by one for satisfaction)
and could not show more than 31 days. Everything here is read from the pre-aggregated counters,
so the cost depends on the months of the period and the number of distinct values (departments,
categories...), never on the number of tickets; any period the statistics accept (up to three
years) works. Only the current backlog (``queues``) is a real-time figure: one counting Query per
work queue, as on the monitoring screen.

Cost, measured (docs/benchmarks.md): per month of the period, the total's day items and, for the
five breakdowns, the cube's month cells when the period covers the month whole (one Query) or each
dimension's day items otherwise (five Queries, each reading the month's partition whole); one
Query for repeated respondents; the backlog one counting Query per work queue (about a hundred
with the demo's departments). On the local runtime every item read costs about a millisecond in
moto, so a 90-day wall at demo size took seconds. The answer is therefore kept per period for :data:`CACHE_SECONDS` (the counters are fed
by the table stream and are seconds behind anyway) and the backlog for
:data:`BACKLOG_CACHE_SECONDS`: a manager switching between 近7日, 近30日 and 近90日, or several
screens showing the wall, cost one computation per period and minute, and the independent reads
of a computation run side by side. The periods the wall page offers are not even computed on the
request path: a schedule computes and stores them every minute (:mod:`wall_refresh`).
"""
from __future__ import annotations

import copy
import threading
import time
from collections import Counter, OrderedDict, defaultdict
from typing import Any, Callable, Hashable

from chalicelib.analytics import counters, statistics
from chalicelib.analytics.measures import CUBE_DIMENSIONS, value_of
from chalicelib.analytics.period import Period, month_period
from chalicelib.analytics.statistics import Query
from chalicelib.config import get_settings
from chalicelib.context_pool import ContextPool
from chalicelib.services import clock
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
READ_WORKERS = 4  # the figures, the five breakdowns and the respondents are independent reads
CACHE_SECONDS = 60.0
"""How long a period's figures, trend and breakdowns are reused (the stream feeds the counters
seconds late; a wall redrawn within the minute shows the same)."""
BACKLOG_CACHE_SECONDS = 15.0
"""How long the current backlog is reused: it is a live stock, so a shorter time."""
CACHE_ENTRIES = 64  # periods kept at most (the wall asks for three; custom periods come and go)


class TtlCache:
    """Answers kept for a while per key, in this process (a Lambda container or the local runtime).

    ``get`` computes a missing or expired answer once and hands out deep copies, so a caller that
    changes its copy changes nothing cached. The clock is injectable for tests."""

    def __init__(self, seconds: float, *, entries: int = CACHE_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.entries = entries
        self.clock = clock
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The answer for ``key``: the kept one while fresh, else ``compute()`` (kept from now)."""
        now = self.clock()
        with self._lock:
            kept = self._items.get(key)
            if kept is not None and now - kept[0] < self.seconds:
                return copy.deepcopy(kept[1])
        value = compute()  # outside the lock: another period is not held up by this one
        with self._lock:
            self._items[key] = (self.clock(), value)
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)
        return copy.deepcopy(value)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_WALLS = TtlCache(CACHE_SECONDS)
_BACKLOG = TtlCache(BACKLOG_CACHE_SECONDS, entries=4)


def forget_cache() -> None:
    """Drop every kept wall and backlog (tests; a restored table)."""
    _WALLS.clear()
    _BACKLOG.clear()


def current_backlog() -> dict[str, int]:
    """What waits now in every work queue of the city (see :func:`count_backlog`), reused for
    :data:`BACKLOG_CACHE_SECONDS`."""
    return _BACKLOG.get(get_settings().table_name, count_backlog)


def count_backlog() -> dict[str, int]:
    """What waits now in every work queue of the city: the centre's queues, and the departments'
    to-sign, in-progress and urging queues summed over the departments and their grassroots offices
    (a ticket handled by two of them counts in each). One counting Query per queue, never a ticket read."""
    scopes = [monitoring.Scope(kind="centre", owner=monitoring.CENTER)]
    scopes += [monitoring.Scope(kind="department", owner=str(entry["code"]))
               for kind in (directory.DEPARTMENTS, directory.OFFICES)
               for entry in directory.list_entries(kind) if entry.get("code")]
    with ContextPool(max_workers=BACKLOG_WORKERS) as pool:
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


Sums = dict[str, dict[str, Counter]]  # dimension -> value -> measure -> count


def _whole_month(month: str) -> Sums:
    """The five breakdowns of a whole month from the cube's month cells: one Query for all five
    (instead of five partitions of day items; every fact updates both with the same values)."""
    out: Sums = {d: defaultdict(Counter) for d in CUBE_DIMENSIONS}
    for cell, _, counts in counters.cube(month_period(int(month[:4]), int(month[5:7]))):
        for i, dimension in enumerate(CUBE_DIMENSIONS):
            out[dimension][cell[i]].update(counts)
    return out


def _part_of_month(dimension: str, part: Period) -> Sums:
    """One dimension over a part of one month, from its day items."""
    return {dimension: counters.totals(dimension, part)}


def _breakdown_sums(period: Period, pool: ContextPool) -> Sums:
    """Every value of the five breakdown dimensions with its measures summed over ``period``: the
    months it covers whole from the cube's month cells, the others from each dimension's day items."""
    jobs = []
    for month in period.months():
        if period.covers_month(month):
            jobs.append(pool.submit(_whole_month, month))
            continue
        whole = month_period(int(month[:4]), int(month[5:7]))
        part = Period(max(period.start, whole.start), min(period.end, whole.end))
        jobs += [pool.submit(_part_of_month, dimension, part) for dimension in CUBE_DIMENSIONS]
    out: Sums = {d: defaultdict(Counter) for d in CUBE_DIMENSIONS}
    rollup = statistics.Rollup(None)  # a grassroots office's figures count under its department
    for job in jobs:
        for dimension, values in job.result().items():
            for value, counts in values.items():
                out[dimension][rollup.department(value) if dimension == "department" else value].update(counts)
    return out


def _breakdown(values: dict[str, Counter], dimension: str, names: tuple[str, ...], top: int,
               labels: statistics.Labels) -> list[dict[str, Any]]:
    """The rows of one breakdown, as the statistics shape them: the values that have something,
    by the first measure (descending) then code, the first ``top``."""
    rows = [{"code": value, "label": labels.of(dimension, value), **{n: value_of(n, counts) for n in names}}
            for value, counts in values.items()]
    rows = [r for r in rows if any(r[n] not in (0, None) for n in names)]
    rows.sort(key=lambda r: (-(r[names[0]] or 0), r["code"]))
    return rows[:top]


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
    repeated respondents, satisfaction, and - when ``queue_counts`` is given - the current backlog.
    The counter part is reused for :data:`CACHE_SECONDS` per period (see :func:`compute`)."""
    answer = _WALLS.get((get_settings().table_name, period.start, period.end), lambda: compute(period))
    if queue_counts is not None:
        answer["queues"] = queue_counts()
    return answer


def compute(period: Period) -> dict[str, Any]:
    """The wall's counter part for ``period``, read now: the daily totals, the five breakdowns
    (whole months from the cube's month cells) and the repeated respondents, read side by side
    (:data:`READ_WORKERS`). ``as_of`` says when (Asia/Shanghai, to the second): the wall shows it."""
    as_of = clock.now().isoformat(timespec="seconds")
    labels = statistics.Labels()
    for dimension in ("department", "district"):  # the directory read once here, not by each thread
        labels.of(dimension, "")
    with ContextPool(max_workers=READ_WORKERS) as pool:
        daily = pool.submit(lambda: counters.read("total", period, by_day=True).get(counters.TOTAL, {}))
        respondents = pool.submit(_hot_respondents, period)
        breakdown_sums = _breakdown_sums(period, pool)
        per_day = daily.result()
        hot = respondents.result()
    sums: Counter = Counter()
    for counts in per_day.values():
        sums.update(counts)
    figures = {name: value_of(name, sums) for name in FIGURES}
    answer: dict[str, Any] = {
        "period": period.to_dict(),
        "as_of": as_of,
        "figures": figures,
        "daily": [{"day": day.isoformat(), **{name: value_of(name, per_day.get(day.isoformat(), Counter()))
                                              for name in DAILY}} for day in period.each_day()],
        "satisfaction": {name: figures[name] or 0 for name in ("satisfied", "basically_satisfied", "dissatisfied")},
    }
    for name, (dimension, names, top) in BREAKDOWNS.items():
        answer[name] = _breakdown(breakdown_sums[dimension], dimension, names, top, labels)
    answer["hot_respondents"], answer["hot_respondents_by_month"] = hot
    return answer
