"""The duty roster (排班/值班): shifts and on-call staff per role and department, by day.

A roster entry says that these people of one role and one department (``center`` for the hotline
centre) work a shift on a day, from ``start`` to ``end`` (an ``end`` not after ``start`` runs into
the next day: a night shift), and whether they are *on call* (值班: the people red warnings and
urgent tickets are also sent to while the shift lasts, :mod:`chalicelib.notifications.recipients`).

Managers and admins keep every department's roster; a department lead keeps their own
department's. Entries live in the directory partition ``ROSTER#<day>`` (one Query reads a day;
who is on duty now reads today and yesterday, for the night shift). A cancelled entry stays
readable with ``active: false``; every change is conditional on the version read (409 otherwise).
"""
from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.domain.ticket import CENTER
from chalicelib.services import clock
from chalicelib.store import directory

STAFF_ROLES = ("agent", "dispatcher", "handler", "dept_lead", "manager", "admin")
DEPARTMENT_ROLES = ("handler", "dept_lead")
KEEPERS = ("manager", "admin")
MAX_PEOPLE = 30
ENTRY_ID = re.compile(r"^[0-9a-f]{10}$")
HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
CACHE_SECONDS = 60.0

_cache_lock = threading.Lock()
_cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}


def partition(day: date) -> str:
    return f"ROSTER#{day.isoformat()}"


def parse_day(value: Any, field: str = "date") -> date:
    """A ``YYYY-MM-DD`` day, or ValidationFailed naming ``field``."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationFailed(f"invalid {field}", details={field: "YYYY-MM-DD"})


def may_keep(role: str, own_department: str | None, department: str) -> bool:
    """Managers and admins keep every roster; a department lead their own department's."""
    return role in KEEPERS or (role == "dept_lead" and bool(own_department) and own_department == department)


def _department_exists(code: str) -> bool:
    return code == CENTER or directory.find_entry(directory.DEPARTMENTS, code) is not None \
        or directory.find_entry(directory.OFFICES, code) is not None


def _check(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    day = parse_day(data.get("date"))
    department = data.get("department")
    role = data.get("role")
    if role not in STAFF_ROLES:
        errors["role"] = "one of " + ", ".join(STAFF_ROLES)
    if not isinstance(department, str) or not department or not _department_exists(department):
        errors["department"] = f"a department code, or {CENTER} for the hotline centre"
    elif role in DEPARTMENT_ROLES and department == CENTER:
        errors["department"] = "department roles work in a department"
    elif role in STAFF_ROLES and role not in DEPARTMENT_ROLES and department != CENTER:
        errors["department"] = f"the centre's roles are rostered under {CENTER}"
    shift = data.get("shift")
    if not isinstance(shift, str) or not 1 <= len(shift.strip()) <= 20:
        errors["shift"] = "1-20 characters (e.g. 白班, 夜班)"
    for key in ("start", "end"):
        if not isinstance(data.get(key), str) or not HHMM.match(data[key]):
            errors[key] = "HH:MM"
    people = data.get("usernames")
    if not isinstance(people, list) or not 1 <= len(people) <= MAX_PEOPLE \
            or not all(isinstance(p, str) and 1 <= len(p) <= 64 for p in people):
        errors["usernames"] = f"1 to {MAX_PEOPLE} user names"
    elif not errors.get("role") and not errors.get("department"):
        for i, name in enumerate(dict.fromkeys(people)):
            user = directory.find_entry(directory.USERS, name)
            if user is None or user.get("active") is False:
                errors[f"usernames[{i}]"] = "no such active user"
            elif user.get("role") != role:
                errors[f"usernames[{i}]"] = f"not a {role}"
            elif role in DEPARTMENT_ROLES and user.get("department") != department:
                errors[f"usernames[{i}]"] = f"not in department {department}"
    note = data.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 200):
        errors["note"] = "at most 200 characters"
    if errors:
        raise ValidationFailed("invalid roster entry", details=errors)
    return {"date": day.isoformat(), "department": department, "role": role, "shift": shift.strip(),
            "start": data["start"], "end": data["end"], "usernames": list(dict.fromkeys(people)),
            "on_call": data.get("on_call") is True, "note": (note or "").strip()}


def _guard(role: str, own_department: str | None, department: str) -> None:
    if not may_keep(role, own_department, department):
        raise Forbidden("only managers, admins and the department's lead keep its roster")


