"""Inbound partner webhooks: verify, validate, then apply exactly once.

``POST /partners/{partnerId}/webhooks`` hands the raw request here. In order:

1. **Who.** An unknown or disabled partner is a 401.
2. **Authentic.** The Standard Webhooks signature is checked against the raw bytes, before any
   parsing, with the partner's active keys (several during a rotation); a stale or future
   timestamp (±5 min) is a 401. Nothing is stored for a rejected request.
3. **Valid.** The JSON body is checked against the event type's schema (and, for an assignment,
   the ticket facts against the intake rules); a 400 names every bad field; nothing is stored.
4. **Once.** Powertools idempotency, on the same table (``PK = IDEMPOTENCY#webhooks#<partner>``,
   ``SK`` = the hashed ``webhook-id``), with payload validation: the same id again answers the
   first answer and does nothing; the same id with another body is a 409. Underneath, the
   inbound log item (``WHIN#...``) is written in the same transaction as the effect with a
   does-not-exist condition, so even after the idempotency record expires no effect repeats.
5. **Apply.**
   * ``ticket.assigned`` (upper level / 12345; a 12345 platform may send its own case format,
     ``data.case``, translated by :mod:`chalicelib.integration.hotline12345`): registered through the intake use case with the
     partner as actor (channel ``upper_level`` or ``hotline_12345``); the external id mapping and
     the ticket's partner link are written in the ticket's creation transaction. A 12345 case
     naming a handling unit the partner's unit mapping covers (:mod:`.units`) is accepted and
     dispatched to our unit in that same transaction (the system acts; the timeline names the
     12345 unit); otherwise it waits for the centre. An external id
     already mapped answers the existing ticket; a repeat of an open ticket (Art. 35) is linked
     to it instead of creating a second one.
   * ``ticket.urged``: an urging (source upper_level) to each department responsible now.
   * ``ticket.recalled``: the upper level withdraws its assignment: an urging to the centre,
     which decides (decline, or return upward) - the lifecycle has no partner-driven cancel.
   * ``ticket.updated`` / ``ticket.closed`` (lower-level platform, on a share we sent down): a
     progress note / the closure submission as the platform's actor (signing first if it had not
     signed), applied only if its ``sequence`` is newer than the last one applied from that
     platform on that ticket; an older one is acknowledged and ignored.
"""
from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime
from typing import Any, Callable

import fastjsonschema
from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.aws import client
from chalicelib.config import get_settings
from chalicelib.domain import intake
from chalicelib.domain.deadlines import working_departments  # who an upper-level urging goes to
from chalicelib.domain.errors import (
    ConcurrentModification,
    Conflict,
    DomainError,
    Duplicate,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from chalicelib.domain.jsonbody import parse_json
from chalicelib.domain.ticket import (CENTER, SYSTEM_ACTOR, Actor, AssignmentRole, AssignmentStatus, Outcome, Role,
                                      Ticket)
from chalicelib.integration import keys as partner_keys
from chalicelib.integration.keys import SignatureRejected
from chalicelib.integration import hotline12345, records, registry, units
from chalicelib.integration.records import InboundItem, LinkItem, MappingItem, iso
from chalicelib.observability import logger
from chalicelib.services import clock
from chalicelib.services import tickets
from chalicelib.services.tickets import TicketService
from chalicelib.store.tickets import Companion, companions

IDEMPOTENCY_DAYS = 7  # longer than the partners' retry schedules (Standard Webhooks: ~3 days)
LEDGER_TTL_DAYS = records.LEDGER_TTL_DAYS
CHANNEL_OF_KIND = {"upper": "upper_level", "hotline_12345": "hotline_12345"}


class WebhookIdReused(Conflict):
    """The same ``webhook-id`` came with a different body (HTTP 409)."""

    code = "webhook_id_reused"


class InProgress(Conflict):
    """The same webhook is being processed right now; retry shortly (HTTP 409)."""

    code = "in_progress"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.retry_after = 2


class StorageBusy(DomainError):
    """The idempotency store failed; retry (HTTP 503)."""

    code = "service_unavailable"
    http_status = 503

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.retry_after = 2


# --------------------------------------------------------------------------- schemas
_EXTERNAL_ID = {"type": "string", "minLength": 1, "maxLength": 128, "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]*$"}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 2000}
_SEQUENCE = {"type": "integer", "minimum": 1, "maximum": 9007199254740991}
_ENVELOPE = fastjsonschema.compile({
    "type": "object",
    "properties": {"type": {"type": "string", "maxLength": 64}, "timestamp": {"type": "string", "maxLength": 64},
                   "data": {"type": "object"}},
    "required": ["type", "data"], "additionalProperties": False})
