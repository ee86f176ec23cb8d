"""Clocks (时限): the SLA rules managers configure and the running state of each clock
(docs/domain.md "Time limits", "Code map"; what they ask for now is in ``deadlines.py``).

A clock has a rule (length, unit, yellow threshold, owner, whether it may pause) and a
state (when it started, when it is due, when it turns yellow, whether it is paused or
stopped, the highest warning already recorded). Every function here is pure: it takes a
state and returns a new one; the lifecycle records the events and the store saves them.

Yellow (黄牌) fires when ``yellow_ratio`` of the clock's real duration has elapsed, red
(红牌) once the due time has passed. A pause (中止, Art. 21/22) freezes the remaining
time; resuming counts that remainder afresh from the resume day (Art. 45: the resume day
itself is not counted). An approved extension (延期) moves the due time and the yellow
point with it.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, dataclass, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from chalicelib.domain.calendar import (
    MAX_AMOUNT,
    TZ,
    ClockUnit,
    Deadline,
    WorkingCalendar,
    ensure_aware,
)
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed


class ClockName(StrEnum):
    """Every time limit of DOMAIN.md's table."""

    ACCEPTANCE = "acceptance"  # 7 working days, receipt -> accept/decline/answer
    SIGN = "sign"  # 1 working day (urgent priority: 2 hours), dispatch -> sign
    HANDLING = "handling"  # 13 working days; inquiry 3; help_request 5; sign -> closure submitted
    MEDIATION = "mediation"  # 60 natural days, pausable; acceptance -> closure submitted
    TERMINATION_NOTICE = "termination_notice"  # 7 working days
    REPORT_VERIFICATION = "report_verification"  # 15 working days (+15 with approval)
    CLOSURE_REVIEW = "closure_review"  # 1 working day
    CALLBACK = "callback"  # 1 working day
    # Every step timed (issue 19): the centre's steps and the help request / suggestion as a whole.
    DISPATCH = "dispatch"  # 1 working day (urgent: 2 hours); acceptance (or an approved return) -> dispatch
    NON_ACCEPTANCE_REVIEW = "non_acceptance_review"  # 1 working day; upper-level decline -> review decision
    EXTENSION_DECISION = "extension_decision"  # 1 working day, per share; extension requested -> decided
    RETURN_DECISION = "return_decision"  # 1 working day, per share; return requested -> decided
    MATTER_HANDLING = "matter_handling"  # help request 7 / suggestion 15 working days; acceptance -> closure
    EVALUATION = "evaluation"  # 3 working days, closure approved (web) -> evaluated or called back
    ARCHIVE = "archive"  # 15 natural days, closed -> archived (by the daily archive job)
    REPLY = "reply"  # 1 working day, closure approved without a reply -> the citizen replied to (待答复)


def clock_key(clock: str, assignment_id: str | None = None) -> str:
    """Key of a clock in ``Ticket.clocks``: ``"acceptance"`` or ``"handling:A1"`` per assignment."""
    name = ClockName(clock).value
    return f"{name}:{assignment_id}" if assignment_id else name


def clock_name(key: str) -> str:
    """The clock name part of a clock key."""
    return key.split(":", 1)[0]


OWNERS: frozenset[str] = frozenset({"agent", "dispatcher", "department", "center"})
STATUSES: tuple[str, ...] = ("running", "paused", "stopped")
WARNING_LEVELS: tuple[str, ...] = ("none", "yellow", "red")  # in rising order
DEFAULT_YELLOW_RATIO = 0.8

_MICROSECOND = timedelta(microseconds=1)

# Statutory caps on the extensions a clock may be granted in total, in working days: report
# verification is 15 working days, extendable by at most 15 more with approval (Order 121 Art. 27).
EXTENSION_CAPS: dict[str, int] = {"report_verification": 15}
EXTENSION_CAP_BASIS: dict[str, str] = {"report_verification": "Order 121 Art. 27"}


# --- small parsing helpers (shared by from_dict / from_list) --------------------------------


