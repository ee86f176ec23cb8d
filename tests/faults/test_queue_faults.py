"""A queue handler that keeps failing ends in its DLQ after the queue's retries, and replays to success.

The local EventPump drives the handlers as Lambda's SQS mapping does: a failed batch stays on the
queue, and the queue's redrive policy from infra/template.yaml (``maxReceiveCount: 5``, enforced
by moto) moves a message received that many times to its dead-letter queue. Here a failed batch
comes back at once instead of after its visibility timeout, so the retries take no wall time.
Replaying is what an operator does with SQS's DLQ redrive (``StartMessageMoveTask``, which moto
lacks, so :func:`redrive` moves the messages the same way): the handler must then succeed, and
must not do the work twice when a message is delivered more than once.
"""
from __future__ import annotations

import json

from chalice.app import SQSEventConfig

import app as application
from chalicelib.aws import client
from chalicelib.notifications import inbox
from chalicelib.notifications.model import Audience, Notification
from chalicelib.notifications.port import notify
from tests.faults.queues import MAX_RECEIVE_COUNT, depth, pump_queue, redrive

def _urging(note_id: str) -> Notification:
    return Notification(id=note_id, kind="urged", title="催办", body="工单即将超期，请尽快签收。",
                        audience=Audience(departments=("MARKET",)), created_at="2026-03-02T09:00:00+08:00",
                        urgent=True)


def _inbox_ids(username: str) -> list[str]:
    items, _ = inbox.list_for(username, limit=50)
    return [i["id"] for i in items]


def test_a_failing_notification_handler_ends_in_the_dlq_and_replays_to_success(pump, faults, seeded):
    queue, dlq = seeded["NOTIFY_QUEUE_URL"], seeded["NOTIFY_DLQ_URL"]
    notify([_urging("dlq-replay-1")])
    faults.down("dynamodb", "PutItem")  # the inbox table write keeps failing

    assert pump_queue(pump, "notify_delivery") == MAX_RECEIVE_COUNT
    assert pump.stats.sqs_failures == MAX_RECEIVE_COUNT
    assert depth(queue) == 0 and depth(dlq) == 1, "after its last retry the message waits in the DLQ"
    faults.clear()
    assert _inbox_ids("handler") == [], "nothing was half-delivered"

    assert redrive(dlq, queue) == 1
    assert pump_queue(pump, "notify_delivery") == 1
    assert depth(queue) == 0 and depth(dlq) == 0
    assert len(_inbox_ids("handler")) == 1 and len(_inbox_ids("dept_lead")) == 1


def test_a_message_delivered_twice_is_handled_once(pump, seeded):
    """At-least-once delivery (a replay of a message that had in fact succeeded) changes nothing."""
    queue = seeded["NOTIFY_QUEUE_URL"]
    notify([_urging("dlq-replay-2")])
    body = client("sqs").receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"][0]["Body"]
    client("sqs").send_message(QueueUrl=queue, MessageBody=body)
    assert pump_queue(pump, "notify_delivery") >= 1
    assert depth(queue) == 0
    assert len(_inbox_ids("handler")) == 1
    assert json.loads(body)["id"] == "dlq-replay-2"


def test_the_redrive_policy_of_every_handled_queue_parks_failures(seeded):
    """Every queue a handler listens to has a DLQ and gives up after the same number of receives."""
    sqs = client("sqs")
    queues = {s.queue for s in application.app.event_sources if isinstance(s, SQSEventConfig)}
    assert {"notify", "workflow", "outbox", "reports"} <= queues
    for name in queues:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
                            ["Attributes"]["RedrivePolicy"])
        assert int(policy["maxReceiveCount"]) == MAX_RECEIVE_COUNT, name
        assert policy["deadLetterTargetArn"].endswith(f":{name}-dlq"), (name, policy)
