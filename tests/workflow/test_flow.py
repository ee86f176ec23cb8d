"""The ticket flow for real: Step Functions executions under moto (Wait with TimestampPath, DynamoDB
GetItem, SQS waitForTaskToken), the Python handlers driven by the event pump, and a test SLA
profile whose clocks are seconds long (see conftest.FAST_RULES)."""
from __future__ import annotations

from datetime import datetime, timedelta

import boto3

from chalicelib.domain.calendar import TZ
from chalicelib.services import tickets as service
from chalicelib.domain.ticket import SYSTEM_ACTOR
from chalicelib.workflow import executions, flows, records, stages, starter, sweeper, tokens
from tests.workflow.conftest import AGENT, DISPATCHER, HANDLER, SLOW, events_of, submission, ticket_in_handling


def _warnings(ticket_id: str) -> list[tuple[str, str, str]]:
    return [(e.data["clock"], e.data["level"], e.data["due"]) for e in events_of(ticket_id, "warning_recorded")]


def _ticket_executions(flow, ticket_id: str, status: str | None = None) -> list[dict]:
    return [e for e in flow.executions(status) if e["name"] == ticket_id or e["name"].startswith(ticket_id + "-")]


def test_yellow_then_red_then_urged_then_supervised_in_order_and_people_are_told(flow):
    ticket = ticket_in_handling()  # sign clock: yellow 1.5 s, due 3 s after dispatch; nobody signs
    dispatched_at = ticket.clocks["sign:A1"].started_at

    flow.until(lambda: service.repository().get(ticket.id).supervisions, timeout=15, what="supervision")

    timeline = [e.type for e in events_of(ticket.id, "warning_recorded", "urged", "supervised")]
    assert timeline == ["warning_recorded", "warning_recorded", "urged", "supervised"]
    yellow, red, urged, supervised = events_of(ticket.id, "warning_recorded", "urged", "supervised")
    state = service.repository().get(ticket.id).clocks["sign:A1"]
    assert (yellow.data["level"], red.data["level"]) == ("yellow", "red")
    assert yellow.actor.role == red.actor.role == urged.actor.role == supervised.actor.role == "system"
    assert state.yellow_at <= yellow.at <= red.at and state.due < red.at  # each fired after its time
    assert red.at - state.due < timedelta(seconds=6)  # and promptly (whole-second timers + slack)
    assert yellow.at - dispatched_at >= timedelta(seconds=1.5)
    assert urged.data["department"] == "MARKET" and urged.data["source"] == "system"
    assert urged.data["clock"] == "sign:A1"
    assert supervised.data["urging_id"] == urged.data["urging_id"] and supervised.data["department"] == "MARKET"

    after = service.repository().get(ticket.id)
    assert after.clocks["sign:A1"].warning == "red"
    assert [(u.department, u.source) for u in after.urgings] == [("MARKET", "system")]
    urgings_queue = service.repository().queue("urgings", "MARKET")[0]
    assert ticket.id in [item["id"] for item in urgings_queue]
    warnings_queue = service.repository().queue("warnings", "center")[0]
    assert [item["warning"] for item in warnings_queue if item["id"] == ticket.id] == ["red"]

    from chalicelib.notifications import inbox

    def told(username: str, kinds: set[str]) -> bool:
        items, _ = inbox.list_for(username, limit=100)
        return kinds <= {i["kind"] for i in items if i["ticket_id"] == ticket.id}

    flow.until(lambda: told("handler", {"warning_yellow", "warning_red", "urged", "supervised"})
               and told("dept_lead", {"warning_yellow", "warning_red", "urged", "supervised"})
               and told("manager", {"warning_red", "supervised"}), what="notifications")
    items, _ = inbox.list_for("manager", limit=100)
    assert "warning_yellow" not in {i["kind"] for i in items if i["ticket_id"] == ticket.id}
    assert not told("handler-urban", {"warning_yellow"})  # another department hears nothing


def test_an_approved_extension_moves_the_deadline_and_the_old_one_passes_silently(flow):
    ticket = ticket_in_handling(sign=True, category=SLOW)  # handling clock: yellow 4 s, due 8 s after signing
    old = ticket.clocks["handling:A1"]
    new_due = (old.started_at + timedelta(seconds=11)).isoformat()
    service.act(ticket.id, "request_extension", {"reason": "需等待检测报告", "new_due": new_due}, HANDLER)
    approved = service.act(ticket.id, "decide_extension", {"decision": "approve"}, DISPATCHER)
    moved = approved.clocks["handling:A1"]
    assert moved.due > old.due and moved.yellow_at > old.yellow_at

    flow.settle((old.due - datetime.now(TZ)).total_seconds() + 1.5)  # the old deadline passes
    assert ("handling:A1", "red", old.due.isoformat()) not in _warnings(ticket.id)  # silently

    flow.until(lambda: ("handling:A1", "red", moved.due.isoformat()) in _warnings(ticket.id), timeout=10,
               what="red at the new deadline")
    after_approval = [e for e in events_of(ticket.id, "warning_recorded") if e.at > approved.updated_at]
    assert [(e.data["level"], e.data["due"]) for e in after_approval] == [
        ("yellow", moved.due.isoformat()), ("red", moved.due.isoformat())]
    assert after_approval[0].at >= moved.yellow_at and after_approval[1].at > moved.due


