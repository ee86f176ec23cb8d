"""登记人 shows the registrar's display name, not the login name (issue 14)."""
from __future__ import annotations

import json

from chalicelib.store import directory

PHONE_COMPLAINT = {
    "kind": "complaint", "channel": "phone", "category": "商品质量",
    "complainant": {"name": "张三丰", "phone": "13812345678", "address": "苏州市姑苏区人民路100号"},
    "respondent": {"name": "苏州某某电器商店", "address": "苏州市姑苏区观前街1号"},
    "request": "要求退货退款", "facts": "11月1日在该店购买的电饭煲使用三天后无法加热，商家拒绝退货。",
}


def test_the_ticket_names_its_registrar(api):
    created = api.post("/tickets", json=PHONE_COMPLAINT, user="agent")
    assert created.status == 201, created.body
    ticket = json.loads(created.body)["tickets"][0]
    shown = api.get(f"/tickets/{ticket['id']}", user="dispatcher").json
    assert shown["registered_by"] == "agent"
    assert shown["registered_by_name"] == directory.find_entry(directory.USERS, "agent")["name"] == "座席员 王芳"


def test_a_renamed_registrar_is_shown_by_the_new_name(api):
    ticket = api.post("/tickets", json=PHONE_COMPLAINT, user="agent").json["tickets"][0]
    agent = directory.find_entry(directory.USERS, "agent")
    directory.put_entry(directory.USERS, "agent", {**{k: v for k, v in agent.items() if k != "_version"},
                                                   "name": "座席员 王芳芳"}, expected_version=agent["_version"])
    assert api.get(f"/tickets/{ticket['id']}", user="agent").json["registered_by_name"] == "座席员 王芳芳"


def test_a_web_submission_is_registered_by_the_public(api):
    body = {k: v for k, v in PHONE_COMPLAINT.items() if k != "channel"}
    answer = api.post("/public/tickets", json=body)
    assert answer.status == 201, answer.body
    inbox = api.get("/queues/internet_inbox", user="agent").json["items"]
    assert inbox, "the web submission waits in the internet inbox"
    shown = api.get(f"/tickets/{inbox[0]['id']}", user="agent").json
    assert shown["registered_by_name"] == "公众（网上提交）"