_DATA = {
    "ticket.assigned": {"properties": {"external_id": _EXTERNAL_ID, "ticket": {"type": "object"}},
                        "required": ["external_id", "ticket"]},
    "ticket.urged": {"properties": {"external_id": _EXTERNAL_ID, "text": _TEXT}, "required": ["external_id", "text"]},
    "ticket.recalled": {"properties": {"external_id": _EXTERNAL_ID, "reason": _TEXT},
                        "required": ["external_id", "reason"]},
    "ticket.updated": {"properties": {"ticket_id": {"type": "string", "minLength": 1, "maxLength": 64},
                                      "external_id": _EXTERNAL_ID, "assignment_id": {"type": "string", "maxLength": 16},
                                      "sequence": _SEQUENCE, "text": _TEXT},
                       "required": ["sequence", "text"]},
    "ticket.closed": {"properties": {"ticket_id": {"type": "string", "minLength": 1, "maxLength": 64},
                                     "external_id": _EXTERNAL_ID, "assignment_id": {"type": "string", "maxLength": 16},
                                     "sequence": _SEQUENCE, "result": {"type": "string", "maxLength": 32},
                                     "termination_reason": {"type": "string", "maxLength": 64},
                                     "facts": {"type": "string", "minLength": 1, "maxLength": 10000}},
                      "required": ["sequence", "facts"]},
}
_DATA_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    name: fastjsonschema.compile({"type": "object", "additionalProperties": False, **schema})
    for name, schema in _DATA.items()
}


def _schema_errors(exc: fastjsonschema.JsonSchemaValueException, prefix: str) -> dict[str, str]:
    path = [str(p) for p in (exc.path or [])[1:]]
    name = ".".join([prefix, *path]) if path else prefix
    return {name: exc.message.replace("data.", "").replace("data ", "")[:200]}


def parse(raw: bytes, kind: str, now: datetime) -> dict[str, Any]:
    """The event, checked: ``{"type", "data", ...}``; ValidationFailed with field details otherwise."""
    event = parse_json(raw)  # bad JSON or a lone surrogate in any string: a 400 naming the field
    try:
        _ENVELOPE(event)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise ValidationFailed("invalid webhook payload", details=_schema_errors(exc, "body")) from None
    event_type = event["type"]
    if event_type not in registry.INBOUND_TYPES.get(kind, frozenset()):
        allowed = ", ".join(sorted(registry.INBOUND_TYPES.get(kind, ()))) or "none"
        raise ValidationFailed("event type not accepted from this partner",
                               details={"type": f"a {kind} partner sends: {allowed}"})
    if event_type == "ticket.assigned" and kind == "hotline_12345" and "case" in event["data"]:
        if set(event["data"]) != {"case"}:
            raise ValidationFailed("invalid webhook payload", details={"data": "a 12345 case comes alone: data.case"})
        case = event["data"]["case"]  # the 12345 format; the unit it names routes it (units.py)
        event = {**event, "data": hotline12345.to_assignment(case), "unit": hotline12345.unit_of(case)}
    try:
        _DATA_VALIDATORS[event_type](event["data"])
    except fastjsonschema.JsonSchemaValueException as exc:
        raise ValidationFailed("invalid webhook payload", details=_schema_errors(exc, "data")) from None
    data = event["data"]
    if event_type in ("ticket.updated", "ticket.closed") and not (data.get("ticket_id") or data.get("external_id")):
        raise ValidationFailed("which ticket?", details={"data.ticket_id": "ticket_id or external_id is required"})
    if event_type == "ticket.assigned":
        ticket = data["ticket"]
        errors = {f"data.ticket.{k}": "set by the platform" for k in ("channel", "external_ref") if k in ticket}
        if errors:
            raise ValidationFailed("invalid ticket", details=errors)
        try:
            intake.validate_submission(_submission(ticket, kind, data["external_id"]), now=now)
        except ValidationFailed as exc:
            raise ValidationFailed("invalid ticket", details={f"data.ticket.{k}": v for k, v in exc.details.items()}) from None
    return event


