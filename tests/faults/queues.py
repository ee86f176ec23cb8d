"""Queues under test: drive one handler's queue with the local pump, measure depth, redrive a DLQ."""
from __future__ import annotations

from typing import Any

from chalice.app import SQSEventConfig

import app as application
from chalicelib.aws import client
from chalicelib.local.pump import EventPump

MAX_RECEIVE_COUNT = 5  # infra/template.yaml, every queue's RedrivePolicy


class ImmediateRetrySqs:
    """The SQS client the pump uses, with a failed batch made visible again at once."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs

    def change_message_visibility(self, **kwargs: Any) -> Any:
        return self._sqs.change_message_visibility(**{**kwargs, "VisibilityTimeout": 0})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)


def pump_queue(pump: EventPump, handler: str, *, rounds: int = 20) -> int:
    """Deliver ``handler``'s queue until it is empty (bounded); returns the handler invocations."""
    source = next(s for s in application.app.event_sources if isinstance(s, SQSEventConfig) and s.name == handler)
    invocations = 0
    for _ in range(rounds):
        if pump._pump_sqs(source) == 0:
            break
        invocations += 1
    return invocations


def depth(url: str) -> int:
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attributes["Attributes"].values())


def redrive(dlq_url: str, source_url: str, *, limit: int = 100) -> int:
    """Move every message from the DLQ back to its source queue (SQS's DLQ redrive); returns how many."""
    sqs = client("sqs")
    moved = 0
    while moved < limit:
        batch = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            break
        for message in batch:
            sqs.send_message(QueueUrl=source_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved
