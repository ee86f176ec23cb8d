"""The event pump drives the app's stream and SQS handlers the way AWS's mappings would."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import boto3
from chalice.app import Chalice

from chalicelib.local.pump import Clock, EventPump
from chalicelib.local.schedule_expressions import Schedule


def test_outbox_messages_reach_the_outbox_queue_through_the_stream(api, aws):
    body = {"kind": "inquiry", "channel": "phone", "complainant": {"name": "王五", "phone": "13600001111"},
            "request": "咨询营业执照办理流程"}
    tid = api.post("/tickets", json=body, user="agent").json["tickets"][0]["id"]
    pump = EventPump(api.app, aws, only=frozenset({"table_stream"}))  # not the webhook sender: it consumes the queue
    assert pump.drain() > 0
    messages = boto3.client("sqs").receive_message(QueueUrl=aws["OUTBOX_QUEUE_URL"], MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(m["Body"]) for m in messages]
    assert [(b["ticket_id"], b["topic"]) for b in bodies] == [(tid, "ticket.registered")]
    assert "13600001111" not in messages[0]["Body"]
    assert pump.drain() == 0  # the stream position moved on: nothing is delivered twice


def test_a_failing_sqs_handler_leaves_the_message_for_retry_then_dlq(aws):
    app = Chalice(app_name="pump-test")
    calls: list[int] = []

    @app.on_sqs_message(queue="notify", name="flaky")
    def flaky(event):
        calls.append(len(list(event)))
        raise RuntimeError("downstream is down")

    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=aws["NOTIFY_QUEUE_URL"], MessageBody="{}")
    pump = EventPump(app, aws)
    pump.pump_once()
    assert calls == [1] and pump.stats.sqs_failures == 1
    attributes = sqs.get_queue_attributes(QueueUrl=aws["NOTIFY_QUEUE_URL"], AttributeNames=["RedrivePolicy"])
    assert json.loads(attributes["Attributes"]["RedrivePolicy"])["maxReceiveCount"] == 5


def test_schedules_fire_when_due_on_a_fast_clock(aws):
    app = Chalice(app_name="schedule-test")
    fired: list[str] = []

    @app.schedule("rate(5 minutes)", name="tick")
    def tick(event):
        fired.append(event.time)

    clock = Clock(speed=1.0)
    pump = EventPump(app, aws, clock=clock)
    pump.pump_once()  # learns the next firing time
    assert fired == []
    pump.force_due("tick")
    pump.pump_once()
    assert len(fired) == 1
    assert pump.fire_schedule("tick") and len(fired) == 2


def test_schedule_expressions():
    start = datetime(2026, 11, 24, 14, 3, tzinfo=timezone.utc)
    assert Schedule("rate(5 minutes)").next_after(start) == datetime(2026, 11, 24, 14, 5, tzinfo=timezone.utc)
    assert Schedule("rate(1 hour)").next_after(start) == datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
    monthly = Schedule("cron(0 0 1 * ? *)")
    assert monthly.next_after(start) == datetime(2026, 12, 1, tzinfo=timezone.utc)
    assert monthly.next_after(datetime(2026, 12, 1, tzinfo=timezone.utc)) == datetime(2027, 1, 1, tzinfo=timezone.utc)
    weekdays = Schedule("cron(30 1 ? * MON-FRI *)")
    fire = weekdays.next_after(datetime(2026, 11, 28, 0, 0, tzinfo=timezone.utc))  # a Saturday
    assert fire == datetime(2026, 11, 30, 1, 30, tzinfo=timezone.utc)
    assert Schedule("cron(0 8 1 1,4,7,10 ? *)").next_after(start) == datetime(2027, 1, 1, 8, 0, tzinfo=timezone.utc)
    assert fire - timedelta(days=2) < fire