def _submission(ticket: dict[str, Any], kind: str, external_id: str) -> dict[str, Any]:
    return {**ticket, "channel": CHANNEL_OF_KIND[kind], "external_ref": external_id}


# --------------------------------------------------------------------------- entry point
def partner_actor(partner_id: str) -> Actor:
    """The actor a partner platform acts as (its id doubles as its department code)."""
    return Actor(username=partner_id, role=Role.PARTNER, department=partner_id)


def receive(partner_id: str, headers: dict[str, str], raw: bytes, *, now: datetime | None = None,
            lambda_context: Any = None, service: TicketService | None = None) -> dict[str, Any]:
    """Handle one inbound webhook; returns the answer body (200), or raises a DomainError.

    ``lambda_context`` lets the idempotency record of a request that dies mid-way expire with the
    function's timeout instead of blocking the partner's retries. ``service``: the ticket door the
    event's changes go through (the default one if not given).
    """
    now = now or clock.now()
    entry = registry.find(partner_id, cached=True)
    if entry is None or not entry.get("enabled", True):
        raise SignatureRejected("unknown or disabled partner")
    verified = partner_keys.verify_signed(partner_id, headers, raw, now)
    event = parse(raw, entry["kind"], now)
    door = service or tickets.default()
    return _process(entry, verified.id, hashlib.sha256(raw).hexdigest(), event, now, door, lambda_context)


# --------------------------------------------------------------------------- idempotency
_handlers: dict[str, tuple[Any, Any, Callable[..., dict[str, Any]]]] = {}
_handlers_lock = threading.Lock()


