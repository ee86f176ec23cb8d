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


class QueueIndex(GlobalSecondaryIndex["QueueItem"]):
    """GSI1: one work queue, sorted by due time."""

    class Meta:
        index_name = "GSI1"
        projection = AllProjection()

    GSI1PK = UnicodeAttribute(hash_key=True)
    GSI1SK = UnicodeAttribute(range_key=True)


class DayIndex(GlobalSecondaryIndex["TicketItem"]):
    """GSI2: tickets by received month and shard (``D#<yyyy-mm>#<shard>``), sorted by received time."""

    class Meta:
        index_name = "GSI2"
        projection = AllProjection()

    GSI2PK = UnicodeAttribute(hash_key=True)
    GSI2SK = UnicodeAttribute(range_key=True)


class ComplainantIndex(GlobalSecondaryIndex["TicketItem"]):
    """GSI3: one complainant's tickets (keyed by a blind index of the phone), for repeat detection."""

    class Meta:
        index_name = "GSI3"
        projection = AllProjection()

    GSI3PK = UnicodeAttribute(hash_key=True)
    GSI3SK = UnicodeAttribute(range_key=True)


class CheckpointIndex(GlobalSecondaryIndex["TicketItem"]):
    """GSI4: tickets by the time their next timer checkpoint is due (the sweeper's backstop)."""

    class Meta:
        index_name = "GSI4"
        projection = AllProjection()

    GSI4PK = UnicodeAttribute(hash_key=True)
    GSI4SK = UnicodeAttribute(range_key=True)


class TicketItem(Model):
    """The ticket aggregate: indexed attributes at the top, the full domain state in ``data``."""

    class Meta(TableMeta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
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
    by_day = DayIndex()
    by_complainant = ComplainantIndex()
    by_checkpoint = CheckpointIndex()


class QueueItem(Model):
    """A ticket's (or one assignment's) place in a work queue, with a masked summary for lists."""

    class Meta(TableMeta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    GSI1PK = UnicodeAttribute()
    GSI1SK = UnicodeAttribute()
    summary = MapAttribute(default=dict)
    by_queue = QueueIndex()


class EventItem(Model):
    """One timeline event (append-only)."""

    class Meta(TableMeta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    data = MapAttribute(default=dict)


class OutboxItem(Model):
    """One outbound message, written in the same transaction as the change that caused it."""

    class Meta(TableMeta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    topic = UnicodeAttribute()
    payload = MapAttribute(default=dict)
    created_at = UnicodeAttribute()
    expires_at = NumberAttribute(null=True)


class TrackingItem(Model):
    """Tracking code -> ticket id, for citizens following their ticket."""

    class Meta(TableMeta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    ticket_id = UnicodeAttribute()


class LookupItem(Model):
    """A keyed-hash lookup to a ticket (``PID#<blind index of an ID number>`` / ``<created>#<ticket id>``)."""

    class Meta(TableMeta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    ticket_id = UnicodeAttribute()


class AuditItem(Model):
    """One audit record (``AUDIT#<yyyy-mm-dd>`` / ``<at>#<id>``): written once, never changed."""

    class Meta(TableMeta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    data = MapAttribute(default=dict)


class DirectoryItem(Model):
    """Reference data: users, departments, districts, configuration, reply templates."""

    class Meta(TableMeta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    data = MapAttribute(default=dict)
    version = NumberAttribute(default=0)


class WorkflowItem(Model):
    """The ticket flow's bookkeeping (``T#<id>`` / ``WORKFLOW``): which execution runs the ticket's
    timers (generation, ARN), when a supervision falls due (GSI4 ``WF#<shard>``, for the sweeper),
    and how the last execution ended."""

    class Meta(TableMeta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
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
    by_checkpoint = CheckpointIndex()


class InboxItem(Model):
    """One in-app notification for one user (``INBOX#<username>`` / ``N#<id>``), newest last."""

    class Meta(TableMeta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    data = MapAttribute(default=dict)
    read_at = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)


class DeferredNotificationItem(Model):
    """An e-mail or SMS held back by quiet hours (``NOTIFY#<id>`` / ``<channel>#<recipient>``),
    found through GSI4 (``ND#<shard>``, sorted by when it may go) by the sweeper."""

    class Meta(TableMeta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    data = MapAttribute(default=dict)
    send_at = UnicodeAttribute()
    GSI4PK = UnicodeAttribute()
    GSI4SK = UnicodeAttribute()
    by_checkpoint = CheckpointIndex()


# --------------------------------------------------------------------------- partner items
# Written and read by chalicelib/integration/records.py (keys and lookups), documented there.

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

    class Meta(TableMeta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    partner_id = UnicodeAttribute()
    external_id = UnicodeAttribute()
    ticket_id = UnicodeAttribute()
    created_at = UnicodeAttribute()


class LinkItem(Model):
    """Our ticket -> a partner: its role for the ticket, its external id, the last sequence applied."""

    class Meta(TableMeta):
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
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


class InboundItem(Model):
    """One accepted inbound webhook and what became of it (the receiving half of the ledger)."""

    class Meta(TableMeta):
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

    class Meta(TableMeta):
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
    overdue_at = UnicodeAttribute(null=True)  # a data-centre record found unacknowledged past its limit
    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    by_status = _StatusIndex()
    ledger = _DeliveryLedger()


PARTNER_MODELS = (MappingItem, LinkItem, InboundItem, DeliveryItem)


ALL_MODELS = (TicketItem, QueueItem, EventItem, OutboxItem, TrackingItem, LookupItem, AuditItem, DirectoryItem, WorkflowItem, InboxItem,
              DeferredNotificationItem)
