"""Routes around the ticket flow: an admin's view of a ticket's flow, the monitoring screen of
managers, dispatchers and department leads, and everyone's in-app inbox."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from chalice import Blueprint

from chalicelib.api.auth import STAFF_ROLES
from chalicelib.api.routing import RequestContext, route
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import ValidationFailed
from chalicelib.notifications import inbox
from chalicelib.services import clock
from chalicelib.workflow import inspection, monitoring

workflow_bp = Blueprint(__name__)

DAY = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
MONITOR_QUERY = {"type": "object", "properties": {"from": DAY, "to": DAY}}
INBOX_QUERY = {"type": "object", "properties": {
    "limit": {"type": "string", "pattern": "^[1-9][0-9]{0,2}$"},
    "cursor": {"type": "string", "maxLength": 2000},
    "unread": {"type": "string", "enum": ["true", "false"]}}}
EMPTY_BODY = {"type": "object", "properties": {}, "additionalProperties": False}
MONITOR_ROLES = ("manager", "dispatcher", "dept_lead")


@route(workflow_bp, "/admin/workflows/{ticket_id}", roles=("admin",), tags=("workflow",),
       summary="A ticket's flow: clocks, next checkpoint, the execution's current wait, history, earlier executions")
def get_workflow(ctx: RequestContext, ticket_id: str) -> dict[str, Any]:
    return inspection.describe_flow(ticket_id)


@route(workflow_bp, "/admin/workflows/{ticket_id}/restart", method="POST", roles=("admin",), body=EMPTY_BODY,
       tags=("workflow",), summary="Restart a ticket's flow: stop its execution, start the next generation")
def restart_workflow(ctx: RequestContext, ticket_id: str) -> tuple[int, dict[str, Any]]:
    assert ctx.principal is not None
    return 202, inspection.restart_flow(ticket_id, actor=ctx.principal.username)


def _day(ctx: RequestContext, name: str, default: date) -> date:
    value = ctx.query.get(name)
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("not a date", details={name: "YYYY-MM-DD"}) from None


@route(workflow_bp, "/monitoring/overview", roles=MONITOR_ROLES, query=MONITOR_QUERY, tags=("workflow",),
       summary="Real-time monitoring for the caller's scope: queues, yellow/red, signed, status, replied, satisfaction")
def get_overview(ctx: RequestContext) -> dict[str, Any]:
    principal = ctx.principal
    assert principal is not None
    today = datetime.now(TZ).date()
    start, end = _day(ctx, "from", today), _day(ctx, "to", today)
    if end < start or (end - start).days >= monitoring.MAX_DAYS:
        raise ValidationFailed("invalid period", details={"to": f"on or after from, at most {monitoring.MAX_DAYS} days"})
    scope = monitoring.Scope.of(principal.role, principal.department, principal.district)
    if scope.kind == "department" and not scope.owner:
        raise ValidationFailed("no department on this account", details={"department": "required"})
    return monitoring.overview(scope, start, end)


@route(workflow_bp, "/notifications", roles=STAFF_ROLES, query=INBOX_QUERY, tags=("notifications",),
       summary="The caller's in-app notifications (warnings, urgings, supervisions), newest first")
def list_notifications(ctx: RequestContext) -> dict[str, Any]:
    username = ctx.principal.username if ctx.principal else ""
    limit = min(int(ctx.query.get("limit") or 50), 200)
    items, cursor = inbox.list_for(username, limit=limit, cursor=ctx.query.get("cursor"),
                                   unread_only=ctx.query.get("unread") == "true")
    unread = inbox.unread_count(username)
    return {"items": items, "next_cursor": cursor, "unread": min(unread, inbox.UNREAD_CAP),
            "unread_more": unread > inbox.UNREAD_CAP}


@route(workflow_bp, "/notifications/{notification_id}/read", method="POST", roles=STAFF_ROLES, body=EMPTY_BODY,
       tags=("notifications",), summary="Mark one of the caller's notifications read")
def read_notification(ctx: RequestContext, notification_id: str) -> dict[str, Any]:
    username = ctx.principal.username if ctx.principal else ""
    return inbox.mark_read(username, notification_id, now=clock.now())


@route(workflow_bp, "/notifications/read-all", method="POST", roles=STAFF_ROLES, body=EMPTY_BODY,
       tags=("notifications",), summary="Mark the caller's unread notifications read (up to 200 at a time)")
def read_all_notifications(ctx: RequestContext) -> dict[str, Any]:
    username = ctx.principal.username if ctx.principal else ""
    return {"marked": inbox.mark_all_read(username, now=clock.now())}
