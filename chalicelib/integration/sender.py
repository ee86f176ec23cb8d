"""The webhook sender: outbox messages -> signed deliveries to partner endpoints, with retries.

Flow (all through the ``outbox`` queue, which the outbox relay fills from the table's stream):

1. An outbox message arrives. :func:`route` turns it into partner events
   (:mod:`chalicelib.integration.outbound`) and writes one delivery item per receiving endpoint,
   with a deterministic id (a redelivered message creates nothing twice). The delivery item is
   durable before any send: a failed send is never a lost message.
2. :func:`attempt` claims the delivery (conditional update), signs the body afresh (a new
   ``webhook-timestamp``; the ``webhook-id`` is the delivery id and stays the same), checks the
   endpoint against the SSRF guard and POSTs it.
3. 2xx: delivered. 410 Gone: the endpoint is disabled and the delivery parked. Anything else:
   the next attempt is scheduled on the Standard Webhooks schedule (5 s, 5 min, 30 min, 2 h, 5 h,
   10 h, 14 h, 20 h, 24 h), later if the partner sent ``Retry-After``. After the last attempt the
   delivery is parked: a copy goes to the outbox DLQ (its alarm fires) and admins list, inspect
   and replay it (:func:`replay`).
4. :func:`retry_due` (a schedule, every minute) finds deliveries whose next attempt is due and
   puts them back on the outbox queue; it also rescues attempts whose function died mid-send.

A batch stops attempting when its time budget is spent; what is left is picked up by
:func:`retry_due`, so one slow partner cannot make the handler time out.
"""
from __future__ import annotations

import hashlib
import json
import random
import time
from datetime import datetime, timedelta
from typing import Any, Iterable

from pynamodb.exceptions import PutError, UpdateError

from chalicelib import batches
from chalicelib.aws import client
from chalicelib.config import get_settings, outbox_dlq_url
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.integration import keys as partner_keys
from chalicelib.integration import outbound, records, registry, signing, transport, urlguard
from chalicelib.integration.records import DeliveryItem, LinkItem, iso
from chalicelib.observability import logger
from chalicelib.services import clock

SCHEDULE_SECONDS = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600)
MAX_ATTEMPTS = len(SCHEDULE_SECONDS) + 1
MAX_RETRY_AFTER = 24 * 3600
LEASE = timedelta(minutes=5)
HISTORY_LIMIT = 20
BATCH_BUDGET_SECONDS = 40.0
# The outbox mapping's maximum concurrency (app.py): partners that answer slowly hold at most this
# many Lambda instances, never the account's concurrency the desk API needs.
WEBHOOK_SENDER_CONCURRENCY = 5
DELIVERED_TTL_DAYS = 400
OPEN = ("pending", "retrying")


def delivery_id_for(source_id: str, partner_id: str, endpoint_id: str, event_type: str) -> str:
    """A stable id: the same outbox message to the same endpoint is always the same delivery."""
    digest = hashlib.sha256(f"{source_id}|{partner_id}|{endpoint_id}|{event_type}".encode()).hexdigest()
    return "msg_" + digest[:32]


def _due_keys(delivery_id: str, when: datetime) -> dict[str, str]:
    return {"GSI1PK": records.due_shard(delivery_id), "GSI1SK": f"{iso(when)}#{delivery_id}"}


