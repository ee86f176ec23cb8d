"""Hotspots (热点): a district, category or respondent whose count jumps above its usual level.

The statistic. For each series (tickets received per day for one district, category or
respondent), the count ``x`` of the last ``W`` days is compared with the ``B`` windows of ``W``
days before it (the baseline) by an upper-tail predictive test under a negative binomial (NB2)
model:

* the expected count is ``μ = (k + ½) / B`` for a baseline total ``k`` - the posterior mean of a
  Poisson rate under Jeffreys' prior, which also judges a series whose baseline is all zeros;
* the variance is ``V = (μ + κ μ²)(1 + 1/B)``: ``κ`` is the overdispersion of complaint counts
  (weekly swings, news), estimated by the method of moments *pooled over all series of the same
  dimension* (``κ = Σ(s² - m) / Σ m²``, at least 0) because eight windows are too few to estimate
  one series' variance; ``(1 + 1/B)`` adds the uncertainty of a mean estimated from ``B`` windows.
  With ``κ = 0`` this is exactly the Gamma-Poisson posterior predictive ``NB(k + ½, B/(B+1))``;
* ``p = P(X ≥ x)`` for ``X`` negative binomial with that mean and variance.

A hotspot is ``p < α / n`` with ``α = 0.05`` and ``n`` the number of series tested in the run
(Bonferroni): on a flat background a whole run raises a false alert with probability at most
about 5 %. ``W = 7`` days (a whole week, so the weekday cycle cancels) and ``B = 8`` windows (two
months: enough windows to see a level, short enough to follow the seasons).

Categories are tested at every level of the tree: each stored category (a 具体问题, or whatever
level a ticket was registered at), and the roll-ups of those series into their 事项
(``category_l2``) and 领域 (``category_l1``), so a jump spread thin over many 具体问题 still shows
under the 事项 or 领域 it belongs to. A roll-up made of a single stored series is that series again
and is not tested twice; every series tested counts in the Bonferroni ``n``.

Respondents are tested only when they had a ticket in the window (an idle series has ``x = 0``,
``p = 1``); they are found through GSI1 (their counters carry their last active day).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.analytics import alerts, counters, ddb, drilldown
from chalicelib.analytics.ddb import S
from chalicelib.analytics.measures import NONE
from chalicelib.analytics.period import Period
from chalicelib.analytics.statistics import Labels
from chalicelib.domain.calendar import TZ
from chalicelib.domain.categories import UNCLASSIFIED
from chalicelib.services import categories

WINDOW_DAYS = 7
BASELINE_WINDOWS = 8
ALPHA = 0.05
DIMENSIONS = ("district", "category", "category_l2", "category_l1", "respondent")
ROLLUP_LEVELS = {"category_l2": 2, "category_l1": 1}
MAX_TAIL_TERMS = 1_000_000
TICKETS_PER_ALERT = 50
DIMENSION_LABELS = {"district": "属地", "category": "类别", "category_l2": "事项", "category_l1": "领域",
                    "respondent": "被投诉对象"}


@dataclass(frozen=True)
class Test:
    """The outcome of one series' test."""

    count: int
    expected: float
    p_value: float
    method: str


def _log_nb_pmf(k: int, r: float, p: float) -> float:
    return math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1) + r * math.log(p) + k * math.log1p(-p)


def nb_upper_tail(x: int, r: float, p: float) -> float:
    """P(X ≥ x) for X ~ NB(r, p) (mean r(1-p)/p), by direct summation of the pmf."""
    if x <= 0:
        return 1.0
    if p >= 1.0:
        return 0.0
    mean = r * (1 - p) / p
    if x <= mean:
        below = sum(math.exp(_log_nb_pmf(k, r, p)) for k in range(x))
        return min(1.0, max(0.0, 1.0 - below))
    total = 0.0
    for k in range(x, x + MAX_TAIL_TERMS):
        term = math.exp(_log_nb_pmf(k, r, p))
        total += term
        if term < 1e-17 * total or term == 0.0:
            break
    return min(1.0, total)


def dispersion(baselines: list[list[int]]) -> float:
    """κ, the NB2 overdispersion pooled over series (method of moments; 0 = Poisson)."""
    excess = 0.0
    scale = 0.0
    for values in baselines:
        b = len(values)
        if b < 2:
            continue
        mean = sum(values) / b
        variance = sum((v - mean) ** 2 for v in values) / (b - 1)
        excess += variance - mean
        scale += mean * mean
    return max(0.0, excess / scale) if scale > 0 else 0.0


