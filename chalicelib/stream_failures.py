"""Giving up on a table-stream change, with its keys on the stream's DLQ.

Lambda's on-failure destination for a DynamoDB stream mapping receives only the shard and the
sequence numbers of the records it gave up on (``DDBStreamBatchInfo``); the stream keeps records 24
hours, so after a weekend an operator could no longer tell which tickets were affected. The stream
function therefore gives a change up itself, before Lambda's own retries run out: each time a
consumer fails on a change, :func:`record_failure` counts the attempt in the table (one small item
per stream record and consumer, expiring after a week); on the :data:`GIVE_UP_AFTER_ATTEMPTS`-th
failure it puts the change's keys, event name, sequence number, the consumer and the error class on
``STREAM_DLQ_URL`` (the same queue Lambda would use, so the ``StreamDLQAlarm`` fires) and the
consumer moves past it. No image and no attribute other than the keys is sent: keys are ticket ids
and item kinds, never personal data.

The count lives in the table because Lambda tells a stream handler nothing about how often it has
seen a record. :data:`GIVE_UP_AFTER_ATTEMPTS` stays below the mapping's ``MaximumRetryAttempts`` + 1
(``infra/package.py``) so the function parks first; Lambda's own on-failure record (without keys)
remains the backstop for a function that crashes or times out, see docs/operations.md.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws import client
from chalicelib.config import get_settings, stream_dlq_url
from chalicelib.observability import logger
from chalicelib.stream_records import TableChange

GIVE_UP_AFTER_ATTEMPTS = 3
"""Failed attempts at one change, by one consumer, before the function gives it up (the mapping
allows 1 + 5: a margin for invocations that failed without reaching the count)."""
KEEP_SECONDS = 7 * 24 * 3600
"""How long an attempt count is kept (the table's TTL removes it); far beyond the stream's 24 h."""
MESSAGE_KIND = "stream-record-given-up"
STREAM_DLQ_ENV = "STREAM_DLQ_URL"


class StreamFailureNotRecorded(Exception):
    """The attempt could not be counted or the given-up change could not be parked; the change is
    reported as failed so that Lambda retries it."""


@dataclass(frozen=True)
class Attempt:
    """The outcome of counting one failure: how many so far, and whether the change is now given up
    (``parked``) or was already given up by an earlier invocation (``already_parked``)."""

    attempts: int
    parked: bool
    already_parked: bool

    @property
    def skip(self) -> bool:
        """The consumer moves past the change."""
        return self.parked or self.already_parked


def _key(consumer: str, change: TableChange) -> dict[str, dict[str, str]]:
    record = change.event_id or change.sequence_number
    return {"PK": {"S": f"STREAMFAIL#{record}"}, "SK": {"S": consumer}}


def message(consumer: str, change: TableChange, error: str, attempts: int) -> dict[str, Any]:
    """The DLQ message for a given-up change: keys and bookkeeping only, no images."""
    return {"kind": MESSAGE_KIND, "consumer": consumer, "error": error, "attempts": attempts,
            "table": get_settings().table_name, "event_id": change.event_id, "event_name": change.event_name,
            "sequence_number": change.sequence_number, "keys": {"PK": change.pk, "SK": change.sk},
            "given_up_at": int(time.time())}


def record_failure(consumer: str, change: TableChange, error: str) -> Attempt:
    """Count a failure of ``consumer`` on ``change``; park the change on the stream DLQ when this was
    the last attempt. Raises :class:`StreamFailureNotRecorded` when counting or parking failed."""
    ddb, table = client("dynamodb"), get_settings().table_name
    try:
        item = ddb.update_item(
            TableName=table, Key=_key(consumer, change),
            UpdateExpression="ADD attempts :one SET expires_at = if_not_exists(expires_at, :exp)",
            ExpressionAttributeValues={":one": {"N": "1"}, ":exp": {"N": str(int(time.time()) + KEEP_SECONDS)}},
            ReturnValues="ALL_NEW")["Attributes"]
    except (BotoCoreError, ClientError) as exc:
        raise StreamFailureNotRecorded(f"attempt count failed: {type(exc).__name__}") from exc
    attempts = int(item["attempts"]["N"])
    if "parked_at" in item:
        return Attempt(attempts=attempts, parked=False, already_parked=True)
    if attempts < GIVE_UP_AFTER_ATTEMPTS:
        return Attempt(attempts=attempts, parked=False, already_parked=False)
    url = stream_dlq_url()
    if not url:
        raise StreamFailureNotRecorded(f"{STREAM_DLQ_ENV} is not set")
    try:
        client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(message(consumer, change, error, attempts)),
                                   MessageAttributes={"kind": {"DataType": "String", "StringValue": MESSAGE_KIND}})
        ddb.update_item(TableName=table, Key=_key(consumer, change), UpdateExpression="SET parked_at = :now",
                        ExpressionAttributeValues={":now": {"N": str(int(time.time()))}})
    except (BotoCoreError, ClientError) as exc:
        raise StreamFailureNotRecorded(f"parking failed: {type(exc).__name__}") from exc
    logger.error("stream change given up; its keys are on the stream DLQ", extra={
        "consumer": consumer, "pk": change.pk, "sk": change.sk, "event_id": change.event_id,
        "sequence_number": change.sequence_number, "error": error, "attempts": attempts})
    return Attempt(attempts=attempts, parked=True, already_parked=False)


RESOLVE_MAX_PAGES = 50  # GetRecords pages read at most for one on-failure record (a bounded loop)


def resolve(on_failure: dict[str, Any]) -> list[dict[str, str]]:
    """The keys of the records one of Lambda's own on-failure messages names (``DDBStreamBatchInfo``:
    a shard and a range of sequence numbers), read back from the stream - possible while the stream
    keeps them (24 hours). For the backstop case, a function that crashed or timed out."""
    info = on_failure["DDBStreamBatchInfo"]
    streams = client("dynamodbstreams")
    iterator = streams.get_shard_iterator(
        StreamArn=info["streamArn"], ShardId=info["shardId"], ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=str(info["startSequenceNumber"]))["ShardIterator"]
    end = int(info["endSequenceNumber"])
    found: list[dict[str, str]] = []
    for _ in range(RESOLVE_MAX_PAGES):
        answer = streams.get_records(ShardIterator=iterator, Limit=100)
        for record in answer.get("Records", []):
            ddb = record["dynamodb"]
            if int(ddb["SequenceNumber"]) > end:
                return found
            keys = ddb.get("Keys", {})
            found.append({"PK": keys.get("PK", {}).get("S", ""), "SK": keys.get("SK", {}).get("S", ""),
                          "event_name": record.get("eventName", ""), "sequence_number": str(ddb["SequenceNumber"])})
        iterator = answer.get("NextShardIterator")
        if not iterator or not answer.get("Records"):
            break
    return found


def pending(queue_url: str, *, limit: int = 10) -> list[dict[str, Any]]:
    """Up to ``limit`` messages waiting on the stream DLQ, each with the keys it names (its own, or
    resolved from the stream for Lambda's keyless ones). Read-only: messages stay on the queue
    (they become visible again after the queue's visibility timeout)."""
    answer = client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=min(limit, 10),
                                           VisibilityTimeout=0)
    out = []
    for message in answer.get("Messages", []):
        body = json.loads(message["Body"])
        if body.get("kind") == MESSAGE_KIND:
            out.append({"source": "function", "consumer": body["consumer"], "error": body["error"],
                        "keys": [body["keys"]]})
        elif "DDBStreamBatchInfo" in body:
            out.append({"source": "lambda", "condition": body.get("requestContext", {}).get("condition"),
                        "keys": resolve(body)})
    return out


def main() -> None:
    """``python -m chalicelib.stream_failures [QUEUE_URL]``: print what waits on the stream DLQ, with keys."""
    import sys

    url = sys.argv[1] if len(sys.argv) > 1 else stream_dlq_url()
    if not url:
        raise SystemExit("usage: python -m chalicelib.stream_failures QUEUE_URL (or set STREAM_DLQ_URL)")
    print(json.dumps(pending(url), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
