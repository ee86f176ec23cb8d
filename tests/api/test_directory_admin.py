"""The directory managed through the API: departments, districts/streets, grassroots offices, retiring."""
from __future__ import annotations

import itertools
from datetime import date

from chalicelib.services import clock

_PHONES = itertools.count(13912345601)

COMPLAINT = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "李四", "phone": "13912345678", "address": "苏州市姑苏区十全街8号"},
    "respondent": {"name": "苏州某某超市", "address": "苏州市姑苏区凤凰街2号"},
    "request": "要求退款", "facts": "购买的牛奶已过保质期，商家拒绝退款。", "category": "食品安全",
}


def _ticket_to_dispatch(api) -> dict:
    body = {**COMPLAINT, "complainant": {**COMPLAINT["complainant"], "phone": str(next(_PHONES))}}
    answer = api.post("/tickets", json=body, user="agent")
    assert answer.status == 201, answer.body
    tid = answer.json["tickets"][0]["id"]
    accepted = api.post(f"/tickets/{tid}/accept", json={"category": "食品安全", "district": "GUSU"}, user="agent")
    assert accepted.status == 200, accepted.body
    return accepted.json


def _department(api, code):
    return next(d for d in api.get("/departments", user="dispatcher").json["items"] if d["code"] == code)


def test_admin_creates_edits_and_retires_a_department_which_then_is_no_dispatch_target(api):
    created = api.put("/admin/departments/CULTURE", json={"name": "文化广电和旅游局", "duties": ["旅游投诉", "文化市场", "旅游投诉"],
                                                          "expected_version": 0}, user="admin")
    assert created.status == 200, created.body
    assert created.json["duties"] == ["旅游投诉", "文化市场"] and created.json["_version"] == 1
    assert created.json["active"] is True
    listed = _department(api, "CULTURE")
    assert listed["name"] == "文化广电和旅游局"
    assert [d["code"] for d in api.get("/departments?q=旅游投诉", user="agent").json["items"]] == ["CULTURE"]

    stale = api.put("/admin/departments/CULTURE", json={"name": "文旅局", "expected_version": 0}, user="admin")
    assert stale.status == 409
    edited = api.put("/admin/departments/CULTURE", json={"name": "文旅局", "duties": ["旅游投诉"], "expected_version": 1},
                     user="admin")
    assert edited.status == 200 and edited.json["_version"] == 2

    # a new department is a dispatch target at once (the cache is dropped on change)
    ticket = _ticket_to_dispatch(api)
    dispatched = api.post(f"/tickets/{ticket['id']}/dispatch", json={"mode": "single", "department": "CULTURE"},
                          user="dispatcher")
    assert dispatched.status == 200, dispatched.body

    retired = api.post("/admin/departments/CULTURE/retire", json={"reason": "机构改革并入文旅集团", "expected_version": 2},
                       user="admin")
    assert retired.status == 200, retired.body
    assert retired.json["active"] is False and retired.json["retired_by"] == "admin"
    assert retired.json["retire_reason"] == "机构改革并入文旅集团"

    # history intact: still listed (marked retired), the old ticket still names it
    listed = _department(api, "CULTURE")
    assert listed["active"] is False and listed["name"] == "文旅局"
    old = api.get(f"/tickets/{ticket['id']}", user="manager").json
    assert [a["department"] for a in old["assignments"]] == ["CULTURE"]

    other = _ticket_to_dispatch(api)
    refused = api.post(f"/tickets/{other['id']}/dispatch", json={"mode": "single", "department": "CULTURE"},
                       user="dispatcher")
    assert refused.status == 400 and "department" in refused.json["error"]["details"]

    back = api.post("/admin/departments/CULTURE/reinstate", json={"expected_version": 3}, user="admin")
    assert back.status == 200 and back.json["active"] is True and "retired_at" not in back.json
    assert api.post(f"/tickets/{other['id']}/dispatch", json={"mode": "single", "department": "CULTURE"},
                    user="dispatcher").status == 200


def test_directory_changes_are_admin_only_and_audited(api):
    body = {"name": "测试局", "expected_version": 0}
    for user in ("manager", "dispatcher", "handler", "agent"):
        answer = api.put("/admin/departments/TESTDEPT", json=body, user=user)
        assert answer.status == 403, (user, answer.body)
    assert api.put("/admin/departments/TESTDEPT", json=body).status == 401
    assert api.post("/admin/offices/MARKET-GUSU/retire", json={"reason": "x", "expected_version": 1},
                    user="manager").status == 403
    assert api.put("/admin/departments/TESTDEPT", json=body, user="admin").status == 200
    day = clock.now().date().isoformat()
    records = api.get(f"/admin/audit?date={day}&action=PUT /admin/departments/{{code}}", user="admin").json["items"]
    assert any(r["target"] == {"code": "TESTDEPT"} and r["status"] == 200 and r["actor"]["username"] == "admin"
               for r in records), records
    assert isinstance(date.fromisoformat(day), date)


def test_bad_directory_input_is_a_400_and_changes_nothing(api):
    cases = [
        ("/admin/departments/bad code", {"name": "x", "expected_version": 0}, "code"),
        ("/admin/departments/lower", {"name": "x", "expected_version": 0}, "code"),
        ("/admin/departments/NEWONE", {"name": "   ", "expected_version": 0}, "name"),
        ("/admin/departments/NEWONE", {"name": "x", "expected_version": 0, "boss": "me"}, "boss"),
        ("/admin/departments/NEWONE", {"name": "x", "duties": ["a" * 61], "expected_version": 0}, "duties.0"),
        ("/admin/districts/NEWST", {"name": "双塔街道", "kind": "街道", "expected_version": 0}, "parent"),
        ("/admin/districts/NEWST", {"name": "双塔街道", "kind": "街道", "parent": "NOPE", "expected_version": 0}, "parent"),
        ("/admin/districts/NEWST", {"name": "双塔街道", "kind": "小区", "parent": "GUSU", "expected_version": 0}, "kind"),
        ("/admin/districts/NEWD", {"name": "新区", "kind": "区", "parent": "GUSU", "expected_version": 0}, "parent"),
        ("/admin/offices/MARKET-NEW", {"name": "新所", "department": "NOPE", "expected_version": 0}, "department"),
        ("/admin/offices/MARKET-NEW", {"name": "新所", "department": "MARKET", "district": "NOPE",
                                       "expected_version": 0}, "district"),
    ]
    for path, body, field in cases:
        answer = api.put(path, json=body, user="admin")
        assert answer.status == 400, (path, body, answer.body)
        details = answer.json["error"]["details"]
        assert any(field in key for key in details), (field, details)
    codes = {d["code"] for d in api.get("/departments", user="admin").json["items"]}
    assert "NEWONE" not in codes and "bad code" not in codes
    assert {d["code"] for d in api.get("/districts", user="admin").json["items"]}.isdisjoint({"NEWST", "NEWD"})
    assert api.post("/admin/departments/NOPE/retire", json={"reason": "x", "expected_version": 1},
                    user="admin").status == 404
    assert api.post("/admin/departments/MARKET/retire", json={"expected_version": 1}, user="admin").status == 400
    # an office code cannot be a department's, and the other way round
    assert api.put("/admin/departments/MARKET-GUSU", json={"name": "x", "expected_version": 0}, user="admin").status == 409
    assert api.put("/admin/offices/URBAN", json={"name": "x", "department": "MARKET", "expected_version": 0},
                   user="admin").status == 409


