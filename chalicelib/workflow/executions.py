"""Step Functions, as the ticket flow uses it: start, describe, stop and read the history of the
execution that runs one ticket's timers.

An execution is named after its ticket (``<ticket id>`` for the first generation, then
``<ticket id>-<n>``), so an operator finds a ticket's flow in the console by typing the ticket id,
and starting the same name twice is harmless (Step Functions answers an identical start with the
running execution, and we treat ``ExecutionAlreadyExists`` as success).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.aws import client
from chalicelib.config import get_settings
from chalicelib.store.tickets import NEVER_TIMESTAMP, ticket_pk

NEVER = NEVER_TIMESTAMP  # "nothing pending": the state machine compares timestamps
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
MAX_NAME = 80
_MISSING = {"ExecutionDoesNotExist", "ResourceNotFound", "StateMachineDoesNotExist"}


class FlowUnavailable(RuntimeError):
    """The state machine is not configured (``TICKET_FLOW_ARN``)."""


@dataclass(frozen=True)
class ExecutionInfo:
    """What Step Functions says about one execution."""

    name: str
    arn: str
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    started_at: str | None
    stopped_at: str | None
    error: str | None = None
    cause: str | None = None

    @property
    def running(self) -> bool:
        return self.status == "RUNNING"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def state_machine_arn() -> str:
    arn = get_settings().ticket_flow_arn
    if not arn:
        raise FlowUnavailable("TICKET_FLOW_ARN is not configured")
    return arn


def execution_name(ticket_id: str, generation: int) -> str:
    """The execution's name: the ticket id (sanitised to what Step Functions accepts), then ``-n``."""
    base = _NAME_UNSAFE.sub("_", ticket_id)[: MAX_NAME - 6] or "ticket"
    return base if generation <= 1 else f"{base}-{generation}"


def execution_arn(name: str) -> str:
    machine = state_machine_arn()
    return machine.replace(":stateMachine:", ":execution:", 1) + ":" + name


def console_url(arn: str) -> str | None:
    """Where an operator opens the execution in the AWS console (None for a local ARN)."""
    parts = arn.split(":")
    if len(parts) < 4 or parts[3] in ("", "local"):
        return None
    partition, region = parts[1], parts[3]
    domain = "console.amazonaws.cn" if partition == "aws-cn" else f"{region}.console.aws.amazon.com"
    return f"https://{domain}/states/home?region={region}#/v2/executions/details/{arn}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value else None)


def execution_input(ticket_id: str, *, generation: int, position: dict[str, Any],
                    tags: dict[str, str] | None = None) -> dict[str, Any]:
    """The execution's input: the ticket, its committed position (where ``Route`` enters) and the
    tags an operator filters on (Step Functions executions cannot carry resource tags, so they ride
    in the input, which the console shows and ``describe-execution`` returns)."""
    return {"ticket_id": ticket_id, "pk": ticket_pk(ticket_id), "generation": generation,
            "tags": dict(tags or {}), "position": position}


def start(ticket_id: str, name: str, *, generation: int, position: dict[str, Any],
          tags: dict[str, str] | None = None) -> str:
    """Start execution ``name`` for the ticket; an execution of that name already there is fine."""
    payload = execution_input(ticket_id, generation=generation, position=position, tags=tags)
    try:
        answer = client("stepfunctions").start_execution(stateMachineArn=state_machine_arn(), name=name,
                                                         input=json.dumps(payload))
    except ClientError as exc:
        if _code(exc) == "ExecutionAlreadyExists":
            return execution_arn(name)
        raise
    return str(answer["executionArn"])


def describe(arn: str) -> ExecutionInfo | None:
    """The execution, or None if Step Functions does not know it (never started, or a local
    runtime restarted without its executions)."""
    try:
        answer = client("stepfunctions").describe_execution(executionArn=arn)
    except ClientError as exc:
        if _code(exc) in _MISSING:
            return None
        raise
    return ExecutionInfo(name=str(answer.get("name", arn.rsplit(":", 1)[-1])), arn=arn, status=str(answer["status"]),
                         started_at=_iso(answer.get("startDate")), stopped_at=_iso(answer.get("stopDate")),
                         error=answer.get("error"), cause=answer.get("cause"))


def stop(arn: str, *, error: str, cause: str, check: bool = True) -> bool:
    """Stop the execution if it still runs; False when it does not (or Step Functions does not know
    it). ``check=False`` skips the describe call for an execution that almost surely runs."""
    if check:
        info = describe(arn)
        if info is None or not info.running:
            return False
    try:
        client("stepfunctions").stop_execution(executionArn=arn, error=error, cause=cause)
    except ClientError as exc:
        if _code(exc) in _MISSING or _code(exc) in ("ExecutionNotRunning", "InvalidArn"):
            return False
        raise
    return True


def send_success(token: str, output: dict[str, Any]) -> bool:
    """Hand a checkpoint's result back to the waiting execution; False if it no longer waits
    (stopped, re-armed, or timed out - its successor reads the ticket afresh)."""
    try:
        client("stepfunctions").send_task_success(taskToken=token, output=json.dumps(output))
    except ClientError as exc:
        if _code(exc) in ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist"):
            return False
        raise
    return True


def history(arn: str, *, limit: int = 40) -> list[dict[str, Any]]:
    """The execution's latest events, newest first: id, type, time, state name."""
    raw = _latest_events(arn, limit)
    events = []
    for event in raw:
        entered = event.get("stateEnteredEventDetails") or {}
        exited = event.get("stateExitedEventDetails") or {}
        item: dict[str, Any] = {"id": event.get("id"), "type": event.get("type"),
                                "at": _iso(event.get("timestamp")), "state": entered.get("name") or exited.get("name")}
        if entered.get("name"):
            item["input"] = entered.get("input")
        for key in ("taskFailedEventDetails", "executionAbortedEventDetails", "executionFailedEventDetails",
                    "taskTimedOutEventDetails"):
            details = event.get(key)
            if details:
                item["error"] = details.get("error")
                item["cause"] = (details.get("cause") or "")[:300]
        events.append(item)
    return events


def _latest_events(arn: str, limit: int, *, max_pages: int = 25) -> list[dict[str, Any]]:
    """The newest ``limit`` events, newest first. Asks for reverse order; a service that ignores
    it (moto does) is paged through, boundedly, keeping the tail."""
    sfn = client("stepfunctions")
    kept: list[dict[str, Any]] = []
    token: str | None = None
    newest_first = False
    for _ in range(max_pages):
        kwargs: dict[str, Any] = {"executionArn": arn, "reverseOrder": True, "maxResults": limit}
        if token:
            kwargs["nextToken"] = token
        try:
            answer = sfn.get_execution_history(**kwargs)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return []
            raise
        page = answer.get("events", [])
        ids = [int(e.get("id", 0)) for e in page]
        token = answer.get("nextToken")
        if len(ids) > 1 and ids == sorted(ids, reverse=True):  # honoured: pages run newest first
            newest_first = True
        kept = kept + page
        if newest_first and (len(kept) >= limit or not token):
            return kept[:limit]
        if not newest_first:
            kept = kept[-limit:]
        if not token:
            break
    return sorted(kept, key=lambda e: int(e.get("id", 0)), reverse=True)[:limit]


def current_state(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """From a newest-first history: the state the execution entered last, and since when."""
    for event in events:
        if event.get("type", "").endswith("StateEntered"):
            return {"state": event.get("state"), "since": event.get("at")}
        if event.get("type", "").startswith("Execution") and event.get("type") != "ExecutionStarted":
            return {"state": None, "since": event.get("at")}
    return None