def _idempotent_handler(partner_id: str) -> tuple[Any, Callable[..., dict[str, Any]]]:
    """The idempotent apply function of one partner (one persistence layer each, cached)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    dynamodb = client("dynamodb")
    with _handlers_lock:
        cached = _handlers.get(partner_id)
        if cached is not None and cached[0] is dynamodb:
            return cached[1], cached[2]
        persistence = DynamoDBPersistenceLayer(
            table_name=get_settings().table_name, key_attr="PK", sort_key_attr="SK",
            static_pk_value=f"IDEMPOTENCY#webhooks#{partner_id}", expiry_attr="expires_at",
            boto3_client=dynamodb)
        config = IdempotencyConfig(event_key_jmespath="webhook_id", payload_validation_jmespath="body_sha256",
                                   raise_on_no_idempotency_key=True,
                                   expires_after_seconds=IDEMPOTENCY_DAYS * 86400)

        @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
        def handle(request: dict[str, Any], entry: dict[str, Any], event: dict[str, Any],
                   now: datetime, door: TicketService) -> dict[str, Any]:
            return _apply(entry, request["webhook_id"], event, now, door)

        _handlers[partner_id] = (dynamodb, config, handle)
        return config, handle


def _process(entry: dict[str, Any], webhook_id: str, body_sha: str, event: dict[str, Any],
             now: datetime, door: TicketService, lambda_context: Any = None) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    config, handle = _idempotent_handler(entry["id"])
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        config.register_lambda_context(lambda_context)
    try:
        return handle(request={"webhook_id": webhook_id, "body_sha256": body_sha}, entry=entry, event=event, now=now,
                      door=door)
    except IdempotencyValidationError:
        raise WebhookIdReused("this webhook-id was already used with a different body",
                              details={"webhook-id": webhook_id}) from None
    except IdempotencyAlreadyInProgressError:
        raise InProgress("this webhook is being processed; retry shortly") from None
    except IdempotencyPersistenceLayerError as exc:
        logger.warning("idempotency store failed", extra={"partner": entry["id"], "error": type(exc).__name__})
        raise StorageBusy("the webhook could not be recorded; retry shortly") from None
    except (ValidationFailed, ConcurrentModification):
        raise  # bad content (nothing stored) or a race the partner's retry resolves
    except DomainError as exc:  # a valid event the ticket's state refuses: recorded for reconciliation
        _record(entry["id"], webhook_id, event, "rejected", now, error=exc.code,
                external_id=event["data"].get("external_id"), ticket_id=event["data"].get("ticket_id"),
                condition=InboundItem.PK.does_not_exist() | (InboundItem.outcome == "rejected"))
        raise


# --------------------------------------------------------------------------- the inbound log
def _new_inbound_condition() -> Any:
    return InboundItem.PK.does_not_exist() | (InboundItem.outcome == "rejected")


def _inbound_item(partner_id: str, webhook_id: str, event: dict[str, Any], outcome: str, now: datetime, *,
                  external_id: str | None = None, ticket_id: str | None = None, sequence: int | None = None,
                  error: str | None = None) -> InboundItem:
    return InboundItem(records.inbound_pk(partner_id, webhook_id), "WEBHOOK", partner_id=partner_id,
                       webhook_id=webhook_id, type=event["type"], outcome=outcome, external_id=external_id,
                       ticket_id=ticket_id, sequence=sequence, error=error, received_at=iso(now),
                       GSI2PK=records.ledger_pk(partner_id, records.day_of(now), webhook_id),
                       GSI2SK=f"IN#{iso(now)}#{webhook_id}",
                       expires_at=int(time.time()) + LEDGER_TTL_DAYS * 86400)


def _record(partner_id: str, webhook_id: str, event: dict[str, Any], outcome: str, now: datetime, *,
            condition: Any = None, **fields: Any) -> dict[str, Any]:
    """Log an inbound webhook whose outcome writes nothing else; returns the answer body."""
    item = _inbound_item(partner_id, webhook_id, event, outcome, now, **fields)
    try:
        item.save(condition=condition if condition is not None else _new_inbound_condition())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        return _earlier(partner_id, webhook_id)
    return _answer(item)


def _answer(item: InboundItem) -> dict[str, Any]:
    return {"webhook_id": item.webhook_id, "type": item.type, "outcome": item.outcome,
            "ticket_id": item.ticket_id, "external_id": item.external_id}


def _earlier(partner_id: str, webhook_id: str) -> dict[str, Any]:
    """The answer already given to this webhook (its effect is done; nothing happens again)."""
    item = records.find_inbound(partner_id, webhook_id)
    if item is None:
        raise ConcurrentModification("the webhook is being applied concurrently; retry")
    return _answer(item)


# --------------------------------------------------------------------------- applying events
def _apply(entry: dict[str, Any], webhook_id: str, event: dict[str, Any], now: datetime,
           door: TicketService) -> dict[str, Any]:
    handler = {
        "ticket.assigned": _assigned, "ticket.urged": _urged, "ticket.recalled": _recalled,
        "ticket.updated": _lower_report, "ticket.closed": _lower_report,
    }[event["type"]]
    return handler(entry, webhook_id, event, now, door)


def _assigned(entry: dict[str, Any], webhook_id: str, event: dict[str, Any], now: datetime,
              door: TicketService) -> dict[str, Any]:
    partner_id, data = entry["id"], event["data"]
    external_id = data["external_id"]
    answer: dict[str, Any] = {}
    route = units.route(partner_id, event.get("unit")) if entry["kind"] == units.KIND else None
    # No read first: the mapping's does-not-exist condition in the creating transaction decides, and
    # a known external id (the partner sent it again under a new webhook id) ends in _after_conflict.

    def build(outcomes: list[Outcome]) -> list[Companion]:
        first = outcomes[0].ticket
        outcome = "registered" if outcomes[0].events and outcomes[0].events[0].type == "registered" else "merged"
        routed = route.target if route is not None and outcome == "registered" else None
        inbound = _inbound_item(partner_id, webhook_id, event, outcome, now, external_id=external_id,
                                ticket_id=first.id)
        ticket_ids = list(dict.fromkeys(o.ticket.id for o in outcomes))  # a routed case: its steps follow
        answer.update(_answer(inbound), ticket_ids=ticket_ids, **({"dispatched_to": routed} if routed else {}))
        items = [Companion(_mapping(partner_id, external_id, first.id, now), MappingItem.PK.does_not_exist()),
                 Companion(inbound, _new_inbound_condition())]
        if event.get("unit") and outcome == "registered":  # which 12345 unit it named, and where it went
            items.append(Companion(units.arrival(partner_id, event["unit"], external_id, first.id, routed, now)))
        items += [Companion(_link(ticket_id, partner_id, "origin", external_id, now)) for ticket_id in ticket_ids]
        return items

    try:
        with companions(build):
            door.register(_submission(data["ticket"], entry["kind"], external_id), partner_actor(partner_id),
                          then=_routed_steps(route, entry), then_actor=SYSTEM_ACTOR)
    except Duplicate as exc:
        duplicate_of = str((exc.details or {}).get("ticket_id") or "")
        if not duplicate_of:
            raise
        return _link_existing(partner_id, webhook_id, event, external_id, duplicate_of, now)
    except (TransactWriteError, ConcurrentModification):
        return _after_conflict(partner_id, webhook_id, event, external_id, now)
    return answer


def _routed_steps(route: units.Route | None, entry: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A case whose 12345 unit is mapped: accepted and dispatched to our unit at once, by the centre's
    rules (the system acts, as for an automatic dispatch), the timeline saying 12345 assigned it."""
    if route is None:
        return []
    unit = f"{route.unit_name}（{route.unit_code}）" if route.unit_name and route.unit_code else \
        route.unit_name or route.unit_code
    name = hotline12345.department_names().get(route.target, route.target)
    return [("accept", {"text": f"{entry['name']}交办，已指定承办单位：{unit}"}),
            ("dispatch", {"mode": "single", "department": route.target,
                          "text": f"{entry['name']}交办：承办单位 {unit} 按对照表派至{name}"})]


