"""The working-day calendar: when a time limit (时限) falls due (docs/domain.md "Time limits", "Code map").

Rules (DOMAIN.md "Time limits", SAMR Order No. 121 Art. 45):

* the start day is not counted: counting begins the next day;
* working days follow the State Council holiday schedule, make-up working weekends (调休)
  included, as published in the ``chinesecalendar`` package; admin overrides win over it;
* a date outside the years the package publishes is never an error: weekends and the
  fixed-date statutory holidays are days off, and the answer is marked *provisional*;
* a natural-day period whose last day is a day off ends on the next working day;
* a day-based clock is due at the end of its last day (23:59:59 Asia/Shanghai);
* hour and second clocks count real time.

Everything here is pure and deterministic; per-date answers are cached because the
calendar sits on hot paths (every queue item shows its deadline).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants as _cc_constants

from chalicelib.domain.errors import ValidationFailed

TZ: ZoneInfo = ZoneInfo("Asia/Shanghai")

# The last second of a day: a day-based clock is due at this time of its last day.
END_OF_DAY = time(23, 59, 59)

# Fixed-date statutory holidays (全国年节及纪念日放假办法, 2024 revision) used for years the
# package does not publish: 元旦 1/1, 劳动节 5/1-5/2, 国庆 10/1-10/3. The lunar holidays and
# 清明 cannot be placed without the official schedule, hence "provisional".
FIXED_DATE_HOLIDAYS: frozenset[tuple[int, int]] = frozenset(
    {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}
)

# Upper bound of any clock, in days; keeps arithmetic inside datetime's range and loops short.
MAX_CLOCK_DAYS = 3660


class ClockUnit(StrEnum):
    """The unit a clock's length is expressed in."""

    WORKING_DAYS = "working_days"
    NATURAL_DAYS = "natural_days"
    HOURS = "hours"
    SECONDS = "seconds"  # for test SLA profiles whose clocks are seconds long


# Largest amount accepted per unit (all about ten years).
MAX_AMOUNT: Mapping[ClockUnit, int] = MappingProxyType(
    {
        ClockUnit.WORKING_DAYS: MAX_CLOCK_DAYS,
        ClockUnit.NATURAL_DAYS: MAX_CLOCK_DAYS,
        ClockUnit.HOURS: MAX_CLOCK_DAYS * 24,
        ClockUnit.SECONDS: MAX_CLOCK_DAYS * 86_400,
    }
)


@dataclass(frozen=True)
class Deadline:
    """When a clock falls due, and whether that rests on a guessed (unpublished) schedule."""

    due: datetime  # timezone-aware, Asia/Shanghai
    provisional: bool  # True when any day counted lies beyond chinesecalendar's published years


def _published_years() -> tuple[int, int]:
    """The first and last year chinesecalendar has an official schedule for.

    Derived the same way the package validates its input (the span of its holiday table),
    so upgrading the package extends the range without touching this code.
    """
    years = [d.year for d in _cc_constants.holidays] + [d.year for d in _cc_constants.workdays]
    return min(years), max(years)


PUBLISHED_YEARS: tuple[int, int] = _published_years()


def published_years() -> tuple[int, int]:
    """Return ``(first, last)``: the years whose schedule chinesecalendar publishes."""
    return PUBLISHED_YEARS


def is_published(d: date) -> bool:
    """True when ``d`` lies in a year chinesecalendar carries the official schedule for."""
    return PUBLISHED_YEARS[0] <= d.year <= PUBLISHED_YEARS[1]


@lru_cache(maxsize=16_384)
def _base_is_working_day(d: date) -> bool:
    """Working-day answer without admin overrides (cached: the hot path)."""
    if is_published(d):
        return bool(chinese_calendar.is_workday(d))
    return d.weekday() < 5 and (d.month, d.day) not in FIXED_DATE_HOLIDAYS


