"""The ``WORKFLOW`` item beside each ticket: which execution runs its timers, and when a supervision
falls due.

``T#<id>`` / ``WORKFLOW`` holds the execution's *generation*: 1 for the first execution (named
after the ticket), n for the one started when a change brought a checkpoint forward or when the
sweeper restored a lost one (``<id>-n``). Moving to the next generation is a conditional update,
so of two starters racing exactly one wins and the loser starts the same name (a harmless no-op).

Supervision moments depend on the SLA rules in force, which the ticket item cannot know, so they
live here, indexed on GSI4 under ``WF#<shard>`` for the sweeper.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.domain.calendar import TZ
from chalicelib.store.models import WorkflowItem
from chalicelib.store.tickets import ticket_pk

WORKFLOW_SK = "WORKFLOW"
SHARDS = 8
_SHARD_PREFIX = "WF#"


@dataclass(frozen=True)
class FlowRecord:
    """What the table says about a ticket's flow."""

    ticket_id: str
    generation: int
    execution_name: str | None
    execution_arn: str | None
    started_at: str | None = None
    ended_at: str | None = None
    ended_reason: str | None = None
    supervise_at: str | None = None
    last_check_at: str | None = None
    checks: int = 0

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _iso(moment: datetime) -> str:
    return moment.astimezone(TZ).isoformat()


def shard(ticket_id: str) -> str:
    return str(int(hashlib.sha1(ticket_id.encode()).hexdigest(), 16) % SHARDS)


def _record(ticket_id: str, item: WorkflowItem) -> FlowRecord:
    return FlowRecord(ticket_id=ticket_id, generation=int(item.generation or 0), execution_name=item.execution_name,
                      execution_arn=item.execution_arn, started_at=item.started_at, ended_at=item.ended_at,
                      ended_reason=item.ended_reason, supervise_at=item.supervise_at,
                      last_check_at=item.last_check_at, checks=int(item.checks or 0))


def get(ticket_id: str) -> FlowRecord | None:
    """The ticket's flow record (strongly consistent), or None before its flow first started."""
    try:
        item = WorkflowItem.get(ticket_pk(ticket_id), WORKFLOW_SK, consistent_read=True)
    except DoesNotExist:
        return None
    return _record(ticket_id, item)


def claim_generation(ticket_id: str, *, expected: int, name: str, arn: str, now: datetime,
                     supervise_at: datetime | None) -> bool:
    """Move the flow to generation ``expected + 1`` (execution ``name``) unless someone already
    moved it; True when this caller won and must start the execution."""
    item = WorkflowItem(ticket_pk(ticket_id), WORKFLOW_SK)
    actions = [
        WorkflowItem.generation.set(expected + 1),
        WorkflowItem.execution_name.set(name),
        WorkflowItem.execution_arn.set(arn),
        WorkflowItem.started_at.set(_iso(now)),
        WorkflowItem.ended_at.remove(),
        WorkflowItem.ended_reason.remove(),
        WorkflowItem.tokens.set({}),  # a new execution: the old one's tokens mean nothing
        *_supervision_actions(ticket_id, supervise_at),
    ]
    if expected == 0:  # no execution yet (the item may exist: a sweep recorded a check before acceptance)
        condition = WorkflowItem.generation.does_not_exist() | (WorkflowItem.generation == 0)
    else:
        condition = WorkflowItem.generation == expected
    try:
        item.update(actions=actions, condition=condition)
    except (UpdateError, PutError) as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _supervision_actions(ticket_id: str, supervise_at: datetime | None) -> list:
    if supervise_at is None:
        return [WorkflowItem.supervise_at.remove(), WorkflowItem.GSI4PK.remove(), WorkflowItem.GSI4SK.remove()]
    return [WorkflowItem.supervise_at.set(_iso(supervise_at)),
            WorkflowItem.GSI4PK.set(_SHARD_PREFIX + shard(ticket_id)),
            WorkflowItem.GSI4SK.set(f"{_iso(supervise_at)}#{ticket_id}")]


def record_check(ticket_id: str, *, now: datetime, supervise_at: datetime | None) -> None:
    """Note a check that changed something, and when a supervision will next be due (GSI4)."""
    item = WorkflowItem(ticket_pk(ticket_id), WORKFLOW_SK)
    item.update(actions=[WorkflowItem.last_check_at.set(_iso(now)), WorkflowItem.checks.add(1),
                         *_supervision_actions(ticket_id, supervise_at)])


def mark_ended(ticket_id: str, *, generation: int, reason: str, now: datetime) -> None:
    """Record why the flow's current execution ended (the ticket closed, ...); a newer
    generation started meanwhile is left alone."""
    item = WorkflowItem(ticket_pk(ticket_id), WORKFLOW_SK)
    try:
        item.update(actions=[WorkflowItem.ended_at.set(_iso(now)), WorkflowItem.ended_reason.set(reason),
                             *_supervision_actions(ticket_id, None)],
                    condition=WorkflowItem.generation == generation)
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def due_supervisions(now: datetime, *, limit: int = 500) -> Iterator[str]:
    """Ticket ids whose recorded supervision moment is at or before ``now`` (GSI4, per shard)."""
    bound = _iso(now) + "~"
    for n in range(SHARDS):
        for item in WorkflowItem.by_checkpoint.query(_SHARD_PREFIX + str(n), WorkflowItem.GSI4SK <= bound,
                                                     limit=limit):
            yield item.PK[2:]
