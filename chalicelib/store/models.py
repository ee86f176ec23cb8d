"""PynamoDB models of the single table (see docs/decisions/0002-single-table.md).

One table, several item types told apart by their keys:

| item | PK | SK | indexes |
| --- | --- | --- | --- |
| ticket | ``T#<id>`` | ``TICKET`` | GSI2 by received month and shard, GSI3 by complainant, GSI4 next timer checkpoint |
| queue entry | ``T#<id>`` | ``Q#<queue>#<owner>#<key>`` | GSI1 work queue sorted by due time |
| timeline event | ``T#<id>`` | ``E#<version>#<n>`` | |
| outbox message | ``T#<id>`` | ``O#<version>#<n>`` | (read by the stream relay) |
| tracking code | ``TRACK#<code>`` | ``TRACK`` | |
| directory entry | ``USER`` / ``DEPT`` / ``DISTRICT`` / ``OFFICE`` / ``CONFIG`` / ``TEMPLATE`` | its key | |
| knowledge article / version / index term | ``KB`` / ``KBV#<id>`` / ``KBT#<term>`` | id / version / id | (store/knowledge.py) |
| partner id mapping, ticket link, inbound webhook, outbound delivery | see chalicelib/integration/records.py | | GSI1, GSI2 (overloaded) |

A ticket's item, its queue entries, its events and its outbox share a partition, so one
transaction writes them together and one query reads a timeline.
"""
from __future__ import annotations

from typing import Any

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib import config


class TableMeta:
    """The table every item model lives in, and how PynamoDB talks to it: the one place that says so."""

    table_name = config.table_name()
    region = config.aws_region()
    max_retry_attempts = 3
    connect_timeout_seconds = 2
    read_timeout_seconds = 10


class TableItem(Model):
    """What every item model here shares: the one table (``TableMeta``) and its key, ``PK`` (hash)
    and ``SK`` (range). Not an item type itself: nothing is stored or read as a bare ``TableItem``."""

    class Meta(TableMeta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)


def _table_index(number: int) -> type[GlobalSecondaryIndex[Any]]:
    """The table's ``GSI<number>`` as PynamoDB sees it: hash key ``GSI<number>PK``, range key
    ``GSI<number>SK``, every attribute projected.

    The table's four GSIs all have this one shape (infra/template.yaml) and are overloaded: which
    items an index holds, and what its keys mean, is said where a model mounts it. One index class
    serves every model that mounts it (PynamoDB binds a copy of the index to each model)."""
    name = f"GSI{number}"
    meta = type("Meta", (), {"index_name": name, "projection": AllProjection()})
    return type(f"{name}Index", (GlobalSecondaryIndex,), {
        "__module__": __name__,
        "__doc__": f"{name}: hash {name}PK, range {name}SK, all attributes projected.",
        "Meta": meta,
        f"{name}PK": UnicodeAttribute(hash_key=True),
        f"{name}SK": UnicodeAttribute(range_key=True),
    })


GSI1Index, GSI2Index, GSI3Index, GSI4Index = (_table_index(number) for number in range(1, 5))


class TicketItem(TableItem):
    """The ticket aggregate: indexed attributes at the top, the full domain state in ``data``."""

    version = NumberAttribute()
    status = UnicodeAttribute()
    data = MapAttribute(default=dict)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    GSI3PK = UnicodeAttribute(null=True)
    GSI3SK = UnicodeAttribute(null=True)
    GSI4PK = UnicodeAttribute(null=True)
    GSI4SK = UnicodeAttribute(null=True)
    # When the ticket flow's timer next wakes (UTC, whole seconds, "Z"): the state machine's Wait
    # reads it with TimestampPath. "9999-12-31T23:59:59Z" while nothing is due; absent once closed.
    checkpoint_at = UnicodeAttribute(null=True)
    by_day = GSI2Index()  # by received month and shard (``D#<yyyy-mm>#<shard>``), sorted by received time
    by_complainant = GSI3Index()  # one complainant's tickets (a blind index of the phone), for repeat detection
    by_checkpoint = GSI4Index()  # by when the next timer checkpoint is due (the sweeper's backstop)


class QueueItem(TableItem):
    """A ticket's (or one assignment's) place in a work queue, with a masked summary for lists."""

    GSI1PK = UnicodeAttribute()
    GSI1SK = UnicodeAttribute()
    summary = MapAttribute(default=dict)
    by_queue = GSI1Index()  # one work queue, sorted by due time


class EventItem(TableItem):
    """One timeline event (append-only)."""

    data = MapAttribute(default=dict)


class OutboxItem(TableItem):
    """One outbound message, written in the same transaction as the change that caused it."""

    topic = UnicodeAttribute()
    payload = MapAttribute(default=dict)
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)


