"""Routes of the flow: an admin's view of a ticket's flow, and monitoring for the caller's scope."""
from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from chalicelib.domain.ticket import Actor
from chalicelib.services import tickets as service
from chalicelib.store import directory
from chalicelib.workflow import tokens
from tests.workflow.conftest import AGENT, DISPATCHER, submission, ticket_in_handling

ROOT = Path(__file__).resolve().parents[2]
WATER_HANDLER = Actor(username="handler-water", role="handler", department="WATER")


@pytest.fixture
def api(flow_env):
    from tests.conftest import ApiClient

    return ApiClient()


def test_an_admin_sees_the_graph_the_current_stage_and_the_history(flow, api):
    ticket = ticket_in_handling()
    flow.until(lambda: [t.stage for t in tokens.armed(ticket.id)] == ["sign"], what="the sign stage")
    answer = api.get(f"/admin/workflows/{ticket.id}", user="admin")
    assert answer.status == 200, answer.body
    body = answer.json
    assert body["has_flow"] is True and body["status"] == "in_handling" and body["stage"] == "handling"
    assert body["execution"]["name"] == ticket.id and body["execution"]["status"] == "RUNNING"
    started = boto3.client("stepfunctions").describe_execution(executionArn=body["execution"]["arn"])
    tags = json.loads(started["input"])["tags"]  # executions cannot carry resource tags: the input does
    # the category as stored: 物业服务 was registered by its name and is kept as its code
    assert tags == {"ticket_id": ticket.id, "kind": "help_request", "channel": "phone", "category": "C0101",
                    "district": tags["district"], "priority": "normal"}
    assert body["record"]["generation"] == body["execution"]["generation"] == 1
    assert {c["key"]: c["label"] for c in body["clocks"]}["sign:A1"] == "签收时限"
    # the graph is the deployed definition's: every state of the file, the Map's with their parent
    definition = json.loads((ROOT / "stepfunctions" / "ticket_flow.asl.json").read_text())
    nested = definition["States"]["Handling"]["ItemProcessor"]["States"]
    nodes = {n["id"]: n for n in body["graph"]["nodes"]}
    assert set(nodes) == set(definition["States"]) | set(nested)
    assert nodes["Sign"]["parent"] == "Handling" and nodes["Dispatch"]["parent"] is None
    assert {"from": "Sign", "to": "ShareCheckpoint", "kind": "timeout"} in body["graph"]["edges"]
    assert [(w["scope"], w["state"]) for w in body["waiting_in"]] == [("A1", "Sign")]
    entered = [e["state"] for e in body["history"] if e["type"].endswith("StateEntered")]
    assert {"Handling", "Sign"} <= set(entered)  # (registered, accepted and dispatched in one stream batch)
    assert body["current"]["state"] in nodes

    assert api.get(f"/admin/workflows/{ticket.id}", user="manager").status == 403
    assert api.get("/admin/workflows/20260101-NOSUCHID", user="admin").status == 404


def test_an_admin_restarts_a_flow_into_the_committed_stage(flow, api):
    # (in acceptance: moto cannot stop an execution waiting inside a Map iteration; AWS can)
    ticket = service.register(submission(), AGENT).tickets[0]
    flow.until(lambda: [t.stage for t in tokens.armed(ticket.id)] == ["acceptance"], what="the acceptance stage")
    assert api.post(f"/admin/workflows/{ticket.id}/restart", {}, user="manager").status == 403
    answer = api.post(f"/admin/workflows/{ticket.id}/restart", {}, user="admin")
    assert answer.status == 202, answer.body
    assert answer.json["execution"]["name"] == f"{ticket.id}-2"
    assert answer.json["earlier_executions"][0]["name"] == ticket.id
    # (moto leaves an execution stopped while it waits on a task token RUNNING; AWS aborts it)
    flow.until(lambda: [(t.stage, t.execution) for t in tokens.armed(ticket.id)]
               == [("acceptance", f"{ticket.id}-2")], what="the new execution in the acceptance stage")
    assert api.post("/admin/workflows/20260101-NOSUCHID/restart", {}, user="admin").status == 404


def test_monitoring_counts_the_callers_scope(flow, api):
    directory.put_entry(directory.USERS, "lead-water", {"username": "lead-water", "role": "dept_lead",
                                                        "department": "WATER", "name": "水务局 负责人", "active": True})
    waiting = ticket_in_handling(department="WATER")
    done = ticket_in_handling(department="WATER")
    service.act(done.id, "sign", {}, WATER_HANDLER)
    service.act(done.id, "submit_closure", {"facts": "已维修供水管道。"}, WATER_HANDLER)
    service.act(done.id, "review_closure", {"decision": "approve"}, DISPATCHER)
    service.act(done.id, "record_callback", {"satisfaction": "dissatisfied", "solved": False}, AGENT)

    answer = api.get("/monitoring/overview", user="lead-water")
    assert answer.status == 200, answer.body
    body = answer.json
    assert body["scope"] == {"kind": "department", "owner": "WATER", "district": None, "offices": []}
    assert body["queues"]["to_sign"] >= 1 and set(body["queues"]) == {"to_sign", "in_progress", "urgings"}
    period = body["period"]
    assert period["tickets"] >= 2 and period["by_status"].get("closed", 0) >= 1  # the callback closed it
    assert period["signed"] >= 1 and period["replied"] >= 1
    assert period["satisfaction"]["dissatisfied"] >= 1
    assert set(body["warnings"]) == {"yellow", "red", "truncated"}

    centre = api.get("/monitoring/overview", user="manager").json
    assert centre["scope"]["kind"] == "centre" and "pending_callback" in centre["queues"]
    assert centre["period"]["tickets"] >= period["tickets"]
    assert api.get("/monitoring/overview", user="dispatcher").status == 200
    assert api.get("/monitoring/overview", user="handler").status == 403
    assert api.get("/monitoring/overview?from=2026-01-01&to=2026-12-31", user="manager").status == 400
    assert api.get("/monitoring/overview?from=2026-02-30", user="manager").status == 400
    assert waiting.id != done.id
