"""Reporting periods: a month, a quarter, a year, or any range of days (Asia/Shanghai dates).

Spellings accepted everywhere (API bodies, query strings, templates, schedules):
``"2026-03"`` (month), ``"2026-Q1"`` (quarter), ``"2026"`` (year), ``"2026-03-01..2026-03-15"``
or ``{"from": "2026-03-01", "to": "2026-03-15"}`` (range, both ends included), and the relative
names of :data:`RELATIVE` ("last_month", "this_month", "last_7_days"...).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import ValidationFailed

MAX_DAYS = 3 * 366  # statistics over at most three years in one request

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")

RELATIVE = ("today", "last_7_days", "last_30_days", "this_month", "last_month", "this_quarter",
            "last_quarter", "this_year", "last_year")


@dataclass(frozen=True)
class Period:
    """A closed range of days with a kind (month, quarter, year, range) and a label."""

    start: date
    end: date
    kind: str = "range"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValidationFailed("the period ends before it starts", details={"period": "to before from"})
        if (self.end - self.start).days + 1 > MAX_DAYS:
            raise ValidationFailed("the period is too long", details={"period": f"at most {MAX_DAYS} days"})

    @property
    def label(self) -> str:
        """The canonical spelling (``2026-03``, ``2026-Q1``, ``2026`` or ``a..b``)."""
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return str(self.start.year)
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def title(self) -> str:
        """The period as a reader sees it (Chinese)."""
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月"
        if self.kind == "quarter":
            return f"{self.start.year}年第{(self.start.month - 1) // 3 + 1}季度"
        if self.kind == "year":
            return f"{self.start.year}年"
        return f"{self.start.year}年{self.start.month}月{self.start.day}日至{self.end.year}年{self.end.month}月{self.end.day}日"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def each_day(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]

    def months(self) -> list[str]:
        """``yyyy-mm`` of every month the period touches, in order."""
        out: list[str] = []
        y, m = self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    def days_of(self, month: str) -> frozenset[str]:
        """Two-digit days of ``month`` (``yyyy-mm``) inside the period."""
        y, m = int(month[:4]), int(month[5:7])
        first = date(y, m, 1)
        nxt = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
        lo, hi = max(first, self.start), min(nxt - timedelta(days=1), self.end)
        return frozenset(f"{d:%d}" for d in (lo + timedelta(days=n) for n in range((hi - lo).days + 1))) \
            if lo <= hi else frozenset()

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def covers_month(self, month: str) -> bool:
        """Every day of ``month`` (``yyyy-mm``) is inside the period."""
        whole = month_period(int(month[:4]), int(month[5:7]))
        return self.start <= whole.start and whole.end <= self.end

    def previous(self) -> "Period":
        """The period just before, of the same kind and length (环比)."""
        if self.kind == "month":
            return month_period(*_shift_month(self.start.year, self.start.month, -1))
        if self.kind == "quarter":
            y, m = _shift_month(self.start.year, self.start.month, -3)
            return quarter_period(y, (m - 1) // 3 + 1)
        if self.kind == "year":
            return year_period(self.start.year - 1)
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def year_before(self) -> "Period":
        """The same period one year earlier (同比)."""
        if self.kind == "month":
            return month_period(self.start.year - 1, self.start.month)
        if self.kind == "quarter":
            return quarter_period(self.start.year - 1, (self.start.month - 1) // 3 + 1)
        if self.kind == "year":
            return year_period(self.start.year - 1)
        return Period(_same_day_last_year(self.start), _same_day_last_year(self.end))

    def to_dict(self) -> dict[str, str]:
        return {"label": self.label, "kind": self.kind, "from": self.start.isoformat(), "to": self.end.isoformat(),
                "title": self.title}


def _shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _same_day_last_year(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def month_period(year: int, month: int) -> Period:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return Period(date(year, month, 1), nxt - timedelta(days=1), "month")


def quarter_period(year: int, quarter: int) -> Period:
    first = date(year, 3 * (quarter - 1) + 1, 1)
    last_month = 3 * quarter
    nxt = date(year + 1, 1, 1) if last_month == 12 else date(year, last_month + 1, 1)
    return Period(first, nxt - timedelta(days=1), "quarter")


def year_period(year: int) -> Period:
    return Period(date(year, 1, 1), date(year, 12, 31), "year")


def _day(value: Any, name: str) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationFailed(f"{name} is not a date", details={name: "YYYY-MM-DD"})


def today(now: datetime | None = None) -> date:
    return (now or datetime.now(TZ)).astimezone(TZ).date()


def relative(name: str, now: datetime | None = None) -> Period:
    """A period named relative to today (Asia/Shanghai)."""
    d = today(now)
    if name == "today":
        return Period(d, d)
    if name == "last_7_days":
        return Period(d - timedelta(days=6), d)
    if name == "last_30_days":
        return Period(d - timedelta(days=29), d)
    if name == "this_month":
        return Period(d.replace(day=1), d)
    if name == "last_month":
        return month_period(*_shift_month(d.year, d.month, -1))
    quarter = (d.month - 1) // 3 + 1
    if name == "this_quarter":
        return Period(date(d.year, 3 * (quarter - 1) + 1, 1), d)
    if name == "last_quarter":
        y, m = _shift_month(d.year, 3 * (quarter - 1) + 1, -3)
        return quarter_period(y, (m - 1) // 3 + 1)
    if name == "this_year":
        return Period(date(d.year, 1, 1), d)
    if name == "last_year":
        return year_period(d.year - 1)
    raise ValidationFailed("unknown relative period", details={"period": "one of " + ", ".join(RELATIVE)})


def parse(spec: Any, *, now: datetime | None = None) -> Period:
    """A period from any accepted spelling; ValidationFailed names what is wrong."""
    if isinstance(spec, dict):
        unknown = set(spec) - {"from", "to", "relative"}
        if unknown:
            raise ValidationFailed("unknown period fields", details={f"period.{k}": "unknown field" for k in unknown})
        if "relative" in spec:
            return relative(str(spec["relative"]), now)
        return Period(_day(spec.get("from"), "period.from"), _day(spec.get("to"), "period.to"))
    if not isinstance(spec, str) or len(spec) > 40:
        raise ValidationFailed("invalid period", details={"period": "e.g. 2026-03, 2026-Q1, 2026 or a..b"})
    spec = spec.strip()
    if spec in RELATIVE:
        return relative(spec, now)
    if m := _MONTH.match(spec):
        return month_period(int(m.group(1)), int(m.group(2)))
    if m := _QUARTER.match(spec):
        return quarter_period(int(m.group(1)), int(m.group(2)))
    if m := _YEAR.match(spec):
        if not 2000 <= int(m.group(1)) <= 2199:
            raise ValidationFailed("invalid period", details={"period": "a year between 2000 and 2199"})
        return year_period(int(m.group(1)))
    if m := _RANGE.match(spec):
        return Period(_day(m.group(1), "period.from"), _day(m.group(2), "period.to"))
    raise ValidationFailed("invalid period", details={"period": "e.g. 2026-03, 2026-Q1, 2026 or a..b"})


def from_query(query: dict[str, str], *, default: str = "this_month", now: datetime | None = None) -> Period:
    """A period from ``?period=`` or ``?from=&to=`` query parameters (default: this month so far)."""
    if query.get("period"):
        return parse(query["period"], now=now)
    if query.get("from") or query.get("to"):
        d = today(now)
        start = _day(query.get("from"), "from") if query.get("from") else d.replace(day=1)
        end = _day(query.get("to"), "to") if query.get("to") else d
        return Period(start, end)
    return parse(default, now=now)