def _is_int(value: Any) -> bool:
    """An integer, also when DynamoDB hands it back as an integral Decimal."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value()


def _level_rank(level: str) -> int:
    return WARNING_LEVELS.index(level)


def _check_level(level: Any, field_name: str = "warning") -> str:
    if level not in WARNING_LEVELS:
        raise ValidationFailed(
            f"unknown warning level {level!r}",
            details={field_name: f"must be one of: {', '.join(WARNING_LEVELS)}"},
        )
    return str(level)


def _fraction_of(span: timedelta, ratio: Fraction) -> timedelta:
    """``ratio`` of ``span``, exact to the microsecond (rounded down)."""
    micros = span // _MICROSECOND
    return timedelta(microseconds=math.floor(micros * ratio))


def _ratio_fraction(ratio: float) -> Fraction:
    # str() first so 0.8 becomes exactly 4/5 rather than its binary approximation.
    return Fraction(str(ratio))


# --- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockRule:
    """One configurable time limit: which clock, how long, when it turns yellow, for whom.

    ``kind``, ``category`` and ``priority`` select the tickets it applies to; ``None``
    means any. Invalid values raise ValidationFailed naming the field.
    """

    clock: ClockName
    amount: int
    unit: ClockUnit
    yellow_ratio: float = DEFAULT_YELLOW_RATIO  # yellow when this share of the real duration elapsed
    owner: str = "department"  # "agent" | "dispatcher" | "department" | "center"
    pausable: bool = False
    kind: str | None = None
    category: str | None = None
    priority: str | None = None
    supervise_after_working_days: int = 2  # still overdue this many working days after an urging

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        try:
            object.__setattr__(self, "clock", ClockName(self.clock))
        except ValueError:
            errors["clock"] = f"must be one of: {', '.join(c.value for c in ClockName)}"
        unit: ClockUnit | None = None
        try:
            unit = ClockUnit(self.unit)
            object.__setattr__(self, "unit", unit)
        except ValueError:
            errors["unit"] = f"must be one of: {', '.join(u.value for u in ClockUnit)}"
        if not _is_int(self.amount):
            errors["amount"] = "must be an integer"
        else:
            object.__setattr__(self, "amount", int(self.amount))
            if self.amount < 0:
                errors["amount"] = "must be >= 0"
            elif unit is not None and self.amount > MAX_AMOUNT[unit]:
                errors["amount"] = f"must be <= {MAX_AMOUNT[unit]}"
        ratio = self.yellow_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, (int, float, Decimal)):
            errors["yellow_ratio"] = "must be a number in (0, 1]"
        else:
            ratio = float(ratio)
            if not (0.0 < ratio <= 1.0):  # also rejects NaN
                errors["yellow_ratio"] = "must be a number in (0, 1]"
            else:
                object.__setattr__(self, "yellow_ratio", ratio)
        if not isinstance(self.owner, str) or self.owner not in OWNERS:
            errors["owner"] = f"must be one of: {', '.join(sorted(OWNERS))}"
        if not isinstance(self.pausable, bool):
            errors["pausable"] = "must be true or false"
        for name in ("kind", "category", "priority"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                errors[name] = "must be a non-empty string or null (any)"
        sawd = self.supervise_after_working_days
        if not _is_int(sawd) or int(sawd) < 0:
            errors["supervise_after_working_days"] = "must be an integer >= 0"
        else:
            object.__setattr__(self, "supervise_after_working_days", int(sawd))
        if errors:
            raise ValidationFailed("invalid clock rule", details=errors)

    @property
    def selector(self) -> tuple[ClockName, str | None, str | None, str | None]:
        """What the rule applies to: two rules with the same selector are ambiguous."""
        return (self.clock, self.kind, self.category, self.priority)

    def matches(self, *, kind: str, category: str | None, priority: str) -> bool:
        """True when every selector field is either unset (any) or equal to the ticket's."""
        return (
            (self.kind is None or self.kind == kind)
            and (self.category is None or self.category == category)
            and (self.priority is None or self.priority == priority)
        )

    def specificity(self) -> tuple[int, int, int, int]:
        """Sort key, larger = more specific: number of set selectors, then priority >
        category > kind as tie-breakers (an urgent ticket's own limit beats a kind's)."""
        p, c, k = self.priority is not None, self.category is not None, self.kind is not None
        return (p + c + k, p, c, k)

    def to_dict(self) -> dict:
        """JSON-safe dict (``yellow_ratio`` is the only float)."""
        return {
            "clock": self.clock.value,
            "amount": self.amount,
            "unit": self.unit.value,
            "yellow_ratio": self.yellow_ratio,
            "owner": self.owner,
            "pausable": self.pausable,
            "kind": self.kind,
            "category": self.category,
            "priority": self.priority,
            "supervise_after_working_days": self.supervise_after_working_days,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "ClockRule":
        """Parse a rule from its dict; unknown or missing fields are ValidationFailed."""
        if not isinstance(d, Mapping):
            raise ValidationFailed("a clock rule must be an object", details={"rule": "must be an object"})
        known = {f.name for f in fields(cls)}
        errors = {key: "unknown field" for key in d if key not in known}
        errors.update({key: "required" for key in ("clock", "amount", "unit") if key not in d})
        if errors:
            raise ValidationFailed("invalid clock rule", details=errors)
        return cls(**dict(d))


class SlaRules:
    """The set of clock rules in force; answers which rule applies to a ticket.

    Two rules with the same selector (clock, kind, category, priority) are rejected:
    the answer would depend on their order.
    """

    def __init__(self, rules: Iterable[ClockRule]) -> None:
        rules = tuple(rules)
        errors: dict[str, str] = {}
        seen: dict[tuple, int] = {}
        for i, rule in enumerate(rules):
            if not isinstance(rule, ClockRule):
                errors[f"rules[{i}]"] = "must be a ClockRule"
                continue
            if rule.selector in seen:
                errors[f"rules[{i}]"] = (
                    f"same clock, kind, category and priority as rules[{seen[rule.selector]}]"
                )
            else:
                seen[rule.selector] = i
        if errors:
            raise ValidationFailed("invalid SLA rules", details=errors)
        self.rules: tuple[ClockRule, ...] = rules

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SlaRules) and self.rules == other.rules

    def __hash__(self) -> int:
        return hash(self.rules)

    def __repr__(self) -> str:
        return f"SlaRules({len(self.rules)} rules)"

    def rule_for(
        self,
        clock: ClockName | str,
        *,
        kind: str,
        category: str | None = None,
        priority: str = "normal",
    ) -> ClockRule:
        """The most specific rule for ``clock`` matching the ticket; NotFound if none does."""
        try:
            clock = ClockName(clock)
        except ValueError as exc:
            raise NotFound(f"no clock named {clock!r}", details={"clock": "unknown clock"}) from exc
        candidates = [
            r for r in self.rules
            if r.clock == clock and r.matches(kind=kind, category=category, priority=priority)
        ]
        if not candidates:
            raise NotFound(
                f"no {clock.value} rule for kind={kind} category={category} priority={priority}",
                details={"clock": clock.value},
            )
        return max(candidates, key=ClockRule.specificity)

    def to_list(self) -> list[dict]:
        """JSON-safe list of rule dicts, in order."""
        return [r.to_dict() for r in self.rules]

    @classmethod
    def from_list(cls, items: Any) -> "SlaRules":
        """Parse rules as sent by a manager (``PUT /admin/sla-rules``) or read from storage.

        Collects every problem; the details name each field as ``rules[i].field``.
        """
        if not isinstance(items, (list, tuple)):
            raise ValidationFailed("SLA rules must be a list", details={"rules": "must be a list"})
        errors: dict[str, str] = {}
        rules: list[ClockRule] = []
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                errors[f"rules[{i}]"] = "must be an object"
                continue
            try:
                rules.append(ClockRule.from_dict(item))
            except ValidationFailed as exc:
                for name, problem in exc.details.items():
                    errors[f"rules[{i}].{name}"] = problem
        if errors:
            raise ValidationFailed("invalid SLA rules", details=errors)
        return cls(rules)


