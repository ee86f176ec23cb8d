"""A poison message or stream record never blocks its batch, and each stream consumer fails alone.

The queue handlers answer Lambda's partial batch response (``batchItemFailures``), the stream
handler the earliest failed record's sequence number; the local pump honours both as Lambda's
mappings do (``ReportBatchItemFailures`` in build/template.yaml): only the failed messages return
to their queue (then its DLQ), and a stream record that keeps failing is given up by the function,
its keys, consumer and error class on the stream's DLQ, while the shard moves on (Lambda's own
keyless on-failure record stays the backstop for a function that crashes).
"""
from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from chalice.app import DynamoDBEventConfig

import app as application
from chalicelib import batches, stream_failures, streams
from chalicelib.aws import client
from chalicelib.local.pump import STREAM_MAXIMUM_RETRY_ATTEMPTS
from chalicelib.notifications import inbox
from chalicelib.notifications import port as notification_port
from chalicelib.notifications.model import Audience, Notification
from chalicelib.notifications.port import notify
from tests.faults.queues import MAX_RECEIVE_COUNT, depth, pump_queue


def _urging(note_id: str) -> Notification:
    return Notification(id=note_id, kind="urged", title="催办", body="工单即将超期，请尽快签收。",
                        audience=Audience(departments=("MARKET",)), created_at="2026-03-02T09:00:00+08:00",
                        urgent=True)


def _sqs_event(bodies: list[str]) -> dict[str, Any]:
    return {"Records": [{"messageId": f"m{i}", "receiptHandle": f"r{i}", "body": body, "attributes": {},
                         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:local:000000000000:notify", "awsRegion": "local"}
                        for i, body in enumerate(bodies)]}


def test_sqs_partial_lists_only_the_messages_that_raised() -> None:
    def handle(body: str) -> None:
        if body == "poison":
            raise RuntimeError("cannot handle")

    assert batches.sqs_partial(_sqs_event(["a", "poison", "b", "poison"]), handle) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    assert batches.sqs_partial(_sqs_event(["a", "b"]), handle) == {"batchItemFailures": []}
    assert batches.sqs_partial(_sqs_event(["poison"]), handle) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}


def test_a_poison_notification_never_blocks_its_batch(pump, seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    queue, dlq = seeded["NOTIFY_QUEUE_URL"], seeded["NOTIFY_DLQ_URL"]
    real_deliver = notification_port.deliver

    def deliver(note: Notification) -> Any:
        if note.id == "poison":
            raise RuntimeError("this one always fails")
        return real_deliver(note)

    monkeypatch.setattr(notification_port, "deliver", deliver)
    notify([_urging("good-1"), _urging("poison"), _urging("good-2")])

    pump_queue(pump, "notify_delivery", rounds=MAX_RECEIVE_COUNT + 3)

    delivered = sorted(i["id"] for i in inbox.list_for("handler", limit=50)[0])
    expected = sorted(inbox.inbox_id(_urging(note_id)) for note_id in ("good-1", "good-2"))
    assert delivered == expected, "the poison message's neighbours were delivered, once"
    assert depth(queue) == 0 and depth(dlq) == 1
    parked = client("sqs").receive_message(QueueUrl=dlq)["Messages"][0]
    assert json.loads(parked["Body"])["id"] == "poison"


def _put_ticket_like(table: str, ticket_id: str) -> None:
    client("dynamodb").put_item(TableName=table, Item={
        "PK": {"S": f"T#{ticket_id}"}, "SK": {"S": "TICKET"}, "note": {"S": ticket_id}})


def _run_stream(pump, rounds: int) -> None:
    source = next(s for s in application.app.event_sources if isinstance(s, DynamoDBEventConfig))
    for _ in range(rounds):
        pump._pump_stream(source)


def _parked(queue_url: str) -> list[dict[str, Any]]:
    messages = client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                             VisibilityTimeout=0).get("Messages", [])  # left for the next look
    return [json.loads(m["Body"]) for m in messages]


