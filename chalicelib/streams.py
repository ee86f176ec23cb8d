"""The table's change stream, fanned out to the consumers that need it.

One Lambda reads the DynamoDB stream (AWS recommends at most two readers per shard, and there are
six consumers) and hands each batch to every registered consumer: the outbox relay, the workflow
starter, the notifier, auto-dispatch, the analytics aggregator and the intake watch.

Each consumer fails alone: every consumer sees the whole batch whatever another one did; a consumer
that raises on its part of the batch is run again one change at a time, in order, up to the first
change it fails on (its later changes wait, to keep each item's changes in order). The handler then
answers Lambda's partial batch response with the earliest failed change's sequence number
(``ReportBatchItemFailures`` on the mapping, set by ``make package``): Lambda resumes the shard
from there. A consumer that failed on the same change :data:`~chalicelib.stream_failures.GIVE_UP_AFTER_ATTEMPTS`
times gives it up: the change's keys, the consumer and the error class go to ``StreamDLQ``
(:mod:`chalicelib.stream_failures`) and the consumer goes on with its next changes, so a poison
record never blocks a shard. Lambda's own bounded retries (bisecting, then the record's shard and
sequence numbers only to the same queue) stay the backstop for a function that crashes or times out. Delivery is therefore at least once and in order per item, and every
consumer must be idempotent (the record's ``event_id`` helps). docs/decisions/0011 says why not one
function per consumer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from chalicelib import stream_failures
from chalicelib.observability import logger
from chalicelib.stream_records import TableChange, parse  # re-exported: the consumers' record type


Consumer = Callable[[list[TableChange]], None]
_CONSUMERS: list[tuple[str, Callable[[TableChange], bool], Consumer]] = []


def consumer(name: str, *, accepts: Callable[[TableChange], bool]) -> Callable[[Consumer], Consumer]:
    """Register a stream consumer for the changes ``accepts`` picks (decorator)."""
    def register(fn: Consumer) -> Consumer:
        if any(existing == name for existing, _, _ in _CONSUMERS):
            raise ValueError(f"stream consumer registered twice: {name}")
        _CONSUMERS.append((name, accepts, fn))
        return fn
    return register


def consumers() -> list[str]:
    """Names of the registered consumers (for operators and tests)."""
    return [name for name, _, _ in _CONSUMERS]


@dataclass(frozen=True)
class ConsumerFailure:
    """A consumer raised on ``change`` (its later changes in the batch were held back)."""

    consumer: str
    change: TableChange
    error: str


@dataclass
class FanOut:
    """What one batch did: changes each consumer took, and where consumers failed."""

    taken: dict[str, int]
    failures: list[ConsumerFailure]

    def batch_response(self, changes: list[TableChange]) -> dict[str, list[dict[str, str]]]:
        """Lambda's partial batch response: the earliest failed change's sequence number (Lambda
        resumes the shard from the lowest one it is given), or no failure."""
        if not self.failures:
            return {"batchItemFailures": []}
        failed = {id(failure.change) for failure in self.failures}
        first = next(change for change in changes if id(change) in failed)
        return {"batchItemFailures": [{"itemIdentifier": first.sequence_number}]}


def _run_consumer(name: str, fn: Consumer, mine: list[TableChange]) -> tuple[int, ConsumerFailure | None]:
    """Run one consumer on its changes; on an error, one change at a time up to the first failure."""
    try:
        fn(mine)
        return len(mine), None
    except Exception as batch_error:  # isolated: the other consumers still run
        logger.warning("stream consumer failed on its batch; retrying change by change",
                       extra={"consumer": name, "changes": len(mine), "error": type(batch_error).__name__})
    for done, change in enumerate(mine):
        try:
            fn([change])
        except Exception as exc:
            error = type(exc).__name__
            logger.error("stream consumer failed on a change", extra={
                "consumer": name, "pk": change.pk, "sk": change.sk, "event_id": change.event_id,
                "sequence_number": change.sequence_number, "error": error})
            try:
                if stream_failures.record_failure(name, change, error).skip:
                    continue  # given up: its keys are on the stream DLQ; the consumer's next changes run
            except stream_failures.StreamFailureNotRecorded as not_recorded:
                logger.error("stream failure not recorded; the change is retried",
                             extra={"consumer": name, "event_id": change.event_id, "reason": str(not_recorded)})
            return done, ConsumerFailure(consumer=name, change=change, error=error)
    return len(mine), None


def fan_out(changes: list[TableChange]) -> FanOut:
    """Hand ``changes`` to every consumer, each isolated from the others' failures."""
    result = FanOut(taken={}, failures=[])
    for name, accepts, fn in _CONSUMERS:
        mine = [c for c in changes if accepts(c)]
        if not mine:
            result.taken[name] = 0
            continue
        taken, failure = _run_consumer(name, fn, mine)
        result.taken[name] = taken
        if failure is not None:
            result.failures.append(failure)
    return result


def dispatch(event: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """The stream handler: one batch to every consumer; Lambda's partial batch response."""
    changes = parse(event)
    return fan_out(changes).batch_response(changes)


def is_ticket(change: TableChange) -> bool:
    """The ticket item itself changed."""
    return change.pk.startswith("T#") and change.sk == "TICKET"


def is_outbox_insert(change: TableChange) -> bool:
    """A new outbox message was written."""
    return change.pk.startswith("T#") and change.sk.startswith("O#") and change.event_name == "INSERT"
