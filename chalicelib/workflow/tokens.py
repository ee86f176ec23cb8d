"""The task tokens a ticket's execution waits on, kept on the ticket's ``WORKFLOW`` item.

When the state machine enters a human stage it sends its task token to the workflow queue; the
handler *arms* it here under its scope (``ticket`` or an assignment id) with the ``(stage, wake)``
the execution entered with. Whoever sees that the committed ticket differs from what a token was
armed with - the table-stream consumer after a transaction, or the arming handler itself when the
change committed first - answers the token with the ticket's position and *disarms* it (conditional
on the token, so a newer token armed meanwhile stays).

Order makes it safe: the arming handler writes the token, then reads the ticket (strongly
consistent); the stream consumer reads the tokens only after the change committed. Whichever comes
second sees the other, and answering a token twice is harmless (the second answer is refused).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.domain.calendar import TZ
from chalicelib.store.models import WorkflowItem
from chalicelib.store.tickets import ticket_pk
from chalicelib.workflow.records import WORKFLOW_SK


@dataclass(frozen=True)
class ArmedToken:
    """One waiting task: where (scope), in which stage and until which wake it was armed."""

    scope: str
    token: str
    stage: str
    wake: str
    execution: str | None = None
    armed_at: str | None = None


def _conditional_failed(exc: UpdateError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


def arm(ticket_id: str, scope: str, *, token: str, stage: str, wake: str, execution: str | None,
        now: datetime) -> None:
    """Record the token the execution now waits on in ``scope`` (replacing the previous one)."""
    value = {"token": token, "stage": stage, "wake": wake, "execution": execution or "",
             "armed_at": now.astimezone(TZ).isoformat()}
    item = WorkflowItem(ticket_pk(ticket_id), WORKFLOW_SK)
    try:
        item.update(actions=[WorkflowItem.tokens[scope].set(value)], condition=WorkflowItem.tokens.exists())
    except UpdateError as exc:
        if not _conditional_failed(exc):
            raise
        # an item written before tokens existed (or none at all): create the map with this entry
        try:
            item.update(actions=[WorkflowItem.tokens.set({scope: value})],
                        condition=WorkflowItem.tokens.does_not_exist())
        except UpdateError as again:
            if not _conditional_failed(again):
                raise
            item.update(actions=[WorkflowItem.tokens[scope].set(value)])  # created meanwhile


def armed(ticket_id: str) -> list[ArmedToken]:
    """Every token armed on the ticket (strongly consistent read)."""
    try:
        item = WorkflowItem.get(ticket_pk(ticket_id), WORKFLOW_SK, consistent_read=True,
                                attributes_to_get=["tokens"])
    except DoesNotExist:
        return []
    raw = item.tokens.as_dict() if item.tokens is not None else {}
    return [ArmedToken(scope=scope, token=str(v.get("token", "")), stage=str(v.get("stage", "")),
                       wake=str(v.get("wake", "")), execution=v.get("execution") or None, armed_at=v.get("armed_at"))
            for scope, v in sorted(raw.items()) if isinstance(v, dict) and v.get("token")]


def disarm(ticket_id: str, scope: str, token: str) -> bool:
    """Forget the token of ``scope`` if it is still ``token``; False when a newer one replaced it."""
    item = WorkflowItem(ticket_pk(ticket_id), WORKFLOW_SK)
    try:
        item.update(actions=[WorkflowItem.tokens[scope].remove()],
                    condition=WorkflowItem.tokens[scope]["token"] == token)
    except UpdateError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True
