"""The event pump: what AWS's event source mappings and EventBridge do for the deployed app.

It reads the Chalice app's own event-source declarations (``app.event_sources``) and, in a loop:
- polls each SQS queue a handler listens to, calls the handler with a real SQS event shape, deletes
  the messages on success and leaves them on failure (the queue's redrive policy then moves a
  message that keeps failing to its DLQ, as in AWS);
- reads the table's DynamoDB stream shard by shard and calls the stream handlers with batches of
  real stream records (at-least-once, in order per shard, like Lambda's mapping);
- fires scheduled handlers when their ``rate``/``cron`` expression comes due, on a clock that a
  demo can speed up.

Running (:meth:`EventPump.start`), each event source has a thread of its own, as each function has
its own concurrency on AWS: a slow consumer (say, starting Step Functions executions) does not hold
up a queue's handler. Tests drive the same sources one pass at a time (:meth:`EventPump.pump_once`).
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from chalice.app import Chalice, DynamoDBEventConfig, ScheduledEventConfig, ScheduleExpression, SQSEventConfig

from chalicelib import batches
from chalicelib.aws import client
from chalicelib.local.schedule_expressions import Schedule
from chalicelib.observability import logger


def _scheduled_event(rule: str, at: datetime) -> dict[str, Any]:
    """An EventBridge "Scheduled Event" as a schedule-triggered Lambda receives it."""
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "000000000000", "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": "local",
            "resources": [f"arn:aws:events:local:000000000000:rule/{rule}"], "detail": {}}


# The stream mapping's MaximumRetryAttempts in build/template.yaml (infra/package.py): after this
# many retries of a failed record the pump, like Lambda, sends it to the on-failure destination.
STREAM_MAXIMUM_RETRY_ATTEMPTS = 5


def _stream_failure_message(stream_arn: str, shard_id: str, records: list[dict[str, Any]],
                            function: str) -> dict[str, Any]:
    """What Lambda sends a stream mapping's on-failure destination about records it gave up on."""
    first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
    return {"requestContext": {"condition": "RetryAttemptsExhausted", "functionArn":
                               f"arn:aws:lambda:local:000000000000:function:{function}",
                               "approximateInvokeCount": STREAM_MAXIMUM_RETRY_ATTEMPTS + 1},
            "DDBStreamBatchInfo": {"shardId": shard_id, "streamArn": stream_arn, "batchSize": len(records),
                                   "startSequenceNumber": first["SequenceNumber"],
                                   "endSequenceNumber": last["SequenceNumber"],
                                   "approximateArrivalOfFirstRecord": str(first.get("ApproximateCreationDateTime", "")),
                                   "approximateArrivalOfLastRecord": str(last.get("ApproximateCreationDateTime", ""))}}


