"""Quiet hours: a non-urgent e-mail or SMS waits for working hours (no e-mail at 3 a.m. or on Sunday).

Working hours are 09:00-18:00 Asia/Shanghai on working days of the working calendar (State
Council schedule, make-up weekends and admin overrides included). Pure functions.
"""
from __future__ import annotations

from datetime import datetime, time

from chalicelib.domain.calendar import TZ, WorkingCalendar

WORK_START = time(9, 0)
WORK_END = time(18, 0)


def in_working_hours(moment: datetime, calendar: WorkingCalendar) -> bool:
    """Whether ``moment`` falls in working hours on a working day."""
    local = moment.astimezone(TZ)
    return calendar.is_working_day(local.date()) and WORK_START <= local.time() < WORK_END


def send_time(moment: datetime, calendar: WorkingCalendar, *, urgent: bool) -> datetime:
    """When a message created at ``moment`` may go out: at once if urgent or within working hours,
    otherwise at the start of the next working hours."""
    local = moment.astimezone(TZ)
    if urgent or in_working_hours(local, calendar):
        return local
    day = local.date()
    if calendar.is_working_day(day) and local.time() < WORK_START:
        return datetime.combine(day, WORK_START, tzinfo=TZ)
    return datetime.combine(calendar.next_working_day(day), WORK_START, tzinfo=TZ)