def _default_rules() -> SlaRules:
    wd, nd, h = ClockUnit.WORKING_DAYS, ClockUnit.NATURAL_DAYS, ClockUnit.HOURS
    return SlaRules(
        [
            ClockRule(ClockName.ACCEPTANCE, 7, wd, owner="agent"),
            ClockRule(ClockName.SIGN, 1, wd, owner="department"),
            ClockRule(ClockName.SIGN, 2, h, owner="department", priority="urgent"),
            ClockRule(ClockName.HANDLING, 13, wd, pausable=True),
            ClockRule(ClockName.HANDLING, 3, wd, pausable=True, kind="inquiry"),
            ClockRule(ClockName.HANDLING, 5, wd, pausable=True, kind="help_request"),
            ClockRule(ClockName.MEDIATION, 60, nd, pausable=True),
            ClockRule(ClockName.TERMINATION_NOTICE, 7, wd),
            ClockRule(ClockName.REPORT_VERIFICATION, 15, wd, pausable=True),
            ClockRule(ClockName.CLOSURE_REVIEW, 1, wd, owner="dispatcher"),
            ClockRule(ClockName.CALLBACK, 1, wd, owner="agent"),
            ClockRule(ClockName.EVALUATION, 3, wd, owner="agent"),
            ClockRule(ClockName.ARCHIVE, 15, nd, owner="center"),
            ClockRule(ClockName.REPLY, 1, wd, owner="agent"),
            ClockRule(ClockName.DISPATCH, 1, wd, owner="dispatcher"),
            ClockRule(ClockName.DISPATCH, 2, h, owner="dispatcher", priority="urgent"),
            ClockRule(ClockName.NON_ACCEPTANCE_REVIEW, 1, wd, owner="dispatcher"),
            ClockRule(ClockName.EXTENSION_DECISION, 1, wd, owner="dispatcher"),
            ClockRule(ClockName.RETURN_DECISION, 1, wd, owner="dispatcher"),
            ClockRule(ClockName.MATTER_HANDLING, 7, wd, pausable=True, kind="help_request"),
            ClockRule(ClockName.MATTER_HANDLING, 15, wd, pausable=True, kind="suggestion"),
        ]
    )