def test_a_stream_consumer_fails_alone_and_its_poison_record_goes_to_the_on_failure_queue_with_its_keys(
        pump, seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, list[str]] = {"recorder": [], "picky": []}
    calls = {"picky": 0}

    def recorder(changes: list[streams.TableChange]) -> None:
        seen["recorder"].extend(c.pk for c in changes)

    def picky(changes: list[streams.TableChange]) -> None:
        calls["picky"] += 1
        if any(c.pk == "T#poison" for c in changes):
            raise KeyError("picky cannot take this change")
        seen["picky"].extend(c.pk for c in changes)

    monkeypatch.setattr(streams, "_CONSUMERS", [("picky", streams.is_ticket, picky),
                                                ("recorder", streams.is_ticket, recorder)])
    for ticket_id in ("a", "b", "poison", "c", "d"):
        _put_ticket_like(seeded["TABLE_NAME"], ticket_id)

    _run_stream(pump, STREAM_MAXIMUM_RETRY_ATTEMPTS + 5)

    expected = ["T#a", "T#b", "T#poison", "T#c", "T#d"]
    assert seen["picky"] == ["T#a", "T#b", "T#c", "T#d"], "in order, the poison record skipped after its retries"
    assert set(seen["recorder"]) == set(expected), "the other consumer was never held back"
    assert seen["recorder"][:5] == expected, "it took the whole first batch although picky failed"
    assert pump.stats.stream_records_given_up == 0, "the function gave the record up before Lambda's retries ran out"

    parked = _parked(seeded["STREAM_DLQ_URL"])
    assert len(parked) == 1, "one message for the one poison record, however often it was seen after"
    failure = parked[0]
    assert failure["kind"] == stream_failures.MESSAGE_KIND
    assert failure["keys"] == {"PK": "T#poison", "SK": "TICKET"}
    assert failure["consumer"] == "picky" and failure["error"] == "KeyError"
    assert failure["event_name"] == "INSERT" and failure["table"] == seeded["TABLE_NAME"]
    assert failure["attempts"] == stream_failures.GIVE_UP_AFTER_ATTEMPTS
    assert failure["sequence_number"] and failure["event_id"]
    assert "poison" not in json.dumps({k: v for k, v in failure.items() if k != "keys"}), "keys only, no image"
    assert set(failure) == {"kind", "consumer", "error", "attempts", "table", "event_id", "event_name",
                            "sequence_number", "keys", "given_up_at"}
    (listed,) = stream_failures.pending(seeded["STREAM_DLQ_URL"])
    assert listed == {"source": "function", "consumer": "picky", "error": "KeyError",
                      "keys": [{"PK": "T#poison", "SK": "TICKET"}]}


