"""Ticket routes for staff: register, every lifecycle action, detail, timeline, reveal, queues, search."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from chalice import Blueprint

from chalicelib.api.action_schemas import action_body
from chalicelib.api.auth import STAFF_ROLES
from chalicelib.api.principal import actor_of
from chalicelib.api.routing import RequestContext, route
from chalicelib.domain import lifecycle
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import ConcurrentModification, ValidationFailed
from chalicelib.domain.privacy import summary_view_for
from chalicelib.domain.queues import QUEUES
from chalicelib.domain.ticket import Role
from chalicelib.services import tickets as service
from chalicelib.store.tickets import received_cursor, summary

tickets_bp = Blueprint(__name__)

HTTP_ROLES = frozenset(STAFF_ROLES)
PARTY = {"type": "object", "properties": {
    "name": {"type": "string"}, "phone": {"type": "string"}, "address": {"type": "string"},
    "id_number": {"type": "string"}}, "additionalProperties": False}
REGISTER_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "kind": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "maxItems": 2}]},
        "channel": {"type": "string"},
        "complainant": PARTY,
        "respondent": {"type": "object", "properties": {
            "name": {"type": "string"}, "address": {"type": "string"}, "phone": {"type": "string"},
            "credit_code": {"type": "string"}}, "additionalProperties": False},
        "request": {"type": "string"}, "facts": {"type": "string"},
        "report_request": {"type": "string"}, "report_facts": {"type": "string"},
        "category": {"type": "string"}, "priority": {"type": "string"}, "district": {"type": "string"},
        "external_ref": {"type": "string"}, "received_at": {"type": "string"},
        "co_complainants": {"type": "array", "items": PARTY, "maxItems": 200},
    },
    "required": ["kind", "channel", "complainant"],
    "additionalProperties": False,
}
PAGE_QUERY = {"type": "object", "properties": {
    "limit": {"type": "string", "pattern": "^[1-9][0-9]{0,2}$"},
    "cursor": {"type": "string", "maxLength": 2000}}}
SEARCH_QUERY = {"type": "object", "properties": {
    **PAGE_QUERY["properties"],
    "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
    "kind": {"type": "string"}, "category": {"type": "string"}, "status": {"type": "string"},
    "channel": {"type": "string"}, "district": {"type": "string"}, "department": {"type": "string"}}}
REVEAL_BODY = {"type": "object", "properties": {"reason": {"type": "string", "minLength": 2, "maxLength": 200}},
               "required": ["reason"], "additionalProperties": False}
MAX_SEARCH_DAYS = 92
SEARCH_READ_PAGE = 100  # tickets read per step while filtering: a narrow filter reads few pages


def _limit(ctx: RequestContext, default: int = 50) -> int:
    return min(int(ctx.query.get("limit") or default), 200)


@route(tickets_bp, "/tickets", method="POST", roles=("agent",), body=REGISTER_BODY,
       summary="Register a ticket (phone, walk-in, mail, 12345, upper level); Art. 9 split, Art. 35 repeats",
       tags=("tickets",))
def register_ticket(ctx: RequestContext) -> tuple[int, dict[str, Any]]:
    actor = actor_of(ctx.principal)
    result = service.register(ctx.body, actor)
    if result.merged_into is not None:
        return 200, {"merged_into": service.view(result.merged_into, actor), "tickets": []}
    return 201, {"tickets": [service.view(t, actor) for t in result.tickets]}


@route(tickets_bp, "/tickets/{ticket_id}", roles=STAFF_ROLES, ticket_scoped=True,
       summary="A ticket (personal data masked) with the actions the caller can take", tags=("tickets",))
def get_ticket(ctx: RequestContext, ticket_id: str) -> dict[str, Any]:
    actor = actor_of(ctx.principal)
    return service.view(service.load(ticket_id, actor), actor)


@route(tickets_bp, "/tickets/{ticket_id}/timeline", roles=STAFF_ROLES, ticket_scoped=True,
       summary="Every stage of the ticket: who, when, what, state, deadline met or missed", tags=("tickets",))
def get_timeline(ctx: RequestContext, ticket_id: str) -> dict[str, Any]:
    return {"ticket_id": ticket_id, "events": service.timeline(ticket_id, actor_of(ctx.principal))}


@route(tickets_bp, "/tickets/{ticket_id}/reveal", method="POST", roles=("agent", "dispatcher", "handler", "dept_lead", "manager"),
       body=REVEAL_BODY, ticket_scoped=True, audit="pii_reveal",
       summary="Show the complainant's personal data in clear; the reveal is recorded", tags=("tickets",))
def reveal(ctx: RequestContext, ticket_id: str) -> dict[str, Any]:
    return service.reveal(ticket_id, actor_of(ctx.principal), ctx.body["reason"])


def _action_route(action: str, roles: tuple[str, ...]) -> None:
    body = action_body(action)  # the same schema validates the body and types it in the OpenAPI document

    def view(ctx: RequestContext, ticket_id: str) -> dict[str, Any]:
        actor = actor_of(ctx.principal)
        params_in = {k: v for k, v in ctx.body.items() if k != "expected_version"}
        expected = ctx.body.get("expected_version")
        if expected is not None:
            current = service.load(ticket_id, actor)
            if current.version != expected:
                raise ConcurrentModification("the ticket changed since you loaded it: reload and try again",
                                             details={"expected_version": expected, "version": current.version})
        ticket = service.act(ticket_id, action, params_in, actor)
        return service.view(ticket, actor)

    view.__name__ = f"action_{action}"
    route(tickets_bp, f"/tickets/{{ticket_id}}/{action.replace('_', '-')}", method="POST", roles=roles, body=body,
          ticket_scoped=True, summary=f"Lifecycle action: {action}", tags=("lifecycle",))(view)


for _row in lifecycle.ROWS:
    _roles = tuple(sorted(r for r in _row.roles if r in HTTP_ROLES))
    if _roles:
        _action_route(_row.name, _roles)


@route(tickets_bp, "/queues/{name}", roles=("agent", "dispatcher", "handler", "dept_lead", "manager"), query=PAGE_QUERY,
       summary="One of the caller's work queues, sorted by deadline, with yellow/red state", tags=("queues",))
def get_queue(ctx: RequestContext, name: str) -> dict[str, Any]:
    if name not in QUEUES:
        raise ValidationFailed("unknown queue", details={"name": f"one of {sorted(QUEUES)}"})
    return service.queue(name, actor_of(ctx.principal), limit=_limit(ctx), cursor=ctx.query.get("cursor"))


def _parse_day(value: str | None, default: date, field: str) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("not a date", details={field: "YYYY-MM-DD"}) from None


@route(tickets_bp, "/tickets", roles=STAFF_ROLES, query=SEARCH_QUERY,
       summary="Comprehensive query by kind, category, status, channel, district, department and period",
       tags=("tickets",))
def search(ctx: RequestContext) -> dict[str, Any]:
    actor = actor_of(ctx.principal)
    today = datetime.now(TZ).date()
    start = _parse_day(ctx.query.get("from"), today - timedelta(days=6), "from")
    end = _parse_day(ctx.query.get("to"), today, "to")
    if end < start or (end - start).days > MAX_SEARCH_DAYS:
        raise ValidationFailed("invalid period", details={"to": f"on or after from, at most {MAX_SEARCH_DAYS} days"})
    filters = {k: ctx.query[k] for k in ("kind", "category", "status", "channel", "district") if ctx.query.get(k)}
    department = ctx.query.get("department")
    if actor.role in (Role.HANDLER, Role.DEPT_LEAD):
        department = actor.department
    limit = _limit(ctx)
    # newest first, a step of the period's tickets at a time (GSI2: the months touched x shards); the
    # next page's cursor is the sort key of the last ticket looked at
    cursor = ctx.query.get("cursor") or None
    items: list[dict[str, Any]] = []
    while True:
        tickets, following = service.repository().received_between(
            start, end, limit=max(limit, SEARCH_READ_PAGE), cursor=cursor, newest_first=True)
        cursor = following
        for n, ticket in enumerate(tickets):
            if all(str(getattr(ticket, k)) == v for k, v in filters.items()) and \
                    (department is None or department in service.holders(ticket)):
                items.append(summary_view_for(summary(ticket), actor))
                if len(items) == limit:
                    cursor = following if n == len(tickets) - 1 else received_cursor(ticket)
                    break
        if len(items) == limit or cursor is None:
            break
    return {"items": items[:limit], "next_cursor": cursor, "from": start.isoformat(), "to": end.isoformat()}