DEFAULT_SLA_RULES: SlaRules = _default_rules()


# --- state ----------------------------------------------------------------------------------

_DATETIME_FIELDS = ("started_at", "due", "yellow_at", "paused_at", "stopped_at")
_OPTIONAL_FIELDS = ("paused_at", "remaining_seconds", "remaining_days", "stopped_at")


@dataclass(frozen=True)
class ClockState:
    """One clock's state on a ticket. Datetimes are normalised to Asia/Shanghai."""

    clock: ClockName
    unit: ClockUnit
    amount: int
    started_at: datetime
    due: datetime
    yellow_at: datetime
    provisional: bool
    status: str = "running"  # "running" | "paused" | "stopped"
    paused_at: datetime | None = None
    remaining_seconds: int | None = None  # for hour/second clocks while paused
    remaining_days: int | None = None  # for day clocks while paused
    stopped_at: datetime | None = None
    warning: str = "none"  # the highest warning already recorded
    extended: bool = False
    extended_days: int = 0  # working days granted by approved extensions so far (the cap counts them)

    def __post_init__(self) -> None:
        errors: dict[str, str] = {}
        try:
            object.__setattr__(self, "clock", ClockName(self.clock))
        except ValueError:
            errors["clock"] = "unknown clock"
        try:
            object.__setattr__(self, "unit", ClockUnit(self.unit))
        except ValueError:
            errors["unit"] = "unknown unit"
        for name in ("amount", "remaining_seconds", "remaining_days", "extended_days"):
            value = getattr(self, name)
            if value is None and name != "amount":
                continue
            if not _is_int(value) or int(value) < 0:
                errors[name] = "must be an integer >= 0"
            else:
                object.__setattr__(self, name, int(value))
        for name in _DATETIME_FIELDS:
            value = getattr(self, name)
            if value is None and name in _OPTIONAL_FIELDS:
                continue
            if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
                errors[name] = "must be a timezone-aware datetime"
            else:
                object.__setattr__(self, name, value.astimezone(TZ))
        for name in ("provisional", "extended"):
            if not isinstance(getattr(self, name), bool):
                errors[name] = "must be true or false"
        if self.status not in STATUSES:
            errors["status"] = f"must be one of: {', '.join(STATUSES)}"
        if self.warning not in WARNING_LEVELS:
            errors["warning"] = f"must be one of: {', '.join(WARNING_LEVELS)}"
        if not errors:
            if not (self.started_at <= self.yellow_at <= self.due):
                errors["yellow_at"] = "must lie between started_at and due"
            if self.status == "paused" and self.paused_at is None:
                errors["paused_at"] = "required while paused"
            if self.status == "stopped" and self.stopped_at is None:
                errors["stopped_at"] = "required once stopped"
        if errors:
            raise ValidationFailed("invalid clock state", details=errors)

    @property
    def is_day_clock(self) -> bool:
        return self.unit in (ClockUnit.WORKING_DAYS, ClockUnit.NATURAL_DAYS)

    def to_dict(self) -> dict:
        """JSON-safe dict: ISO 8601 strings (+08:00), ints, bools, str and None; no floats."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, StrEnum):
                value = value.value
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "ClockState":
        """Parse a state written by :meth:`to_dict`; ValidationFailed names the bad fields."""
        if not isinstance(d, Mapping):
            raise ValidationFailed("a clock state must be an object", details={"clock_state": "must be an object"})
        known = {f.name: f for f in fields(cls)}
        required = [
            n for n, f in known.items() if f.default is MISSING and f.default_factory is MISSING
        ]
        errors = {key: "unknown field" for key in d if key not in known}
        errors.update({key: "required" for key in required if key not in d})
        values: dict[str, Any] = {}
        for key, value in d.items():
            if key not in known:
                continue
            if key in _DATETIME_FIELDS and value is not None:
                if not isinstance(value, str):
                    errors[key] = "must be an ISO 8601 string"
                    continue
                try:
                    value = datetime.fromisoformat(value)
                except ValueError:
                    errors[key] = "must be an ISO 8601 string"
                    continue
            values[key] = value
        if errors:
            raise ValidationFailed("invalid clock state", details=errors)
        return cls(**values)


# --- operations -----------------------------------------------------------------------------


def _yellow_between(start: datetime, due: datetime, ratio: Fraction) -> datetime:
    if due <= start:
        return due
    return start + _fraction_of(due - start, ratio)


def _not_before(now: datetime, earliest: datetime, field_name: str, what: str) -> None:
    if now < earliest:
        raise ValidationFailed(f"{field_name} is before {what}", details={field_name: f"before {what}"})


def start_clock(rule: ClockRule, start: datetime, cal: WorkingCalendar) -> ClockState:
    """Start ``rule``'s clock at ``start``: due per the calendar, yellow at ``yellow_ratio``."""
    start = ensure_aware(start, "start")
    deadline = cal.deadline(start, rule.amount, rule.unit)
    return ClockState(
        clock=rule.clock,
        unit=rule.unit,
        amount=rule.amount,
        started_at=start,
        due=deadline.due,
        yellow_at=_yellow_between(start, deadline.due, _ratio_fraction(rule.yellow_ratio)),
        provisional=deadline.provisional,
    )