def _after_conflict(partner_id: str, webhook_id: str, event: dict[str, Any], external_id: str,
                    now: datetime) -> dict[str, Any]:
    """A companion condition failed: this webhook was applied, or the external id was mapped meanwhile."""
    done = records.find_inbound(partner_id, webhook_id)
    if done is not None and done.outcome != "rejected":
        return _answer(done)
    mapped = records.find_mapping(partner_id, external_id)
    if mapped is not None:
        return _record(partner_id, webhook_id, event, "already_registered", now, external_id=external_id,
                       ticket_id=mapped)
    raise ConcurrentModification("the assignment is being registered concurrently; retry")


def _link_existing(partner_id: str, webhook_id: str, event: dict[str, Any], external_id: str, ticket_id: str,
                   now: datetime) -> dict[str, Any]:
    """A repeat of an open ticket (Art. 35): map the external id to it instead of a second ticket."""
    inbound = _inbound_item(partner_id, webhook_id, event, "linked_duplicate", now, external_id=external_id,
                            ticket_id=ticket_id)
    try:
        with TransactWrite(connection=MappingItem._get_connection().connection) as tx:
            tx.save(_mapping(partner_id, external_id, ticket_id, now), condition=MappingItem.PK.does_not_exist())
            tx.save(_link(ticket_id, partner_id, "origin", external_id, now))
            tx.save(inbound, condition=_new_inbound_condition())
    except TransactWriteError:
        return _after_conflict(partner_id, webhook_id, event, external_id, now)
    return _answer(inbound)


def _mapping(partner_id: str, external_id: str, ticket_id: str, now: datetime) -> MappingItem:
    return MappingItem(records.mapping_pk(partner_id, external_id), "MAP", partner_id=partner_id,
                       external_id=external_id, ticket_id=ticket_id, created_at=iso(now))


def _link(ticket_id: str, partner_id: str, relation: str, external_id: str | None, now: datetime, *,
          sequence: int = 0, created_at: str | None = None) -> LinkItem:
    return LinkItem(f"T#{ticket_id}", records.link_sk(partner_id), partner_id=partner_id, relation=relation,
                    external_id=external_id, last_sequence=sequence, created_at=created_at or iso(now),
                    updated_at=iso(now))


def _ticket_for(door: TicketService, partner_id: str, external_id: str) -> Ticket:
    ticket_id = records.find_mapping(partner_id, external_id)
    if ticket_id is None:
        raise NotFound("no ticket for this external id", details={"data.external_id": "unknown"})
    return door.repository.get(ticket_id)


def _urge_all(entry: dict[str, Any], webhook_id: str, event: dict[str, Any], now: datetime, door: TicketService,
              ticket: Ticket, departments: list[str], text: str) -> dict[str, Any]:
    steps = [("urge", {"text": text, "department": department}) for department in departments]
    inbound = _inbound_item(entry["id"], webhook_id, event, "applied", now,
                            external_id=event["data"].get("external_id"), ticket_id=ticket.id)
    try:
        with companions(lambda _: [Companion(inbound, _new_inbound_condition())]):
            current = door.change(ticket, steps, partner_actor(entry["id"]), now=now)[-1].ticket
    except ConcurrentModification:
        done = records.find_inbound(entry["id"], webhook_id)
        if done is not None and done.outcome != "rejected":
            return _answer(done)
        raise
    return {**_answer(inbound), "urging_ids": [u.id for u in current.urgings[len(ticket.urgings):]]}