# --------------------------------------------------------------------------- creating deliveries
def create(event: outbound.PartnerEvent, endpoint: dict[str, Any], source_id: str, ticket_id: str | None,
           now: datetime) -> str | None:
    """Write one delivery (pending, due for its first attempt); None if it already exists."""
    delivery_id = delivery_id_for(source_id, event.partner_id, endpoint["id"], event.type)
    body = json.dumps(event.envelope(iso(now)), ensure_ascii=False, separators=(",", ":"))
    item = DeliveryItem(records.delivery_pk(delivery_id), "DELIVERY", delivery_id=delivery_id,
                        partner_id=event.partner_id, endpoint_id=endpoint["id"], event_type=event.type,
                        source_id=source_id, ticket_id=ticket_id, body=body, status="pending", attempts=0,
                        generation=0, next_attempt_at=iso(now + LEASE), history=[], created_at=iso(now),
                        GSI2PK=records.ledger_pk(event.partner_id, records.day_of(now), delivery_id),
                        GSI2SK=f"OUT#{iso(now)}#{delivery_id}", **_due_keys(delivery_id, now + LEASE))
    try:
        item.save(condition=DeliveryItem.PK.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return None
        raise
    return delivery_id


def _ensure_lower_link(ticket_id: str, partner_id: str, now: datetime) -> None:
    link = LinkItem(f"T#{ticket_id}", records.link_sk(partner_id), partner_id=partner_id, relation="lower",
                    last_sequence=0, created_at=iso(now))
    try:
        link.save(condition=LinkItem.PK.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def route(message: dict[str, Any], now: datetime) -> list[str]:
    """The deliveries one outbox message produces (created now); their ids, to attempt at once."""
    from chalicelib.services import tickets

    from chalicelib.integration import data_centre, feeds, hotline12345

    topic = str(message.get("topic") or "")
    ticket_id = message.get("ticket_id")
    payload = message.get("payload") or {}
    if not ticket_id or not topic.startswith("ticket."):
        return []
    centres = registry.enabled_of_kind("data_center")  # every ticket change is a record for them
    partners_hear = outbound.needs_ticket(topic)
    if not partners_hear and not centres:
        return []
    links = records.links_of(ticket_id) if partners_hear else []
    shares = []
    if topic == "ticket.dispatched":
        for partner_id, assignment_id in outbound.lower_platform_shares(payload):
            entry = registry.find(partner_id, cached=True)
            if entry is not None and entry.get("kind") == "lower":
                shares.append((partner_id, assignment_id))
    if not links and not shares and not centres:
        return []
    ticket = tickets.repository().get(ticket_id)
    events: list[outbound.PartnerEvent] = []
    for link in links:
        if link.relation == "origin":
            found = outbound.for_origin(topic, payload, ticket, link.external_id)
            if found is not None:
                events.append(outbound.PartnerEvent(link.partner_id, found[0], found[1]))
        elif link.relation == "lower":
            events.extend(outbound.for_lower(topic, payload, ticket, link.partner_id, link.external_id))
    for partner_id, assignment_id in shares:
        _ensure_lower_link(ticket_id, partner_id, now)
        events.append(outbound.assigned_to_lower(ticket, partner_id, assignment_id, payload))
    events.extend(outbound.PartnerEvent(c["id"], data_centre.EVENT_TYPE,
                                        data_centre.record(ticket, topic.removeprefix("ticket.")))
                  for c in centres)
    created = []
    for event in events:
        entry = registry.find(event.partner_id, cached=True)
        if entry is None:
            continue
        kind = entry.get("kind", "")
        if kind == "hotline_12345":  # its own status vocabulary beside ours
            event = outbound.PartnerEvent(event.partner_id, event.type, hotline12345.decorate(event.data, ticket))
        for endpoint in registry.receivers(entry, event.type):
            delivery_id = create(event, endpoint, str(message.get("id")), ticket_id, now)
            if delivery_id:
                created.append(delivery_id)
                feeds.note_sent(ticket_id, event.partner_id, kind, delivery_id, event.data.get("version"),
                                event.data.get("status"), now)
    return created


# --------------------------------------------------------------------------- attempts
def _history(item: DeliveryItem, entry: dict[str, Any]) -> list[dict[str, Any]]:
    old = [h.as_dict() if hasattr(h, "as_dict") else dict(h) for h in (item.history or [])]
    return (old + [entry])[-HISTORY_LIMIT:]


def _next_delay(attempts: int, retry_after: int | None) -> int:
    base = SCHEDULE_SECONDS[attempts - 1]
    jitter = int(base * random.uniform(0, 0.1))  # noqa: S311 - spreading retries, not security
    return max(base + jitter, min(retry_after or 0, MAX_RETRY_AFTER))


def _claim(item: DeliveryItem, now: datetime) -> bool:
    n, generation = int(item.attempts), int(item.generation)
    lease = now + LEASE
    try:
        item.update(actions=[DeliveryItem.status.set("sending"), DeliveryItem.attempts.set(n + 1),
                             DeliveryItem.next_attempt_at.set(iso(lease)),
                             DeliveryItem.GSI1SK.set(_due_keys(item.delivery_id, lease)["GSI1SK"])],
                    condition=(DeliveryItem.attempts == n) & DeliveryItem.status.is_in(*OPEN)
                    & (DeliveryItem.generation == generation))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _finish(item: DeliveryItem, actions: list[Any]) -> None:
    """Record an attempt's outcome, only if this attempt still owns the delivery."""
    try:
        item.update(actions=actions, condition=(DeliveryItem.attempts == item.attempts)
                    & (DeliveryItem.status == "sending") & (DeliveryItem.generation == item.generation))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        logger.warning("webhook attempt outcome lost to a concurrent change", extra={"delivery": item.delivery_id})


def _park(item: DeliveryItem, reason: str, now: datetime, extra: list[Any] | None = None) -> None:
    """Give up on a delivery: DLQ copy (alarm), then listed as failed for admins to replay."""
    dlq = outbox_dlq_url()
    if dlq:
        client("sqs").send_message(QueueUrl=dlq, MessageBody=json.dumps({
            "kind": "delivery_parked", "delivery_id": item.delivery_id, "generation": int(item.generation),
            "partner_id": item.partner_id, "event_type": item.event_type, "reason": reason}))
    _finish(item, (extra or []) + [
        DeliveryItem.status.set("failed"), DeliveryItem.failure_reason.set(reason),
        DeliveryItem.failed_at.set(iso(now)), DeliveryItem.next_attempt_at.remove(),
        DeliveryItem.GSI1PK.set(records.failed_pk(item.partner_id)),
        DeliveryItem.GSI1SK.set(f"{iso(now)}#{item.delivery_id}")])
    logger.warning("webhook delivery parked", extra={"partner": item.partner_id, "event_type": item.event_type,
                                                     "delivery": item.delivery_id, "reason": reason,
                                                     "attempts": int(item.attempts)})


def attempt(delivery_id: str, *, generation: int | None = None, now: datetime | None = None) -> str:
    """Make the next attempt of a delivery; returns its status afterwards (or why nothing was done)."""
    item = records.get_delivery(delivery_id)
    if item is None:
        return "missing"
    if item.status not in OPEN:
        return str(item.status)
    if generation is not None and int(item.generation) != generation:
        return "stale"
    now = now or clock.now()
    if not _claim(item, now):
        return "claimed_elsewhere"
    number = int(item.attempts)
    entry = registry.find(item.partner_id, cached=True)
    endpoint = registry.endpoint(entry, item.endpoint_id) if entry else None
    if entry is None or not entry.get("enabled", True):
        _park(item, "partner_disabled", now)
        return "failed"
    if endpoint is None or not endpoint.get("enabled", True):
        _park(item, "endpoint_disabled", now)
        return "failed"
    try:
        bundle = partner_keys.store.load(item.partner_id)
    except NotFound:
        _park(item, "no_signing_key", now)
        return "failed"
    hmac_secrets = partner_keys.active(bundle, "hmac", now)
    signing_keys = partner_keys.active(bundle, "ed25519_signing", now)
    if not hmac_secrets and not signing_keys:
        _park(item, "no_signing_key", now)
        return "failed"
    try:
        target = urlguard.resolve_target(endpoint["url"], local_stage=get_settings().is_local)
    except urlguard.UnsafeUrl as exc:
        if exc.details.get("url") == "host not found":
            return _schedule_retry(item, number, now, transport.Answer(0, None, "", "DNSLookupFailed", 0))
        _park(item, "ssrf_blocked", now)
        return "failed"
    body = item.body.encode("utf-8")
    headers = signing.sign_headers(item.delivery_id, int(now.timestamp()), body, hmac_secrets=hmac_secrets,
                                   signing_keys=signing_keys)
    answer = transport.post(target, body, headers)
    record = {"attempt": number, "at": iso(now), "status": answer.status, "error": answer.error,
              "duration_ms": answer.duration_ms, "response": answer.excerpt[:200]}
    common = [DeliveryItem.last_status_code.set(answer.status), DeliveryItem.history.set(_history(item, record))]
    if answer.error:
        common.append(DeliveryItem.last_error.set(answer.error))
    if answer.ok:
        from chalicelib.integration import feeds

        _finish(item, common + [
            DeliveryItem.status.set("delivered"), DeliveryItem.delivered_at.set(iso(now)),
            DeliveryItem.next_attempt_at.remove(), DeliveryItem.GSI1PK.remove(), DeliveryItem.GSI1SK.remove(),
            DeliveryItem.expires_at.set(int(time.time()) + DELIVERED_TTL_DAYS * 86400)])
        feeds.note_acked(item, entry.get("kind", ""), now)  # the per-ticket feed's acknowledged state
        return "delivered"
    if answer.status == 410:
        registry.disable_endpoint(item.partner_id, item.endpoint_id, "gone", now)
        _park(item, "endpoint_gone", now, common)
        return "failed"
    return _schedule_retry(item, number, now, answer, common)


def _schedule_retry(item: DeliveryItem, number: int, now: datetime, answer: transport.Answer,
                    common: list[Any] | None = None) -> str:
    common = common or [DeliveryItem.last_error.set(answer.error or "error")]
    if number >= MAX_ATTEMPTS:
        _park(item, "retries_exhausted", now, common)
        return "failed"
    when = now + timedelta(seconds=_next_delay(number, answer.retry_after))
    _finish(item, common + [DeliveryItem.status.set("retrying"), DeliveryItem.next_attempt_at.set(iso(when)),
                            DeliveryItem.GSI1PK.set(records.due_shard(item.delivery_id)),
                            DeliveryItem.GSI1SK.set(_due_keys(item.delivery_id, when)["GSI1SK"])])
    return "retrying"


# --------------------------------------------------------------------------- the queue handler
def handle_messages(bodies: Iterable[str], *, budget_seconds: float = BATCH_BUDGET_SECONDS) -> dict[str, int]:
    """The outbox queue's handler: route new outbox messages, make attempts; returns counts."""
    deadline = time.monotonic() + budget_seconds
    counts = {"routed": 0, "attempted": 0, "deferred": 0}
    for raw in bodies:
        message = json.loads(raw)
        if not isinstance(message, dict):
            logger.warning("outbox queue: not a message object")
            continue
        if message.get("kind") == "delivery_parked":  # redriven from the DLQ by an operator
            _replay_parked(str(message.get("delivery_id")), int(message.get("generation") or 0))
            continue
        if "delivery_id" in message:
            ids = [str(message["delivery_id"])]
            generation = message.get("generation")
        else:
            ids = route(message, clock.now())
            generation = None
            counts["routed"] += len(ids)
        for delivery_id in ids:
            if time.monotonic() >= deadline:
                counts["deferred"] += 1  # stays due: retry_due enqueues it again after its lease
                continue
            attempt(delivery_id, generation=generation)
            counts["attempted"] += 1
    return counts


def handle_event(event: dict[str, Any], *, budget_seconds: float = BATCH_BUDGET_SECONDS) -> dict[str, Any]:
    """The outbox queue's Lambda handler: :func:`handle_messages` message by message within one
    time budget; a message that raises is reported back alone (partial batch response)."""
    deadline = time.monotonic() + budget_seconds
    return batches.sqs_partial(event, lambda body: handle_messages(
        [body], budget_seconds=max(0.0, deadline - time.monotonic())))


def enqueue_new(delivery_ids: list[str]) -> None:
    """Queue the first attempt of deliveries just created (outside the outbox flow: a resend)."""
    if delivery_ids:
        _enqueue([(d, 0) for d in delivery_ids])


def _enqueue(items: list[tuple[str, int]]) -> None:
    url = get_settings().outbox_queue_url
    if not url:
        raise RuntimeError("OUTBOX_QUEUE_URL is not configured")
    sqs = client("sqs")
    for start in range(0, len(items), 10):
        batch = items[start:start + 10]
        answer = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "MessageBody": json.dumps({"delivery_id": d, "generation": g})}
            for n, (d, g) in enumerate(batch)])
        if answer.get("Failed"):
            raise RuntimeError(f"{len(answer['Failed'])} delivery attempts not accepted by SQS")