def stop_clock(state: ClockState, now: datetime) -> ClockState:
    """Stop a running or paused clock (its stop event happened). Conflict if already stopped."""
    now = ensure_aware(now, "now")
    if state.status == "stopped":
        raise Conflict(f"the {state.clock.value} clock is already stopped", details={"status": state.status})
    _not_before(now, state.started_at, "now", "the clock started")
    return replace(state, status="stopped", stopped_at=now)


def pause_clock(state: ClockState, now: datetime) -> ClockState:
    """Pause a running clock, keeping the time it has left. Conflict if not running.

    A day clock keeps the days in (pause day, due day]: the pause day counts as used.
    An hour/second clock keeps the whole seconds left. A clock paused after its due time
    keeps nothing and stays overdue when resumed: a pause never forgives lateness.
    """
    now = ensure_aware(now, "now")
    if state.status != "running":
        raise Conflict(f"the {state.clock.value} clock is not running", details={"status": state.status})
    _not_before(now, state.started_at, "now", "the clock started")
    remaining_days = remaining_seconds = None
    if state.is_day_clock:
        remaining_days = _remaining_days(state.unit, now, state.due, _OFFICIAL_CALENDAR)
    else:
        remaining_seconds = max(0, int((state.due - now).total_seconds()))
    return replace(
        state,
        status="paused",
        paused_at=now,
        remaining_days=remaining_days,
        remaining_seconds=remaining_seconds,
    )