def test_streets_under_districts_and_retiring_keeps_the_order(api):
    street = api.put("/admin/districts/GUSU-SHUANGTA", json={"name": "双塔街道", "kind": "街道", "parent": "GUSU",
                                                              "expected_version": 0}, user="admin")
    assert street.status == 200, street.body
    items = {d["code"]: d for d in api.get("/districts", user="agent").json["items"]}
    assert items["GUSU-SHUANGTA"]["parent"] == "GUSU" and items["GUSU"]["kind"] == "区"
    version = items["GUSU"]["_version"]
    blocked = api.post("/admin/districts/GUSU/retire", json={"reason": "区划调整", "expected_version": version},
                       user="admin")
    assert blocked.status == 409 and blocked.json["error"]["details"]["active_children"] == ["GUSU-SHUANGTA"]
    assert api.post("/admin/districts/GUSU-SHUANGTA/retire", json={"reason": "区划调整", "expected_version": 1},
                    user="admin").status == 200
    # a retired street is no longer chosen for new entries, but stays listed with its name
    answer = api.put("/admin/offices/MARKET-ST", json={"name": "双塔所", "department": "MARKET", "district": "GUSU-SHUANGTA",
                                                        "expected_version": 0}, user="admin")
    assert answer.status == 400 and "district" in answer.json["error"]["details"], answer.body
    items = {d["code"]: d for d in api.get("/districts", user="agent").json["items"]}
    assert items["GUSU-SHUANGTA"]["active"] is False and items["GUSU-SHUANGTA"]["name"] == "双塔街道"


def test_a_grassroots_office_is_a_dispatch_target_scoped_to_its_department(api):
    offices = api.get("/offices?department=MARKET", user="dispatcher").json["items"]
    assert {o["code"] for o in offices} >= {"MARKET-GUSU", "MARKET-WUZHONG"}
    created = api.put("/admin/offices/MARKET-XC", json={"name": "相城市场监督管理所", "department": "MARKET",
                                                         "district": "XIANGCHENG", "duties": ["辖区消费纠纷调解"],
                                                         "expected_version": 0}, user="admin")
    assert created.status == 200, created.body
    user = api.put("/admin/users/handler-xc", json={"role": "handler", "name": "相城所 处理人", "department": "MARKET-XC"},
                   user="admin")
    assert user.status == 200, user.body

    ticket = _ticket_to_dispatch(api)
    tid = ticket["id"]
    dispatched = api.post(f"/tickets/{tid}/dispatch", json={"mode": "single", "department": "MARKET-XC"},
                          user="dispatcher")
    assert dispatched.status == 200, dispatched.body
    assignment = dispatched.json["assignments"][0]
    assert assignment["department"] == "MARKET-XC"

    # the office's handler has it in the queue and signs; its department sees it; other departments do not
    assert [i["id"] for i in api.get("/queues/to_sign", user="handler-xc").json["items"]] == [tid]
    assert api.post(f"/tickets/{tid}/sign", json={"assignment_id": assignment["id"]}, user="handler-xc").status == 200
    assert api.get(f"/tickets/{tid}", user="dept_lead").status == 200
    assert api.get(f"/tickets/{tid}", user="handler").status == 200
    assert api.get(f"/tickets/{tid}", user="handler-urban").status == 403
    assert api.get(f"/tickets/{tid}", user="handler-market-gusu").status == 403  # a sibling office
    # the comprehensive query follows the same scope
    assert tid in [i["id"] for i in api.get("/tickets", user="dept_lead").json["items"]]
    assert tid in [i["id"] for i in api.get("/tickets?department=MARKET", user="manager").json["items"]]
    assert tid not in [i["id"] for i in api.get("/tickets", user="handler-market-gusu").json["items"]]

    # the department cannot be retired while the office is active; a retired office is no target
    market = _department(api, "MARKET")
    blocked = api.post("/admin/departments/MARKET/retire", json={"reason": "测试", "expected_version": market["_version"]},
                       user="admin")
    assert blocked.status == 409
    assert api.post("/admin/offices/MARKET-XC/retire", json={"reason": "撤并", "expected_version": 1},
                    user="admin").status == 200
    other = _ticket_to_dispatch(api)
    refused = api.post(f"/tickets/{other['id']}/dispatch", json={"mode": "single", "department": "MARKET-XC"},
                       user="dispatcher")
    assert refused.status == 400
    assert api.put("/admin/users/handler-xc2", json={"role": "handler", "name": "x", "department": "MARKET-XC"},
                   user="admin").status == 400
    assert api.get(f"/tickets/{tid}", user="handler-xc").status == 200  # its old ticket stays in reach
