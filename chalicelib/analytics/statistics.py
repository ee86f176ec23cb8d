"""Statistics read from the counters: a general grouped query, and the four standard views.

:func:`run` answers any :class:`Query` (dimensions, measures and rates, filters, period) from the
cheapest counters that can: the total or a one-dimension breakdown when the question needs one
dimension, the cube when it crosses dimensions or filters on another one. Its cost depends on the
period's months and the number of distinct dimension values, never on the number of tickets.

The standard views - :func:`overview`, :func:`events`, :func:`efficiency`, :func:`integration` -
are fixed queries; department roles get them scoped to their department.

A grassroots office's figures count under its department (:class:`Rollup`): a department's row,
filter and scope include its offices, and a row grouped by department lists its offices' shares
(``offices``) for the page to expand; an office's own staff still see the office alone.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from chalicelib.analytics import counters, measures
from chalicelib.analytics.measures import (
    ALL_NAMES,
    CATEGORY_LEVELS,
    CUBE_DIMENSIONS,
    NONE,
    RESPONDENT_MEASURES,
    TIME_DIMENSIONS,
    dimension_label,
    label,
    unit,
    value_of,
)
from chalicelib.analytics.period import Period
from chalicelib.domain.errors import Forbidden, ValidationFailed
from chalicelib.services import policy
from chalicelib.store import directory

MAX_DIMENSIONS = 2
MAX_MEASURES = 30
MAX_FILTER_VALUES = 50
MAX_ROWS = 2000
RESPONDENT_EXACT_DAYS = 62  # longer periods use the year top lists (whole months)

OVERVIEW_MEASURES = ("received", "accepted", "declined", "answered", "dispatched", "signed", "submitted", "closed",
                     "completed", "warned_yellow", "warned_red", "urged", "supervised", "feedback")
OVERVIEW_RATES = ("accept_rate", "sign_rate", "handle_rate", "closed_on_time_rate", "satisfaction_rate", "solved_rate",
                  "return_rate", "extension_rate", "avg_handle_hours", "avg_total_hours")
EVENT_MEASURES = ("received", "accepted", "declined", "answered", "repeat_merged", "closed", "satisfaction_rate")
EVENT_DIMENSIONS = ("channel", "kind", "category", *CATEGORY_LEVELS, "district", "department", "respondent")
EFFICIENCY_MEASURES = ("dispatched", "signed", "sign_rate", "submitted", "handle_rate", "returned", "return_rate",
                       "extended", "extension_rate", "warned_yellow", "warned_red", "urged", "urged_upper",
                       "urging_answered", "supervised", "settled", "not_settled", "terminated",
                       "mediation_success_rate", "satisfaction_rate", "solved_rate", "avg_sign_hours",
                       "avg_handle_hours")
EFFICIENCY_DIMENSIONS = ("department", "district")
INTEGRATION_MEASURES = ("returned_upward", "reported_upward", "sent_down", "lower_results", "urged_upper",
                        "data_report_on_time", "data_report_late")


@dataclass(frozen=True)
class Query:
    """A statistics question: group by ``dimensions``, show ``measures`` (and rates), for a period."""

    period: Period
    measures: tuple[str, ...]
    dimensions: tuple[str, ...] = ()
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    top: int | None = None

    @classmethod
    def build(cls, period: Period, spec: dict[str, Any]) -> "Query":
        """A query from a template's or request's spec; ValidationFailed names what is wrong."""
        dims = tuple(spec.get("dimensions") or ())
        names = tuple(spec.get("measures") or ())
        filters_in = spec.get("filters") or {}
        errors: dict[str, str] = {}
        if len(dims) > MAX_DIMENSIONS or len(set(dims)) != len(dims) \
                or any(d not in measures.DIMENSIONS for d in dims):
            errors["dimensions"] = f"up to {MAX_DIMENSIONS} of: {', '.join(measures.DIMENSIONS)}"
        if len([d for d in dims if d in TIME_DIMENSIONS]) > 1:
            errors["dimensions"] = "at most one of day, month"
        if not names or len(names) > MAX_MEASURES or any(n not in ALL_NAMES for n in names):
            errors["measures"] = f"1 to {MAX_MEASURES} known measures or rates"
        filters: dict[str, tuple[str, ...]] = {}
        if not isinstance(filters_in, dict):
            errors["filters"] = "an object: dimension -> list of values"
        else:
            for dim, values in filters_in.items():
                if dim not in (*CUBE_DIMENSIONS, *CATEGORY_LEVELS, "agent", "respondent"):
                    errors[f"filters.{dim}"] = "not a filterable dimension"
                elif not isinstance(values, list) or not values or len(values) > MAX_FILTER_VALUES \
                        or not all(isinstance(v, str) and 0 < len(v) <= 100 for v in values):
                    errors[f"filters.{dim}"] = f"a list of 1 to {MAX_FILTER_VALUES} values"
                else:
                    filters[dim] = tuple(dict.fromkeys(values))
        top = spec.get("top")
        if top is not None and (not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= MAX_ROWS):
            errors["top"] = f"an integer from 1 to {MAX_ROWS}"
        if errors:
            raise ValidationFailed("invalid statistics query", details=errors)
        return cls(period=period, measures=names, dimensions=dims, filters=filters, top=top)

    def scoped(self, department: str | None) -> "Query":
        """The query restricted to one department (department roles see only their own)."""
        if department is None:
            return self
        asked = self.filters.get("department")
        if asked is not None and not set(asked) <= department_family(department):
            raise Forbidden("a department sees only its own figures", details={"department": department})
        if any(d in ("agent", "respondent") for d in (*self.dimensions, *self.filters)):
            raise Forbidden("this breakdown is for the centre only", details={"dimensions": "agent/respondent"})
        return Query(self.period, self.measures, self.dimensions,
                     {**self.filters, "department": asked or (department,)}, self.top)


def department_family(department: str) -> set[str]:
    """A department and its grassroots offices: what its staff may see figures of."""
    return {department, *policy.offices_of(department)}


class Rollup:
    """Grassroots offices counted under their department (the directory says whose they are).

    An office's value is shown as its department's when no department filter is set or the filter
    names that department; a filter naming the office itself keeps it apart (an office's own view).
    """

    def __init__(self, department_filter: tuple[str, ...] | None) -> None:
        self.parents = policy.office_departments()
        self.filter = department_filter

    def department(self, value: str) -> str:
        """The department ``value``'s figures count under."""
        parent = self.parents.get(value)
        if parent is not None and (self.filter is None or parent in self.filter):
            return parent
        return value

    def allows(self, value: str) -> bool:
        """Whether the filter takes ``value`` (a department named takes its offices)."""
        return self.filter is None or value in self.filter or self.parents.get(value) in self.filter

    def wanted(self) -> tuple[str, ...] | None:
        """The counter values to read for the filter: the departments named and their offices."""
        if self.filter is None:
            return None
        return (*self.filter, *sorted(o for o, p in self.parents.items() if p in self.filter and o not in self.filter))


def _names(kind: str) -> dict[str, str]:
    return {e.get("code"): e.get("name") for e in directory.list_entries(kind) if e.get("code")}


class Labels:
    """Display names of dimension values (departments and districts from the directory)."""

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, str]] = {}

    def of(self, dimension: str, value: str) -> str:
        if value != NONE and dimension in ("department", "district"):
            kind = directory.DEPARTMENTS if dimension == "department" else directory.DISTRICTS
            if kind not in self._cache:
                self._cache[kind] = _names(kind)
                if dimension == "department":  # grassroots offices share the departments' codes
                    self._cache[kind] = {**_names(directory.OFFICES), **self._cache[kind]}
            return self._cache[kind].get(value, value)
        if dimension == "category" and value != NONE:  # a code of the tree by its path; old free text as written
            from chalicelib.services import categories

            return categories.tree().label(value)
        if dimension in CATEGORY_LEVELS:  # an ancestor's code by its path; '-' is 未分类
            from chalicelib.domain.categories import UNCLASSIFIED_LABEL
            from chalicelib.services import categories

            return UNCLASSIFIED_LABEL if value == NONE else " / ".join(categories.tree().path(value)) or value
        return dimension_label(dimension, value)


