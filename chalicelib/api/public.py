"""The citizens' internet channel: submit, track with the tracking code and phone proof, evaluate.

No sign-in: a citizen proves the ticket is theirs with its tracking code plus the last four
digits of the phone they gave. Answers never carry personal data or internal notes.
"""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.action_schemas import param_schema
from chalicelib.api.routing import PUBLIC, RequestContext, route
from chalicelib.api.tickets import REGISTER_BODY
from chalicelib.domain.intake import normalize_phone
from chalicelib.domain.privacy import mask_text, party_names
from chalicelib.domain.ticket import KIND_LABELS, STATUS_LABELS, Actor, Role, Ticket
from chalicelib.services import ratelimit, tracking
from chalicelib.services import tickets as service

public_bp = Blueprint(__name__)

SUBMIT_BODY = {**REGISTER_BODY, "properties": {k: v for k, v in REGISTER_BODY["properties"].items()
                                               if k not in ("channel", "external_ref", "received_at", "priority",
                                                             "category_suggestion")},
               "required": ["kind", "complainant"]}
PHONE_LAST4 = {"type": "string", "pattern": "^[0-9]{4}$", "description": "The last 4 digits of the phone given"}
TRACK_QUERY = {"type": "object", "properties": {"phone_last4": PHONE_LAST4}, "required": ["phone_last4"]}
EVALUATION_BODY = {"type": "object", "properties": {  # the evaluate action's own parameter schemas
    "phone_last4": PHONE_LAST4, **{p: param_schema("evaluate", p) for p in ("satisfaction", "solved", "comment")}},
    "required": ["phone_last4", "satisfaction", "solved"], "additionalProperties": False}

SUBMISSIONS_PER_PHONE_PER_HOUR = 5
SUBMISSIONS_PER_ADDRESS_PER_HOUR = 30
# Proving a ticket (tracking code + phone digits) and its back-off against guessing: services/tracking.py.


def _citizen() -> Actor:
    return Actor(username="citizen", role=Role.CITIZEN)


def _public_view(ticket: Ticket) -> dict[str, Any]:
    """What the citizen sees: no internal notes; replies masked like every staff view (their own
    name too: a tracking code and four digits are not an identity check)."""
    names = party_names(ticket.to_dict())
    return {
        "tracking_code": ticket.tracking_code,
        "kind": ticket.kind, "kind_label": KIND_LABELS.get(ticket.kind, ticket.kind),
        "status": ticket.status, "status_label": STATUS_LABELS.get(ticket.status, ticket.status),
        "received_at": ticket.received_at.isoformat(),
        "replies": [{"at": r.at.isoformat(), "text": mask_text(r.text, names=names)} for r in ticket.replies],
        "can_evaluate": ticket.status == "pending_evaluation",
        "evaluated": any(f.via == "evaluation" for f in ticket.feedback),
    }


@route(public_bp, "/public/tickets", method="POST", roles=PUBLIC, body=SUBMIT_BODY,
       summary="A citizen submits a complaint, report or other request on the web (tracking code returned)",
       tags=("public",))
def submit(ctx: RequestContext) -> tuple[int, dict[str, Any]]:
    data = {**ctx.body, "channel": "web"}
    submission = service.validate_registration(data)  # a refused submission counts against no limit
    ratelimit.hit("submit-ip", ctx.source_ip or "unknown", limit=SUBMISSIONS_PER_ADDRESS_PER_HOUR,
                  window_seconds=3600)
    if submission.complainant.phone:
        ratelimit.hit("submit-phone", normalize_phone(submission.complainant.phone),
                      limit=SUBMISSIONS_PER_PHONE_PER_HOUR, window_seconds=3600)
    result = service.register(data, _citizen())
    if result.merged_into is not None:
        return 200, {"merged": True, "tickets": [_public_view(result.merged_into)],
                     "message": "您反映的问题已在办理中，新补充的情况已并入原工单。"}
    return 201, {"merged": False, "tickets": [_public_view(t) for t in result.tickets],
                 "message": "提交成功，请妥善保存查询码，凭查询码和手机号后四位查询办理进度。"}


@route(public_bp, "/public/tickets/{code}", roles=PUBLIC, query=TRACK_QUERY,
       summary="Track a ticket with its tracking code and the phone's last 4 digits", tags=("public",))
def track(ctx: RequestContext, code: str) -> dict[str, Any]:
    return _public_view(tracking.prove(code, ctx.query["phone_last4"], ctx.source_ip or "unknown"))


@route(public_bp, "/public/tickets/{code}/evaluation", method="POST", roles=PUBLIC, body=EVALUATION_BODY,
       summary="The citizen evaluates the result (web channel, when asked)", tags=("public",))
def evaluate(ctx: RequestContext, code: str) -> dict[str, Any]:
    ticket = tracking.prove(code, ctx.body["phone_last4"], ctx.source_ip or "unknown")
    params = {k: ctx.body[k] for k in ("satisfaction", "solved", "comment") if k in ctx.body}
    updated = service.act(ticket.id, "evaluate", params, _citizen())
    return _public_view(updated)
