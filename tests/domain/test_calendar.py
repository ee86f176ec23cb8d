"""Tests of the working-day calendar (Art. 45 counting, chinesecalendar, overrides, fallback)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.calendar import (
    TZ,
    ClockUnit,
    Deadline,
    WorkingCalendar,
    ensure_aware,
    published_years,
)
from chalicelib.domain.errors import ValidationFailed

CAL = WorkingCalendar()
FIRST_YEAR, LAST_YEAR = published_years()


def sh(*args: int) -> datetime:
    """A datetime in Asia/Shanghai."""
    return datetime(*args, tzinfo=TZ)


def eod(y: int, m: int, d: int) -> datetime:
    return sh(y, m, d, 23, 59, 59)


# --- the package's range -------------------------------------------------------------------


def test_published_range_is_what_the_package_answers_for():
    # The last published year answers; the next one is where the package gives up.
    assert isinstance(chinese_calendar.is_workday(date(LAST_YEAR, 12, 31)), bool)
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(LAST_YEAR + 1, 1, 5))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(FIRST_YEAR - 1, 6, 1))
    assert LAST_YEAR >= 2026
    assert not CAL.is_provisional(date(LAST_YEAR, 12, 31))
    assert CAL.is_provisional(date(LAST_YEAR + 1, 1, 1))
    assert CAL.is_provisional(date(FIRST_YEAR - 1, 12, 31))


# --- Art. 45: the start day is not counted ---------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (sh(2026, 3, 2, 9, 0), 1, eod(2026, 3, 3)),  # Mon -> Tue
        (sh(2026, 3, 2, 0, 0), 1, eod(2026, 3, 3)),  # even at midnight the start day is free
        (sh(2026, 3, 6, 17, 0), 1, eod(2026, 3, 9)),  # Fri -> Mon
        (sh(2026, 3, 7, 10, 0), 1, eod(2026, 3, 9)),  # Sat -> Mon
        (sh(2026, 3, 2, 9, 0), 7, eod(2026, 3, 11)),  # 7 working days from Monday
        (sh(2026, 3, 2, 9, 0), 13, eod(2026, 3, 19)),
    ],
)
def test_working_days_start_day_not_counted(start, n, due):
    result = CAL.add_working_days(start, n)
    assert result == Deadline(due=due, provisional=False)
    assert CAL.deadline(start, n, ClockUnit.WORKING_DAYS) == result
    assert CAL.deadline(start, n, "working_days") == result


def test_due_is_end_of_last_day_in_shanghai():
    due = CAL.deadline(sh(2026, 3, 2, 9, 0), 1, "working_days").due
    assert due.isoformat() == "2026-03-03T23:59:59+08:00"
    assert due.utcoffset() == timedelta(hours=8)


def test_zero_amount_is_allowed():
    start = sh(2026, 3, 2, 9, 30)
    assert CAL.deadline(start, 0, "working_days").due == eod(2026, 3, 2)
    assert CAL.deadline(start, 0, "natural_days").due == eod(2026, 3, 2)
    assert CAL.deadline(start, 0, "hours").due == start
    assert CAL.deadline(start, 0, "seconds").due == start


@pytest.mark.parametrize("unit", list(ClockUnit))
def test_negative_amount_rejected(unit):
    with pytest.raises(ValidationFailed) as info:
        CAL.deadline(sh(2026, 3, 2, 9), -1, unit)
    assert "amount" in info.value.details


@pytest.mark.parametrize("amount", [1.5, "3", True, None])
def test_non_integer_amount_rejected(amount):
    with pytest.raises(ValidationFailed) as info:
        CAL.deadline(sh(2026, 3, 2, 9), amount, "hours")
    assert "amount" in info.value.details


def test_absurd_amount_rejected_instead_of_looping():
    with pytest.raises(ValidationFailed) as info:
        CAL.deadline(sh(2026, 3, 2, 9), 10**9, "working_days")
    assert "amount" in info.value.details


def test_unknown_unit_rejected():
    with pytest.raises(ValidationFailed) as info:
        CAL.deadline(sh(2026, 3, 2, 9), 1, "fortnights")
    assert "unit" in info.value.details


# --- National Day and Spring Festival 2026 (the package's official schedule) -----------------


def test_national_day_2026_days_off_and_makeup_days():
    for day in range(1, 8):
        assert not CAL.is_working_day(date(2026, 10, day)), f"10/{day} is a holiday"
    assert CAL.is_working_day(date(2026, 10, 8))
    # Make-up working days around it per the 2026 schedule: Sun 9/20 and Sat 10/10.
    assert date(2026, 9, 20).weekday() == 6 and CAL.is_working_day(date(2026, 9, 20))
    assert date(2026, 10, 10).weekday() == 5 and CAL.is_working_day(date(2026, 10, 10))
    # An ordinary weekend nearby stays off.
    assert not CAL.is_working_day(date(2026, 10, 11))


@pytest.mark.parametrize(
    ("start", "n", "due"),
    [
        (sh(2026, 9, 30, 15, 0), 1, eod(2026, 10, 8)),  # over the whole Golden Week
        (sh(2026, 9, 30, 15, 0), 3, eod(2026, 10, 10)),  # 10/8, 10/9, Sat 10/10 (make-up)
        (sh(2026, 9, 30, 15, 0), 4, eod(2026, 10, 12)),  # Sun 10/11 is off
        (sh(2026, 9, 19, 10, 0), 1, eod(2026, 9, 20)),  # Sat -> make-up Sunday
        (sh(2026, 9, 24, 10, 0), 1, eod(2026, 9, 28)),  # Mid-Autumn 9/25-9/27
    ],
)
def test_national_day_2026_deadlines(start, n, due):
    assert CAL.add_working_days(start, n) == Deadline(due, False)


def test_spring_festival_2026():
    for d in (date(2026, 2, 15) + timedelta(days=i) for i in range(9)):  # 2/15 - 2/23
        assert not CAL.is_working_day(d), d
    assert CAL.is_working_day(date(2026, 2, 14))  # make-up Saturday
    assert CAL.is_working_day(date(2026, 2, 28))  # make-up Saturday
    assert CAL.add_working_days(sh(2026, 2, 13, 9), 1).due == eod(2026, 2, 14)
    assert CAL.add_working_days(sh(2026, 2, 14, 9), 1).due == eod(2026, 2, 24)
    # 2/14 (1), 2/24 (2), 2/25 (3), 2/26 (4), 2/27 (5)
    assert CAL.add_working_days(sh(2026, 2, 13, 9), 5).due == eod(2026, 2, 27)
    assert CAL.add_working_days(sh(2026, 2, 13, 9), 6).due == eod(2026, 2, 28)
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 28)) == 6


# --- natural days ----------------------------------------------------------------------------


def test_natural_days_plain():
    # 3/2 + 10 = 3/12 (Thu), a working day.
    assert CAL.add_natural_days(sh(2026, 3, 2, 9), 10) == Deadline(eod(2026, 3, 12), False)


def test_natural_days_ending_on_a_day_off_move_to_next_working_day():
    # 9/24 + 7 = 10/1, National Day: moves to 10/8.
    assert CAL.add_natural_days(sh(2026, 9, 24, 9), 7).due == eod(2026, 10, 8)
    # Ending on an ordinary Sunday (3/8): moves to Monday 3/9.
    assert CAL.add_natural_days(sh(2026, 3, 1, 9), 7).due == eod(2026, 3, 9)
    # Ending on a make-up Saturday (10/10) is a working day: no move.
    assert CAL.add_natural_days(sh(2026, 10, 3, 9), 7).due == eod(2026, 10, 10)


def test_natural_sixty_days():
    # Mediation: 2026-08-05 + 60 = 2026-10-04 (National Day) -> 2026-10-08.
    assert CAL.deadline(sh(2026, 8, 5, 11), 60, "natural_days").due == eod(2026, 10, 8)


# --- beyond the published years --------------------------------------------------------------

NEXT_YEAR = LAST_YEAR + 1


@pytest.mark.skipif(LAST_YEAR != 2026, reason="written against the schedule published up to 2026")
def test_span_crossing_into_2027_is_provisional_not_an_error():
    # Mon 2026-12-28: 12/29 (1), 12/30 (2), 12/31 (3), Fri 1/1 off, weekend, 1/4 (4), 1/5 (5)
    result = CAL.add_working_days(sh(2026, 12, 28, 10), 5)
    assert result == Deadline(eod(2027, 1, 5), provisional=True)
    # Inside 2026 only: not provisional.
    assert CAL.add_working_days(sh(2026, 12, 28, 10), 3) == Deadline(eod(2026, 12, 31), False)
    # Natural days landing on New Year's Day 2027 move to Monday 1/4.
    assert CAL.add_natural_days(sh(2026, 12, 25, 10), 7) == Deadline(eod(2027, 1, 4), True)


def test_unpublished_year_fallback_rule():
    y = NEXT_YEAR
    for month, day in [(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)]:
        assert not CAL.is_working_day(date(y, month, day))
    week = [date(y, 6, 7) + timedelta(days=i) for i in range(7)]
    assert [CAL.is_working_day(d) for d in week] == [d.weekday() < 5 for d in week]
    assert all(CAL.is_provisional(d) for d in week)


@settings(max_examples=60, deadline=None)
@given(
    start=st.dates(min_value=date(NEXT_YEAR, 1, 1), max_value=date(NEXT_YEAR + 20, 12, 31)),
    n=st.integers(min_value=1, max_value=40),
)
def test_unpublished_years_always_get_a_provisional_deadline(start, n):
    result = CAL.add_working_days(sh(start.year, start.month, start.day, 12), n)
    assert result.provisional
    assert result.due.date().weekday() < 5
    assert (result.due.month, result.due.day) not in {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}


def test_years_before_the_package_are_provisional_too():
    result = CAL.add_working_days(sh(FIRST_YEAR - 1, 6, 1, 9), 1)
    assert result.provisional and result.due.date() == date(FIRST_YEAR - 1, 6, 2)


# --- admin overrides -------------------------------------------------------------------------


def test_override_makes_a_working_day_off_and_a_weekend_working():
    # Typhoon closure on Tue 3/3; Sat 3/7 made a working day.
    cal = WorkingCalendar({date(2026, 3, 3): False, date(2026, 3, 7): True})
    assert not cal.is_working_day(date(2026, 3, 3))
    assert cal.is_working_day(date(2026, 3, 7))
    assert cal.add_working_days(sh(2026, 3, 2, 9), 1).due == eod(2026, 3, 4)
    # 3/4 (1), 3/5 (2), 3/6 (3), Sat 3/7 (4)
    assert cal.add_working_days(sh(2026, 3, 2, 9), 4).due == eod(2026, 3, 7)
    # The plain calendar is untouched (cache is per date without overrides).
    assert CAL.is_working_day(date(2026, 3, 3)) and not CAL.is_working_day(date(2026, 3, 7))


def test_override_beats_the_official_schedule():
    cal = WorkingCalendar({date(2026, 10, 8): False, date(2026, 10, 10): False})
    assert cal.add_working_days(sh(2026, 9, 30, 9), 1).due == eod(2026, 10, 9)
    assert cal.add_working_days(sh(2026, 9, 30, 9), 2).due == eod(2026, 10, 12)


def test_override_in_an_unpublished_year():
    cal = WorkingCalendar({date(NEXT_YEAR, 1, 1): True})
    assert cal.is_working_day(date(NEXT_YEAR, 1, 1)) != CAL.is_working_day(date(NEXT_YEAR, 1, 1))


def test_override_keys_may_be_iso_strings_and_bad_input_is_rejected():
    assert not WorkingCalendar({"2026-03-03": False}).is_working_day(date(2026, 3, 3))
    with pytest.raises(ValidationFailed) as info:
        WorkingCalendar({"not-a-date": False})
    assert "overrides" in info.value.details
    with pytest.raises(ValidationFailed):
        WorkingCalendar({date(2026, 3, 3): "no"})


# --- hour and second clocks, time zones --------------------------------------------------------


def test_hours_count_real_time_across_nights_weekends_and_holidays():
    start = sh(2026, 9, 30, 22, 30)
    assert CAL.deadline(start, 2, "hours") == Deadline(sh(2026, 10, 1, 0, 30), False)
    assert CAL.deadline(start, 48, ClockUnit.HOURS).due == sh(2026, 10, 2, 22, 30)


def test_seconds_clock():
    start = sh(2026, 3, 2, 9, 0, 0)
    assert CAL.deadline(start, 90, "seconds").due == sh(2026, 3, 2, 9, 1, 30)


def test_hours_beyond_published_years_are_not_provisional():
    assert not CAL.deadline(sh(NEXT_YEAR + 3, 1, 1, 0), 5, "hours").provisional


def test_other_timezones_are_converted_to_shanghai():
    # 20:00 UTC on Sunday 3/1 is 04:00 on Monday 3/2 in Shanghai: the start day is Monday.
    start = datetime(2026, 3, 1, 20, 0, tzinfo=timezone.utc)
    result = CAL.deadline(start, 1, "working_days")
    assert result.due == eod(2026, 3, 3)
    assert result.due.tzinfo == TZ
    hours = CAL.deadline(datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Berlin")), 1, "hours")
    assert hours.due.isoformat() == "2026-03-02T17:00:00+08:00"


def test_naive_datetimes_rejected():
    with pytest.raises(ValidationFailed) as info:
        CAL.deadline(datetime(2026, 3, 2, 9, 0), 1, "working_days")
    assert "start" in info.value.details
    with pytest.raises(ValidationFailed):
        CAL.add_working_days(datetime(2026, 3, 2, 9, 0), 1)
    with pytest.raises(ValidationFailed):
        CAL.add_natural_days(datetime(2026, 3, 2, 9, 0), 1)
    with pytest.raises(ValidationFailed):
        ensure_aware(date(2026, 3, 2), "start")


# --- working_days_between and properties ------------------------------------------------------


def test_working_days_between_excludes_start_includes_end():
    assert CAL.working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert CAL.working_days_between(date(2026, 3, 2), date(2026, 3, 3)) == 1
    assert CAL.working_days_between(date(2026, 3, 6), date(2026, 3, 9)) == 1
    assert CAL.working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert CAL.working_days_between(date(2026, 3, 9), date(2026, 3, 2)) == 0


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2004, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(TZ)
    ),
    n=st.integers(min_value=1, max_value=60),
)
def test_working_day_deadline_properties(start, n):
    result = CAL.add_working_days(start, n)
    last = result.due.date()
    assert result.due.isoformat().endswith("T23:59:59+08:00")
    assert CAL.is_working_day(last)
    assert last > start.date()
    assert CAL.working_days_between(start.date(), last) == n
    assert CAL.working_days_between(start.date(), last - timedelta(days=1)) == n - 1
    assert result.provisional == any(
        CAL.is_provisional(start.date() + timedelta(days=i)) for i in range(1, (last - start.date()).days + 1)
    )


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2004, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(TZ)
    ),
    n=st.integers(min_value=1, max_value=90),
)
def test_natural_day_deadline_properties(start, n):
    result = CAL.add_natural_days(start, n)
    last = result.due.date()
    nominal = start.date() + timedelta(days=n)
    assert last >= nominal and CAL.is_working_day(last)
    # Every day between the nominal end and the real one is a day off.
    assert all(not CAL.is_working_day(nominal + timedelta(days=i)) for i in range((last - nominal).days))