def _row_key(dims: tuple[str, ...], values: dict[str, str], day: str) -> tuple[str, ...]:
    out = []
    for d in dims:
        if d == "day":
            out.append(day)
        elif d == "month":
            out.append(day[:7])
        else:
            out.append(values.get(d, NONE))
    return tuple(out)


def _source(q: Query) -> str:
    """Which counters answer the query: ``total``, a marginal dimension, ``cube`` or ``respondent``."""
    plain = {"category" if d in CATEGORY_LEVELS else d for d in (*q.dimensions, *q.filters) if d not in TIME_DIMENSIONS}
    for special in ("agent", "respondent"):
        if special in plain:
            if plain != {special}:
                raise ValidationFailed(f"{special} cannot be combined with other dimensions or filters",
                                       details={"dimensions": f"{special} alone"})
            return special
    if not plain:
        return "total"
    if len(plain) == 1:
        return next(iter(plain))
    return "cube"


OfficeRows = dict[tuple[str, ...], dict[str, Counter]]  # row key -> office -> its share of the row


class CategoryLevels:
    """The category levels a query groups or filters by (``category_l1`` 领域, ``category_l2`` 事项,
    ``category_l3`` 具体问题), derived from each counter's stored ``category``: a code of the tree
    counts under its ancestor at that level, old free text under the one active entry of its name,
    anything else (and a category above that level) under 未分类 ``-``."""

    def __init__(self, q: Query) -> None:
        self.levels = {d: CATEGORY_LEVELS[d] for d in (*q.dimensions, *q.filters) if d in CATEGORY_LEVELS}
        self.filters = {d: set(v) for d, v in q.filters.items() if d in CATEGORY_LEVELS}
        self._tree: Any = None
        self._memo: dict[str, dict[str, str]] = {}

    def derive(self, values: dict[str, str]) -> dict[str, str] | None:
        """``values`` with the levels added; None when a level filter leaves them out."""
        if not self.levels:
            return values
        raw = values.get("category", NONE)
        derived = self._memo.get(raw)
        if derived is None:
            if self._tree is None:
                from chalicelib.services import categories

                self._tree = categories.tree()
            derived = {d: self._tree.at_level(raw, n) for d, n in self.levels.items()}
            self._memo[raw] = derived
        if any(derived[d] not in allowed for d, allowed in self.filters.items()):
            return None
        return {**values, **derived}


