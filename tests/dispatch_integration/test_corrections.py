"""Every dispatcher decision that differs from the model becomes a labelled example.

The tests share one embedded AWS (``module_api``): each looks at its own tickets' examples."""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from dispatch_helpers import act, register, submission

from chalicelib.dispatch import corrections
from chalicelib.dispatch.registry import bundled_version
from chalicelib.domain.calendar import TZ
from chalicelib.domain.ticket import Actor, Outcome, TimelineEvent
from chalicelib.services import recommend
from chalicelib.services import tickets as service


def _month() -> str:
    return datetime.now(TZ).strftime("%Y-%m")


def _examples(ticket_id: str) -> list[corrections.LabelledExample]:
    return [e for e in corrections.read_months([_month()]) if e.ticket_id == ticket_id]


def test_a_dispatchers_different_choice_is_stored_as_a_labelled_example(module_api):
    api = module_api
    body = submission("21", facts="健身房突然关门停业，预付卡余额3000元无法退还。来电人手机13812345678。")
    ticket = register(api, body)
    top = ticket["recommendation"]["departments"][0]
    act(api, ticket["id"], "accept", "agent")
    dispatched = act(api, ticket["id"], "dispatch", "dispatcher", mode="lead_assist", lead="HOUSING",
                     assists=["MARKET"])

    [example] = _examples(ticket["id"])
    assert example.label == "HOUSING" and example.predicted == top["department"] == "MARKET"
    assert example.predicted_probability_bp == top["probability_bp"]
    assert example.ticket_id == ticket["id"] and example.ticket_version == dispatched["version"]
    assert example.model_version == bundled_version() and example.district == "WUZHONG"
    assert example.decision == "dispatch" and example.decided_by == "dispatcher"
    assert "健身房突然关门停业" in example.text and "13812345678" not in example.text  # phone masked
    assert example.at.isoformat()[:10] == datetime.now(TZ).date().isoformat()

    listed = api.get(f"/admin/models/corrections?month={_month()}", user="admin")
    assert listed.status == 200
    assert [i["label"] for i in listed.json["items"] if i["ticket_id"] == ticket["id"]] == ["HOUSING"]
    assert api.get("/admin/models/corrections", user="dispatcher").status == 403


def test_agreeing_with_the_model_or_the_systems_own_dispatch_stores_nothing(module_api):
    api = module_api
    ticket = register(api, submission("22"))
    act(api, ticket["id"], "accept", "agent")
    act(api, ticket["id"], "dispatch", "dispatcher", mode="parallel", departments=["URBAN", "MARKET"])
    assert _examples(ticket["id"]) == []

    stored = service.repository().get(ticket["id"])
    def dispatched(role: str, department: str, share: str) -> Outcome:
        event = TimelineEvent(type="dispatched", at=datetime.now(TZ), actor=Actor(username=role, role=role),
                              from_status="to_dispatch", to_status="in_handling",
                              data={"assignments": [{"id": "A1", "department": department, "role": share}]})
        return Outcome(ticket=stored, events=[event], outbox=[])

    assert recommend.corrections([dispatched("system", "WATER", "single")]) == []  # not a person's decision
    assert recommend.corrections([dispatched("dispatcher", "platform-x", "lower_platform")]) == []  # not a department
    assert len(recommend.corrections([dispatched("dispatcher", "WATER", "single")])) == 1


def test_a_transfer_at_closure_review_is_a_correction_too(module_api):
    api = module_api
    ticket = register(api, submission("23"))
    act(api, ticket["id"], "accept", "agent")
    dispatched = act(api, ticket["id"], "dispatch", "dispatcher", mode="single", department="MARKET")
    assignment = dispatched["assignments"][0]["id"]
    act(api, ticket["id"], "sign", "handler", assignment_id=assignment)
    act(api, ticket["id"], "submit_closure", "handler", assignment_id=assignment, result="settled",
        facts="经查，该店铺已移交住建部门处理物业问题。")
    act(api, ticket["id"], "review_closure", "dispatcher", decision="transfer", department="HOUSING",
        text="物业服务问题，转住建局办理")
    [example] = _examples(ticket["id"])
    assert (example.label, example.decision, example.predicted) == ("HOUSING", "transfer", "MARKET")


def test_the_example_is_written_in_the_decisions_own_transaction(module_api):
    from tests.services.test_budgets import _warm, dynamodb_calls

    agent = Actor(username="agent", role="agent")
    dispatcher = Actor(username="dispatcher", role="dispatcher")
    ticket = service.register(submission("24"), agent).tickets[0]
    service.act(ticket.id, "accept", {}, agent)
    _warm()
    with dynamodb_calls() as calls:
        service.act(ticket.id, "dispatch", {"mode": "single", "department": "WATER"}, dispatcher)
    assert calls == Counter({"GetItem": 1, "TransactWriteItems": 1}), calls
    assert [e.label for e in _examples(ticket.id)] == ["WATER"]
