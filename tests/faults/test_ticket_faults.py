"""DynamoDB throttling and transient errors on every ticket use case: retried, or a clean 503.

Each use case is driven over HTTP through the gateway, with faults injected into the DynamoDB
calls it makes (tests/faults/conftest.py). For every step of the lifecycle:

* with the fault on for good, the API answers 503 with ``Retry-After`` and the ticket's partition
  (ticket item, timeline, outbox, queue items) is exactly as it was before: nothing half-written;
* with the fault on for fewer attempts than botocore's standard retry mode makes, the step succeeds
  and wrote exactly one version: the ticket item, one timeline event, its outbox message(s) and the
  queue items that match the new state - and nothing twice;
* with the answer lost after the write happened, the retry never writes the step a second time.

The fault kind rotates over the steps so that every kind meets every part of the lifecycle across
the scenarios, while each test stays a few seconds long.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any, Callable

import pytest

from chalicelib.aws import client
from chalicelib.domain.queues import queue_entries
from chalicelib.services import tickets as service
from chalicelib.store.tickets import _queue_sk, ticket_pk

THROTTLE = "ProvisionedThroughputExceededException"

COMPLAINT = {
    "kind": "complaint",
    "channel": "phone",
    "complainant": {"name": "赵敏", "phone": "13700001234", "address": "苏州市姑苏区十全街8号"},
    "respondent": {"name": "苏州某某数码店", "address": "苏州市姑苏区观前街20号"},
    "request": "要求退款",
    "facts": "购买的耳机无法充电，商家拒绝退换。",
    "category": "商品质量",
}


# --------------------------------------------------------------------------- reading back
def partition(ticket_id: str) -> dict[str, dict[str, Any]]:
    """Every item of the ticket's partition by sort key (one consistent, paginated Query).

    Only the scalar attributes that change with every write are read (the version, a queue item's
    due key, an outbox message's topic): moto serialises the big ``data`` maps slowly, and every
    write of a step goes through the same transaction as the version.
    """
    ddb = client("dynamodb")
    items: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"TableName": "tickets", "KeyConditionExpression": "PK = :pk",
                              "ExpressionAttributeValues": {":pk": {"S": ticket_pk(ticket_id)}},
                              "ProjectionExpression": "SK, version, GSI1SK, topic, created_at",
                              "ConsistentRead": True}
    for _ in range(100):
        page = ddb.query(**kwargs)
        items.update({i["SK"]["S"]: i for i in page["Items"]})
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return items


def kinds(items: dict[str, dict[str, Any]]) -> Counter:
    return Counter(sk.split("#", 1)[0] for sk in items)


def assert_consistent(ticket_id: str, where: str) -> dict[str, dict[str, Any]]:
    """The stored ticket, its timeline, outbox and queue items agree with each other."""
    items = partition(ticket_id)
    ticket = service.repository().get(ticket_id)
    stored_version = int(items["TICKET"]["version"]["N"])
    assert stored_version == ticket.version, where
    event_versions = sorted({int(sk.split("#")[1]) for sk in items if sk.startswith("E#") and "#R" not in sk})
    outbox_versions = sorted({int(sk.split("#")[1]) for sk in items if sk.startswith("O#")})
    assert event_versions == list(range(1, ticket.version + 1)), (where, event_versions, ticket.version)
    assert outbox_versions == event_versions, (where, "every version has its outbox message", outbox_versions)
    expected_queues = {_queue_sk(e) for e in queue_entries(ticket)}
    assert {sk for sk in items if sk.startswith("Q#")} == expected_queues, where
    return items


# --------------------------------------------------------------------------- the scenarios
def _assignment(view: dict[str, Any], department: str = "MARKET") -> str:
    return next(a["id"] for a in view["assignments"] if a["department"] == department and a["status"] != "withdrawn")


def _open_urging(view: dict[str, Any]) -> str:
    return next(u["id"] for u in reversed(view["urgings"]) if not u.get("answered_at"))


LATER = (date.today() + timedelta(days=90)).isoformat()
Params = Callable[[dict[str, Any]], dict[str, Any]]
Step = tuple[str, str, Params]

HANDLING: list[Step] = [
    ("accept", "agent", lambda v: {"category": "商品质量", "district": "GUSU"}),
    ("urge", "manager", lambda v: {"text": "请尽快分拨"}),
    ("answer_urging", "dispatcher", lambda v: {"urging_id": _open_urging(v), "text": "已在分拨"}),
    ("dispatch", "dispatcher", lambda v: {"mode": "single", "department": "MARKET"}),
    ("urge", "manager", lambda v: {"department": "MARKET", "text": "请尽快签收"}),
    ("answer_urging", "handler", lambda v: {"urging_id": _open_urging(v), "text": "今日签收"}),
    ("sign", "handler", lambda v: {"assignment_id": _assignment(v)}),
    ("add_note", "handler", lambda v: {"assignment_id": _assignment(v), "text": "已电话联系双方"}),
    ("pause", "handler", lambda v: {"assignment_id": _assignment(v), "reason": "appraisal_testing", "text": "送检"}),
    ("resume", "handler", lambda v: {"assignment_id": _assignment(v), "text": "检测报告已出"}),
    ("request_extension", "handler", lambda v: {"assignment_id": _assignment(v), "reason": "需补充检测",
                                                "new_due": LATER}),
    ("decide_extension", "dispatcher", lambda v: {"assignment_id": _assignment(v), "decision": "approve"}),
    ("supervise", "manager", lambda v: {"reason": "群众反映强烈", "department": "MARKET"}),
    ("submit_closure", "dept_lead", lambda v: {"assignment_id": _assignment(v), "result": "settled",
                                               "facts": "双方达成一致，商家退款。"}),
    ("review_closure", "dispatcher", lambda v: {"decision": "approve", "reply": "经调解，商家已退款。"}),
    ("record_callback", "agent", lambda v: {"satisfaction": "dissatisfied", "solved": False}),
    ("reopen", "manager", lambda v: {"reason": "市民反映未实际退款"}),
    ("submit_closure", "handler", lambda v: {"assignment_id": _assignment(v), "result": "settled",
                                             "facts": "已核实退款到账。"}),
    ("review_closure", "dispatcher", lambda v: {"decision": "approve", "reply": "退款已到账。"}),
    ("record_callback", "agent", lambda v: {"satisfaction": "satisfied", "solved": True}),  # closes the ticket
    ("archive", "manager", lambda v: {}),
]

RETURNS: list[Step] = [
    ("join", "agent", lambda v: {"complainant": {"name": "钱多多", "phone": "13700005678",
                                                 "address": "苏州市姑苏区十全街9号"}}),
    ("merge_repeat", "dispatcher", lambda v: {"facts": "补充：商家已关门停业。"}),
    ("accept", "dispatcher", lambda v: {}),
    ("dispatch", "dispatcher", lambda v: {"mode": "single", "department": "URBAN"}),
    ("request_return", "handler-urban", lambda v: {"assignment_id": _assignment(v, "URBAN"),
                                                   "reason": "非本单位职责", "basis": "属市场监管职责"}),
    ("decide_return", "dispatcher", lambda v: {"assignment_id": _assignment(v, "URBAN"), "decision": "approve"}),
    ("dispatch", "dispatcher", lambda v: {"mode": "single", "department": "MARKET"}),
    ("sign", "handler", lambda v: {"assignment_id": _assignment(v)}),
    ("submit_closure", "handler", lambda v: {"assignment_id": _assignment(v), "result": "terminated",
                                             "termination_reason": "party_absent_or_refused",
                                             "facts": "被投诉方拒绝调解。"}),
    ("record_termination_notice", "handler", lambda v: {"assignment_id": _assignment(v), "text": "已书面告知"}),
]

DECLINED: list[Step] = [("decline", "agent", lambda v: {"reason_code": "not_our_duty", "text": "非本平台受理范围"})]
INQUIRY: list[Step] = [("answer_directly", "agent", lambda v: {"answer": "营业执照可在政务服务网办理。"})]
UPPER: list[Step] = [
    ("decline", "agent", lambda v: {"reason_code": "not_our_duty", "text": "不属本级管辖"}),
    ("review_non_acceptance", "dispatcher", lambda v: {"decision": "return_upward", "text": "退回上级"}),
]

SCENARIOS: dict[str, tuple[dict[str, Any], list[Step]]] = {
    "handling": (COMPLAINT, HANDLING),
    "returns": ({**COMPLAINT, "complainant": {**COMPLAINT["complainant"], "phone": "13700002222"}}, RETURNS),
    "declined": ({**COMPLAINT, "complainant": {**COMPLAINT["complainant"], "phone": "13700003333"}}, DECLINED),
    "inquiry": ({**COMPLAINT, "kind": "inquiry", "request": "咨询如何办理营业执照",
                 "complainant": {**COMPLAINT["complainant"], "phone": "13700004444"}}, INQUIRY),
    "upper": ({**COMPLAINT, "channel": "upper_level", "external_ref": "JS-12315-0001",
               "complainant": {**COMPLAINT["complainant"], "phone": "13700006666"}}, UPPER),
}

# (operation, error code, HTTP status, attempts that fail before success): botocore makes 4 attempts.
FAULT_KINDS = [
    ("TransactWriteItems", THROTTLE, 400, 3),
    ("TransactWriteItems", "InternalServerError", 500, 2),
    ("GetItem", THROTTLE, 400, 3),
    ("TransactWriteItems", "ThrottlingException", 400, 1),
]


def _post(api, ticket_id: str, action: str, user: str, params: dict[str, Any]):
    return api.post(f"/tickets/{ticket_id}/{action.replace('_', '-')}", json=params, user=user)


USERS = ("agent", "dispatcher", "handler", "dept_lead", "manager", "admin", "handler-urban")


@pytest.fixture
def api(api):
    """The API client with every user's token fetched before any fault is injected."""
    for user in USERS:
        api.token(user)
    return api


def _register_under_faults(api, faults, body: dict[str, Any]) -> dict[str, Any]:
    phone = body["complainant"]["phone"]
    faults.fail("dynamodb", "TransactWriteItems")
    refused = api.post("/tickets", json=body, user="agent")
    assert refused.status == 503, refused.body
    assert refused.headers.get("Retry-After") == "1" and refused.json["error"]["code"] == "service_unavailable"
    faults.clear()
    assert service.repository().recent_for_complainant(phone) == [], "a refused registration left a ticket"
    faults.fail("dynamodb", "TransactWriteItems", times=3)
    answer = api.post("/tickets", json=body, user="agent")
    faults.clear()
    assert answer.status == 201, answer.body
    assert len(service.repository().recent_for_complainant(phone)) == 1
    view = answer.json["tickets"][0]
    assert_consistent(view["id"], "register")
    return view


def _run(api, faults, name: str) -> None:
    body, steps = SCENARIOS[name]
    view = _register_under_faults(api, faults, body)
    ticket_id = view["id"]
    for number, (action, user, params_of) in enumerate(steps):
        where = f"{name} step {number} {action} by {user}"
        operation, code, status, transient = FAULT_KINDS[number % len(FAULT_KINDS)]
        params = params_of(view)
        before = partition(ticket_id)

        faults.fail("dynamodb", operation, code=code, status=status)
        refused = _post(api, ticket_id, action, user, params)
        faults.clear()
        assert refused.status == 503, (where, refused.status, refused.body)
        assert int(refused.headers["Retry-After"]) >= 1, where
        assert partition(ticket_id) == before, f"{where}: a refused step changed the partition"

        attempts_before = faults.count("dynamodb", operation)
        faults.fail("dynamodb", operation, code=code, status=status, times=transient)
        answer = _post(api, ticket_id, action, user, params)
        faults.clear()
        assert answer.status == 200, (where, answer.status, answer.body)
        assert faults.count("dynamodb", operation) - attempts_before >= transient + 1, where
        after = assert_consistent(ticket_id, where)
        assert answer.json["version"] == view["version"] + 1, where
        added = kinds(after) - kinds(before)
        assert added["E"] == 1 and added["O"] >= 1, (where, added)
        view = answer.json
    assert faults.delays and all(d >= 0 for d in faults.delays), "botocore backed off between attempts"


@pytest.mark.parametrize("names", [("handling",), ("returns", "declined", "inquiry", "upper")],
                         ids=["handling", "returns-declined-inquiry-upper"])
def test_every_transition_is_retried_or_refused_whole(api, faults, names):
    for name in names:
        _run(api, faults, name)


def test_a_lost_answer_never_writes_a_step_twice(api, faults):
    """The transaction happened but its answer was lost: botocore retries, the retry must not double it."""
    body = {**COMPLAINT, "complainant": {**COMPLAINT["complainant"], "phone": "13700007777"}}
    faults.lose_answer("dynamodb", "TransactWriteItems")
    first = api.post("/tickets", json=body, user="agent")
    faults.clear()
    # the ticket exists once; the caller heard 201 or a retryable error, never a 5xx without Retry-After
    tickets = service.repository().recent_for_complainant(body["complainant"]["phone"])
    assert len(tickets) == 1, [t.id for t in tickets]
    assert first.status == 201 or (first.status == 503 and "Retry-After" in first.headers), first.body
    ticket_id = tickets[0].id
    again = api.post("/tickets", json=body, user="agent")  # the agent retries: Art. 35 finds the same one
    assert again.status == 409 and again.json["error"]["details"]["ticket_id"] == ticket_id

    faults.lose_answer("dynamodb", "TransactWriteItems")
    accepted = _post(api, ticket_id, "accept", "agent", {})
    faults.clear()
    assert accepted.status in (200, 409), accepted.body
    items = assert_consistent(ticket_id, "accept after a lost answer")
    assert int(items["TICKET"]["version"]["N"]) == 2
    assert sum(1 for sk in items if sk.startswith("E#0000000002")) == 1


def test_reveal_that_cannot_be_recorded_is_not_shown(api, faults):
    """Personal data is shown only once the reveal is on the timeline (the PutItem is throttled)."""
    ticket_id = api.post("/tickets", json={**COMPLAINT, "complainant": {**COMPLAINT["complainant"],
                                                                         "phone": "13700008888"}},
                         user="agent").json["tickets"][0]["id"]
    faults.fail("dynamodb", "PutItem")
    answer = api.post(f"/tickets/{ticket_id}/reveal", json={"reason": "回访核实"}, user="agent")
    faults.clear()
    assert answer.status == 503 and "13700008888" not in answer.body.decode(), answer.body
    events = api.get(f"/tickets/{ticket_id}/timeline", user="manager").json["events"]
    assert "personal_data_revealed" not in [e["type"] for e in events]
    faults.fail("dynamodb", "PutItem", times=2)
    shown = api.post(f"/tickets/{ticket_id}/reveal", json={"reason": "回访核实"}, user="agent")
    faults.clear()
    assert shown.status == 200 and shown.json["complainant"]["phone"] == "13700008888"
    events = api.get(f"/tickets/{ticket_id}/timeline", user="manager").json["events"]
    assert [e["type"] for e in events].count("personal_data_revealed") == 1


def test_throttled_queue_and_search_reads_answer_503(api, faults):
    api.post("/tickets", json=COMPLAINT, user="agent")
    faults.fail("dynamodb", "Query")
    for path in ("/queues/pending_acceptance", "/tickets"):
        answer = api.get(path, user="agent")
        assert answer.status == 503 and answer.headers.get("Retry-After"), (path, answer.body)
    faults.clear()
    faults.fail("dynamodb", "Query", times=2)
    assert api.get("/queues/pending_acceptance", user="agent").status == 200