def test_a_pause_stops_the_clock_and_resume_restarts_it_with_the_remaining_time(flow):
    ticket = ticket_in_handling(sign=True, category=SLOW)  # handling: yellow 4 s, due 8 s
    started = ticket.clocks["handling:A1"]
    paused = service.act(ticket.id, "pause", {"reason": "appraisal_testing", "text": "送检"}, HANDLER)
    remaining = paused.clocks["handling:A1"].remaining_seconds
    assert remaining is not None and 4 <= remaining <= 8

    flow.settle((started.yellow_at - datetime.now(TZ)).total_seconds() + 1.5)  # past the original yellow point
    assert _warnings(ticket.id) == []
    assert service.repository().get(ticket.id).clocks["handling:A1"].status == "paused"

    resumed = service.act(ticket.id, "resume", {}, HANDLER)
    state = resumed.clocks["handling:A1"]
    assert state.status == "running"
    assert abs((state.due - resumed.updated_at).total_seconds() - remaining) < 0.01  # the remaining time, afresh

    flow.until(lambda: _warnings(ticket.id), timeout=10, what="yellow after resuming")
    assert _warnings(ticket.id)[0] == ("handling:A1", "yellow", state.due.isoformat())
    assert events_of(ticket.id, "warning_recorded")[0].at >= state.yellow_at
    record = records.get(ticket.id)
    assert record is not None and record.generation == 1  # resuming re-armed the wait in the same execution
    assert executions.describe(record.execution_arn).running


def test_closure_then_archiving_ends_the_execution(flow):
    ticket = ticket_in_handling(sign=True)
    flow.until(lambda: (r := records.get(ticket.id)) and executions.describe(r.execution_arn).running,
               what="a running flow")
    service.act(ticket.id, "submit_closure", {"facts": "已协调物业完成电梯维修。"}, HANDLER)
    service.act(ticket.id, "review_closure", {"decision": "approve", "reply": "电梯已修复。"}, DISPATCHER)
    closed = service.act(ticket.id, "record_callback", {"satisfaction": "satisfied", "solved": True}, AGENT)
    assert closed.status == "closed"

    record = flow.until(lambda: (r := records.get(ticket.id)) and r.ended_reason and r, what="the flow to end")
    assert record.ended_reason == "completed"
    # closed: the execution waits in the archive stage (a reopening would take it back to handling)
    flow.until(lambda: [t.stage for t in tokens.armed(ticket.id)] == ["archive"], what="the archive stage")
    service.act(ticket.id, "archive", {}, SYSTEM_ACTOR)
    flow.until(lambda: not _ticket_executions(flow, ticket.id, "RUNNING"), what="the execution to end")
    assert executions.describe(record.execution_arn).status == "SUCCEEDED"


def test_a_killed_execution_is_restored_by_the_sweeper(flow):
    ticket = ticket_in_handling(category=SLOW)  # sign: yellow 3 s, due 6 s
    flow.pump.drain()  # the acceptance and the dispatch reached the starter
    flow.until(lambda: (r := records.get(ticket.id)) and executions.describe(r.execution_arn).running,
               what="a running flow")
    killed = records.get(ticket.id)
    boto3.client("stepfunctions").stop_execution(executionArn=killed.execution_arn, error="Killed", cause="test")
    due = ticket.clocks["sign:A1"].due

    flow.settle((due - datetime.now(TZ)).total_seconds() + 1.5)
    assert "red" not in [level for _, level, _ in _warnings(ticket.id)]  # nobody is left to fire it
    assert records.get(ticket.id).generation == killed.generation

    report = sweeper.sweep(grace=timedelta(0))
    assert ticket.id in report.tickets and report.executions_restored >= 1
    assert [level for _, level, _ in _warnings(ticket.id)] == ["yellow", "red"]  # the missed warnings, in order
    assert [e.type for e in events_of(ticket.id, "urged", "supervised")] == ["urged", "supervised"]
    restored = records.get(ticket.id)
    assert restored.generation == killed.generation + 1
    assert executions.describe(restored.execution_arn).running

    again = sweeper.sweep(grace=timedelta(0))  # idempotent: nothing more to do now
    assert ticket.id not in again.tickets and records.get(ticket.id).generation == restored.generation


def test_starting_twice_creates_one_execution(flow):
    ticket = service.register(submission(), AGENT).tickets[0]
    accepted = service.act(ticket.id, "accept", {}, AGENT)
    flow.pump.drain()
    policy = service.current_policy()
    before = sorted((e["name"], e["status"]) for e in _ticket_executions(flow, ticket.id))
    assert [status for _, status in before].count("RUNNING") == 1

    flows.ensure_running(accepted, policy, reason="again")
    executions.start(accepted.id, executions.execution_name(accepted.id, 1), generation=1,
                     position=stages.position(accepted, policy, datetime.now(TZ)))
    change = starter.TableChange(event_id="replayed", event_name="INSERT", sequence_number="1",
                                 pk=f"T#{ticket.id}", sk="TICKET", new={"data": ticket.to_dict()}, old=None)
    assert starter.react([change]) == {ticket.id: "start"}  # a replayed registration decides "start" again

    assert sorted((e["name"], e["status"]) for e in _ticket_executions(flow, ticket.id)) == before
    assert (ticket.id, "RUNNING") in before or records.get(ticket.id).generation > 1  # (an auto-dispatch re-arms)
