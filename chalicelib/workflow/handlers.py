"""The workflow queue: what the state machine hands to Python, and the answer it waits for.

A ``checkpoint`` message carries the execution's task token. The handler applies what is due
(:func:`timers.run_checkpoint`), records the check, and answers the execution with the next
supervision moment. An error propagates, so SQS redelivers the message (and, after five tries,
moves it to the DLQ); the execution's 15-minute task timeout then sends it to its back-off,
after which it reads the ticket and tries again.
"""
from __future__ import annotations

import json
from typing import Any

from chalicelib.observability import logger
from chalicelib.services import clock
from chalicelib.store.tickets import timer_timestamp
from chalicelib.workflow import executions, records, timers


class BadMessage(ValueError):
    """A workflow message that is not ours or is malformed: dropped, never retried."""


def parse(body: str) -> dict[str, Any]:
    """The message as a dict with the fields a checkpoint needs."""
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise BadMessage("not JSON") from exc
    if not isinstance(message, dict) or message.get("kind") != "checkpoint":
        raise BadMessage("not a checkpoint message")
    for name in ("ticket_id", "token"):
        if not isinstance(message.get(name), str) or not message[name] or len(message[name]) > 2048:
            raise BadMessage(f"{name} missing")
    return message


def handle_checkpoint(message: dict[str, Any]) -> timers.CheckResult:
    """Apply what is due on the ticket and answer the waiting execution."""
    ticket_id = message["ticket_id"]
    result = timers.run_checkpoint(ticket_id)
    supervise_at = timer_timestamp(result.supervise_at) if result.supervise_at else executions.NEVER
    if result.found and (result.applied or supervise_at != message.get("supervise_at")):
        # the sweeper's supervision index follows what the flow now waits for (unchanged: no write)
        records.record_check(ticket_id, now=clock.now(), supervise_at=result.supervise_at)
    output = {"supervise_at": supervise_at, "status": result.status, "applied": result.summary()}
    answered = executions.send_success(message["token"], output)
    logger.info("checkpoint handled", extra={"ticket_id": ticket_id, "execution": message.get("execution"),
                                             "applied": output["applied"], "answered": answered})
    return result


def handle_body(body: str) -> timers.CheckResult | None:
    """One SQS message body: a checkpoint is handled; anything else is logged and dropped."""
    try:
        message = parse(body)
    except BadMessage as exc:
        logger.warning("workflow message dropped", extra={"reason": str(exc)})
        return None
    return handle_checkpoint(message)


def handle_bodies(bodies: list[str]) -> int:
    """A batch of workflow-queue message bodies; returns how many checkpoints were handled."""
    return sum(1 for body in bodies if handle_body(body) is not None)
