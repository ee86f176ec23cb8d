"""Call-centre routes (CTI): the call centre's signed webhook, the CSV import, call lists, linking a
call to a ticket, and the call statistics (话务统计).

Calls are the centre's business: agents, dispatchers, managers (and admins, who import) see them;
department roles do not. An agent sees their own calls (and a caller's history by number); every
caller number is shown masked. The exception is a ticket's own calls (``GET /tickets/{id}/calls``,
its detail page): whoever may see the ticket sees them, a department only for its own tickets and,
for a report, without the caller and the recording (Art. 37; docs/security.md API1/API3).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from chalice import Blueprint

from chalicelib.analytics import period as periods
from chalicelib.api.auth import STAFF_ROLES
from chalicelib.api.principal import actor_of
from chalicelib.api.routing import PUBLIC, RequestContext, route
from chalicelib.domain.errors import Forbidden, ValidationFailed
from chalicelib.integration import cti
from chalicelib.services import calls, clock

calls_bp = Blueprint(__name__)

TAGS = ("calls",)
READERS = ("agent", "dispatcher", "manager", "admin")
IMPORTERS = ("manager", "admin")
LINKERS = ("agent", "manager")
STATS_READERS = ("agent", "dispatcher", "manager", "admin")
_DAY = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_AGENT = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9_.\-]{0,63}$"}
LIST_QUERY = {"type": "object", "properties": {
    "day": _DAY, "agent": _AGENT, "caller": {"type": "string", "minLength": 4, "maxLength": 30},
    "ticket_id": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9\-]{0,63}$"}},
    "additionalProperties": False}
IMPORT_BODY = {"type": "object", "properties": {"csv": {"type": "string", "minLength": 1, "maxLength": 250_000}},
               "required": ["csv"], "additionalProperties": False}
LINK_BODY = {"type": "object", "properties": {"ticket_id": {"type": "string", "minLength": 1, "maxLength": 64}},
             "required": ["ticket_id"], "additionalProperties": False}
STATS_QUERY = {"type": "object", "properties": {
    "period": {"type": "string", "maxLength": 40}, "from": _DAY, "to": _DAY, "agent": _AGENT},
    "additionalProperties": False}


def _principal(ctx: RequestContext) -> Any:
    assert ctx.principal is not None
    return ctx.principal


def _own_agent(ctx: RequestContext, asked: str | None) -> str | None:
    """An agent sees their own calls only; the centre may name any agent (or none)."""
    principal = _principal(ctx)
    if principal.role != "agent":
        return asked
    if asked and asked != principal.username:
        raise Forbidden("an agent sees their own calls only")
    return principal.username


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("invalid day", details={"day": "YYYY-MM-DD"}) from None


@route(calls_bp, "/cti/{partner_id}/calls", method="POST", roles=PUBLIC, tags=TAGS,
       summary="Call records from the call-centre system (Standard Webhooks signature; idempotent by call id)")
def receive_calls(ctx: RequestContext, partner_id: str) -> dict[str, Any]:
    cti.verify(partner_id, ctx.headers, ctx.raw_body, clock.now())
    return calls.ingest(cti.calls_of(ctx.raw_body), source=f"cti:{partner_id}")


@route(calls_bp, "/calls/import", method="POST", roles=IMPORTERS, body=IMPORT_BODY, tags=TAGS,
       audit="calls.import", summary="Import a CSV export of call records (all rows checked first; idempotent by call id)")
def import_calls(ctx: RequestContext) -> dict[str, Any]:
    return calls.import_csv(ctx.body["csv"], actor=_principal(ctx).username)


@route(calls_bp, "/calls", roles=READERS, query=LIST_QUERY, tags=TAGS,
       summary="Calls of a day (an agent: their own), of a caller by number, or linked to a ticket; callers masked")
def list_calls(ctx: RequestContext) -> dict[str, Any]:
    if ctx.query.get("ticket_id"):
        if _principal(ctx).role == "agent":
            items = [c for c in calls.calls_of_ticket(ctx.query["ticket_id"]) if c["agent"] == _principal(ctx).username]
        else:
            items = calls.calls_of_ticket(ctx.query["ticket_id"])
        return {"items": items}
    if ctx.query.get("caller"):
        asked = ctx.query.get("agent")
        agent = asked if _principal(ctx).role != "agent" else None
        return {"items": calls.list_calls(caller=ctx.query["caller"], agent=agent)}
    agent = _own_agent(ctx, ctx.query.get("agent"))
    day = _day(ctx.query.get("day")) or clock.now().date()
    return {"day": day.isoformat(), "items": calls.list_calls(day=day, agent=agent)}


@route(calls_bp, "/tickets/{ticket_id}/calls", roles=STAFF_ROLES, ticket_scoped=True, tags=TAGS,
       summary="The calls linked to a ticket, by start time (callers masked; a report's withheld from departments)")
def ticket_calls(ctx: RequestContext, ticket_id: str) -> dict[str, Any]:
    return calls.ticket_calls(ticket_id, actor_of(ctx.principal))


@route(calls_bp, "/calls/{call_id}", roles=READERS, tags=TAGS, summary="One call (caller masked)")
def get_call(ctx: RequestContext, call_id: str) -> dict[str, Any]:
    found = calls.get(call_id)
    _own_agent(ctx, found.get("agent") or "-")
    return calls.view(found)


@route(calls_bp, "/calls/{call_id}/link", method="POST", roles=LINKERS, body=LINK_BODY, tags=TAGS,
       audit="calls.link", summary="Link a call to an existing ticket (once)")
def link_call(ctx: RequestContext, call_id: str) -> dict[str, Any]:
    found = calls.get(call_id)
    _own_agent(ctx, found.get("agent") or "-")
    return calls.link(call_id, ctx.body["ticket_id"])


@route(calls_bp, "/stats/calls", roles=STATS_READERS, query=STATS_QUERY, tags=TAGS,
       summary="Call volume, answer rate, average handling time by agent, hour and day (an agent: their own)")
def call_statistics(ctx: RequestContext) -> dict[str, Any]:
    agent = _own_agent(ctx, ctx.query.get("agent"))
    period = periods.from_query({k: v for k, v in ctx.query.items() if k != "agent"}, default="today")
    return calls.statistics(period.start, period.end, agent=agent)
