"""A reporter's identity (Art. 37) and a complainant's personal data, wherever a ticket is shown or sent.

A report (举报) is dispatched to a department: its handler and department lead must never learn who
filed it, on any screen or message: the ticket detail, its timeline, the work queues and the
comprehensive query, the in-app notifications, and the outbox messages that feed partner
platforms and webhooks. For a complaint the same department sees the complainant masked (it needs
to call them back, and may reveal on purpose, recorded). Nobody sees raw personal data by default.
"""
from __future__ import annotations

import json
from typing import Any

import pytest

import app as application
from chalicelib.aws import client
from chalicelib.domain.privacy import mask_name
from chalicelib.local.pump import EventPump
from chalicelib.store.tickets import ticket_pk

REPORTER = {"name": "欧阳明月", "phone": "13766668888", "address": "苏州市工业园区星湖街328号",
            "id_number": "320586199204153326"}
REPORT = {"kind": "report", "channel": "phone", "complainant": REPORTER,
          "respondent": {"name": "园区某某食品店", "address": "苏州市工业园区金鸡湖大道1号"},
          "request": "要求查处", "facts": "该店销售过期食品，举报人欧阳明月，电话13766668888，邮箱 ouyang.my@example.com。",
          "category": "食品安全"}
COMPLAINANT = {"name": "上官云", "phone": "13755557777", "address": "苏州市姑苏区干将路55号",
               "id_number": "320502198507083313"}
COMPLAINT = {**REPORT, "kind": "complaint", "complainant": COMPLAINANT, "request": "要求退款",
             "facts": "买到过期食品，要求退款。"}
RAW = {"reporter": list(REPORTER.values()), "complainant": list(COMPLAINANT.values())}
DEPARTMENT_USERS = ("handler", "dept_lead")


