"""The 12345 fusion, end to end and signed: a case assigned in the 12345 format, progress and results
back in its vocabulary, status queries answered, the feed reconciled ticket by ticket and resent."""
from __future__ import annotations

import json

from partner_helpers import UPPER, create_partner, doc_table, new_receiver, poster

from chalicelib.integration import hotline12345, reconciliation, signing
from chalicelib.integration.simulator import PartnerClient, new_webhook_id
from chalicelib.local.seed import load_departments

HOTLINE = "suzhou-12345"
MARKET_NAME = next(d["name"] for d in load_departments() if d["code"] == "MARKET")
SECRET = "whsec_" + "c3V6aG91LTEyMzQ1LWhvdGxpbmUtc2VjcmV0LTMyYiE="
CASE = {
    "case_no": "SZ12345-20261207-0001", "appeal_type": "投诉", "caller_name": "周晓梅", "caller_phone": "13912345678",
    "caller_address": "苏州市姑苏区干将西路88号", "target_name": "苏州某某家电有限公司",
    "target_address": "苏州市姑苏区石路12号", "content": "在该公司购买的空调安装后不制冷，多次联系售后未果。",
    "demand": "要求更换或退款", "matter": "家用电器", "area": "姑苏区", "urgency": "紧急",
}


def _act(api, ticket_id, action, user, **params):
    answer = api.post(f"/tickets/{ticket_id}/{action.replace('_', '-')}", json=params, user=user)
    assert answer.status == 200, (action, answer.body)
    return answer.json


def _query(api, clock, ids, *, secret=SECRET, partner=HOTLINE):
    body = json.dumps({"external_ids": ids}).encode()
    headers = signing.sign_headers(new_webhook_id(), int(clock.timestamp()), body, hmac_secrets=[secret])
    answer = api.request("POST", f"/partners/{partner}/status-query", body=body,
                         headers={**headers, "content-type": "application/json"})
    return answer.status, answer.json


