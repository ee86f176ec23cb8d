"""Sensitive and major events flagged at intake, abuse-pattern advisories, and the managers' alerts."""
from __future__ import annotations

import pytest

from chalicelib.analytics import sensitive

BASE = {
    "kind": "complaint", "channel": "phone",
    "respondent": {"name": "某某商店", "address": "苏州市姑苏区观前街1号"},
    "request": "要求处理", "category": "商品质量", "district": "GUSU",
}


@pytest.mark.parametrize("text, codes", [
    ("在他家吃了午饭后全家上吐下泻，已送医院急诊", ["food_poisoning"]),
    ("小区电梯突然下坠，困人半小时", ["safety_accident"]),
    ("商家不退钱我就从他店门口跳楼", ["self_harm"]),
    ("再不处理我就和他同归于尽", ["violence"]),
    ("我们三十多名业主联名投诉开发商", ["group_complaint"]),
    ("不解决我就找记者曝光，发到抖音上", ["media_exposure"]),
    ("食堂饭菜导致多名学生腹泻，家长准备找电视台", ["food_poisoning", "media_exposure"]),
    ("购买的电饭煲三天后无法加热，商家拒绝退货", []),
    ("ｆｏｏ 自　杀", ["self_harm"]),  # full-width and spaced writing is normalised
])
def test_the_lexicon_recognises_sensitive_events(text, codes):
    assert [f.code for f in sensitive.classify(text)] == codes


def test_many_complainants_make_a_group_complaint():
    flags = sensitive.classify("预付卡无法退款", complainants=6)
    assert [(f.code, f.level) for f in flags] == [("group_complaint", "sensitive")]
    assert sensitive.classify("预付卡无法退款", complainants=4) == []


def _register(api, facts, *, phone, name="张三", address="苏州市姑苏区人民路100号", respondent="某某商店", user="agent"):
    body = {**BASE, "complainant": {"name": name, "phone": phone, "address": address},
            "respondent": {**BASE["respondent"], "name": respondent}, "facts": facts}
    answer = api.post("/tickets", json=body, user=user)
    assert answer.status == 201, answer.body
    return answer.json["tickets"][0]["id"]


def test_intake_alerts_managers_at_once_and_flags_abuse_patterns(api, world):
    from app import app
    from chalicelib.local.pump import EventPump
    from chalicelib.notifications import inbox

    poisoned = _register(api, "昨晚在该店聚餐后五人上吐下泻，已去医院急诊", phone="13900001111")
    plain = _register(api, "买的衣服有质量问题", phone="13900002222")
    for n in range(5):  # one phone, five submissions in a week
        _register(api, f"第{n}次：购买的商品有问题", phone="13900003333", respondent=f"商家{n}")
    for n, name in enumerate(["王一", "王二"]):  # three different names on one phone, with the above
        _register(api, "网购商品未发货", phone="13900003333", name=name, respondent=f"网店{n}")
    pump = EventPump(app, world)
    pump.drain()

    alerts = api.get("/alerts", user="manager").json["alerts"]
    major = [a for a in alerts if a["kind"] == "sensitive" and poisoned in a["ticket_ids"]]
    assert len(major) == 1 and major[0]["ticket_ids"] == [poisoned] and major[0]["level"] == "major"
    assert major[0]["data"]["flags"][0]["code"] == "food_poisoning"
    assert "上吐下泻" not in major[0]["body"]  # the alert names the category, not the citizen's words
    assert plain not in {t for a in alerts for t in a["ticket_ids"]}
    advisories = [a for a in alerts if a["kind"] == "abuse"]
    codes = {f["code"] for a in advisories for f in a["data"]["flags"]}
    assert {"frequent_complainant", "shared_phone"} <= codes
    assert all(a["level"] == "advisory" and "第十七条" in a["body"] for a in advisories)

    notes, _ = inbox.list_for("manager")
    assert any(n["urgent"] and n["title"] == major[0]["title"] for n in notes)  # the in-app notification

    # redelivering the whole stream raises nothing new
    EventPump(app, world).drain()
    assert len(api.get("/alerts", user="manager").json["alerts"]) == len(alerts)

    acknowledged = api.post(f"/alerts/{major[0]['id']}/acknowledge", json={"note": "已通知市场监管局现场核查"},
                            user="manager")
    assert acknowledged.status == 200 and acknowledged.json["acknowledged_by"] == "manager"
    assert api.post(f"/alerts/{major[0]['id']}/acknowledge", json={}, user="manager").status == 409
    assert api.get("/alerts?open=true&kind=sensitive", user="manager").json["alerts"] == []
    assert api.get("/alerts", user="handler").status == 403


def test_one_address_shared_by_many_complainants(api, world):
    from app import app
    from chalicelib.local.pump import EventPump

    ids = [_register(api, "预付卡退款纠纷", phone=f"1370000000{n}", name=name, address="苏州市吴中区某路8号",
                     respondent=f"健身房{n}") for n, name in enumerate(["赵一", "钱二", "孙三"])]
    EventPump(app, world).drain()
    advisories = [a for a in api.get("/alerts?kind=abuse", user="manager").json["alerts"]
                  if set(a["ticket_ids"]) & set(ids)]
    assert len(advisories) == 1 and advisories[0]["ticket_ids"] == [ids[2]]  # only the third name crosses the line
    assert [f["code"] for f in advisories[0]["data"]["flags"]] == ["shared_address"]