def test_lambdas_own_give_up_stays_the_backstop_when_the_function_itself_fails(
        pump, seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    """A function that crashes cannot count: Lambda's bounded retries still move the shard on, and its
    on-failure record (shard and sequence numbers, no keys) lands on the same queue."""
    def crash(changes: list[streams.TableChange]) -> None:
        raise MemoryError("the whole invocation dies")

    monkeypatch.setattr(streams, "_CONSUMERS", [("crash", streams.is_ticket, crash)])
    monkeypatch.setattr(streams, "_run_consumer", lambda name, fn, mine: fn(mine))
    _put_ticket_like(seeded["TABLE_NAME"], "lost")

    source = next(s for s in application.app.event_sources if isinstance(s, DynamoDBEventConfig))
    for _ in range(60):  # bisecting the seeded reference data's changes down to the crashing one, then 5 retries
        if pump.stats.stream_records_given_up:
            break
        pump._pump_stream(source)

    assert pump.stats.stream_records_given_up == 1
    (failure,) = _parked(seeded["STREAM_DLQ_URL"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert "keys" not in failure and "Keys" not in failure, "Lambda's record has no keys: the function must send them"
    # within the stream's 24 hours, the keys are read back from the stream for the operator
    (lost,) = stream_failures.resolve(failure)
    assert (lost["PK"], lost["SK"], lost["event_name"]) == ("T#lost", "TICKET", "INSERT")
    assert lost["sequence_number"] == failure["DDBStreamBatchInfo"]["startSequenceNumber"]
    (listed,) = stream_failures.pending(seeded["STREAM_DLQ_URL"])
    assert listed["source"] == "lambda" and listed["keys"] == [lost]


def test_a_given_up_change_is_parked_once_and_a_failure_to_count_means_retry(
        aws, monkeypatch: pytest.MonkeyPatch) -> None:
    change = streams.parse({"Records": [{"eventID": "e1", "eventName": "MODIFY", "dynamodb": {
        "SequenceNumber": "101", "Keys": {"PK": {"S": "T#7"}, "SK": {"S": "TICKET"}}}}]})[0]
    outcomes = [stream_failures.record_failure("notifier", change, "ValueError")
                for _ in range(stream_failures.GIVE_UP_AFTER_ATTEMPTS + 2)]
    assert [o.parked for o in outcomes].count(True) == 1
    assert outcomes[stream_failures.GIVE_UP_AFTER_ATTEMPTS - 1].parked
    assert not any(o.skip for o in outcomes[:stream_failures.GIVE_UP_AFTER_ATTEMPTS - 1])
    assert all(o.already_parked for o in outcomes[stream_failures.GIVE_UP_AFTER_ATTEMPTS:])
    assert len(_parked(aws["STREAM_DLQ_URL"])) == 1
    other = stream_failures.record_failure("analytics", change, "ValueError")
    assert other.attempts == 1 and not other.skip, "each consumer counts its own attempts"

    monkeypatch.delenv(stream_failures.STREAM_DLQ_ENV)
    fresh = streams.parse({"Records": [{"eventID": "e2", "eventName": "INSERT", "dynamodb": {
        "SequenceNumber": "102", "Keys": {"PK": {"S": "T#8"}, "SK": {"S": "TICKET"}}}}]})

    def always_fails(changes: list[streams.TableChange]) -> None:
        raise ValueError("no")

    monkeypatch.setattr(streams, "_CONSUMERS", [("notifier", streams.is_ticket, always_fails)])
    for _ in range(stream_failures.GIVE_UP_AFTER_ATTEMPTS + 1):
        outcome = streams.fan_out(fresh)
        assert [f.change.pk for f in outcome.failures] == ["T#8"], "not parked, so never skipped"


def test_the_stream_handler_answers_the_earliest_failed_sequence_number(
        aws, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_on(pk: str):
        def consumer(changes: list[streams.TableChange]) -> None:
            if any(c.pk == pk for c in changes):
                raise RuntimeError(pk)
        return consumer

    monkeypatch.setattr(streams, "_CONSUMERS", [("late", streams.is_ticket, failing_on("T#3")),
                                                ("early", streams.is_ticket, failing_on("T#2"))])
    def event(delivery: str) -> dict[str, Any]:  # a fresh event id each time: attempts are counted per record
        return {"Records": [{"eventID": f"{delivery}-e{n}", "eventName": "INSERT", "dynamodb": {
            "SequenceNumber": str(100 + n), "Keys": {"PK": {"S": f"T#{n}"}, "SK": {"S": "TICKET"}}}}
            for n in range(1, 5)]}

    outcome = streams.fan_out(streams.parse(event("first")))
    assert outcome.taken == {"late": 2, "early": 1}
    assert {(f.consumer, f.change.pk) for f in outcome.failures} == {("late", "T#3"), ("early", "T#2")}
    assert streams.dispatch(event("second")) == {"batchItemFailures": [{"itemIdentifier": "102"}]}
    assert application.table_stream(event("third"), None) == {"batchItemFailures": [{"itemIdentifier": "102"}]}