def test(count: int, baseline: list[int], kappa: float = 0.0) -> Test:
    """Is ``count`` (this window) above what the ``baseline`` windows lead one to expect?"""
    b = len(baseline)
    if b == 0:
        raise ValueError("a baseline needs at least one window")
    mu = (sum(baseline) + 0.5) / b
    variance = (mu + kappa * mu * mu) * (1.0 + 1.0 / b)
    p = mu / variance
    r = mu * mu / (variance - mu)
    return Test(count, sum(baseline) / b, nb_upper_tail(count, r, p),
                "negative_binomial" if kappa > 0 else "poisson_gamma")


def windows(series: dict[str, int], end: date, *, window: int = WINDOW_DAYS,
            baseline: int = BASELINE_WINDOWS) -> tuple[int, list[int]]:
    """(count of the last window ending ``end``, counts of the ``baseline`` windows before it)."""
    def total(last: date) -> int:
        return sum(series.get((last - timedelta(days=n)).isoformat(), 0) for n in range(window))
    current = total(end)
    history = [total(end - timedelta(days=window * (i + 1))) for i in range(baseline)]
    return current, history


@dataclass(frozen=True)
class Hotspot:
    dimension: str
    value: str
    label: str
    window_from: str
    window_to: str
    test: Test
    threshold: float
    baseline: list[int]

    def to_dict(self) -> dict[str, Any]:
        return {"dimension": self.dimension, "dimension_label": DIMENSION_LABELS[self.dimension],
                "value": self.value, "label": self.label, "from": self.window_from, "to": self.window_to,
                "count": self.test.count, "expected": round(self.test.expected, 2),
                "p_value": self.test.p_value, "threshold": self.threshold, "method": self.test.method,
                "baseline": self.baseline}


def _series(end: date, *, window: int, baseline: int) -> tuple[Period, dict[tuple[str, str], dict[str, int]],
                                                              dict[str, str]]:
    span = Period(end - timedelta(days=window * (baseline + 1) - 1), end)
    series: dict[tuple[str, str], dict[str, int]] = {}
    for dimension in ("district", "category"):
        for value, days in counters.read(dimension, span, by_day=True).items():
            if value != NONE:
                series[(dimension, value)] = {day: counts.get("received", 0) for day, counts in days.items()
                                              if counts.get("received")}
    series.update(category_rollups({v: days for (d, v), days in series.items() if d == "category"}))
    names: dict[str, str] = {}
    window_days = [end - timedelta(days=n) for n in range(window)]
    active = {key for day in window_days for _, key in counters.active_respondents(day.isoformat())}
    if active:
        keys = [(counters.counter_pk(month, "respondent"), key) for key in sorted(active) for month in span.months()]
        per_key: dict[str, Counter] = {key: Counter() for key in active}
        days = {m: span.days_of(m) for m in span.months()}
        for item in ddb.batch_get(keys):
            month = item["PK"].split("#")[1]
            key = item["SK"]
            names[key] = item.get("name") or key
            for attr, count in item.items():
                if attr.startswith("received_") and attr[9:].isdigit() and attr[9:] in days[month]:
                    per_key[key][f"{month}-{attr[9:]}"] += int(count)
        for key, counts in per_key.items():
            series[("respondent", key)] = dict(counts)
    return span, series, names


def category_rollups(by_category: dict[str, dict[str, int]]) -> dict[tuple[str, str], dict[str, int]]:
    """The stored categories' daily series summed into their 事项 and 领域 (``("category_l2", code)``,
    ``("category_l1", code)``). A roll-up that would test the same series again - one stored category
    only, or the same members as one of its 事项 - is left out, as is free text the tree does not know."""
    if not by_category:
        return {}
    tree = categories.tree()
    out: dict[tuple[str, str], dict[str, int]] = {}
    seen: set[frozenset[str]] = set()
    for dimension, level in ROLLUP_LEVELS.items():  # 事项 first, then 领域
        parts: dict[str, list[str]] = {}
        for value in by_category:
            ancestor = tree.at_level(value, level)
            if ancestor != UNCLASSIFIED:
                parts.setdefault(ancestor, []).append(value)
        for ancestor, members in sorted(parts.items()):
            key = frozenset(members)
            if len(members) < 2 or key in seen:
                continue
            seen.add(key)
            summed: Counter = Counter()
            for value in members:
                summed.update(by_category[value])
            out[(dimension, ancestor)] = dict(summed)
    return out


