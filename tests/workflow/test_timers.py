"""Applying a checkpoint: one transaction per step, idempotent, and the workflow queue's messages."""
from __future__ import annotations

import json
from datetime import timedelta

from chalicelib.domain.ticket import Actor
from chalicelib.services import clock
from chalicelib.services import tickets as service
from chalicelib.workflow import handlers, records, timers
from tests.workflow.conftest import events_of, ticket_in_handling


def test_a_checkpoint_applies_each_due_step_once(flow_env):
    ticket = ticket_in_handling()
    later = lambda: clock.now() + timedelta(seconds=30)  # noqa: E731 - the sign clock (3 s) is long overdue

    first = timers.run_checkpoint(ticket.id, now=later)
    assert [s.action for s in first.applied] == ["record_warning", "record_warning", "urge", "supervise"]
    versions = [e for e in events_of(ticket.id) if e.type in ("warning_recorded", "urged", "supervised")]
    assert len(versions) == 4

    again = timers.run_checkpoint(ticket.id, now=later)
    assert again.applied == [] and again.found
    assert len([e for e in events_of(ticket.id) if e.type in ("warning_recorded", "urged", "supervised")]) == 4
    assert timers.run_checkpoint("20260101-NOSUCHID").found is False


def test_a_managers_urging_reaches_the_department_and_is_answered(flow):
    from chalicelib.notifications import inbox

    ticket = ticket_in_handling(department="HEALTH")
    manager = Actor(username="manager", role="manager")
    urged = service.act(ticket.id, "urge", {"text": "请加快办理", "department": "HEALTH", "clock": "sign:A1"}, manager)
    assert urged.urgings[-1].source == "manual"

    def told() -> list[dict]:
        return [i for i in inbox.list_for("handler-health", limit=50)[0]
                if i["ticket_id"] == ticket.id and i["kind"] == "urged" and i["body"].startswith("管理人员催办")]

    note, = flow.until(told, what="the urging notification")  # (the flow's own urging may follow: system)
    assert note["title"] == f"催办：工单 {ticket.id}"
    health = Actor(username="handler-health", role="handler", department="HEALTH")
    manual = urged.urgings[-1].id
    answered = service.act(ticket.id, "answer_urging", {"urging_id": manual, "text": "今日内签收"}, health)
    assert next(u for u in answered.urgings if u.id == manual).answered_by == "handler-health"


def test_malformed_workflow_messages_are_dropped_not_retried(flow_env):
    assert handlers.handle_body("{not json") is None
    assert handlers.handle_body(json.dumps({"kind": "something else"})) is None
    assert handlers.handle_body(json.dumps({"kind": "checkpoint", "ticket_id": "x"})) is None  # no token
    assert handlers.handle_bodies(["[]", "null"]) == 0


def test_a_checkpoint_for_a_stopped_execution_still_applies_and_is_recorded(flow_env):
    ticket = ticket_in_handling()
    body = json.dumps({"kind": "checkpoint", "ticket_id": ticket.id, "token": "no-longer-waiting",
                       "scope": "A1", "stage": "sign", "execution": ticket.id})
    assert handlers.handle_body(body) == "checkpoint"
    record = records.get(ticket.id)
    assert record is not None and record.checks >= 1 and record.last_check_at