def retry_due(now: datetime | None = None, *, limit: int = 500) -> int:
    """Put every delivery whose next attempt is due back on the outbox queue; returns how many."""
    now = now or clock.now()
    bound = iso(now) + "#~"
    ready: list[tuple[str, int]] = []
    for shard in range(records.DUE_SHARDS):
        for item in DeliveryItem.by_status.query(f"DLV#due#{shard}", DeliveryItem.GSI1SK <= bound, limit=limit):
            status = str(item.status)
            if status == "sending" and int(item.attempts) >= MAX_ATTEMPTS:
                _park(item, "retries_exhausted", now)  # the last attempt's function died mid-send
                continue
            condition = (DeliveryItem.attempts == item.attempts) & (DeliveryItem.generation == item.generation)
            actions = [DeliveryItem.next_attempt_at.set(iso(now + LEASE)),
                       DeliveryItem.GSI1SK.set(_due_keys(item.delivery_id, now + LEASE)["GSI1SK"])]
            if status == "sending":  # the function died mid-attempt: that attempt counts as failed
                actions.append(DeliveryItem.status.set("retrying"))
                condition = condition & (DeliveryItem.status == "sending")
            elif status in OPEN:
                condition = condition & DeliveryItem.status.is_in(*OPEN)
            else:
                continue
            try:
                item.update(actions=actions, condition=condition)
            except UpdateError as exc:
                if exc.cause_response_code == "ConditionalCheckFailedException":
                    continue
                raise
            ready.append((item.delivery_id, int(item.generation)))
    if ready:
        _enqueue(ready)
    return len(ready)


