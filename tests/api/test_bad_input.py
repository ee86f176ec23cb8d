"""Bad input is a 400 that names the field and changes nothing: lone surrogates, unknown districts,
invalid repeats; citizens read their errors in Chinese; no answer quotes Python's internals."""
from __future__ import annotations

import json
import re
from typing import Any

from chalicelib.domain.intake import INVALID_CHARACTER

COMPLAINT = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "孙小美", "phone": "13912340000", "address": "苏州市吴中区东吴北路1号"},
    "respondent": {"name": "吴中某某家电行", "address": "苏州市吴中区宝带西路2号"},
    "request": "要求维修", "facts": "空调买来三天就不制冷。", "category": "商品质量",
}
LONE = "\ud800"
PYTHON_WORDS = re.compile(r"Expecting|char \d|codec|Traceback|Error\b|Exception|\bdata\.|line \d+ column", re.I)


def _raw(body: dict[str, Any]) -> bytes:
    """JSON with non-ASCII escaped, the only way a lone surrogate travels (``"\\ud800"``)."""
    return json.dumps(body).encode("ascii")


def _nothing_registered(api) -> None:
    assert api.get("/queues/pending_acceptance", user="agent").json["items"] == []
    assert api.get("/queues/internet_inbox", user="agent").json["items"] == []


def test_a_lone_surrogate_is_a_400_naming_the_field_on_every_route_that_takes_text(api):
    staff = {**COMPLAINT, "complainant": {**COMPLAINT["complainant"], "name": "孙" + LONE}}
    answer = api.request("POST", "/tickets", body=_raw(staff), user="agent")
    assert answer.status == 400, answer.body
    assert answer.json["error"]["details"] == {"complainant.name": INVALID_CHARACTER}
    assert "Retry-After" not in answer.headers

    public = {k: v for k, v in COMPLAINT.items() if k != "channel"} | {"facts": "坏了" + LONE + "坏了"}
    answer = api.request("POST", "/public/tickets", body=_raw(public))
    assert answer.status == 400, answer.body
    assert answer.json["error"]["details"] == {"facts": "含有无法识别的字符，请删除后重新输入"}
    _nothing_registered(api)

    tid = api.post("/tickets", json=COMPLAINT, user="agent").json["tickets"][0]["id"]
    answer = api.request("POST", f"/tickets/{tid}/accept", body=_raw({"text": LONE}), user="agent")
    assert answer.status == 400 and answer.json["error"]["details"] == {"text": INVALID_CHARACTER}
    assert api.get(f"/tickets/{tid}", user="agent").json["status"] == "pending_acceptance"


def test_validation_runs_before_repeat_detection(api):
    assert api.post("/tickets", json=COMPLAINT, user="agent").status == 201
    again = {**COMPLAINT, "priority": "whenever"}  # the same matter (a duplicate), but invalid
    answer = api.post("/tickets", json=again, user="agent")
    assert answer.status == 400 and answer.json["error"]["details"] == {"priority": "must be one of normal, urgent"}
    new_facts = {**COMPLAINT, "facts": "又坏了，第二次报修。", "complainant": {**COMPLAINT["complainant"], "id_number": "x"}}
    answer = api.post("/tickets", json=new_facts, user="agent")
    assert answer.status == 400, "an invalid repeat with new facts is not merged into the open ticket"
    [ticket] = api.get("/queues/pending_acceptance", user="agent").json["items"]
    assert api.get(f"/tickets/{ticket['id']}", user="agent").json["merged_facts"] == []


def test_unknown_district_codes_are_refused(api):
    answer = api.post("/tickets", json={**COMPLAINT, "district": "ATLANTIS"}, user="agent")
    assert answer.status == 400 and answer.json["error"]["details"] == {"district": "no district ATLANTIS"}
    _nothing_registered(api)
    tid = api.post("/tickets", json={**COMPLAINT, "district": "WUZHONG"}, user="agent").json["tickets"][0]["id"]
    answer = api.post(f"/tickets/{tid}/accept", json={"district": "ATLANTIS"}, user="agent")
    assert answer.status == 400 and answer.json["error"]["details"] == {"district": "no district ATLANTIS"}
    assert api.post(f"/tickets/{tid}/accept", json={"district": "GUSU"}, user="agent").status == 200


def test_citizens_read_errors_in_chinese_with_the_same_codes_and_fields(api):
    incomplete = {"kind": "complaint", "complainant": {"name": "孙小美", "phone": "12345"}, "request": "x" * 2001}
    error = api.post("/public/tickets", json=incomplete).json["error"]
    assert error["code"] == "validation_failed" and error["message"] == "提交的内容有误，请按提示修改后重试。"
    assert error["details"]["complainant.phone"] == "请填写11位手机号或带区号的固定电话"
    assert error["details"]["complainant.address"] == "必填"
    assert error["details"]["request"] == "不能超过2000个字"
    assert all(re.search(r"[\u4e00-\u9fff]", text) for text in error["details"].values()), error
    unknown = api.get("/public/tickets/AAAA-BBBB-CCCC?phone_last4=1234").json["error"]
    assert unknown["code"] == "not_found" and unknown["message"] == "未找到对应的工单，请核对查询码和手机号后四位。"
    bad_query = api.get("/public/tickets/AAAA-BBBB-CCCC?phone_last4=12").json["error"]
    assert bad_query["code"] == "validation_failed" and bad_query["details"] == {"phone_last4": "格式不正确"}
    staff = api.post("/tickets", json={**COMPLAINT, "priority": "x"}, user="agent").json["error"]
    assert staff["message"] == "the submission is incomplete or invalid", "staff routes keep the English wording"


def test_no_answer_quotes_python_internals(api):
    for body, where in ((b'{"kind": ', "body"), (b"\xff\xfe", "body"), (b"[" * 100_000, "body"),
                        (b'{"kind": 1' + b"0" * 5000 + b"}", "body")):
        for path, user in (("/tickets", "agent"), ("/public/tickets", None)):
            answer = api.request("POST", path, body=body, user=user)
            assert answer.status == 400, (path, body[:20], answer.body[:200])
            details = answer.json["error"]["details"]
            assert set(details) == {where} and not PYTHON_WORDS.search(json.dumps(details)), (path, details)


def test_a_directory_lookup_by_a_bad_body_field_is_a_400_and_changes_nothing(api):
    """The directory's admin routes look entries up by body fields: an empty department (a key
    DynamoDB refuses) was a 503; a lone surrogate is refused before any lookup."""
    body = {"name": "某某所", "department": "D" + LONE, "expected_version": 0}
    answer = api.request("PUT", "/admin/offices/TEST-OFFICE", body=_raw(body), user="admin")
    assert answer.status == 400, answer.body
    assert answer.json["error"]["details"] == {"department": INVALID_CHARACTER}
    offices = api.get("/offices", user="admin").json
    assert "TEST-OFFICE" not in json.dumps(offices)
    empty = api.put("/admin/offices/TEST-OFFICE", json={**body, "department": ""}, user="admin")
    assert empty.status == 400 and "department" in empty.json["error"]["details"], empty.body
    assert "TEST-OFFICE" not in json.dumps(api.get("/offices", user="admin").json)
