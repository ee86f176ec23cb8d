"""EventBridge schedule expressions (``rate(...)`` and ``cron(...)``), evaluated locally.

AWS evaluates cron expressions in UTC; so does this module. Supported cron syntax: the six
EventBridge fields (minutes hours day-of-month month day-of-week year) with ``*``, ``?``, lists,
ranges and ``/`` steps, and day-of-week names or numbers (1 = SUN as in EventBridge).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

_RATE_RE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_DOW = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MON = {m: i + 1 for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])}


def _field(spec: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """The set of values a cron field allows; None for ``*``/``?`` (any)."""
    if spec in ("*", "?"):
        return None
    values: set[int] = set()
    for part in spec.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(part, names)
            end = start if step == 1 else high
        values.update(range(start, end + 1, step))
    return values


def _value(text: str, names: dict[str, int] | None) -> int:
    text = text.strip().upper()
    if names and text in names:
        return names[text]
    return int(text)


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule expression that can say when it next fires."""

    expression: str

    def next_after(self, moment: datetime) -> datetime:
        """The first firing time strictly after ``moment`` (aware, UTC)."""
        moment = moment.astimezone(timezone.utc)
        rate = _RATE_RE.match(self.expression)
        if rate:
            amount, unit = int(rate.group(1)), rate.group(2).rstrip("s")
            seconds = amount * {"minute": 60, "hour": 3600, "day": 86400}[unit]
            epoch = int(moment.timestamp())
            return datetime.fromtimestamp((epoch // seconds + 1) * seconds, tz=timezone.utc)
        if not (self.expression.startswith("cron(") and self.expression.endswith(")")):
            raise ValueError(f"unsupported schedule expression: {self.expression}")
        fields = self.expression[5:-1].split()
        if len(fields) != 6:
            raise ValueError(f"a cron expression has six fields: {self.expression}")
        minutes = _field(fields[0], 0, 59)
        hours = _field(fields[1], 0, 23)
        days = _field(fields[2], 1, 31)
        months = _field(fields[3], 1, 12, _MON)
        weekdays = _field(fields[4], 1, 7, _DOW)
        years = _field(fields[5], 1970, 2199)
        candidate = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(60 * 24 * 366 * 2):  # bounded: two years of minutes
            eb_weekday = candidate.isoweekday() % 7 + 1  # Mon=2 .. Sun=1
            if ((months is None or candidate.month in months) and (days is None or candidate.day in days)
                    and (weekdays is None or eb_weekday in weekdays) and (years is None or candidate.year in years)
                    and (hours is None or candidate.hour in hours) and (minutes is None or candidate.minute in minutes)):
                return candidate
            candidate += timedelta(minutes=1)
        raise ValueError(f"schedule never fires within two years: {self.expression}")
