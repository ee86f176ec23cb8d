"""Reading a ticket's execution history in the words of its stages (for the flow tests)."""
from __future__ import annotations

from typing import Any

import boto3

from chalicelib.workflow import executions, records

STAGES = {"Acceptance", "NonAcceptanceReview", "Dispatch", "Handling", "Sign", "HandleShare", "Paused",
          "ClosureReview", "Callback", "Evaluation", "Close", "Archive", "Checkpoint", "ShareCheckpoint",
          "Archived", "Declined", "DirectAnswer", "ReturnedUpward", "Closed", "ShareDone"}


def history(ticket_id: str) -> list[dict[str, Any]]:
    record = records.get(ticket_id)
    if record is None or not record.execution_arn:
        return []
    sfn = boto3.client("stepfunctions")
    events, token = [], None
    while True:
        kwargs = {"executionArn": record.execution_arn, "maxResults": 1000}
        if token:
            kwargs["nextToken"] = token
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def entered(ticket_id: str) -> list[str]:
    """Every state entered, in order."""
    return [e["stateEnteredEventDetails"]["name"] for e in history(ticket_id) if "stateEnteredEventDetails" in e]


def stage_sequence(ticket_id: str, *, checkpoints: bool = False) -> list[str]:
    """The stages entered, in order, consecutive repeats folded (re-arming the same stage)."""
    names = [n for n in entered(ticket_id) if n in STAGES and (checkpoints or not n.endswith("Checkpoint"))]
    folded: list[str] = []
    for name in names:
        if not folded or folded[-1] != name:
            folded.append(name)
    return folded


def waiting_in(ticket_id: str) -> str | None:
    """The stage the execution waits in now (its armed tokens), or its status once it ended."""
    record = records.get(ticket_id)
    if record is None or not record.execution_arn:
        return None
    info = executions.describe(record.execution_arn)
    if info is None:
        return None
    if not info.running:
        return info.status
    from chalicelib.workflow import tokens

    armed = tokens.armed(ticket_id)
    from chalicelib.workflow.stages import waiting_state

    states = sorted({waiting_state(t.scope, t.stage) for t in armed})
    return ",".join(states) if states else None


# The top-level states that are business stages.
TOP = ("Acceptance", "NonAcceptanceReview", "Dispatch", "Handling", "ClosureReview", "Callback", "Evaluation",
       "Close", "Archive", "Archived", "Declined", "DirectAnswer", "ReturnedUpward", "Closed")
def _fold(names: list[str]) -> list[str]:
    folded: list[str] = []
    for name in names:
        if not folded or folded[-1] != name:
            folded.append(name)
    return folded


def top_sequence(ticket_id: str) -> list[str]:
    """The business stages the execution entered, in order (repeats of one stage folded)."""
    return _fold([n for n in entered(ticket_id) if n in TOP])


def timeline_sequence(ticket_id: str) -> list[str]:
    """The stages the ticket's timeline went through (each event's resulting status), in the state
    machine's names: what the execution's history must show."""
    from chalicelib.services import tickets as service
    from chalicelib.workflow import stages

    ticket = service.repository().get(ticket_id)
    names = []
    for event in service.repository().timeline(ticket_id):
        status = event.to_status or event.from_status
        if status == "closed":
            stage = stages.STAGE_OF_RESOLUTION.get(ticket.resolution or "completed", "archive")
        else:
            stage = stages.STAGE_OF_STATUS[status]
        names.append(stages.STATE_OF_STAGE[stage])
    return _fold(names)


def share_entries(ticket_id: str) -> list[str]:
    """The share-level stages entered (Sign, HandleShare, Paused), in order, all shares together."""
    return [n for n in entered(ticket_id) if n in ("Sign", "HandleShare", "Paused")]


def settled(ticket_id: str) -> bool:
    """The execution followed the ticket: its stages so far are the timeline's, and it waits in the
    ticket's stage (or ended)."""
    return top_sequence(ticket_id) == timeline_sequence(ticket_id) and waiting_in(ticket_id) is not None