class TrackingItem(TableItem):
    """Tracking code -> ticket id, for citizens following their ticket."""

    ticket_id = UnicodeAttribute()


class LookupItem(TableItem):
    """A keyed-hash lookup to a ticket (``PID#<blind index of an ID number>`` / ``<created>#<ticket id>``)."""

    ticket_id = UnicodeAttribute()


class AuditItem(TableItem):
    """One audit record (``AUDIT#<yyyy-mm-dd>`` / ``<at>#<id>``): written once, never changed."""

    data = MapAttribute(default=dict)


class DirectoryItem(TableItem):
    """Reference data: users, departments, districts, configuration, reply templates."""

    data = MapAttribute(default=dict)
    version = NumberAttribute(default=0)


class WorkflowItem(TableItem):
    """The ticket flow's bookkeeping (``T#<id>`` / ``WORKFLOW``): which execution runs the ticket's
    timers (generation, ARN), when a supervision falls due (GSI4 ``WF#<shard>``, for the sweeper),
    and how the last execution ended."""

    generation = NumberAttribute(default=0)
    execution_name = UnicodeAttribute(null=True)
    execution_arn = UnicodeAttribute(null=True)
    started_at = UnicodeAttribute(null=True)
    ended_at = UnicodeAttribute(null=True)
    ended_reason = UnicodeAttribute(null=True)
    supervise_at = UnicodeAttribute(null=True)
    last_check_at = UnicodeAttribute(null=True)
    checks = NumberAttribute(default=0)
    # scope ("ticket" or an assignment id) -> the task token the execution waits on there, and the
    # (stage, wake) it was armed with (chalicelib/workflow/tokens.py)
    tokens = MapAttribute(null=True)
    GSI4PK = UnicodeAttribute(null=True)
    GSI4SK = UnicodeAttribute(null=True)
    by_checkpoint = GSI4Index()


class InboxItem(TableItem):
    """One in-app notification for one user (``INBOX#<username>`` / ``N#<id>``), newest last."""

    data = MapAttribute(default=dict)
    read_at = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)


class DeferredNotificationItem(TableItem):
    """An e-mail or SMS held back by quiet hours (``NOTIFY#<id>`` / ``<channel>#<recipient>``),
    found through GSI4 (``ND#<shard>``, sorted by when it may go) by the sweeper."""

    data = MapAttribute(default=dict)
    send_at = UnicodeAttribute()
    GSI4PK = UnicodeAttribute()
    GSI4SK = UnicodeAttribute()
    by_checkpoint = GSI4Index()


# --------------------------------------------------------------------------- partner items
# Written and read by chalicelib/integration/records.py (keys and lookups), documented there.

class MappingItem(TableItem):
    """A partner's external id -> our ticket id."""

    partner_id = UnicodeAttribute()
    external_id = UnicodeAttribute()
    ticket_id = UnicodeAttribute()
    created_at = UnicodeAttribute()


class LinkItem(TableItem):
    """Our ticket -> a partner: its role for the ticket, its external id, the last sequence applied."""

    partner_id = UnicodeAttribute()
    relation = UnicodeAttribute()  # origin (the ticket came from it) | lower (we sent it down) | data_centre
    external_id = UnicodeAttribute(null=True)
    last_sequence = NumberAttribute(default=0)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute(null=True)
    # The feed's per-ticket state for reconciliation (integration/feeds.py): the last delivery made
    # about this ticket to this partner, and the last one the partner acknowledged (version, status).
    sent_delivery = UnicodeAttribute(null=True)
    sent_version = NumberAttribute(null=True)
    sent_status = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)
    acked_delivery = UnicodeAttribute(null=True)
    acked_version = NumberAttribute(null=True)
    acked_status = UnicodeAttribute(null=True)
    acked_at = UnicodeAttribute(null=True)


class InboundItem(TableItem):
    """One accepted inbound webhook and what became of it (the receiving half of the ledger)."""

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
    ledger = GSI2Index()  # (shared, overloaded) one partner's traffic on one day


class DeliveryItem(TableItem):
    """One outbound webhook to one partner endpoint, with its attempts (the sending half)."""

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
    overdue_at = UnicodeAttribute(null=True)  # a data-centre record found unacknowledged past its limit
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    by_status = GSI1Index()  # (shared, overloaded) deliveries due for an attempt, and parked (failed) ones
    ledger = GSI2Index()  # (shared, overloaded) one partner's traffic on one day


PARTNER_MODELS = (MappingItem, LinkItem, InboundItem, DeliveryItem)


ALL_MODELS = (TicketItem, QueueItem, EventItem, OutboxItem, TrackingItem, LookupItem, AuditItem, DirectoryItem, WorkflowItem, InboxItem,
              DeferredNotificationItem)