class _Context:
    """The bits of a Lambda context the handlers look at."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


@dataclass
class Clock:
    """Wall-clock time, optionally running faster for demos (``speed`` x real time)."""

    speed: float = 1.0
    _origin_real: float = field(default_factory=time.time)
    _origin_virtual: float = field(default_factory=time.time)

    def now(self) -> datetime:
        virtual = self._origin_virtual + (time.time() - self._origin_real) * self.speed
        return datetime.fromtimestamp(virtual, tz=timezone.utc)


@dataclass
class PumpStats:
    """Counters a test or the operator can read."""

    sqs_batches: int = 0
    sqs_failures: int = 0
    stream_batches: int = 0
    stream_failures: int = 0
    stream_records_given_up: int = 0
    schedule_runs: int = 0


class EventPump:
    """Drives the Chalice app's SQS, DynamoDB-stream and schedule handlers."""

    def __init__(self, app: Chalice, env: dict[str, str], *, clock: Clock | None = None,
                 poll_interval: float = 0.2, only: frozenset[str] | None = None) -> None:
        """``only``: the names of the handlers to drive (default all), e.g. to watch one stage alone."""
        self.app = app
        self.only = only
        self.env = env
        self.clock = clock or Clock()
        self.poll_interval = poll_interval
        self.stats = PumpStats()
        self._stop = threading.Event()
        self._shard_iterators: dict[str, str | None] = {}
        # a shard whose batch failed: (first failed sequence number, retries so far, batch limit)
        self._stream_retries: dict[str, tuple[str, int, int]] = {}
        self._stream_arn: str | None = None
        self._next_fire: dict[str, datetime] = {}
        self._queue_urls: dict[str, str] = {}
        self._threads: list[threading.Thread] = []
        self._sources = [s for s in app.event_sources if only is None or s.name in only]
        self._locks = {source.name: threading.Lock() for source in self._sources}

    # ----- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Run every source in a background thread of its own until :meth:`stop`."""
        self._threads = [threading.Thread(target=self._run, args=(source,), name=f"event-pump-{source.name}",
                                          daemon=True) for source in self._sources]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every source to stop and wait for the current handlers, ``timeout`` seconds in all
        (the threads are daemons: one stuck handler must not keep Ctrl-C waiting)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _run(self, source: Any) -> None:
        while not self._stop.is_set():
            delivered = 0
            try:
                delivered = self._pump_source(source)
            except Exception:  # keep pumping: one broken handler must not stop the runtime
                logger.exception("event pump iteration failed", extra={"source": source.name})
            if not delivered:
                self._stop.wait(self.poll_interval)

    def _pump_source(self, source: Any) -> int:
        with self._locks[source.name]:
            if isinstance(source, SQSEventConfig):
                return self._pump_sqs(source)
            if isinstance(source, DynamoDBEventConfig):
                return self._pump_stream(source)
            if isinstance(source, ScheduledEventConfig):
                return self._pump_schedule(source)
            return 0

    def pump_once(self) -> int:
        """One pass over every source, one after another; returns how many events were delivered."""
        return sum(self._pump_source(source) for source in self._sources)

    def drain(self, *, max_rounds: int = 50) -> int:
        """Pump until nothing is left to deliver (bounded); for tests and the seed step."""
        total = 0
        for _ in range(max_rounds):
            delivered = self.pump_once()
            total += delivered
            if delivered == 0:
                break
        return total

    # ----- SQS -------------------------------------------------------------------------
    def _queue_url(self, name: str) -> str:
        if name not in self._queue_urls:
            self._queue_urls[name] = client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
        return self._queue_urls[name]

    def _pump_sqs(self, source: SQSEventConfig) -> int:
        name = source.queue or (source.queue_arn or "").rsplit(":", 1)[-1]
        url = self._queue_url(name)
        sqs = client("sqs")
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(source.batch_size, 10),
                                     AttributeNames=["All"], MessageAttributeNames=["All"], WaitTimeSeconds=0)
        messages = answer.get("Messages", [])
        if not messages:
            return 0
        arn = f"arn:aws:sqs:{client('sqs').meta.region_name}:000000000000:{name}"
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs", "eventSourceARN": arn,
            "awsRegion": client("sqs").meta.region_name} for m in messages]}
        self.stats.sqs_batches += 1
        ok, response = self._call(source.name, event)
        failed = batches.failed_ids(response) if ok else {m["MessageId"] for m in messages}
        failed = failed or set()  # a handler without a partial batch response succeeded whole
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:  # as Lambda does with ReportBatchItemFailures: only the listed messages stay
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        if failed:
            self.stats.sqs_failures += 1
            # make the failed messages visible again soon, as Lambda would after their timeout
            for m in messages:
                if m["MessageId"] in failed:
                    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"],
                                                  VisibilityTimeout=1)
        return len(messages)

    # ----- DynamoDB stream -------------------------------------------------------------
    def _pump_stream(self, source: DynamoDBEventConfig) -> int:
        streams = client("dynamodbstreams")
        if self._stream_arn is None:
            table = client("dynamodb").describe_table(TableName=self.env["TABLE_NAME"])["Table"]
            self._stream_arn = table.get("LatestStreamArn")
            if not self._stream_arn:
                return 0
        shards = streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]["Shards"]
        delivered = 0
        for shard in shards:
            shard_id = shard["ShardId"]
            key = f"{source.name}:{shard_id}"
            if key not in self._shard_iterators:
                self._shard_iterators[key] = streams.get_shard_iterator(
                    StreamArn=self._stream_arn, ShardId=shard_id,
                    ShardIteratorType=source.starting_position or "TRIM_HORIZON")["ShardIterator"]
            iterator = self._shard_iterators[key]
            if not iterator:
                continue
            retry = self._stream_retries.get(key)
            answer = streams.get_records(ShardIterator=iterator, Limit=retry[2] if retry else source.batch_size)
            records = answer.get("Records", [])
            if not records:
                self._shard_iterators[key] = answer.get("NextShardIterator")
                continue
            for record in records:
                record["eventSourceARN"] = self._stream_arn
            self.stats.stream_batches += 1
            delivered += self._deliver_stream_batch(source, key, shard_id, records, answer.get("NextShardIterator"))
        return delivered

    def _deliver_stream_batch(self, source: DynamoDBEventConfig, key: str, shard_id: str,
                              records: list[dict[str, Any]], next_iterator: str | None) -> int:
        """Lambda's stream mapping with ReportBatchItemFailures, bisection and bounded retries:
        resume from the earliest failed record; a failed call is retried on half the batch; after
        STREAM_MAXIMUM_RETRY_ATTEMPTS retries the failed record goes to the on-failure destination
        (``STREAM_DLQ_URL``) and the shard moves on. Returns the records now behind the shard."""
        ok, response = self._call(source.name, {"Records": records})
        sequence = [str(r["dynamodb"]["SequenceNumber"]) for r in records]
        if ok:
            failed = batches.failed_ids(response) or set()
            if not failed:
                self._stream_retries.pop(key, None)
                self._shard_iterators[key] = next_iterator
                return len(records)
            at = min((s for s in sequence if s in failed), key=int, default=sequence[0])
            limit, exact = len(records), True
        else:  # BisectBatchOnFunctionError: retry half the batch, until the failing record is alone
            at, limit, exact = sequence[0], max(1, len(records) // 2), len(records) == 1
        self.stats.stream_failures += 1
        previous = self._stream_retries.get(key)
        retries = (previous[1] + 1 if previous and previous[0] == at else 1) if exact else 0
        streams = client("dynamodbstreams")
        if retries > STREAM_MAXIMUM_RETRY_ATTEMPTS:
            self._give_up(source.name, shard_id, records[sequence.index(at)])
            self._stream_retries.pop(key, None)
            self._shard_iterators[key] = streams.get_shard_iterator(
                StreamArn=self._stream_arn, ShardId=shard_id, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=at)["ShardIterator"]
            return sequence.index(at) + 1
        self._stream_retries[key] = (at, retries, limit)
        self._shard_iterators[key] = streams.get_shard_iterator(
            StreamArn=self._stream_arn, ShardId=shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=at)["ShardIterator"]
        return sequence.index(at)

    def _give_up(self, function: str, shard_id: str, record: dict[str, Any]) -> None:
        """Send a record the handler kept failing on to the stream's on-failure destination."""
        self.stats.stream_records_given_up += 1
        message = _stream_failure_message(str(self._stream_arn), shard_id, [record], function)
        url = self.env.get("STREAM_DLQ_URL")
        if not url:
            logger.error("stream record given up, and no STREAM_DLQ_URL", extra={"handler": function})
            return
        client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(message, default=str))

    # ----- schedules -------------------------------------------------------------------
    def _pump_schedule(self, source: ScheduledEventConfig) -> int:
        now = self.clock.now()
        expression = source.schedule_expression
        schedule = Schedule(expression.to_string() if isinstance(expression, ScheduleExpression) else expression)
        due = self._next_fire.get(source.name)
        if due is None:
            self._next_fire[source.name] = schedule.next_after(now)
            return 0
        if now < due:
            return 0
        self._next_fire[source.name] = schedule.next_after(now)
        self.stats.schedule_runs += 1
        self._invoke(source.name, _scheduled_event(source.name, due))
        return 1

    def fire_schedule(self, name: str) -> bool:
        """Run one scheduled handler now (operators and tests)."""
        with self._locks.get(name) or nullcontext():  # an unknown name is logged by _invoke
            return self._invoke(name, _scheduled_event(name, self.clock.now()))

    def force_due(self, name: str, *, after: timedelta = timedelta(0)) -> None:
        """Make a schedule fire on the next pass (demo fast-forward)."""
        self._next_fire[name] = self.clock.now() + after

    # ----- invoking --------------------------------------------------------------------
    def _invoke(self, name: str, event: dict[str, Any]) -> bool:
        return self._call(name, event)[0]

    def _call(self, name: str, event: dict[str, Any]) -> tuple[bool, Any]:
        """Run handler ``name`` on ``event``: whether it returned (not raised), and what it returned
        (a partial batch response, for the queue and stream handlers)."""
        handler: Callable[..., Any] | None = self.app.handler_map.get(name)
        if handler is None:
            logger.error("no handler registered", extra={"handler": name})
            return False, None
        try:
            return True, handler(event, _Context(name))
        except Exception:
            logger.exception("handler failed", extra={"handler": name})
            return False, None