def ensure_aware(value: object, field: str = "at") -> datetime:
    """Return ``value`` converted to Asia/Shanghai; reject anything but an aware datetime.

    Naive datetimes are ambiguous (whose midnight?), so they are refused rather than guessed.
    ``field`` names the offending input in the error's details.
    """
    if not isinstance(value, datetime):
        raise ValidationFailed(
            f"{field} must be a datetime", details={field: "must be a timezone-aware datetime"}
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationFailed(
            f"{field} must be timezone-aware",
            details={field: "naive datetime: give a UTC offset, e.g. +08:00"},
        )
    try:
        return value.astimezone(TZ)
    except OverflowError as exc:
        raise ValidationFailed(f"{field} is out of range", details={field: "out of range"}) from exc


def end_of_day(d: date) -> datetime:
    """23:59:59 Asia/Shanghai on ``d``: the moment a day-based clock ending on ``d`` falls due."""
    return datetime.combine(d, END_OF_DAY, tzinfo=TZ)


def _check_amount(amount: object, unit: ClockUnit) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ValidationFailed("amount must be an integer", details={"amount": "must be an integer"})
    if amount < 0:
        raise ValidationFailed("amount must not be negative", details={"amount": "must be >= 0"})
    limit = MAX_AMOUNT[unit]
    if amount > limit:
        raise ValidationFailed(
            f"amount exceeds {limit} {unit.value}", details={"amount": f"must be <= {limit}"}
        )
    return amount


def parse_unit(unit: ClockUnit | str) -> ClockUnit:
    """Return ``unit`` as a :class:`ClockUnit`; ValidationFailed for an unknown name."""
    try:
        return ClockUnit(unit)
    except ValueError as exc:
        allowed = ", ".join(u.value for u in ClockUnit)
        raise ValidationFailed(
            f"unknown clock unit {unit!r}", details={"unit": f"must be one of: {allowed}"}
        ) from exc


def _coerce_override_key(key: object) -> date:
    if isinstance(key, datetime):
        return key.date()
    if isinstance(key, date):
        return key
    if isinstance(key, str):
        try:
            return date.fromisoformat(key)
        except ValueError:
            pass
    raise ValidationFailed(
        "calendar override keys must be dates", details={"overrides": f"bad date {key!r}"}
    )


class WorkingCalendar:
    """Answers "is this a working day?" and computes deadlines under Art. 45.

    ``overrides`` maps a date to whether it is a working day, as set by an admin (for
    example a local typhoon closure, or next year's schedule published before the package
    caught up); an override always wins over the package and the fallback rule.
    """

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        cleaned: dict[date, bool] = {}
        for key, value in (overrides or {}).items():
            d = _coerce_override_key(key)
            if not isinstance(value, bool):
                raise ValidationFailed(
                    "calendar override values must be booleans",
                    details={"overrides": f"{d.isoformat()}: expected true/false, got {value!r}"},
                )
            cleaned[d] = value
        self._overrides: Mapping[date, bool] = MappingProxyType(cleaned)

    @property
    def overrides(self) -> Mapping[date, bool]:
        """The admin overrides in force (read-only)."""
        return self._overrides

    def __repr__(self) -> str:
        return f"WorkingCalendar(overrides={len(self._overrides)} days)"

    # -- per-day answers ------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """True when people work on ``d``: override, else the official schedule, else fallback."""
        d = _as_date(d)
        override = self._overrides.get(d)
        if override is not None:
            return override
        return _base_is_working_day(d)

    def is_provisional(self, d: date) -> bool:
        """True when ``d``'s status is a guess: its year is outside the package's published range.

        An admin override for a single day does not make the rest of its year official, so
        provisional-ness is decided by the year alone.
        """
        return not is_published(_as_date(d))

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        d = _next_day(_as_date(d))
        while not self.is_working_day(d):
            d = _next_day(d)
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in the half-open span (start, end]; 0 when ``end <= start``.

        The start day is excluded, as Art. 45 excludes it: this is the number of working
        days a day clock started on ``start`` has consumed by the end of ``end``.
        """
        start, end = _as_date(start), _as_date(end)
        count = 0
        d = start
        while d < end:
            d = d + timedelta(days=1)
            if self.is_working_day(d):
                count += 1
        return count

    # -- deadlines ------------------------------------------------------------------------

    def deadline(self, start: datetime, amount: int, unit: ClockUnit | str) -> Deadline:
        """When a clock of ``amount`` ``unit`` started at ``start`` falls due.

        A zero amount is allowed: a day clock is then due at the end of the start day, an
        hour/second clock at ``start`` itself. Negative amounts are ValidationFailed.
        """
        unit = parse_unit(unit)
        start = ensure_aware(start, "start")
        amount = _check_amount(amount, unit)
        if unit is ClockUnit.WORKING_DAYS:
            return self.add_working_days(start, amount)
        if unit is ClockUnit.NATURAL_DAYS:
            return self.add_natural_days(start, amount)
        delta = timedelta(hours=amount) if unit is ClockUnit.HOURS else timedelta(seconds=amount)
        try:
            due = (start.astimezone(timezone.utc) + delta).astimezone(TZ)
        except OverflowError as exc:
            raise ValidationFailed("deadline out of range", details={"start": "too late"}) from exc
        return Deadline(due=due, provisional=False)

    def add_working_days(self, start: datetime, n: int) -> Deadline:
        """End of the ``n``-th working day after ``start``'s day (the start day not counted)."""
        start = ensure_aware(start, "start")
        n = _check_amount(n, ClockUnit.WORKING_DAYS)
        d = start.date()
        if n == 0:
            # Nothing counted; due at the end of the start day (never before the start itself).
            return Deadline(due=max(end_of_day(d), start), provisional=False)
        provisional = False
        remaining = n
        while remaining > 0:
            d = _next_day(d)
            provisional = provisional or self.is_provisional(d)
            if self.is_working_day(d):
                remaining -= 1
        return Deadline(due=end_of_day(d), provisional=provisional)

    def add_natural_days(self, start: datetime, n: int) -> Deadline:
        """End of the ``n``-th calendar day after ``start``'s day, moved to the next working
        day when that last day is a day off (weekend or holiday)."""
        start = ensure_aware(start, "start")
        n = _check_amount(n, ClockUnit.NATURAL_DAYS)
        d = start.date()
        if n == 0:
            return Deadline(due=max(end_of_day(d), start), provisional=False)
        d = _add_days(d, n)
        provisional = self.is_provisional(d)
        while not self.is_working_day(d):
            d = _next_day(d)
            provisional = provisional or self.is_provisional(d)
        return Deadline(due=end_of_day(d), provisional=provisional)


def _as_date(value: date) -> date:
    """A date as-is; an aware datetime as its Asia/Shanghai date; a naive one as its date."""
    if isinstance(value, datetime):
        return value.astimezone(TZ).date() if value.tzinfo is not None else value.date()
    return value


def _add_days(d: date, n: int) -> date:
    try:
        return d + timedelta(days=n)
    except OverflowError as exc:
        raise ValidationFailed("deadline out of range", details={"start": "too late"}) from exc


def _next_day(d: date) -> date:
    return _add_days(d, 1)