def find(series: dict[Any, dict[str, int]], end: date, *, window: int = WINDOW_DAYS,
         baseline: int = BASELINE_WINDOWS, alpha: float = ALPHA) -> list[tuple[Any, Test, list[int], float]]:
    """The series (key -> day -> count) whose last window is a hotspot: (key, test, baseline, threshold).

    Pure: the statistic of the module docstring. Keys that are tuples pool the dispersion by their
    first element (the dimension); Bonferroni runs over ``len(series)`` series.
    """
    threshold = alpha / max(1, len(series))
    cut = {key: windows(counts, end, window=window, baseline=baseline) for key, counts in series.items()}
    groups: dict[Any, list[list[int]]] = {}
    for key, (_, history) in cut.items():
        groups.setdefault(key[0] if isinstance(key, tuple) else None, []).append(history)
    kappas = {group: dispersion(histories) for group, histories in groups.items()}
    found = []
    for key, (current, history) in cut.items():
        if current == 0:
            continue
        result = test(current, history, kappas[key[0] if isinstance(key, tuple) else None])
        if result.p_value < threshold:
            found.append((key, result, history, threshold))
    found.sort(key=lambda f: f[1].p_value)
    return found


def detect(end: date, *, window: int = WINDOW_DAYS, baseline: int = BASELINE_WINDOWS,
           alpha: float = ALPHA) -> tuple[list[Hotspot], int]:
    """The hotspots of the window ending ``end`` (inclusive), and how many series were tested."""
    _, series, names = _series(end, window=window, baseline=baseline)
    labels = Labels()
    found = []
    for (dimension, value), result, history, threshold in find(series, end, window=window, baseline=baseline,
                                                                alpha=alpha):
        label = names.get(value, value) if dimension == "respondent" else labels.of(dimension, value)
        if dimension == "category" or dimension in ROLLUP_LEVELS:  # the path in the tree (old free text as written)
            label = categories.tree().label(value)
        found.append(Hotspot(dimension, value, label, (end - timedelta(days=window - 1)).isoformat(),
                             end.isoformat(), result, threshold, history))
    return found, len(series)


def tickets_of(hotspot: Hotspot) -> list[str]:
    """The tickets behind a hotspot (its window's received tickets in the series)."""
    period = Period(date.fromisoformat(hotspot.window_from), date.fromisoformat(hotspot.window_to))
    found, _ = drilldown.facts("received", period, {hotspot.dimension: hotspot.value}, limit=TICKETS_PER_ALERT)
    return list(dict.fromkeys(f["ticket_id"] for f in found))


def _first_in_window(hotspot: Hotspot, window: int) -> bool:
    """True once per series and window: a hotspot still visible tomorrow is not alerted again."""
    end = date.fromisoformat(hotspot.window_to)
    cutoff = (end - timedelta(days=window - 1)).isoformat()
    try:
        ddb.ddb().update_item(
            TableName=ddb.table(), Key={"PK": S(f"HOTSPOT#{hotspot.dimension}"), "SK": S(hotspot.value)},
            UpdateExpression="SET last_alert_day = :d",
            ConditionExpression="attribute_not_exists(last_alert_day) OR last_alert_day < :c",
            ExpressionAttributeValues={":d": S(end.isoformat()), ":c": S(cutoff)})
        return True
    except ClientError as exc:
        if ddb.is_condition_failure(exc):
            return False
        raise


def alert_new_hotspots(now: datetime, *, window: int = WINDOW_DAYS,
                       baseline: int = BASELINE_WINDOWS) -> dict[str, Any]:
    """Detect the hotspots of the window ending today and alert the managers of the new ones."""
    end = now.astimezone(TZ).date()
    found, tested = detect(end, window=window, baseline=baseline)
    raised = []
    for hotspot in found:
        if not _first_in_window(hotspot, window):
            continue
        ticket_ids = tickets_of(hotspot)
        identifier, new = alerts.raise_alert(
            kind="hotspot", level="hotspot", at=datetime.combine(end, datetime.min.time(), TZ),
            subject=f"{hotspot.dimension}|{hotspot.value}|{hotspot.window_to}",
            title=f"热点：{DIMENSION_LABELS[hotspot.dimension]}“{hotspot.label}”近{window}日诉求激增",
            body=(f"{hotspot.window_from}至{hotspot.window_to}共{hotspot.test.count}件，"
                  f"此前每{window}日平均{hotspot.test.expected:.1f}件（p={hotspot.test.p_value:.2g}）。"),
            ticket_ids=ticket_ids, data=hotspot.to_dict(), now=now)
        if new:
            raised.append(identifier)
    return {"window": {"from": (end - timedelta(days=window - 1)).isoformat(), "to": end.isoformat()},
            "tested": tested, "threshold": ALPHA / max(1, tested),
            "hotspots": [h.to_dict() for h in found], "alerts": raised}