def test_a_12345_case_comes_in_goes_round_and_every_question_is_answered(api, pump, receivers, clock):
    receiver = new_receiver(receivers, SECRET, clock)
    create_partner(api, HOTLINE, "hotline_12345", [receiver.url], secret=SECRET)
    hotline = PartnerClient(HOTLINE, SECRET, poster(api))

    # 交办: the case in the 12345 format, mapped to our fields, tree and districts
    status, body = hotline.send("ticket.assigned", {"case": CASE})
    assert status == 200 and body["outcome"] == "registered", body
    ticket_id = body["ticket_id"]
    ticket = api.get(f"/tickets/{ticket_id}", user="agent").json
    assert (ticket["channel"], ticket["kind"], ticket["district"], ticket["priority"]) == \
        ("hotline_12345", "complaint", "GUSU", "urgent")
    assert ticket["category_path"][-1] == "家用电器" and ticket["category_code"]
    assert ticket["external_ref"] == CASE["case_no"] and ticket["facts"] == CASE["content"]
    again = hotline.send("ticket.assigned", {"case": CASE})  # another webhook id, the same case number
    assert again[0] == 200 and again[1]["outcome"] == "already_registered" and again[1]["ticket_id"] == ticket_id
    bad = hotline.send("ticket.assigned", {"case": {**CASE, "case_no": "SZ-2", "appeal_type": "表扬"}})
    assert bad[0] == 400 and "data.case.appeal_type" in bad[1]["error"]["details"], bad
    nowhere = hotline.send("ticket.assigned", {"case": {**CASE, "case_no": "SZ-3", "area": "火星区"}})
    assert nowhere[0] == 400 and nowhere[1]["error"]["details"] == {"data.case.area": "no district 火星区"}
    mixed = hotline.send("ticket.assigned", {"case": CASE, "external_id": "X"})
    assert mixed[0] == 400 and "data" in mixed[1]["error"]["details"]

    # 受理, 分拨, 签收, 阶段反馈, 办结, 审核, 回访: every step goes back in 12345 words
    _act(api, ticket_id, "accept", "agent")
    _act(api, ticket_id, "dispatch", "dispatcher", mode="single", department="MARKET")
    _act(api, ticket_id, "sign", "handler")
    _act(api, ticket_id, "add_note", "handler", text="已联系商家，约定上门检测。")
    _act(api, ticket_id, "submit_closure", "handler", result="settled", facts="经调解，商家同意更换新机。")
    _act(api, ticket_id, "review_closure", "dispatcher", decision="approve", reply="经调解，商家已同意更换新机。")
    status, early = _query(api, clock, [CASE["case_no"]])
    assert status == 200 and early["items"][0]["status_12345"] == "replied"
    _act(api, ticket_id, "record_callback", "agent", satisfaction="satisfied", solved=True)
    pump.drain()

    heard = receiver.events()
    assert all(r.verified and r.answered == 200 for r in receiver.received)
    assert [(e["type"], e["data"].get("stage")) for e in heard] == [
        ("ticket.accepted", None), ("ticket.progress", "dispatched"), ("ticket.progress", "signed"),
        ("ticket.progress", "note_added"), ("ticket.progress", "closure_submitted"), ("ticket.closed", None),
        ("ticket.evaluated", None)]
    assert [e["data"]["status_12345"] for e in heard] == ["accepted", "handling", "handling", "handling", "handling",
                                                          "replied", "closed"]
    assert heard[4]["data"]["stage_label"] == "提交办结"
    assert all(e["data"]["case_no"] == CASE["case_no"] for e in heard)
    dispatched = next(e for e in heard if e["data"].get("stage") == "dispatched")
    assert dispatched["data"]["departments"] == ["MARKET"] and dispatched["data"]["department_names"] == [MARKET_NAME]
    closed = next(e for e in heard if e["type"] == "ticket.closed")
    assert closed["data"]["results"][0]["result"] == "settled"

    # 状态查询: signed, by case number, only its own cases
    status, answer = _query(api, clock, [CASE["case_no"], "SZ-UNKNOWN"])
    assert status == 200, answer
    found, unknown = answer["items"]
    assert (found["ticket_id"], found["status"], found["status_12345"], found["status_12345_label"]) == \
        (ticket_id, "closed", "closed", "已办结")
    assert (found["result"], found["satisfaction"], found["reply"]) == ("settled", "satisfied", "经调解，商家已同意更换新机。")
    assert unknown == {"case_no": "SZ-UNKNOWN", "found": False}
    upper_asks = _query(api, clock, [CASE["case_no"]], secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", partner=UPPER)
    assert upper_asks[1]["items"] == [{"case_no": CASE["case_no"], "found": False}]  # not the upper level's case
    assert _query(api, clock, [CASE["case_no"]], secret="whsec_" + "d3JvbmctMTIzNDUtc2VjcmV0LW9mLTMyLWJ5dGVzISE=")[0] == 401
    assert _query(api, clock, [])[0] == 400
    lower_secret = "whsec_" + "bG93ZXItcXVlcmllcy1zZWNyZXQtb2YtMzItYnl0ZXMh"
    create_partner(api, "district-wuzhong", "lower", secret=lower_secret)
    assert _query(api, clock, [CASE["case_no"]], secret=lower_secret, partner="district-wuzhong")[0] == 403
    assert _query(api, clock, ["bad id with spaces"])[0] == 400

    # 逐单对账: balanced; then a step the 12345 platform did not acknowledge, found and resent
    day = clock.now().date().isoformat()
    books = api.get(f"/partners/{HOTLINE}/reconciliation/tickets?from={day}&to={day}", user="manager")
    assert books.status == 200, books.body
    assert (books.json["checked"], books.json["balanced"], books.json["feed"]) == (1, True, "origin")

    second = hotline.send("ticket.assigned", {"case": {
        **CASE, "case_no": "SZ12345-20261207-0002", "caller_phone": "13800001111", "content": "另一起空调不制冷的投诉。",
        "matter": " / ".join(ticket["category_path"]), "area": "GUSU", "urgency": "一般"}})  # a path, a code
    second_id = second[1]["ticket_id"]
    second_ticket = api.get(f"/tickets/{second_id}", user="agent").json
    assert (second_ticket["category_code"], second_ticket["district"], second_ticket["priority"]) == \
        (ticket["category_code"], "GUSU", "normal")
    receiver.answer_next(500, times=2)  # the platform is down while we accept (and the model dispatches)
    _act(api, second_id, "accept", "agent")
    pump.drain()
    assert [r.event["type"] for r in receiver.received if r.answered == 500] == ["ticket.accepted", "ticket.progress"]
    books = api.get(f"/partners/{HOTLINE}/reconciliation/tickets?from={day}", user="admin").json
    [diff] = books["differences"]
    assert (diff["ticket_id"], diff["problem"], diff["problem_label"], diff["acknowledged"]) == \
        (second_id, "pending", "待确认", "received")
    assert diff["expected"] in ("accepted", "handling") and diff["last_delivery_status"] == "retrying"
    assert api.post(f"/partners/{HOTLINE}/reconciliation/resend", json={"ticket_ids": [second_id]},
                    user="manager").status == 403
    assert api.post(f"/partners/{HOTLINE}/reconciliation/resend", json={"ticket_ids": []}, user="admin").status == 400
    resent = api.post(f"/partners/{HOTLINE}/reconciliation/resend", json={"ticket_ids": [second_id, "NOPE-1"]},
                      user="admin")
    assert resent.status == 202, resent.body
    assert [i["resent"] for i in resent.json["items"]] == [True, False]
    pump.drain()
    [synced] = receiver.events("ticket.synced")
    assert (synced["data"]["ticket_id"], synced["data"]["status_12345"]) == (second_id, diff["expected"])
    books = api.get(f"/partners/{HOTLINE}/reconciliation/tickets?from={day}&to={day}", user="admin").json
    assert books["balanced"] is True and books["checked"] == 2
    assert api.get(f"/partners/{HOTLINE}/reconciliation/tickets?from={day}&to=2020-01-01",
                   user="admin").status == 400
    assert api.get(f"/partners/{HOTLINE}/reconciliation/tickets", user="agent").status == 403

    nightly = reconciliation.nightly(day=day)
    assert nightly["partners"][HOTLINE]["ticket_differences"] == 0


def test_the_12345_mapping_document_matches_the_code():
    case_rows = doc_table("12345 case fields")
    assert case_rows[0] == ["12345 field", "中文", "ticket field", "how"]
    assert case_rows[1:] == [[f"`{f.name}`", f.label, f"`{f.target}`", f.how] for f in hotline12345.CASE_FIELDS]
    status_rows = doc_table("12345 statuses")
    assert status_rows[0] == ["our status", "12345 status", "中文"]
    assert status_rows[1:] == [[f"`{ours}`", f"`{code}`", label]
                               for ours, (code, label) in hotline12345.STATUS_12345.items()]
    from chalicelib.domain.vocabulary import Status

    assert set(hotline12345.STATUS_12345) == set(Status)  # every status has its 12345 word
    assert hotline12345.status_for("closed", "returned_upward") == ("returned", "已退回")
    assert hotline12345.status_for("closed", "declined") == ("declined", "不予受理")
    assert hotline12345.status_for("archived", "completed") == ("closed", "已办结")


def test_a_case_whose_12345_unit_is_mapped_arrives_dispatched_and_unmapped_units_are_listed(
        api, pump, receivers, clock):
    from chalicelib.store import directory

    receiver = new_receiver(receivers, SECRET, clock)
    create_partner(api, HOTLINE, "hotline_12345", [receiver.url], secret=SECRET)
    hotline = PartnerClient(HOTLINE, SECRET, poster(api))
    path = f"/partners/{HOTLINE}/unit-mappings"
    directory.put_entry(directory.DEPARTMENTS, "OLD-BUREAU", {"code": "OLD-BUREAU", "name": "原物价局", "active": False})

    # 承办单位对照: admins edit, managers read, bad rows are 400s naming each, a stale version a 409
    assert api.get(path, user="manager").json == {"partner_id": HOTLINE, "version": 0, "items": [],
                                                   "updated_at": None, "updated_by": None}
    rows = [{"unit_code": "SZ-SJJ-GS", "unit_name": "姑苏区市场监管局", "department": "MARKET", "office": "MARKET-GUSU"},
            {"unit_name": "市城管局", "department": "URBAN"}]
    for user in ("manager", "agent"):
        assert api.put(path, json={"expected_version": 0, "items": rows}, user=user).status == 403
    for bad, field in (({"unit_code": "X", "department": "NOPE"}, "items[0].department"),
                       ({"unit_code": "X", "department": "OLD-BUREAU"}, "items[0].department"),
                       ({"unit_code": "X", "department": "URBAN", "office": "MARKET-GUSU"}, "items[0].office"),
                       ({"department": "URBAN"}, "items[0].unit_code")):
        refused = api.put(path, json={"expected_version": 0, "items": [bad]}, user="admin")
        assert refused.status == 400 and field in refused.json["error"]["details"], (bad, refused.body)
    twice = api.put(path, json={"expected_version": 0, "items": [rows[1], rows[1]]}, user="admin")
    assert twice.status == 400 and "items[1].unit_name" in twice.json["error"]["details"]
    assert api.put(path, json={"expected_version": 0, "items": "all"}, user="admin").status == 400
    upper = api.put("/partners/province-12315/unit-mappings", json={"expected_version": 0, "items": []}, user="admin")
    assert upper.status == 400 and "partner_id" in upper.json["error"]["details"]
    saved = api.put(path, json={"expected_version": 0, "items": rows}, user="admin")
    assert saved.status == 200 and saved.json["version"] == 1, saved.body
    assert [(i["department_name"], i["office_name"], i["usable"]) for i in saved.json["items"]] == \
        [(MARKET_NAME, "姑苏市场监督管理所", True), (saved.json["items"][1]["department_name"], None, True)]
    stale = api.put(path, json={"expected_version": 0, "items": rows[:1]}, user="admin")
    assert stale.status == 409 and len(api.get(path, user="admin").json["items"]) == 2

    def case(n, **unit):
        return {**CASE, "case_no": f"SZ12345-UNIT-{n}", "caller_phone": f"1391234{n:04d}",
                "content": f"第{n}起空调不制冷的投诉。", **unit}

    # mapped by code (to an office) and by name (to a department): accepted and dispatched on arrival
    status, office_case = hotline.send("ticket.assigned", {"case": case(1, unit_code="SZ-SJJ-GS", unit_name="改名了")})
    assert status == 200 and office_case["dispatched_to"] == "MARKET-GUSU", office_case
    status, urban_case = hotline.send("ticket.assigned", {"case": case(2, unit_name="市城管局")})
    assert status == 200 and urban_case["dispatched_to"] == "URBAN", urban_case
    for answer, unit in ((office_case, "MARKET-GUSU"), (urban_case, "URBAN")):
        ticket = api.get(f"/tickets/{answer['ticket_id']}", user="dispatcher").json
        assert (ticket["status"], [a["department"] for a in ticket["assignments"]]) == ("in_handling", [unit])
    events = api.get(f"/tickets/{office_case['ticket_id']}/timeline", user="dispatcher").json["events"]
    accepted, dispatched = (next(e for e in events if e["type"] == t) for t in ("accepted", "dispatched"))
    assert accepted["actor"]["role"] == dispatched["actor"]["role"] == "system"
    assert dispatched["data"]["text"] == f"测试平台 {HOTLINE}交办：承办单位 改名了（SZ-SJJ-GS） 按对照表派至姑苏市场监督管理所"
    # an unmapped unit waits for the centre as a case naming none does (above), and the books name the unit
    status, unmapped = hotline.send("ticket.assigned", {"case": case(3, unit_code="SZ-WJW", unit_name="市卫健委")})
    assert status == 200 and "dispatched_to" not in unmapped
    assert api.get(f"/tickets/{unmapped['ticket_id']}", user="agent").json["status"] == "pending_acceptance"
    pump.drain()
    heard = [(e["type"], e["data"].get("stage")) for e in receiver.events()
             if e["data"]["case_no"] == "SZ12345-UNIT-1"]
    assert heard == [("ticket.accepted", None), ("ticket.progress", "dispatched")]

    day = clock.now().date().isoformat()
    books = api.get(f"/partners/{HOTLINE}/reconciliation/tickets?from={day}&to={day}", user="manager").json
    assert books["unmapped_units"] == [{"unit_code": "SZ-WJW", "unit_name": "市卫健委", "cases": 1,
                                        "external_ids": ["SZ12345-UNIT-3"]}]
    mapped = api.put(path, json={"expected_version": 1, "items": [
        *rows, {"unit_code": "SZ-WJW", "department": "URBAN"}]}, user="admin")
    assert mapped.status == 200, mapped.body
    books = api.get(f"/partners/{HOTLINE}/reconciliation/tickets?from={day}&to={day}", user="manager").json
    assert books["unmapped_units"] == []