def _grouped(q: Query, source: str, names: dict[str, str],
             offices: OfficeRows | None = None) -> dict[tuple[str, ...], Counter]:
    """Row key -> summed measures, from the chosen counters (respondent names go to ``names``;
    an office's share of a department's row goes to ``offices``)."""
    by_day = any(d in TIME_DIMENSIONS for d in q.dimensions)
    rows: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    shares: OfficeRows = offices if offices is not None else {}
    rollup = Rollup(q.filters.get("department"))
    levels = CategoryLevels(q)

    def add(values: dict[str, str], day: str, counts: Counter) -> None:
        derived = levels.derive(values)
        if derived is None:
            return
        values = derived
        raw = values.get("department")
        if raw is not None:
            values = {**values, "department": rollup.department(raw)}
        key = _row_key(q.dimensions, values, day)
        rows[key].update(counts)
        if raw is not None and raw != values["department"] and "department" in q.dimensions:
            shares.setdefault(key, defaultdict(Counter))[raw].update(counts)

    if source == "respondent":
        return _respondent_rows(q, names)
    if source == "cube":
        index = {d: i for i, d in enumerate(CUBE_DIMENSIONS)}
        for cell, day, counts in counters.cube(q.period, by_day=by_day):
            values = {d: cell[i] for d, i in index.items()}
            if rollup.allows(values["department"]) and \
                    all(values[d] in allowed for d, allowed in q.filters.items()
                        if d != "department" and d not in CATEGORY_LEVELS):
                add(values, day, counts)
        return rows
    dimension = "total" if source == "total" else source
    wanted = q.filters.get(source) if source != "total" else None
    if source == "department":
        wanted = rollup.wanted()
    for value, days in counters.read(dimension, q.period, values=wanted, by_day=by_day).items():
        for day, counts in days.items():
            add({source: value}, day, counts)
    return rows