# pause_clock takes no calendar (contract), so the remaining_days it records use the official
# schedule without admin overrides; resume_clock re-counts them from paused_at and due with the
# caller's calendar, so an override set or changed during the pause is honoured.
_OFFICIAL_CALENDAR = WorkingCalendar()


def _remaining_days(unit: ClockUnit, paused_at: datetime, due: datetime, cal: WorkingCalendar) -> int:
    """Days left of a day clock paused at ``paused_at``: those in (pause day, due day]."""
    if unit is ClockUnit.WORKING_DAYS:
        return cal.working_days_between(paused_at.date(), due.date())
    return max(0, (due.date() - paused_at.date()).days)


def resume_clock(state: ClockState, now: datetime, cal: WorkingCalendar) -> ClockState:
    """Resume a paused clock: the remaining time is counted afresh from ``now`` (Art. 45:
    the resume day itself is not counted). Conflict if not paused.

    The yellow point keeps its share of the time that was left; if it had already passed
    when the clock paused, it stays passed.
    """
    now = ensure_aware(now, "now")
    if state.status != "paused" or state.paused_at is None:
        raise Conflict(f"the {state.clock.value} clock is not paused", details={"status": state.status})
    paused_at = state.paused_at
    _not_before(now, paused_at, "now", "the clock was paused")
    cleared = dict(status="running", paused_at=None, remaining_days=None, remaining_seconds=None)
    if paused_at > state.due:
        return replace(state, **cleared)  # overdue when paused: still overdue
    if state.is_day_clock:
        remaining = _remaining_days(state.unit, paused_at, state.due, cal)
        deadline = cal.deadline(now, remaining, state.unit)
    else:
        remaining = state.remaining_seconds or 0
        deadline = Deadline(due=now + timedelta(seconds=remaining), provisional=False)
    if state.yellow_at <= paused_at:
        yellow_at = state.yellow_at
    else:
        share = Fraction(
            (state.yellow_at - paused_at) // _MICROSECOND, (state.due - paused_at) // _MICROSECOND
        )
        yellow_at = _yellow_between(now, deadline.due, share)
    return replace(
        state,
        **cleared,
        due=deadline.due,
        yellow_at=yellow_at,
        provisional=state.provisional or deadline.provisional,
    )


def reopen_clock(state: ClockState, now: datetime, cal: WorkingCalendar) -> ClockState:
    """Run a stopped clock again because its stop event was withdrawn (a closure sent back for rework,
    a reopened ticket). Conflict if not stopped.

    The clock keeps the time it had left when it stopped; the stopped interval does not count, as
    with a pause (the ticket sat in the centre's review, not with the department). A clock stopped
    while paused resumes from its pause. A clock stopped after its due time stays overdue.
    """
    now = ensure_aware(now, "now")
    if state.status != "stopped" or state.stopped_at is None:
        raise Conflict(f"the {state.clock.value} clock is not stopped", details={"status": state.status})
    _not_before(now, state.stopped_at, "now", "the clock stopped")
    if state.paused_at is not None:
        paused = replace(state, status="paused", stopped_at=None)
    else:
        paused = pause_clock(replace(state, status="running", stopped_at=None), state.stopped_at)
    return resume_clock(paused, now, cal)


