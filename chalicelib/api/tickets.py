"""Ticket routes for staff: register, every lifecycle action, detail, timeline, reveal, queues, search.

Thin: parse, check role, hand the request to the ticket door (:func:`services.tickets.default`),
shape the answer. Scope checks and the version the client saw are the door's business.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.action_schemas import action_body
from chalicelib.api.auth import STAFF_ROLES
from chalicelib.api.errors import JSON_HEADERS
from chalicelib.api.principal import actor_of
from chalicelib.api.routing import RequestContext, route
from chalicelib.domain import lifecycle
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.queues import QUEUES
from chalicelib.domain.ticket import Ticket
from chalicelib.services import tickets as service

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
        "category": {"type": "string"}, "category_code": {"type": "string", "maxLength": 32},
        "priority": {"type": "string"}, "district": {"type": "string"},
        "external_ref": {"type": "string"}, "received_at": {"type": "string"},
        "co_complainants": {"type": "array", "items": PARTY, "maxItems": 200},
        # the categories answer of POST /dispatch/recommend the agent was shown (services/category_suggestions.py)
        "category_suggestion": {"type": ["object", "null"]},
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


def _door() -> service.TicketService:
    return service.default()


def version_seen(ctx: RequestContext) -> int | None:
    """The ticket version the client saw: the body's ``expected_version`` or an ``If-Match``
    header (``3``, ``"3"`` or ``W/"3"``; ``*`` states none). Both given must agree."""
    stated = ctx.body.get("expected_version")
    header = ctx.headers.get("if-match")
    if header is None or header.strip() == "*":
        return stated
    raw = header.strip().removeprefix("W/").strip('"')
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:  # "²" is a digit to str.isdigit
        raise ValidationFailed("If-Match must be the ticket version you saw",
                               details={"If-Match": 'a version such as "3"'})
    if stated is not None and stated != int(raw):
        raise ValidationFailed("two different versions stated",
                               details={"expected_version": "differs from If-Match"})
    return int(raw)


def with_etag(ticket: Ticket, body: dict[str, Any]) -> Response:
    """The answer about one ticket, with its version as a strong ETag (``"3"``): the client sends it
    back as ``If-Match`` on its next action, and a stale one is a 409 (:func:`version_seen`)."""
    return Response(body=body, status_code=200, headers={**JSON_HEADERS, "ETag": f'"{ticket.version}"'})


@route(tickets_bp, "/tickets", method="POST", roles=("agent",), body=REGISTER_BODY,
       summary="Register a ticket (phone, walk-in, mail, 12345, upper level); Art. 9 split, Art. 35 repeats",
       tags=("tickets",))
def register_ticket(ctx: RequestContext) -> tuple[int, dict[str, Any]]:
    actor = actor_of(ctx.principal)
    result = _door().register(ctx.body, actor)
    if result.merged_into is not None:
        return 200, {"merged_into": service.view(result.merged_into, actor), "tickets": []}
    return 201, {"tickets": [service.view(t, actor) for t in result.tickets]}


@route(tickets_bp, "/tickets/mine", roles=STAFF_ROLES, query=PAGE_QUERY,
       summary="My tickets (我的工单): those the caller registered, dispatched, handled or approved, newest first",
       tags=("tickets",))
def my_tickets(ctx: RequestContext) -> dict[str, Any]:
    return _door().mine(actor_of(ctx.principal), limit=_limit(ctx), cursor=ctx.query.get("cursor"))


@route(tickets_bp, "/tickets/{ticket_id}", roles=STAFF_ROLES, ticket_scoped=True, versioned=True,
       summary="A ticket (personal data masked) with the actions the caller can take", tags=("tickets",))
def get_ticket(ctx: RequestContext, ticket_id: str) -> Response:
    actor = actor_of(ctx.principal)
    ticket = _door().load(ticket_id, actor)
    return with_etag(ticket, service.view(ticket, actor))


@route(tickets_bp, "/tickets/{ticket_id}/timeline", roles=STAFF_ROLES, ticket_scoped=True,
       summary="Every stage of the ticket: who, when, what, state, deadline met or missed", tags=("tickets",))
def get_timeline(ctx: RequestContext, ticket_id: str) -> dict[str, Any]:
    return {"ticket_id": ticket_id, "events": _door().timeline(ticket_id, actor_of(ctx.principal))}


@route(tickets_bp, "/tickets/{ticket_id}/reveal", method="POST", roles=("agent", "dispatcher", "handler", "dept_lead", "manager"),
       body=REVEAL_BODY, ticket_scoped=True, audit="pii_reveal",
       summary="Show the complainant's personal data in clear; the reveal is recorded", tags=("tickets",))
def reveal(ctx: RequestContext, ticket_id: str) -> dict[str, Any]:
    return _door().reveal(ticket_id, actor_of(ctx.principal), ctx.body["reason"])


def _action_route(action: str, roles: tuple[str, ...]) -> None:
    body = action_body(action)  # the same schema validates the body and types it in the OpenAPI document

    def view(ctx: RequestContext, ticket_id: str) -> Response:
        actor = actor_of(ctx.principal)
        params_in = {k: v for k, v in ctx.body.items() if k != "expected_version"}
        ticket = _door().act(ticket_id, action, params_in, actor, expected_version=version_seen(ctx))
        return with_etag(ticket, service.view(ticket, actor))

    view.__name__ = f"action_{action}"
    route(tickets_bp, f"/tickets/{{ticket_id}}/{action.replace('_', '-')}", method="POST", roles=roles, body=body,
          ticket_scoped=True, versioned=True, summary=f"Lifecycle action: {action}", tags=("lifecycle",))(view)


for _row in lifecycle.ROWS:
    _roles = tuple(sorted(r for r in _row.roles if r in HTTP_ROLES))
    if _roles:
        _action_route(_row.name, _roles)


@route(tickets_bp, "/queues/{name}", roles=("agent", "dispatcher", "handler", "dept_lead", "manager"), query=PAGE_QUERY,
       summary="One of the caller's work queues, sorted by deadline, with yellow/red state", tags=("queues",))
def get_queue(ctx: RequestContext, name: str) -> dict[str, Any]:
    if name not in QUEUES:
        raise ValidationFailed("unknown queue", details={"name": f"one of {sorted(QUEUES)}"})
    return _door().queue(name, actor_of(ctx.principal), limit=_limit(ctx), cursor=ctx.query.get("cursor"))


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
    items, cursor = _door().search(actor, start, end, filters=filters, department=ctx.query.get("department"),
                                   limit=_limit(ctx), cursor=ctx.query.get("cursor") or None,
                                   read_page=SEARCH_READ_PAGE)
    return {"items": items, "next_cursor": cursor, "from": start.isoformat(), "to": end.isoformat()}
