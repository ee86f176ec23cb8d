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

Their PynamoDB models are declared with the table's other items in ``chalicelib/store/models.py``
(one table, declared once); this module holds their keys and lookups.
"""
from __future__ import annotations

import hashlib
import heapq
from datetime import datetime
from typing import Iterator

from pynamodb.exceptions import DoesNotExist

from chalicelib.domain.calendar import TZ
from chalicelib.store.models import PARTNER_MODELS, DeliveryItem, InboundItem, LinkItem, MappingItem

__all__ = ["PARTNER_MODELS", "DeliveryItem", "InboundItem", "LinkItem", "MappingItem"]  # declared in the store

DUE_SHARDS = 4
# The partner ledger (GSI2 "PLOG#<partner>#<day>#<shard>"): every write of a partner's deliveries
# and inbound webhooks of one day would otherwise land in one index partition; reads fan out.
LEDGER_SHARDS = 4
LEDGER_TTL_DAYS = 400  # a year of reconciliation, and then some


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