# --------------------------------------------------------------------------- replay
def replay(delivery_id: str, by: str, now: datetime | None = None, *, enqueue: bool = True) -> DeliveryItem:
    """Give a parked delivery a fresh series of attempts (a new generation); admins only."""
    now = now or clock.now()
    item = records.get_delivery(delivery_id)
    if item is None:
        raise NotFound(f"delivery {delivery_id} not found")
    if item.status != "failed":
        raise Conflict("only failed deliveries are replayed", details={"status": item.status})
    entry = registry.find(item.partner_id)
    endpoint = registry.endpoint(entry, item.endpoint_id) if entry else None
    if entry is None or not entry.get("enabled", True) or endpoint is None or not endpoint.get("enabled", True):
        raise Conflict("the partner or its endpoint is disabled: enable it first",
                       details={"partner_id": item.partner_id, "endpoint_id": item.endpoint_id})
    generation = int(item.generation)
    note = {"attempt": 0, "at": iso(now), "status": 0, "error": None, "duration_ms": 0,
            "response": f"replayed by {by}"}
    try:
        item.update(actions=[
            DeliveryItem.status.set("pending"), DeliveryItem.attempts.set(0),
            DeliveryItem.generation.set(generation + 1), DeliveryItem.failure_reason.remove(),
            DeliveryItem.failed_at.remove(), DeliveryItem.next_attempt_at.set(iso(now + LEASE)),
            DeliveryItem.history.set(_history(item, note)),
            DeliveryItem.GSI1PK.set(records.due_shard(delivery_id)),
            DeliveryItem.GSI1SK.set(_due_keys(delivery_id, now + LEASE)["GSI1SK"])],
            condition=(DeliveryItem.status == "failed") & (DeliveryItem.generation == generation))
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict("the delivery changed meanwhile: reload") from None
        raise
    if enqueue:
        _enqueue([(delivery_id, generation + 1)])
    return item


