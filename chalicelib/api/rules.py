"""Time rules: deadline arithmetic for everyone, SLA rules and calendar overrides for managers/admins."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalice import Blueprint

from chalicelib.api.routing import ANY_SIGNED_IN, RequestContext, route
from chalicelib.domain.calendar import ClockUnit
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services import policy

rules_bp = Blueprint(__name__)

DEADLINE_QUERY = {
    "type": "object",
    "properties": {
        "start": {"type": "string", "maxLength": 40},
        "amount": {"type": "string", "pattern": "^[0-9]{1,5}$"},
        "unit": {"type": "string", "enum": [u.value for u in ClockUnit]},
    },
    "required": ["start", "amount", "unit"],
}

SLA_BODY = {
    "type": "object",
    "properties": {"rules": {"type": "array", "maxItems": 500, "items": {"type": "object"}},
                   "expected_version": {"type": "integer", "minimum": 0}},
    "required": ["rules", "expected_version"],
    "additionalProperties": False,
}

CALENDAR_BODY = {
    "type": "object",
    "properties": {"overrides": {"type": "object", "maxProperties": 1000},
                   "expected_version": {"type": "integer", "minimum": 0}},
    "required": ["overrides", "expected_version"],
    "additionalProperties": False,
}


@route(rules_bp, "/calendar/deadline", roles=ANY_SIGNED_IN, query=DEADLINE_QUERY,
       summary="Deadline of a period under the working-day calendar (Art. 45 counting)", tags=("calendar",))
def deadline(ctx: RequestContext) -> dict[str, Any]:
    try:
        start = datetime.fromisoformat(ctx.query["start"].replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed("start is not an ISO 8601 date-time", details={"start": "not ISO 8601"}) from None
    if start.tzinfo is None:
        raise ValidationFailed("start needs a UTC offset", details={"start": "add a UTC offset, e.g. +08:00"})
    result = policy.working_calendar().deadline(start, int(ctx.query["amount"]), ctx.query["unit"])
    return {"due": result.due.isoformat(), "provisional": result.provisional}


@route(rules_bp, "/admin/sla-rules", roles=("manager", "admin", "dispatcher"),
       summary="The SLA clock rules in force", tags=("admin",))
def get_sla_rules(ctx: RequestContext) -> dict[str, Any]:
    return policy.sla_document()


@route(rules_bp, "/admin/sla-rules", method="PUT", roles=("manager",), body=SLA_BODY,
       summary="Replace the SLA clock rules (per kind, category and priority)", tags=("admin",))
def put_sla_rules(ctx: RequestContext) -> dict[str, Any]:
    assert ctx.principal is not None
    return policy.save_sla_rules(ctx.body["rules"], expected_version=ctx.body["expected_version"],
                                 actor=ctx.principal.username)


@route(rules_bp, "/admin/calendar", roles=("admin", "manager"),
       summary="Admin overrides of the working-day calendar", tags=("admin",))
def get_calendar(ctx: RequestContext) -> dict[str, Any]:
    return policy.calendar_document()


@route(rules_bp, "/admin/calendar", method="PUT", roles=("admin",), body=CALENDAR_BODY,
       summary="Replace the calendar overrides (date -> working day or not)", tags=("admin",))
def put_calendar(ctx: RequestContext) -> dict[str, Any]:
    assert ctx.principal is not None
    return policy.save_calendar_overrides(ctx.body["overrides"], expected_version=ctx.body["expected_version"],
                                          actor=ctx.principal.username)