def _strings(value: Any) -> list[str]:
    """Every string in a parsed JSON answer, keys included (so that the checks read the text as
    decoded, not the ``\\uXXXX`` escapes of the wire, where Chinese never matches)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [str(k), *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _raw_in(answer: Any, who: str) -> list[str]:
    """The raw personal values of ``who`` found in any string of a parsed JSON answer."""
    texts = _strings(answer)
    return [value for value in RAW[who] if any(value in text for text in texts)]


def _surname_in(answer: Any, name: str) -> list[str]:
    """Strings showing the masked name (``欧***``) or the surname followed by masking stars."""
    return [text for text in _strings(answer) if mask_name(name) in text or (name[0] + "*") in text]


@pytest.fixture(scope="module")
def world(module_api):
    api = module_api
    ids = {}
    for name, body in (("report", REPORT), ("complaint", COMPLAINT)):
        created = api.post("/tickets", json=body, user="agent")
        assert created.status == 201, created.body
        tid = created.json["tickets"][0]["id"]
        assert api.post(f"/tickets/{tid}/accept", json={}, user="agent").status == 200
        assert api.post(f"/tickets/{tid}/dispatch", json={"mode": "single", "department": "MARKET"},
                        user="dispatcher").status == 200
        assert api.post(f"/tickets/{tid}/urge", json={"department": "MARKET", "text": "请尽快签收"},
                        user="manager").status == 200
        ids[name] = tid
    EventPump(application.app, api.env).drain(max_rounds=20)
    return {"api": api, **ids}


def test_the_handling_department_never_sees_who_filed_a_report(world):
    api, tid = world["api"], world["report"]
    for user in DEPARTMENT_USERS:
        shown = {
            "detail": api.get(f"/tickets/{tid}", user=user),
            "timeline": api.get(f"/tickets/{tid}/timeline", user=user),
            "queue": api.get("/queues/to_sign", user=user),
            "search": api.get("/tickets", user=user),
            "notifications": api.get("/notifications", user=user),
        }
        for where, answer in shown.items():
            assert answer.status == 200, (user, where, answer.body)
            parsed = answer.json
            assert not _raw_in(parsed, "reporter"), (user, where, _raw_in(parsed, "reporter"))
            assert not _surname_in(parsed, REPORTER["name"]), (user, where, "the reporter's surname shows")
        detail = shown["detail"].json
        assert detail["complainant"] is None and detail.get("reporter_withheld") is True
        for where in ("queue", "search"):
            rows = [i for i in shown[where].json["items"] if i["id"] == tid]
            assert rows, f"{user}: the report is in the department's {where}"
            assert rows[0]["complainant"] is None and rows[0]["reporter_withheld"] is True, (user, where, rows[0])
        refused = api.post(f"/tickets/{tid}/reveal", json={"reason": "核查"}, user=user)
        assert refused.status == 403


def test_a_complaint_shows_the_department_its_complainant_masked_only(world):
    api, tid = world["api"], world["complaint"]
    for user in DEPARTMENT_USERS + ("agent", "dispatcher", "manager", "admin"):
        for path in (f"/tickets/{tid}", f"/tickets/{tid}/timeline", "/tickets"):
            answer = api.get(path, user=user)
            assert answer.status == 200, (user, path, answer.body)
            assert not _raw_in(answer.json, "complainant"), (user, path, _raw_in(answer.json, "complainant"))
    detail = api.get(f"/tickets/{tid}", user="handler").json
    assert detail["complainant"]["phone"] == "137****7777" and detail["complainant"]["id_number"].count("*") >= 8
    assert detail["complainant"]["name"] == "上**"
    row = next(i for i in api.get("/tickets", user="handler").json["items"] if i["id"] == tid)
    assert row["complainant"] == "上**", "a complaint's list row keeps the masked complainant"


def test_the_checks_read_decoded_text_not_escapes():
    """The wire escapes non-ASCII (``\\u6b27``): the helpers must see the reporter in a parsed answer."""
    wire = json.dumps({"items": [{"complainant": mask_name(REPORTER["name"]), "title": REPORTER["name"]}]})
    assert "\\u" in wire and mask_name(REPORTER["name"]) not in wire  # a substring check would be vacuous
    parsed = json.loads(wire)
    assert _surname_in(parsed, REPORTER["name"]) and _raw_in(parsed, "reporter") == [REPORTER["name"]]


def test_outbox_messages_carry_no_personal_data(world):
    """The outbox feeds partner platforms and webhooks: no phone, ID number, name or address in it."""
    for name, who in (("report", "reporter"), ("complaint", "complainant")):
        items = client("dynamodb").query(
            TableName="tickets", KeyConditionExpression="PK = :pk AND begins_with(SK, :o)",
            ExpressionAttributeValues={":pk": {"S": ticket_pk(world[name])}, ":o": {"S": "O#"}})["Items"]
        assert items, "every transition wrote an outbox message"
        assert not _raw_in(items, who), (name, _raw_in(items, who))


def test_what_the_relay_put_on_the_outbox_queue_carries_no_personal_data(world):
    sqs = client("sqs")
    bodies: list[str] = []
    for url in (world["api"].env["OUTBOX_QUEUE_URL"], world["api"].env["OUTBOX_DLQ_URL"]):
        for _ in range(20):
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
            if not batch:
                break
            bodies += [m["Body"] for m in batch]
    parsed = [json.loads(body) for body in bodies]
    assert not _raw_in(parsed, "reporter") and not _raw_in(parsed, "complainant")


def _summaries_of(ticket_id: str) -> list[dict[str, Any]]:
    items = client("dynamodb").query(
        TableName="tickets", KeyConditionExpression="PK = :pk AND begins_with(SK, :q)",
        ExpressionAttributeValues={":pk": {"S": ticket_pk(ticket_id)}, ":q": {"S": "Q#"}})["Items"]
    return items


def test_stored_queue_summaries_hold_no_raw_personal_data(world):
    """Queue items are copied into every list a person opens: masked at rest, not only on screen."""
    for name, who in (("report", "reporter"), ("complaint", "complainant")):
        assert not _raw_in(_summaries_of(world[name]), who), (name, _raw_in(_summaries_of(world[name]), who))