def _urged(entry: dict[str, Any], webhook_id: str, event: dict[str, Any], now: datetime,
           door: TicketService) -> dict[str, Any]:
    ticket = _ticket_for(door, entry["id"], event["data"]["external_id"])
    return _urge_all(entry, webhook_id, event, now, door, ticket, working_departments(ticket), event["data"]["text"])


def _recalled(entry: dict[str, Any], webhook_id: str, event: dict[str, Any], now: datetime,
              door: TicketService) -> dict[str, Any]:
    ticket = _ticket_for(door, entry["id"], event["data"]["external_id"])
    text = "上级平台撤回交办，请中心核实处理（不予受理或退回上级）。撤回原因：" + event["data"]["reason"]
    return _urge_all(entry, webhook_id, event, now, door, ticket, [CENTER], text[:2000])


def _lower_report(entry: dict[str, Any], webhook_id: str, event: dict[str, Any], now: datetime,
                  door: TicketService) -> dict[str, Any]:
    """A lower-level platform's progress note or closure, applied by sequence number."""
    partner_id, data = entry["id"], event["data"]
    sequence = int(data["sequence"])
    external_id = data.get("external_id")
    ticket = door.repository.get(data["ticket_id"]) if data.get("ticket_id") else \
        _ticket_for(door, partner_id, external_id)
    link = records.find_link(ticket.id, partner_id)
    if link is not None and int(link.last_sequence) >= sequence:
        return _record(partner_id, webhook_id, event, "ignored_stale", now, external_id=external_id,
                       ticket_id=ticket.id, sequence=sequence)
    shares = [a for a in ticket.assignments if a.department == partner_id and a.role == AssignmentRole.LOWER_PLATFORM]
    if not shares:
        raise Forbidden("this ticket was not sent down to your platform", details={"data.ticket_id": ticket.id})
    share = ticket.assignment(data["assignment_id"]) if data.get("assignment_id") else \
        next((a for a in reversed(shares) if a.active), shares[-1])
    if share is None or share not in shares:
        raise Forbidden("that assignment is not your platform's", details={"data.assignment_id": "not yours"})
    steps: list[tuple[str, dict[str, Any]]] = []
    if share.status == AssignmentStatus.TO_SIGN:  # reporting implies it signed for the share
        steps.append(("sign", {"assignment_id": share.id}))
    if event["type"] == "ticket.updated":
        params: dict[str, Any] = {"assignment_id": share.id, "text": data["text"]}
        action = "add_note"
    else:
        params = {"assignment_id": share.id, "facts": data["facts"]}
        params.update({k: data[k] for k in ("result", "termination_reason") if k in data})
        action = "submit_closure"
    steps.append((action, params))
    external = external_id or (link.external_id if link else None)
    inbound = _inbound_item(partner_id, webhook_id, event, "applied", now, external_id=external,
                            ticket_id=ticket.id, sequence=sequence)
    newer = LinkItem.PK.does_not_exist() | (LinkItem.last_sequence < sequence)
    extra = [Companion(_link(ticket.id, partner_id, "lower", external, now, sequence=sequence,
                             created_at=link.created_at if link else None), newer),
             Companion(inbound, _new_inbound_condition())]
    if external_id and (link is None or link.external_id != external_id):
        extra.append(Companion(_mapping(partner_id, external_id, ticket.id, now),
                               MappingItem.PK.does_not_exist() | (MappingItem.ticket_id == ticket.id)))
    try:
        with companions(lambda _: extra):
            outcomes = door.change(ticket, steps, partner_actor(partner_id), now=now)
    except ConcurrentModification:
        done = records.find_inbound(partner_id, webhook_id)
        if done is not None and done.outcome != "rejected":
            return _answer(done)
        latest = records.find_link(ticket.id, partner_id)
        if latest is not None and int(latest.last_sequence) >= sequence:
            return _record(partner_id, webhook_id, event, "ignored_stale", now, external_id=external_id,
                           ticket_id=ticket.id, sequence=sequence)
        raise
    return {**_answer(inbound), "sequence": sequence, "assignment_id": share.id,
            "status": outcomes[-1].ticket.status}

