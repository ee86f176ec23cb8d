"""Partner routes: the signed inbound webhook and status query, the partner registry, deliveries,
reconciliation (by day, and ticket by ticket with a resend).

``POST /partners/{partner_id}/webhooks`` and ``POST /partners/{partner_id}/status-query`` are
public: the caller is authenticated by its Standard Webhooks signature over the raw bytes (the
routes take no body schema, so nothing parses the body before the signature is checked).
Everything else is for administrators (managers may read).
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalice import Blueprint

from chalicelib.api.routing import PUBLIC, RequestContext, route
from chalicelib.cursors import decode_cursor, encode_cursor
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.integration import feeds, inbound, reconciliation, records, registry, sender, status_query, units
from chalicelib.integration import keys as partner_keys
from chalicelib.services import clock

partners_bp = Blueprint(__name__)

ADMIN = ("admin",)
READERS = ("admin", "manager")
DATE = {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
ENDPOINT = {"type": "object", "properties": {
    "url": {"type": "string", "maxLength": 2048},
    "topics": {"type": "array", "items": {"type": "string", "maxLength": 64}, "maxItems": 20},
    "enabled": {"type": "boolean"}}, "required": ["url"], "additionalProperties": False}
ENDPOINTS = {"type": "array", "items": ENDPOINT, "maxItems": registry.MAX_ENDPOINTS}
CREATE_BODY = {"type": "object", "properties": {
    "id": {"type": "string", "maxLength": 63}, "name": {"type": "string", "maxLength": 100},
    "kind": {"type": "string", "enum": list(registry.KINDS)}, "endpoints": ENDPOINTS,
    "key_kind": {"type": "string", "enum": ["hmac", "ed25519_public"]},
    "secret": {"type": "string", "maxLength": 200}, "enabled": {"type": "boolean"},
    "report_within_hours": {"type": "integer"}},
    "required": ["id", "name", "kind"], "additionalProperties": False}
UPDATE_BODY = {"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 100}, "enabled": {"type": "boolean"}, "endpoints": ENDPOINTS,
    "report_within_hours": {"type": "integer"}},
    "additionalProperties": False, "minProperties": 1}
ROTATE_BODY = {"type": "object", "properties": {
    "kind": {"type": "string", "enum": list(partner_keys.KINDS)}, "value": {"type": "string", "maxLength": 200},
    "grace_hours": {"type": "integer", "minimum": 0, "maximum": 720}}, "additionalProperties": False}
DELIVERIES_QUERY = {"type": "object", "properties": {
    "status": {"type": "string", "enum": ["failed", "pending", "sending", "retrying", "delivered"]},
    "date": DATE, "limit": {"type": "string", "pattern": "^[1-9][0-9]{0,2}$"},
    "cursor": {"type": "string", "maxLength": 2000}}}
DAY_QUERY = {"type": "object", "properties": {"date": DATE}}
PERIOD_QUERY = {"type": "object", "properties": {"from": DATE, "to": DATE}}
_UNIT_TEXT = {"type": ["string", "null"], "maxLength": 100}
UNIT_MAPPINGS_BODY = {"type": "object", "properties": {
    "expected_version": {"type": "integer", "minimum": 0},
    "items": {"type": "array", "maxItems": units.MAX_MAPPINGS, "items": {
        "type": "object", "properties": {
            "unit_code": _UNIT_TEXT, "unit_name": _UNIT_TEXT,
            "department": {"type": "string", "minLength": 1, "maxLength": 32},
            "office": {"type": ["string", "null"], "maxLength": 32}},
        "required": ["department"], "additionalProperties": False}}},
    "required": ["expected_version", "items"], "additionalProperties": False}
RESEND_BODY = {"type": "object", "properties": {"ticket_ids": {
    "type": "array", "minItems": 1, "maxItems": feeds.MAX_RESEND,
    "items": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"}}},
    "required": ["ticket_ids"], "additionalProperties": False}


def _today() -> str:
    return clock.now().astimezone(TZ).date().isoformat()


def _day(ctx: RequestContext) -> str:
    from datetime import date

    value = ctx.query.get("date") or _today()
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("not a date", details={"date": "YYYY-MM-DD"}) from None
    return value


def _partner(partner_id: str) -> dict[str, Any]:
    entry = registry.find(partner_id)
    if entry is None:
        raise NotFound(f"partner {partner_id} not found")
    return entry


# --------------------------------------------------------------------------- inbound
@route(partners_bp, "/partners/{partner_id}/webhooks", method="POST", roles=PUBLIC,
       summary="Inbound partner webhook (Standard Webhooks signature over the raw body; idempotent by webhook-id)",
       tags=("partners",))
def receive_webhook(ctx: RequestContext, partner_id: str) -> tuple[int, dict[str, Any]]:
    context = getattr(partners_bp.current_request, "lambda_context", None)
    return 200, inbound.receive(partner_id, ctx.headers, ctx.raw_body, lambda_context=context)


@route(partners_bp, "/partners/{partner_id}/webhooks", roles=READERS, query=DAY_QUERY,
       summary="The inbound webhooks received from a partner on one day and what became of them",
       tags=("partners",))
def list_inbound(ctx: RequestContext, partner_id: str) -> dict[str, Any]:
    _partner(partner_id)
    day = _day(ctx)
    items = [{"webhook_id": i.webhook_id, "type": i.type, "outcome": i.outcome, "external_id": i.external_id,
              "ticket_id": i.ticket_id, "sequence": i.sequence, "error": i.error, "received_at": i.received_at}
             for i in records.inbound_on(partner_id, day)]
    return {"partner_id": partner_id, "date": day, "items": items}


@route(partners_bp, "/partners/{partner_id}/status-query", method="POST", roles=PUBLIC,
       summary="Signed status query from the platform tickets came from (12345): our status and theirs, by case number",
       tags=("partners",))
def query_status(ctx: RequestContext, partner_id: str) -> dict[str, Any]:
    return status_query.answer(partner_id, ctx.headers, ctx.raw_body, clock.now())


# --------------------------------------------------------------------------- registry
@route(partners_bp, "/partners", roles=READERS, summary="The partner platforms (upper, lower, 12345, data center)",
       tags=("partners",))
def list_partners(ctx: RequestContext) -> dict[str, Any]:
    return {"items": [registry.public_view(e) for e in registry.list_all()]}


@route(partners_bp, "/partners", method="POST", roles=ADMIN, body=CREATE_BODY,
       summary="Register a partner platform with its endpoints and first key (a generated secret is shown once)",
       tags=("partners",))
def create_partner(ctx: RequestContext) -> tuple[int, dict[str, Any]]:
    entry, key = registry.create(ctx.body, clock.now())
    shown = key.meta()
    if "secret" not in ctx.body:
        shown["value"] = key.value  # generated here: the only time anyone sees it
    return 201, {"partner": registry.public_view(entry), "key": shown}


@route(partners_bp, "/partners/{partner_id}", roles=READERS, summary="One partner platform", tags=("partners",))
def get_partner(ctx: RequestContext, partner_id: str) -> dict[str, Any]:
    return registry.public_view(_partner(partner_id))


@route(partners_bp, "/partners/{partner_id}", method="PATCH", roles=ADMIN, body=UPDATE_BODY,
       summary="Rename, enable/disable a partner, replace its endpoints, or set a data centre's reporting limit",
       tags=("partners",))
def update_partner(ctx: RequestContext, partner_id: str) -> dict[str, Any]:
    _partner(partner_id)
    return registry.public_view(registry.update(partner_id, ctx.body, clock.now()))


@route(partners_bp, "/partners/{partner_id}/unit-mappings", roles=READERS,
       summary="A 12345 platform's handling units (承办单位) mapped to our departments and offices",
       tags=("partners",))
def get_unit_mappings(ctx: RequestContext, partner_id: str) -> dict[str, Any]:
    _partner(partner_id)
    return units.view(partner_id)


@route(partners_bp, "/partners/{partner_id}/unit-mappings", method="PUT", roles=ADMIN, body=UNIT_MAPPINGS_BODY,
       summary="Replace a 12345 platform's unit mapping (expected_version: the version loaded, 0 for the first; "
               "a mapped case arrives dispatched to our unit)", tags=("partners",))
def save_unit_mappings(ctx: RequestContext, partner_id: str) -> dict[str, Any]:
    _partner(partner_id)
    assert ctx.principal is not None
    return units.save(partner_id, ctx.body["items"], expected_version=ctx.body["expected_version"],
                      actor=ctx.principal.username, now=clock.now())


@route(partners_bp, "/partners/{partner_id}/secrets", method="POST", roles=ADMIN, body=ROTATE_BODY,
       summary="Rotate a partner's key: the new one is added, the old ones stay valid for a grace period",
       tags=("partners",))
def rotate_secret(ctx: RequestContext, partner_id: str) -> tuple[int, dict[str, Any]]:
    _partner(partner_id)
    now = clock.now()
    kind = ctx.body.get("kind", "hmac")
    added, bundle = partner_keys.store.rotate(partner_id, kind, now, value=ctx.body.get("value"),
                                              grace=timedelta(hours=ctx.body.get("grace_hours", 24)))
    entry = registry.set_key_meta(partner_id, bundle, now)
    shown = added.meta()
    if kind == "hmac" and "value" not in ctx.body:
        shown["value"] = added.value  # shown once; the partner installs it before the grace period ends
    return 201, {"key": shown, "partner": registry.public_view(entry)}


@route(partners_bp, "/partners/{partner_id}/secrets/{key_id}", method="DELETE", roles=ADMIN,
       summary="Revoke one key of a partner at once (a leaked secret)", tags=("partners",))
def revoke_secret(ctx: RequestContext, partner_id: str, key_id: str) -> dict[str, Any]:
    _partner(partner_id)
    now = clock.now()
    bundle = partner_keys.store.revoke(partner_id, key_id, now)
    return registry.public_view(registry.set_key_meta(partner_id, bundle, now))


# --------------------------------------------------------------------------- deliveries
@route(partners_bp, "/partners/{partner_id}/deliveries", roles=READERS, query=DELIVERIES_QUERY,
       summary="Outbound deliveries to a partner: the failed (parked) ones, or one day's by status",
       tags=("partners",))
def list_deliveries(ctx: RequestContext, partner_id: str) -> dict[str, Any]:
    _partner(partner_id)
    status = ctx.query.get("status", "failed")
    limit = min(int(ctx.query.get("limit") or 50), 200)
    if status == "failed" and not ctx.query.get("date"):
        items, last = sender.failed(partner_id, limit=limit, cursor=decode_cursor(ctx.query.get("cursor")))
        return {"items": [sender.view(i) for i in items], "next_cursor": encode_cursor(last)}
    day = _day(ctx)
    items = [sender.view(i) for i in records.deliveries_on(partner_id, day) if i.status == status]
    return {"items": items[:limit], "date": day, "next_cursor": None}


@route(partners_bp, "/partners/{partner_id}/deliveries/{delivery_id}", roles=READERS,
       summary="One delivery with its attempts and its body (personal data masked)", tags=("partners",))
def get_delivery(ctx: RequestContext, partner_id: str, delivery_id: str) -> dict[str, Any]:
    item = records.get_delivery(delivery_id) if delivery_id.startswith("msg_") and len(delivery_id) < 64 else None
    if item is None or item.partner_id != partner_id:
        raise NotFound(f"delivery {delivery_id} not found")
    return sender.view(item, with_body=True)


@route(partners_bp, "/partners/{partner_id}/deliveries/{delivery_id}/replay", method="POST", roles=ADMIN,
       body={"type": "object", "additionalProperties": False},
       summary="Replay a failed delivery: a fresh series of signed attempts", tags=("partners",))
def replay_delivery(ctx: RequestContext, partner_id: str, delivery_id: str) -> tuple[int, dict[str, Any]]:
    item = records.get_delivery(delivery_id) if delivery_id.startswith("msg_") and len(delivery_id) < 64 else None
    if item is None or item.partner_id != partner_id:
        raise NotFound(f"delivery {delivery_id} not found")
    assert ctx.principal is not None
    return 202, sender.view(sender.replay(delivery_id, ctx.principal.username))


# --------------------------------------------------------------------------- reconciliation
@route(partners_bp, "/partners/{partner_id}/reconciliation", roles=READERS, query=DAY_QUERY,
       summary="Reconciliation (对账) of one day: sent, acknowledged, received, failed - counts and ids",
       tags=("partners",))
def get_reconciliation(ctx: RequestContext, partner_id: str) -> dict[str, Any]:
    _partner(partner_id)
    return reconciliation.reconcile(partner_id, _day(ctx))


@route(partners_bp, "/partners/{partner_id}/reconciliation/tickets", roles=READERS, query=PERIOD_QUERY,
       summary="Ticket-by-ticket reconciliation (逐单对账) of a partner's feed over a period: missing, failed, "
               "pending, status mismatches", tags=("partners",))
def get_ticket_reconciliation(ctx: RequestContext, partner_id: str) -> dict[str, Any]:
    _partner(partner_id)
    period = feeds.Period.parse(ctx.query.get("from"), ctx.query.get("to"), clock.now().astimezone(TZ).date())
    return feeds.reconcile_tickets(partner_id, period)


@route(partners_bp, "/partners/{partner_id}/reconciliation/resend", method="POST", roles=ADMIN, body=RESEND_BODY,
       summary="Resend the present state of tickets the reconciliation found out of step (new signed deliveries)",
       tags=("partners",))
def resend_tickets(ctx: RequestContext, partner_id: str) -> tuple[int, dict[str, Any]]:
    _partner(partner_id)
    return 202, feeds.resend(partner_id, ctx.body["ticket_ids"], clock.now())
