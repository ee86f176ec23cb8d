"""The workflow queue: what the state machine hands to Python, and the answers it waits for.

Two kinds of message, each carrying the execution's task token:

* ``stage`` - the execution entered a human stage (``Dispatch``, ``Sign``...) and waits there. The
  handler arms the token (:mod:`chalicelib.workflow.tokens`) and answers it at once only if the
  committed ticket already moved on (the change committed before the token arrived). Otherwise the
  token is answered later by the table-stream consumer (:mod:`chalicelib.workflow.starter`), after
  the transition's transaction committed - never before.
* ``checkpoint`` - a stage's deadline passed (its task timed out), handling ended, or a back-off
  ended: apply what is due (:func:`timers.run_checkpoint`: yellow, red, urging, supervision as the
  system), record the check, and answer with the scope's committed position, so the execution
  returns to the same stage with the next deadline - or enters the stage the ticket is in now.

An error propagates, so SQS redelivers the message (after five tries: the DLQ); the task's timeout
then sends the execution to its back-off, after which it reads again.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import NotFound
from chalicelib.domain.ticket import Policy, Ticket
from chalicelib.observability import logger
from chalicelib.services import clock
from chalicelib.services import tickets as ticket_service
from chalicelib.store.tickets import NEVER_TIMESTAMP
from chalicelib.workflow import executions, records, stages, timers, tokens

KINDS = ("stage", "checkpoint")
GONE = {"scope": stages.TICKET_SCOPE, "stage": "gone", "wake": NEVER_TIMESTAMP, "timeout": 1, "shares": []}


class BadMessage(ValueError):
    """A workflow message that is not ours or is malformed: dropped, never retried."""


def parse(body: str) -> dict[str, Any]:
    """The message as a dict with the fields its kind needs."""
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise BadMessage("not JSON") from exc
    if not isinstance(message, dict) or message.get("kind") not in KINDS:
        raise BadMessage("not a workflow message")
    names = ("ticket_id", "token", "scope", "stage") + (("wake",) if message["kind"] == "stage" else ())
    for name in names:
        if not isinstance(message.get(name), str) or not message[name] or len(message[name]) > 2048:
            raise BadMessage(f"{name} missing")
    return message


def answer(token: str, ticket: Ticket, scope: str, policy: Policy, *, after_checkpoint: bool = False,
           now: datetime | None = None) -> dict[str, Any]:
    """Send the scope's committed position (as of ``now``, default the clock) to the waiting task;
    returns what was sent."""
    output = stages.scope_position(ticket, scope, policy, now or clock.now(), after_checkpoint=after_checkpoint)
    executions.send_success(token, output)
    return output


def follow(ticket: Ticket, armed: list[tokens.ArmedToken], policy: Policy) -> list[str]:
    """Answer every armed token whose (stage, wake) the committed ``ticket`` no longer has; returns
    the scopes answered. Each answered token is disarmed first, so it is answered once."""
    answered = []
    for token in armed:
        if not stages.armed_differs(ticket, token.scope, policy, stage=token.stage, wake=token.wake):
            continue
        if not tokens.disarm(ticket.id, token.scope, token.token):
            continue  # a newer token replaced it: its own arming compares afresh
        answer(token.token, ticket, token.scope, policy)
        answered.append(token.scope)
    return answered


def handle_stage(message: dict[str, Any]) -> list[str]:
    """Arm the token, then answer it at once if the committed ticket already left that stage."""
    ticket_id, scope = message["ticket_id"], message["scope"]
    tokens.arm(ticket_id, scope, token=message["token"], stage=message["stage"], wake=message["wake"],
               execution=message.get("execution"), now=clock.now())
    try:
        ticket = ticket_service.repository().get(ticket_id)
    except NotFound:
        executions.send_success(message["token"], GONE)
        return [scope]
    armed = tokens.ArmedToken(scope=scope, token=message["token"], stage=message["stage"], wake=message["wake"])
    return follow(ticket, [armed], ticket_service.current_policy())


def handle_checkpoint(message: dict[str, Any]) -> timers.CheckResult:
    """Apply what is due on the ticket and answer the waiting task with the scope's position."""
    ticket_id, scope = message["ticket_id"], message["scope"]
    policy = ticket_service.current_policy()
    # The position is computed as of the moment before the checkpoint looked: a wake that passed
    # while it ran (red right after yellow, on a slow runtime) is then due, not "could not be
    # applied" (which waits RETRY_SECONDS).
    checked_at = clock.now()
    result = timers.run_checkpoint(ticket_id, policy=policy)
    if not result.found or result.ticket is None:
        executions.send_success(message["token"], GONE if scope == stages.TICKET_SCOPE else
                                {"scope": scope, "stage": stages.SHARE_DONE, "wake": NEVER_TIMESTAMP, "timeout": 1})
        return result
    # the check is recorded, and the sweeper's supervision index follows what the flow now waits for
    records.record_check(ticket_id, now=clock.now(), supervise_at=result.supervise_at)
    output = answer(message["token"], result.ticket, scope, policy, after_checkpoint=True, now=checked_at)
    logger.info("checkpoint handled", extra={"ticket_id": ticket_id, "execution": message.get("execution"),
                                             "scope": scope, "applied": result.summary(), "stage": output["stage"],
                                             "timeout": output["timeout"]})
    return result


def handle_body(body: str) -> str | None:
    """One SQS message body: handled by kind (returns the kind); anything else is logged and dropped."""
    try:
        message = parse(body)
    except BadMessage as exc:
        logger.warning("workflow message dropped", extra={"reason": str(exc)})
        return None
    if message["kind"] == "stage":
        handle_stage(message)
    else:
        handle_checkpoint(message)
    return str(message["kind"])


def handle_bodies(bodies: list[str]) -> int:
    """A batch of workflow-queue message bodies; returns how many were handled."""
    return sum(1 for body in bodies if handle_body(body) is not None)