def extend_clock(state: ClockState, new_due: datetime, *, provisional: bool | None = None,
                 days: int = 0) -> ClockState:
    """Move a running clock's due time to ``new_due`` (an approved extension).

    Conflict if the clock is not running or ``new_due`` is not later than the current due.
    ``yellow_at`` keeps its share of the span from ``started_at`` to the due time. The
    recorded warning is cleared: warnings about the old deadline no longer hold, and the
    flow re-evaluates against the new one. ``provisional`` (from the Deadline the new
    due came from) is OR-ed into the state. ``days`` (the working days this extension grants,
    see :func:`check_extension_cap`) is added to ``extended_days``.
    """
    new_due = ensure_aware(new_due, "new_due")
    if state.status != "running":
        raise Conflict(f"the {state.clock.value} clock is not running", details={"status": state.status})
    if new_due <= state.due:
        raise Conflict(
            "an extension must move the deadline later",
            details={"new_due": f"must be after {state.due.isoformat()}"},
        )
    span = state.due - state.started_at
    if span > timedelta(0):
        share = Fraction((state.yellow_at - state.started_at) // _MICROSECOND, span // _MICROSECOND)
    else:
        share = _ratio_fraction(DEFAULT_YELLOW_RATIO)
    return replace(
        state,
        due=new_due,
        yellow_at=_yellow_between(state.started_at, new_due, share),
        provisional=state.provisional or bool(provisional),
        warning="none",
        extended=True,
        extended_days=state.extended_days + max(0, int(days)),
    )


def extension_deadline(state: ClockState, amount: int, cal: WorkingCalendar) -> Deadline:
    """The due time after extending by ``amount`` of the clock's own unit, counted from the
    current due (e.g. report verification: +15 working days with approval)."""
    return cal.deadline(state.due, amount, state.unit)


def extension_days(state: ClockState, new_due: datetime, cal: WorkingCalendar) -> int:
    """Working days an extension of ``state`` to ``new_due`` grants: those after the current due
    day up to the new due day (Art. 45 counting); 0 when ``new_due`` is not later."""
    new_due = ensure_aware(new_due, "new_due")
    if new_due <= state.due:
        return 0
    return cal.working_days_between(state.due.date(), new_due.date())


def check_extension_cap(state: ClockState, new_due: datetime, cal: WorkingCalendar,
                        field_name: str = "new_due") -> int:
    """The working days an extension to ``new_due`` would grant ``state``; ValidationFailed naming
    the cap when the clock's extensions would then exceed its statutory total (``EXTENSION_CAPS``:
    report verification, 15 working days in all, Order 121 Art. 27). Clocks without a cap: no limit."""
    days = extension_days(state, new_due, cal)
    cap = EXTENSION_CAPS.get(state.clock.value)
    if cap is None or state.extended_days + days <= cap:
        return days
    left = max(0, cap - state.extended_days)
    latest = cal.deadline(state.due, left, ClockUnit.WORKING_DAYS).due if left else state.due
    basis = EXTENSION_CAP_BASIS.get(state.clock.value, "")
    raise ValidationFailed(
        f"the {state.clock.value} clock may be extended by at most {cap} working days in total ({basis}); "
        f"{state.extended_days} already granted, this request asks for {days} more",
        details={field_name: f"exceeds the {cap} working-day extension cap ({basis}): "
                             f"latest allowed {latest.date().isoformat()}",
                 "cap_working_days": str(cap), "already_extended_working_days": str(state.extended_days),
                 "requested_working_days": str(days), "latest_allowed": latest.isoformat()},
    )


def with_warning(state: ClockState, level: str) -> ClockState:
    """Record that ``level`` fired. Never lowers the recorded level, so a late or repeated
    delivery of an older warning is harmless."""
    level = _check_level(level, "level")
    if _level_rank(level) <= _level_rank(state.warning):
        return state
    return replace(state, warning=level)


def warning_level(state: ClockState, now: datetime) -> str:
    """The warning a clock deserves at ``now``: red past due, yellow from ``yellow_at``.

    Only a running clock moves; a paused or stopped one keeps its recorded level. Never
    below the recorded level.
    """
    now = ensure_aware(now, "now")
    if state.status != "running":
        return state.warning
    if now > state.due:
        computed = "red"
    elif now >= state.yellow_at:
        computed = "yellow"
    else:
        computed = "none"
    return max(computed, state.warning, key=_level_rank)


def met_deadline(state: ClockState) -> bool | None:
    """True if the clock stopped on or before its due time, False if after, None while open.

    A clock stopped while paused is judged at the moment it was paused.
    """
    if state.status != "stopped" or state.stopped_at is None:
        return None
    return deadline_kept(state.stopped_at, state.paused_at, state.due)


def deadline_kept(stopped_at: datetime, paused_at: datetime | None, due: datetime) -> bool:
    """The one rule of "did the clock meet its deadline": a stopped clock met it when it ended on
    or before its due time, and a clock stopped while paused ended when it was paused."""
    return (paused_at if paused_at is not None else stopped_at) <= due


def next_checkpoint(state: ClockState) -> datetime | None:
    """When the flow should next look at this clock: yellow_at, then due, then never."""
    if state.status != "running":
        return None
    if state.warning == "none":
        return state.yellow_at
    if state.warning == "yellow":
        return state.due
    return None
