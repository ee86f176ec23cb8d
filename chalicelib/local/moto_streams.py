"""Give moto's DynamoDB stream a retention period, as DynamoDB's has, so the local runtime's memory is bounded.

moto keeps every stream record of a table for as long as the process lives, and every shard
iterator ever handed out (one per GetRecords call): a runtime that runs for days, or a bulk load
of millions of writes, grows without end. DynamoDB keeps stream records for 24 hours and an
iterator expires after 15 minutes. Here:

* a shard drops its oldest records once they are older than :data:`RETENTION_SECONDS` or once it
  holds more than :func:`retention_records` of them (``LOCAL_STREAM_RETENTION``; the local
  runtime's stand-in for 24 hours of a busy table). Sequence numbers are unchanged: the shard's
  starting sequence number moves forward, so a TRIM_HORIZON iterator starts at the oldest record kept;
* a reader whose position was trimmed away reads on from the oldest record kept (DynamoDB answers
  ``TrimmedDataAccessException`` and the reader restarts at TRIM_HORIZON: the same records), and a
  warning says how many records it missed;
* shard iterators are forgotten 15 minutes after they were handed out.
"""
from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timezone
from typing import Any

RETENTION_SECONDS = 24 * 3600
ITERATOR_SECONDS = 15 * 60
DEFAULT_RETENTION_RECORDS = 200_000
_TRIM_SLACK = 0.1  # trim 10 % below the bound at once, so that trimming is not paid on every write

logger = logging.getLogger(__name__)


def retention_records() -> int:
    """The most records a shard keeps (``LOCAL_STREAM_RETENTION``, default 200,000)."""
    return max(1000, int(os.environ.get("LOCAL_STREAM_RETENTION", DEFAULT_RETENTION_RECORDS)))


def _created(record: Any) -> float:
    value = record.record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    return float(value or 0)


def trim(shard: Any, *, now: float | None = None) -> int:
    """Drop the shard's records beyond its retention; returns how many were dropped."""
    bound = retention_records()
    drop = 0
    if len(shard.items) > bound:
        drop = len(shard.items) - int(bound * (1 - _TRIM_SLACK))
    now = time.time() if now is None else now
    while drop < len(shard.items) and now - _created(shard.items[drop]) > RETENTION_SECONDS:
        drop += 1
    if drop:
        del shard.items[:drop]
        shard.starting_sequence_number += drop
    return drop


def install() -> None:
    """Patch moto's stream shard and stream backend (once per process; see module doc)."""
    from moto.dynamodb.models.table import StreamShard
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator

    add, get, iterator_init = StreamShard.add, StreamShard.get, ShardIterator.__init__
    get_records = DynamoDBStreamsBackend.get_records

    def add_then_trim(self: Any, old: Any, new: Any) -> None:
        add(self, old, new)
        if len(self.items) > retention_records() or (self.items and len(self.items) % 1000 == 0):
            trim(self)

    def get_from_horizon(self: Any, start: int, quantity: int) -> list[dict[str, Any]]:
        if start < self.starting_sequence_number:
            logger.warning("stream reader behind the trim horizon: %d records were trimmed before it read them",
                           self.starting_sequence_number - start)
            start = self.starting_sequence_number
        return get(self, start, quantity)

    def init_with_time(self: Any, *args: Any, **kwargs: Any) -> None:
        iterator_init(self, *args, **kwargs)
        self.handed_out_at = time.monotonic()

    def get_records_and_expire(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        answer = get_records(self, iterator_arn, limit)
        horizon = time.monotonic() - ITERATOR_SECONDS
        while self.shard_iterators:  # oldest first: a dict keeps the order they were handed out in
            arn = next(iter(self.shard_iterators))
            if getattr(self.shard_iterators.get(arn), "handed_out_at", horizon) >= horizon:
                break
            self.shard_iterators.pop(arn, None)
        return answer

    StreamShard.add, StreamShard.get = add_then_trim, get_from_horizon  # type: ignore[method-assign]
    ShardIterator.__init__ = init_with_time  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = get_records_and_expire  # type: ignore[method-assign]