def _respondent_rows(q: Query, names: dict[str, str]) -> dict[tuple[str, ...], Counter]:
    if not set(measures.needed(q.measures)) <= RESPONDENT_MEASURES:
        raise ValidationFailed("per respondent only these measures are kept",
                               details={"measures": ", ".join(sorted(RESPONDENT_MEASURES))})
    rows: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    wanted = q.filters.get("respondent")
    if q.period.days <= RESPONDENT_EXACT_DAYS:
        for month in q.period.months():
            for key, (name, per_day) in counters.respondents_month(month, q.period).items():
                if wanted is not None and key not in wanted:
                    continue
                for day, count in per_day.items():
                    rows[_row_key(q.dimensions, {"respondent": key}, day)]["received"] += count
                names[key] = name or key
        return rows
    if not all(q.period.covers_month(m) for m in q.period.months()) or "day" in q.dimensions:
        raise ValidationFailed("per respondent over more than 62 days: whole months, no daily breakdown",
                               details={"period": "whole months (e.g. 2026-Q1), or at most 62 days"})
    months = set(q.period.months())
    for year in range(q.period.start.year, q.period.end.year + 1):
        for entry in counters.top_respondents(year):
            if wanted is not None and entry["key"] not in wanted:
                continue
            names[entry["key"]] = entry.get("name") or entry["key"]
            for mm, count in entry["months"].items():
                month = f"{year:04d}-{mm}"
                if month in months:
                    rows[_row_key(q.dimensions, {"respondent": entry["key"]}, f"{month}-01")]["received"] += count
    return rows


def run(q: Query, *, labels: Labels | None = None) -> dict[str, Any]:
    """Answer a query: rows (sorted), each with keys, labels and values, plus the total row."""
    labels = labels or Labels()
    source = _source(q)
    respondent_names: dict[str, str] = {}
    office_shares: OfficeRows = {}
    grouped = _grouped(q, source, respondent_names, office_shares)
    total: Counter = Counter()
    for counts in grouped.values():
        total.update(counts)
    time_dim = next((d for d in q.dimensions if d in TIME_DIMENSIONS), None)
    if time_dim and len(q.dimensions) == 1:  # a time series: every day (month) of the period, zeros included
        for day in q.period.each_day():
            grouped.setdefault((day.isoformat() if time_dim == "day" else day.isoformat()[:7],), Counter())
    rows = []
    for key, counts in grouped.items():
        keys = dict(zip(q.dimensions, key))
        row: dict[str, Any] = {
            "keys": keys,
            "labels": {d: (respondent_names.get(v, v) if d == "respondent" else labels.of(d, v))
                       for d, v in keys.items()},
            "values": {name: value_of(name, counts) for name in q.measures},
        }
        if key in office_shares:  # the department's grassroots offices, for the row's drill-down
            row["offices"] = sorted(
                ({"key": office, "label": labels.of("department", office),
                  "values": {name: value_of(name, share) for name in q.measures}}
                 for office, share in office_shares[key].items()),
                key=lambda o: (-(o["values"][q.measures[0]] or 0), o["key"]))
        rows.append(row)
    if not (time_dim and len(q.dimensions) == 1):  # a breakdown shows the values that have something
        rows = [r for r in rows if any(v not in (0, None) for v in r["values"].values())]
    first = q.measures[0]
    if time_dim and len(q.dimensions) == 1:
        rows.sort(key=lambda r: r["keys"][time_dim])
    else:
        rows.sort(key=lambda r: (-(r["values"][first] or 0), tuple(r["keys"].values())))
    truncated = len(rows) > (q.top or MAX_ROWS)
    rows = rows[:q.top or MAX_ROWS]
    return {
        "period": q.period.to_dict(),
        "dimensions": [{"name": d, "label": measures.DIMENSION_LABELS[d]} for d in q.dimensions],
        "measures": [{"name": n, "label": label(n), "unit": unit(n), "drillable": n in measures.COUNT_MEASURES}
                     for n in q.measures],
        "filters": {d: list(v) for d, v in q.filters.items()},
        "rows": rows,
        "total": {name: value_of(name, total) for name in q.measures},
        "truncated": truncated,
        "source": source,
    }


