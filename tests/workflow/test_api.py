"""Routes of the flow: an admin's view of a ticket's flow, and monitoring for the caller's scope."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.domain.ticket import Actor
from chalicelib.services import tickets as service
from chalicelib.store import directory
from chalicelib.workflow import executions, records
from tests.workflow.conftest import AGENT, DISPATCHER, ticket_in_handling

ROOT = Path(__file__).resolve().parents[2]
WATER_HANDLER = Actor(username="handler-water", role="handler", department="WATER")


@pytest.fixture
def api(flow_env):
    from tests.conftest import ApiClient

    return ApiClient()


def test_an_admin_sees_the_flow_its_wait_and_its_history(flow, api):
    ticket = ticket_in_handling()
    flow.until(lambda: (r := records.get(ticket.id)) and executions.describe(r.execution_arn).running,
               what="a running flow")
    answer = api.get(f"/admin/workflows/{ticket.id}", user="admin")
    assert answer.status == 200, answer.body
    body = answer.json
    assert body["has_flow"] is True and body["status"] == "in_handling"
    assert body["execution"]["name"].startswith(ticket.id) and body["execution"]["status"] == "RUNNING"
    assert body["record"]["generation"] == body["execution"]["generation"] >= 1
    assert {c["key"]: c["label"] for c in body["clocks"]}["sign:A1"] == "签收时限"
    definition = json.loads((ROOT / "stepfunctions" / "ticket_flow.asl.json").read_text())
    states = set(definition["States"]) | set(definition["States"]["Handling"]["ItemProcessor"]["States"])
    assert body["current"] is None or body["current"]["state"] in states
    assert any(e["type"] == "ExecutionStarted" for e in body["history"]) or len(body["history"]) == 40
    if body["record"]["generation"] > 1:  # dispatching after acceptance re-armed the flow
        assert body["earlier_executions"][0]["status"] in ("ABORTED", "SUCCEEDED")

    assert api.get(f"/admin/workflows/{ticket.id}", user="manager").status == 403
    assert api.get("/admin/workflows/20260101-NOSUCHID", user="admin").status == 404


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
    assert body["scope"] == {"kind": "department", "owner": "WATER", "district": None}
    assert body["queues"]["to_sign"] >= 1 and set(body["queues"]) == {"to_sign", "in_progress", "urgings"}
    period = body["period"]
    assert period["tickets"] >= 2 and period["by_status"].get("replied", 0) >= 1
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
