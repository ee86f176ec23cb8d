"""The citizens' internet channel: submit, track with the tracking code and phone proof, evaluate.

No sign-in: a citizen proves the ticket is theirs with its tracking code plus the last four
digits of the phone they gave. Answers never carry personal data or internal notes.
"""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.routing import PUBLIC, RequestContext, route
from chalicelib.api.tickets import REGISTER_BODY
from chalicelib.domain.errors import NotFound
from chalicelib.domain.ticket import KIND_LABELS, STATUS_LABELS, Actor, Role, Ticket
from chalicelib.services import ratelimit
from chalicelib.services import tickets as service

public_bp = Blueprint(__name__)

SUBMIT_BODY = {**REGISTER_BODY, "properties": {k: v for k, v in REGISTER_BODY["properties"].items()
                                               if k not in ("channel", "external_ref", "received_at", "priority")},
               "required": ["kind", "complainant"]}
TRACK_QUERY = {"type": "object", "properties": {"phone_last4": {"type": "string", "pattern": "^[0-9]{4}$"}},
               "required": ["phone_last4"]}
EVALUATION_BODY = {"type": "object", "properties": {
    "phone_last4": {"type": "string", "pattern": "^[0-9]{4}$"},
    "satisfaction": {"type": "string", "enum": ["satisfied", "basically_satisfied", "dissatisfied"]},
    "solved": {"type": "boolean"},
    "comment": {"type": "string", "maxLength": 500}},
    "required": ["phone_last4", "satisfaction", "solved"], "additionalProperties": False}

SUBMISSIONS_PER_PHONE_PER_HOUR = 5
SUBMISSIONS_PER_ADDRESS_PER_HOUR = 30
LOOKUPS_PER_CODE_PER_HOUR = 20


def _citizen() -> Actor:
    return Actor(username="citizen", role=Role.CITIZEN)


def _public_view(ticket: Ticket) -> dict[str, Any]:
    return {
        "tracking_code": ticket.tracking_code,
        "kind": ticket.kind, "kind_label": KIND_LABELS.get(ticket.kind, ticket.kind),
        "status": ticket.status, "status_label": STATUS_LABELS.get(ticket.status, ticket.status),
        "received_at": ticket.received_at.isoformat(),
        "replies": [{"at": r.at.isoformat(), "text": r.text} for r in ticket.replies],
        "can_evaluate": ticket.status == "pending_evaluation",
        "evaluated": any(f.via == "evaluation" for f in ticket.feedback),
    }


def _proven(code: str, phone_last4: str) -> Ticket:
    if len(code) > 20:
        raise NotFound("no ticket with this tracking code and phone")
    ratelimit.hit("lookup", code.upper(), limit=LOOKUPS_PER_CODE_PER_HOUR, window_seconds=3600)
    try:
        ticket = service.repository().get(service.repository().ticket_for_tracking_code(code))
    except NotFound:
        raise NotFound("no ticket with this tracking code and phone") from None
    phone = ticket.complainant.phone or ""
    if not phone or phone[-4:] != phone_last4:
        raise NotFound("no ticket with this tracking code and phone")
    return ticket


@route(public_bp, "/public/tickets", method="POST", roles=PUBLIC, body=SUBMIT_BODY,
       summary="A citizen submits a complaint, report or other request on the web (tracking code returned)",
       tags=("public",))
def submit(ctx: RequestContext) -> tuple[int, dict[str, Any]]:
    source = ctx.headers.get("x-forwarded-for", "").split(",")[0].strip() or ctx.source_ip or "unknown"
    ratelimit.hit("submit-ip", source, limit=SUBMISSIONS_PER_ADDRESS_PER_HOUR, window_seconds=3600)
    phone = (ctx.body.get("complainant") or {}).get("phone")
    if isinstance(phone, str) and phone:
        ratelimit.hit("submit-phone", phone, limit=SUBMISSIONS_PER_PHONE_PER_HOUR, window_seconds=3600)
    result = service.register({**ctx.body, "channel": "web"}, _citizen())
    if result.merged_into is not None:
        return 200, {"merged": True, "tickets": [_public_view(result.merged_into)],
                     "message": "您反映的问题已在办理中，新补充的情况已并入原工单。"}
    return 201, {"merged": False, "tickets": [_public_view(t) for t in result.tickets],
                 "message": "提交成功，请妥善保存查询码，凭查询码和手机号后四位查询办理进度。"}


@route(public_bp, "/public/tickets/{code}", roles=PUBLIC, query=TRACK_QUERY,
       summary="Track a ticket with its tracking code and the phone's last 4 digits", tags=("public",))
def track(ctx: RequestContext, code: str) -> dict[str, Any]:
    return _public_view(_proven(code, ctx.query["phone_last4"]))


@route(public_bp, "/public/tickets/{code}/evaluation", method="POST", roles=PUBLIC, body=EVALUATION_BODY,
       summary="The citizen evaluates the result (web channel, when asked)", tags=("public",))
def evaluate(ctx: RequestContext, code: str) -> dict[str, Any]:
    ticket = _proven(code, ctx.body["phone_last4"])
    params = {k: ctx.body[k] for k in ("satisfaction", "solved", "comment") if k in ctx.body}
    updated = service.act(ticket.id, "evaluate", params, _citizen(), check_scope=False)
    return _public_view(updated)