def sums(period: Period, department: str | None = None) -> Counter:
    """Every measure summed over the period (for the city, or one department)."""
    if department is None:
        return counters.totals("total", period).get(counters.TOTAL, Counter())
    values = Rollup((department,)).wanted() or (department,)
    found = counters.totals("department", period, values=values)
    total: Counter = Counter()
    for value in values:  # the department's own figures and its grassroots offices'
        total.update(found.get(value, Counter()))
    return total


def _change(now: float | int | None, before: float | int | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return round((now - before) * 100.0 / before, 1)


def overview(period: Period, department: str | None = None) -> dict[str, Any]:
    """Totals, handling, warnings and staff, with the change against the previous period and last year."""
    current, previous, last_year = sums(period, department), sums(period.previous(), department), \
        sums(period.year_before(), department)
    figures = []
    for name in (*OVERVIEW_MEASURES, *OVERVIEW_RATES):
        value = value_of(name, current)
        figures.append({"name": name, "label": label(name), "unit": unit(name), "value": value,
                        "previous": value_of(name, previous), "last_year": value_of(name, last_year),
                        "change_pct": _change(value, value_of(name, previous)),
                        "yoy_pct": _change(value, value_of(name, last_year))})
    daily = run(Query(period, ("received", "closed", "warned_red"), ("day",),
                      {"department": (department,)} if department else {}))
    answer: dict[str, Any] = {"period": period.to_dict(), "department": department, "figures": figures,
                              "daily": [{"day": r["keys"]["day"], **r["values"]} for r in daily["rows"]]}
    if department is None:
        staff = counters.totals("agent", period)
        answer["staff"] = {"active": len(staff), "label": "在岗经办人数"}
    return answer


def events(period: Period, by: str, department: str | None = None, top: int | None = None) -> dict[str, Any]:
    """Event analysis: tickets by source, kind, category, district, department or respondent."""
    if by not in EVENT_DIMENSIONS:
        raise ValidationFailed("invalid breakdown", details={"by": "one of " + ", ".join(EVENT_DIMENSIONS)})
    names = ("received",) if by == "respondent" else EVENT_MEASURES
    return run(Query(period, names, (by,), top=top or (20 if by == "respondent" else None)).scoped(department))


def efficiency(period: Period, by: str, department: str | None = None) -> dict[str, Any]:
    """Efficiency: timeliness, returns, extensions, warnings, urgings, supervision, mediation results."""
    if by not in EFFICIENCY_DIMENSIONS:
        raise ValidationFailed("invalid breakdown", details={"by": "one of " + ", ".join(EFFICIENCY_DIMENSIONS)})
    return run(Query(period, EFFICIENCY_MEASURES, (by,)).scoped(department))


def integration(period: Period, department: str | None = None) -> dict[str, Any]:
    """Upper and lower platforms: received from above, reported up, sent down, and how the loops close."""
    by_channel = run(Query(period, ("received",), ("channel",)).scoped(department))
    received = {r["keys"]["channel"]: r["values"]["received"] for r in by_channel["rows"]}
    totals_now = sums(period, department)
    figures = {name: int(totals_now.get(name, 0)) for name in INTEGRATION_MEASURES}
    from_upper = int(received.get("upper_level", 0))
    upward_closed = figures["reported_upward"] + figures["returned_upward"]
    return {
        "period": period.to_dict(),
        "department": department,
        "received": {"upper_level": from_upper, "hotline_12345": int(received.get("hotline_12345", 0))},
        "figures": [{"name": n, "label": label(n), "value": v} for n, v in figures.items()],
        "reconciliation": [
            {"name": "upper", "label": "上级交办闭环", "in": from_upper, "out": upward_closed,
             "open": from_upper - upward_closed},
            {"name": "lower", "label": "下派下级平台闭环", "in": figures["sent_down"],
             "out": figures["lower_results"], "open": figures["sent_down"] - figures["lower_results"]},
        ],
        "labels": {"upper_level": "上级交办", "hotline_12345": "12345热线转办"},
    }
