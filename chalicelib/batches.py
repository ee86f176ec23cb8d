"""Partial batch responses for the SQS handlers: one poison message never fails its batch.

Lambda's SQS mapping with ``FunctionResponseTypes: [ReportBatchItemFailures]`` (set by
``make package`` on every SQS event) deletes the messages a handler did not list in
``{"batchItemFailures": [{"itemIdentifier": <messageId>}]}`` and returns only the listed ones to
the queue, where the redrive policy moves a message that keeps failing to its DLQ. Without it one
raising message would make the whole batch come back, its good neighbours included, until all of
them reached the DLQ. The local event pump honours the same answer.

Powertools' ``BatchProcessor`` does the per-record bookkeeping; this module only adapts the
project's handlers (which take a message body) and logs which message failed, never its body
(bodies can carry personal data).
"""
from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.observability import logger

BatchResponse = dict[str, list[dict[str, str]]]


def sqs_partial(event: dict[str, Any], handle_body: Callable[[str], Any]) -> BatchResponse:
    """Run ``handle_body`` on each message body of an SQS ``event``; the failed ones as Lambda's
    partial batch response (``{"batchItemFailures": [...]}``, empty when all succeeded).

    A batch that failed entirely is reported the same way (every message listed) rather than
    raised, so that the local pump and Lambda treat both cases alike.
    """
    def record_handler(record: SQSRecord) -> None:
        try:
            handle_body(record.body)
        except Exception as exc:
            logger.warning("queue message failed; it returns to its queue",
                           extra={"message_id": record.message_id, "queue": record.event_source_arn.rsplit(":", 1)[-1],
                                  "error": type(exc).__name__})
            raise

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor)


def failed_ids(response: Any) -> set[str] | None:
    """The item identifiers a handler's partial batch response lists; ``None`` when the handler
    answered no partial batch response (then success means the whole batch succeeded)."""
    if not isinstance(response, dict) or "batchItemFailures" not in response:
        return None
    return {str(item.get("itemIdentifier")) for item in response["batchItemFailures"] or []}