def create(data: dict[str, Any], *, actor: str, role: str, own_department: str | None) -> dict[str, Any]:
    """A new roster entry (the caller must keep the department's roster)."""
    entry = _check(data)
    _guard(role, own_department, entry["department"])
    entry_id = uuid.uuid4().hex[:10]
    entry.update(id=entry_id, active=True, updated_by=actor, updated_at=clock.now().isoformat())
    version = directory.put_entry(partition(date.fromisoformat(entry["date"])), entry_id, entry, expected_version=0)
    forget_cache()
    return {**entry, "_version": version}


def get(day: date, entry_id: str) -> dict[str, Any]:
    if not isinstance(entry_id, str) or not ENTRY_ID.match(entry_id):
        raise NotFound("no such roster entry")
    found = directory.find_entry(partition(day), entry_id)
    if found is None:
        raise NotFound("no such roster entry")
    return found


def update(day: date, entry_id: str, data: dict[str, Any], *, expected_version: int, actor: str, role: str,
           own_department: str | None) -> dict[str, Any]:
    """Change an entry (same day); the caller must keep both the old and the new department's roster."""
    current = get(day, entry_id)
    _guard(role, own_department, current["department"])
    entry = _check({**data, "date": day.isoformat()})
    _guard(role, own_department, entry["department"])
    entry.update(id=entry_id, active=current.get("active", True), updated_by=actor, updated_at=clock.now().isoformat())
    version = directory.put_entry(partition(day), entry_id, entry, expected_version=expected_version)
    forget_cache()
    return {**entry, "_version": version}


def cancel(day: date, entry_id: str, *, expected_version: int, actor: str, role: str,
           own_department: str | None) -> dict[str, Any]:
    """Cancel an entry: it stays readable (``active: false``) and no longer counts as on duty."""
    current = get(day, entry_id)
    _guard(role, own_department, current["department"])
    entry = {k: v for k, v in current.items() if k != "_version"}
    entry.update(active=False, updated_by=actor, updated_at=clock.now().isoformat())
    version = directory.put_entry(partition(day), entry_id, entry, expected_version=expected_version)
    forget_cache()
    return {**entry, "_version": version}


def list_day(day: date, *, departments: tuple[str, ...] | None = None,
             include_cancelled: bool = False) -> list[dict[str, Any]]:
    """A day's entries (of some departments), by department, start and shift."""
    found = [e for e in directory.list_entries(partition(day))
             if (include_cancelled or e.get("active", True)) and (departments is None or e.get("department") in departments)]
    return sorted(found, key=lambda e: (e.get("department") != CENTER, e.get("department", ""), e.get("start", ""),
                                        e.get("shift", "")))


def window(entry: dict[str, Any]) -> tuple[datetime, datetime]:
    """When an entry's shift starts and ends (an end not after the start is on the next day)."""
    day = date.fromisoformat(entry["date"])
    start_h, start_m = (int(x) for x in entry["start"].split(":"))
    end_h, end_m = (int(x) for x in entry["end"].split(":"))
    start = datetime(day.year, day.month, day.day, start_h, start_m, tzinfo=TZ)
    end = datetime(day.year, day.month, day.day, end_h, end_m, tzinfo=TZ)
    if end <= start:
        end += timedelta(days=1)
    return start, end


def on_duty(now: datetime | None = None, *, departments: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """The entries whose shift covers ``now`` (today's, and yesterday's night shifts)."""
    now = (now or clock.now()).astimezone(TZ)
    today = now.date()
    entries = list_day(today - timedelta(days=1), departments=departments) + list_day(today, departments=departments)
    return [e for e in entries if window(e)[0] <= now < window(e)[1]]


def on_call_now(now: datetime | None = None) -> list[dict[str, Any]]:
    """On-call entries on duty now, cached for a minute (the notifier asks for every delivery)."""
    now = (now or clock.now()).astimezone(TZ)
    key = f"{get_settings().table_name}|{now:%Y-%m-%dT%H:%M}"
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
    found = [e for e in on_duty(now) if e.get("on_call")]
    with _cache_lock:
        _cache.clear()
        _cache[key] = (time.monotonic(), found)
    return found


def forget_cache() -> None:
    with _cache_lock:
        _cache.clear()


def with_names(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries with each person's display name and the department's name (one Query each of users and departments)."""
    users = {u["username"]: u for u in directory.list_entries(directory.USERS) if u.get("username")}
    departments = {d.get("code"): d.get("name") for d in directory.list_entries(directory.DEPARTMENTS)}
    departments.update({o.get("code"): o.get("name") for o in directory.list_entries(directory.OFFICES)})
    departments[CENTER] = "热线中心"
    return [{**e, "department_name": departments.get(e.get("department"), e.get("department")),
             "people": [{"username": n, "name": (users.get(n) or {}).get("name") or n} for n in e.get("usernames", [])]}
            for e in entries]
