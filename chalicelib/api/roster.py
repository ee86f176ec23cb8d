"""Duty roster routes (排班/值班): a day's roster, who is on duty now (the workbenches' panel), and
entries kept by managers, admins and, for their own department, department leads.

Department roles see their own department's roster and the centre's; the centre's roles see all.
"""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.auth import DEPARTMENT_ROLES
from chalicelib.api.routing import RequestContext, route
from chalicelib.domain.ticket import CENTER
from chalicelib.services import clock, roster

roster_bp = Blueprint(__name__)

TAGS = ("roster",)
READERS = ("agent", "dispatcher", "handler", "dept_lead", "manager", "admin")
WRITERS = ("dept_lead", "manager", "admin")
_DAY = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_FIELDS = {
    "department": {"type": "string", "minLength": 1, "maxLength": 40},
    "role": {"type": "string", "enum": list(roster.STAFF_ROLES)},
    "shift": {"type": "string", "minLength": 1, "maxLength": 20},
    "start": {"type": "string", "pattern": roster.HHMM.pattern}, "end": {"type": "string", "pattern": roster.HHMM.pattern},
    "usernames": {"type": "array", "minItems": 1, "maxItems": roster.MAX_PEOPLE,
                  "items": {"type": "string", "minLength": 1, "maxLength": 64}},
    "on_call": {"type": "boolean"}, "note": {"type": "string", "maxLength": 200},
}
_REQUIRED = ["department", "role", "shift", "start", "end", "usernames"]
CREATE_BODY = {"type": "object", "properties": {"date": _DAY, **_FIELDS}, "required": ["date", *_REQUIRED],
               "additionalProperties": False}
UPDATE_BODY = {"type": "object", "properties": {**_FIELDS, "expected_version": {"type": "integer", "minimum": 1}},
               "required": [*_REQUIRED, "expected_version"], "additionalProperties": False}
CANCEL_BODY = {"type": "object", "properties": {"expected_version": {"type": "integer", "minimum": 1}},
               "required": ["expected_version"], "additionalProperties": False}
DAY_QUERY = {"type": "object", "properties": {"date": _DAY, "department": {"type": "string", "maxLength": 40},
                                              "include_cancelled": {"type": "string", "enum": ["0", "1"]}},
             "additionalProperties": False}


def _caller(ctx: RequestContext) -> Any:
    assert ctx.principal is not None
    return ctx.principal


def _scope(ctx: RequestContext, asked: str | None = None) -> tuple[str, ...] | None:
    """The departments to read (None: all): department roles read their own and the centre's only,
    so asking for another department reads nothing."""
    principal = _caller(ctx)
    if principal.role not in DEPARTMENT_ROLES:
        return (asked,) if asked else None
    allowed = (principal.department or "", CENTER)
    if asked is None:
        return allowed
    return (asked,) if asked in allowed else ()


def _who(ctx: RequestContext) -> dict[str, Any]:
    principal = _caller(ctx)
    return {"actor": principal.username, "role": principal.role, "own_department": principal.department}


@route(roster_bp, "/roster", roles=READERS, query=DAY_QUERY, tags=TAGS,
       summary="A day's roster (default today): shifts and on-call staff by department and role")
def day_roster(ctx: RequestContext) -> dict[str, Any]:
    day = roster.parse_day(ctx.query["date"]) if ctx.query.get("date") else clock.now().date()
    scope = _scope(ctx, ctx.query.get("department"))
    entries = roster.list_day(day, departments=scope, include_cancelled=ctx.query.get("include_cancelled") == "1")
    principal = _caller(ctx)
    return {"date": day.isoformat(), "items": [
        {**e, "editable": roster.may_keep(principal.role, principal.department, e["department"])}
        for e in roster.with_names(entries)]}


@route(roster_bp, "/roster/now", roles=READERS, tags=TAGS,
       summary="Who is on duty now (the workbenches' panel): shifts covering this moment, on-call first")
def on_duty_now(ctx: RequestContext) -> dict[str, Any]:
    now = clock.now()
    entries = roster.on_duty(now, departments=_scope(ctx))
    entries.sort(key=lambda e: (not e.get("on_call"), e.get("department") != CENTER, e.get("department", "")))
    return {"at": now.isoformat(), "items": roster.with_names(entries)}


@route(roster_bp, "/roster", method="POST", roles=WRITERS, body=CREATE_BODY, tags=TAGS, audit="roster.create",
       summary="Add a roster entry (a department lead: their own department)")
def create_entry(ctx: RequestContext) -> tuple[int, dict[str, Any]]:
    return 201, roster.create(ctx.body, **_who(ctx))


@route(roster_bp, "/roster/{day}/{entry_id}", method="PUT", roles=WRITERS, body=UPDATE_BODY, tags=TAGS,
       audit="roster.update", summary="Change a roster entry (conditional on the version read)")
def update_entry(ctx: RequestContext, day: str, entry_id: str) -> dict[str, Any]:
    body = {k: v for k, v in ctx.body.items() if k != "expected_version"}
    return roster.update(roster.parse_day(day, "day"), entry_id, body, expected_version=ctx.body["expected_version"],
                         **_who(ctx))


@route(roster_bp, "/roster/{day}/{entry_id}/cancel", method="POST", roles=WRITERS, body=CANCEL_BODY, tags=TAGS,
       audit="roster.cancel", summary="Cancel a roster entry (kept, no longer on duty)")
def cancel_entry(ctx: RequestContext, day: str, entry_id: str) -> dict[str, Any]:
    return roster.cancel(roster.parse_day(day, "day"), entry_id, expected_version=ctx.body["expected_version"],
                         **_who(ctx))
