"""The outbox relay: every outbox message written with a transition goes onto the outbox queue.

The message was committed in the same transaction as the change that caused it, so nothing is
lost if a send fails: the stream batch is retried. The SQS message carries a stable id
(``<ticket>/<outbox key>``) so downstream senders can drop the duplicates a retry may create.
"""
from __future__ import annotations

import json

from chalicelib.aws import client
from chalicelib.config import get_settings
from chalicelib.streams import TableChange, consumer, is_outbox_insert


def message_of(change: TableChange) -> dict:
    """The queue message for one outbox item."""
    item = change.item
    return {"id": f"{change.pk[2:]}/{change.sk}", "ticket_id": change.pk[2:], "topic": item.get("topic"),
            "payload": item.get("payload") or {}, "created_at": item.get("created_at")}


@consumer("outbox_relay", accepts=is_outbox_insert)
def relay(changes: list[TableChange]) -> None:
    """Send the new outbox messages to the outbox queue, ten at a time."""
    url = get_settings().outbox_queue_url
    if not url:
        raise RuntimeError("OUTBOX_QUEUE_URL is not configured")
    sqs = client("sqs")
    for start in range(0, len(changes), 10):
        batch = changes[start:start + 10]
        entries = [{"Id": str(n), "MessageBody": json.dumps(message_of(c), ensure_ascii=False),
                    "MessageAttributes": {"topic": {"DataType": "String", "StringValue": str(c.item.get("topic"))}}}
                   for n, c in enumerate(batch)]
        answer = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        if answer.get("Failed"):
            raise RuntimeError(f"outbox relay: {len(answer['Failed'])} messages not accepted by SQS")
