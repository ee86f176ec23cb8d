"""The partner items of the single table: id mappings, ticket links, the inbound log, deliveries.

| item | PK | SK | indexes |
| --- | --- | --- | --- |
| external id -> ticket | ``PARTNERMAP#<partner>#<external id>`` | ``MAP`` | |
| ticket -> partner | ``T#<ticket>`` | ``PARTNER#<partner>`` | (in the ticket's partition) |
| inbound webhook | ``WHIN#<partner>#<webhook id>`` | ``WEBHOOK`` | GSI2 ledger ``PLOG#<partner>#<day>`` |
| outbound delivery | ``DLV#<delivery id>`` | ``DELIVERY`` | GSI1 ``DLV#due#<shard>`` (to retry) or ``DLV#failed#<partner>`` (parked); GSI2 ledger |

The mapping and the link are written in the same transaction as the ticket they name (see
``chalicelib.store.tickets.companions``), so an external id maps to exactly one ticket and a
ticket knows which partners it belongs to (its origin, the lower-level platforms it went down to)
with the last sequence number applied from each. The ledger index gives reconciliation (对账)
one query per partner and day. Secrets are never stored here.
"""
from __future__ import annotations

import hashlib
import heapq
import os
from datetime import datetime
from typing import Iterator

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.domain.calendar import TZ

DUE_SHARDS = 4
# The partner ledger (GSI2 "PLOG#<partner>#<day>#<shard>"): every write of a partner's deliveries
# and inbound webhooks of one day would otherwise land in one index partition; reads fan out.
LEDGER_SHARDS = 4
LEDGER_TTL_DAYS = 400  # a year of reconciliation, and then some


class _Meta:
    table_name = os.environ.get("TABLE_NAME", "tickets")
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    max_retry_attempts = 3
    connect_timeout_seconds = 2
    read_timeout_seconds = 10


class _StatusIndex(GlobalSecondaryIndex["DeliveryItem"]):
    """GSI1 (shared, overloaded): deliveries due for an attempt, and parked (failed) deliveries."""

    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class _DeliveryLedger(GlobalSecondaryIndex["DeliveryItem"]):
    """GSI2 (shared, overloaded): one partner's traffic on one day."""

    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    GSI2PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class _InboundLedger(GlobalSecondaryIndex["InboundItem"]):
    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    GSI2PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class MappingItem(Model):
    """A partner's external id -> our ticket id."""

    class Meta(_Meta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    partner_id = UnicodeAttribute()
    external_id = UnicodeAttribute()
    ticket_id = UnicodeAttribute()
    created_at = UnicodeAttribute()


class LinkItem(Model):
    """Our ticket -> a partner: its role for the ticket, its external id, the last sequence applied."""

    class Meta(_Meta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    partner_id = UnicodeAttribute()
    relation = UnicodeAttribute()  # origin (the ticket came from it) | lower (we sent it down)
    external_id = UnicodeAttribute(null=True)
    last_sequence = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)


class InboundItem(Model):
    """One accepted inbound webhook and what became of it (the receiving half of the ledger)."""

    class Meta(_Meta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    partner_id = UnicodeAttribute()
    webhook_id = UnicodeAttribute()
    type = UnicodeAttribute()
    outcome = UnicodeAttribute()  # applied | ignored_stale | already_registered | linked | rejected
    external_id = UnicodeAttribute(null=True)
    ticket_id = UnicodeAttribute(null=True)
    sequence = NumberAttribute(null=True)
    error = UnicodeAttribute(null=True)
    received_at = UnicodeAttribute()
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    ledger = _InboundLedger()


class DeliveryItem(Model):
    """One outbound webhook to one partner endpoint, with its attempts (the sending half)."""

    class Meta(_Meta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    delivery_id = UnicodeAttribute()
    partner_id = UnicodeAttribute()
    endpoint_id = UnicodeAttribute()
    event_type = UnicodeAttribute()
    source_id = UnicodeAttribute()  # the outbox message (or report) it came from
    ticket_id = UnicodeAttribute(null=True)
    body = UnicodeAttribute()  # the exact JSON bytes sent (UTF-8); re-signed on every attempt
    status = UnicodeAttribute()  # pending | sending | retrying | delivered | failed
    attempts = NumberAttribute(default=0)
    generation = NumberAttribute(default=0)  # +1 on each replay
    next_attempt_at = UnicodeAttribute(null=True)
    last_status_code = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    failure_reason = UnicodeAttribute(null=True)
    history = ListAttribute(of=MapAttribute, default=list)
    created_at = UnicodeAttribute()
    delivered_at = UnicodeAttribute(null=True)
    failed_at = UnicodeAttribute(null=True)
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    by_status = _StatusIndex()
    ledger = _DeliveryLedger()


PARTNER_MODELS = (MappingItem, LinkItem, InboundItem, DeliveryItem)


# --------------------------------------------------------------------------- keys
def iso(moment: datetime) -> str:
    return moment.astimezone(TZ).isoformat()


def day_of(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d")


def mapping_pk(partner_id: str, external_id: str) -> str:
    return f"PARTNERMAP#{partner_id}#{external_id}"


def link_sk(partner_id: str) -> str:
    return f"PARTNER#{partner_id}"


def inbound_pk(partner_id: str, webhook_id: str) -> str:
    return f"WHIN#{partner_id}#{webhook_id}"


def delivery_pk(delivery_id: str) -> str:
    return f"DLV#{delivery_id}"


def ledger_pk(partner_id: str, day: str, item_id: str) -> str:
    """The ledger key of one delivery or inbound webhook (``item_id``) of ``partner_id`` on ``day``."""
    return f"PLOG#{partner_id}#{day}#{int(hashlib.sha1(item_id.encode()).hexdigest(), 16) % LEDGER_SHARDS}"


def ledger_pks(partner_id: str, day: str) -> list[str]:
    """Every ledger key of one partner's day: a day's read queries them all."""
    return [f"PLOG#{partner_id}#{day}#{shard}" for shard in range(LEDGER_SHARDS)]


def due_shard(delivery_id: str) -> str:
    return f"DLV#due#{int(hashlib.sha1(delivery_id.encode()).hexdigest(), 16) % DUE_SHARDS}"


def failed_pk(partner_id: str) -> str:
    return f"DLV#failed#{partner_id}"


# --------------------------------------------------------------------------- reads
def find_mapping(partner_id: str, external_id: str) -> str | None:
    """Our ticket id for a partner's external id, or None."""
    try:
        return MappingItem.get(mapping_pk(partner_id, external_id), "MAP", consistent_read=True).ticket_id
    except DoesNotExist:
        return None


def find_link(ticket_id: str, partner_id: str) -> LinkItem | None:
    try:
        return LinkItem.get(f"T#{ticket_id}", link_sk(partner_id), consistent_read=True)
    except DoesNotExist:
        return None


def links_of(ticket_id: str) -> list[LinkItem]:
    """Every partner a ticket is linked to (one Query on the ticket's partition)."""
    return list(LinkItem.query(f"T#{ticket_id}", LinkItem.SK.startswith("PARTNER#"), consistent_read=True))


def find_inbound(partner_id: str, webhook_id: str) -> InboundItem | None:
    try:
        return InboundItem.get(inbound_pk(partner_id, webhook_id), "WEBHOOK", consistent_read=True)
    except DoesNotExist:
        return None


def get_delivery(delivery_id: str) -> DeliveryItem | None:
    try:
        return DeliveryItem.get(delivery_pk(delivery_id), "DELIVERY", consistent_read=True)
    except DoesNotExist:
        return None


def deliveries_on(partner_id: str, day: str) -> Iterator[DeliveryItem]:
    """One partner's deliveries of ``day``, in time order (every ledger shard, merged)."""
    yield from heapq.merge(*(DeliveryItem.ledger.query(pk, DeliveryItem.GSI2SK.startswith("OUT#"))
                             for pk in ledger_pks(partner_id, day)), key=lambda item: item.GSI2SK)


def inbound_on(partner_id: str, day: str) -> Iterator[InboundItem]:
    """One partner's inbound webhooks of ``day``, in time order (every ledger shard, merged)."""
    yield from heapq.merge(*(InboundItem.ledger.query(pk, InboundItem.GSI2SK.startswith("IN#"))
                             for pk in ledger_pks(partner_id, day)), key=lambda item: item.GSI2SK)