def _replay_parked(delivery_id: str, generation: int) -> None:
    item = records.get_delivery(delivery_id)
    if item is None or item.status != "failed" or int(item.generation) != generation:
        return  # already replayed, or delivered meanwhile
    try:
        replay(delivery_id, "dlq-redrive")
    except Conflict as exc:
        logger.warning("a redriven delivery cannot be replayed", extra={"delivery": delivery_id, "why": exc.message})


# --------------------------------------------------------------------------- admin views
def view(item: DeliveryItem, *, with_body: bool = False) -> dict[str, Any]:
    """A delivery as admins see it (the body with personal data masked)."""
    data: dict[str, Any] = {
        "id": item.delivery_id, "partner_id": item.partner_id, "endpoint_id": item.endpoint_id,
        "event_type": item.event_type, "ticket_id": item.ticket_id, "source_id": item.source_id,
        "status": item.status, "attempts": int(item.attempts), "generation": int(item.generation),
        "next_attempt_at": item.next_attempt_at, "last_status_code": item.last_status_code,
        "last_error": item.last_error, "failure_reason": item.failure_reason, "created_at": item.created_at,
        "delivered_at": item.delivered_at, "failed_at": item.failed_at,
    }
    if with_body:
        data["history"] = [h.as_dict() if hasattr(h, "as_dict") else dict(h) for h in item.history or []]
        data["body"] = _masked(json.loads(item.body))
    return data


def _masked(value: Any) -> Any:
    from chalicelib.domain.privacy import mask_party, mask_text

    if isinstance(value, dict):
        return {k: (mask_party(v) if k == "complainant" and isinstance(v, dict) else _masked(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def failed(partner_id: str, *, limit: int = 50, cursor: dict | None = None) -> tuple[list[DeliveryItem], dict | None]:
    """One page of a partner's parked deliveries, oldest first."""
    result = DeliveryItem.by_status.query(records.failed_pk(partner_id), limit=limit, last_evaluated_key=cursor)
    items = list(result)
    return items, result.last_evaluated_key
