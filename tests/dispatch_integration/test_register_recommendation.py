"""On register the model's recommendation and the jurisdiction are stored on the ticket.

The tests share one embedded AWS (``module_api``): each registers its own citizen's tickets."""
from __future__ import annotations

from dispatch_helpers import register, submission

from chalicelib.dispatch.registry import bundled_version


def test_register_stores_the_top_three_with_the_model_version_and_the_jurisdiction(module_api):
    api = module_api
    ticket = register(api, submission("1"))
    rec = ticket["recommendation"]
    assert rec["model_version"] == bundled_version()
    ranked = rec["departments"]
    assert len(ranked) == 3 and ranked[0]["department"] == "MARKET"
    probabilities = [d["probability_bp"] for d in ranked]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 10_000 + 2  # each rounded to a basis point
    assert rec["auto"] is (probabilities[0] >= rec["threshold_bp"])
    place = rec["jurisdiction"]
    assert place["district"] == "WUZHONG" and place["place"] in ("东吴北路", "吴中区")
    assert 6000 <= place["confidence_bp"] <= 10_000
    assert ticket["district"] == "WUZHONG"  # the intake left it empty: the located district, being sure

    stored = api.get(f"/tickets/{ticket['id']}", user="dispatcher").json
    assert stored["recommendation"] == rec
    [registered] = [e for e in api.get(f"/tickets/{ticket['id']}/timeline", user="manager").json["events"]
                    if e["type"] == "registered"]
    assert registered["data"]["recommendation"]["department"] == "MARKET"
    assert registered["data"]["recommendation"]["model_version"] == bundled_version()


def test_a_district_given_at_intake_is_kept_and_an_unknown_place_stays_unknown(module_api):
    api = module_api
    given = register(api, submission("2", district="GUSU"))
    assert given["district"] == "GUSU"
    assert given["recommendation"]["jurisdiction"]["district"] == "WUZHONG"  # what the address says, for the record

    body = submission("3", respondent={"name": "某网店", "address": "网络店铺"},
                      complainant={"name": "赵六", "phone": "13700000003", "address": "外地某小区"})
    unknown = register(api, body)
    assert unknown["recommendation"]["jurisdiction"] is None  # never a confident guess
    assert unknown["district"] is None
    assert unknown["recommendation"]["departments"][0]["department"] == "MARKET"


def test_each_ticket_of_a_split_submission_gets_its_own_recommendation(module_api):
    api = module_api
    body = submission("4", kind=["complaint", "report"], report_facts="该健身房还无证经营游泳池，存在安全隐患。")
    answer = api.post("/tickets", json=body, user="agent")
    assert answer.status == 201, answer.body
    tickets = answer.json["tickets"]
    assert len(tickets) == 2
    assert all(t["recommendation"]["departments"] for t in tickets)
    assert {t["recommendation"]["model_version"] for t in tickets} == {bundled_version()}


def test_agents_see_the_advice_while_typing_nothing_is_stored(module_api):
    api = module_api
    answer = api.post("/dispatch/recommend", json={"text": "小区连续两天停水，物业也不管", "address": "苏州市姑苏区十全街8号"},
                      user="agent")
    assert answer.status == 200, answer.body
    rec = answer.json["recommendation"]
    assert rec["departments"][0]["department"] == "WATER" and len(rec["departments"]) == 3
    assert rec["jurisdiction"]["district"] == "GUSU" and rec["model_version"] == bundled_version()
    assert api.post("/dispatch/recommend", json={"text": "   "}, user="agent").status == 400
    assert api.post("/dispatch/recommend", json={"text": "停水"}, user="handler").status == 403


def test_agents_see_suggested_categories_while_typing_and_none_when_unsure(module_api):
    api = module_api

    def categories(text):
        answer = api.post("/dispatch/recommend", json={"text": text}, user="agent")
        assert answer.status == 200, answer.body
        return answer.json["categories"]

    appliance = "在电器商场买的电饭煲用了三天就不能加热了，商家拒绝退货，只同意维修。要求退货退款"
    found = categories(appliance)
    assert found["abstain"] is None and found["method"] == "keywords"
    top = found["items"][0]
    assert top["code"] == "C020101" and top["label"] == "市场监管 / 商品质量 / 家用电器" and top["level"] == 3
    assert 0.4 <= top["confidence"] <= 1 and "电饭煲" in top["matched"]
    assert len(found["items"]) <= 3 and [i["confidence"] for i in found["items"]] == \
        sorted((i["confidence"] for i in found["items"]), reverse=True)
    vague = categories("您好，我想反映一下上次说的那个事情，到现在还没有人联系我。")
    assert vague == {"items": [], "abstain": "no_match", "method": "keywords"}

    # a retired category is never suggested: the rest of its 事项 stands in for it until it is reinstated
    entry = next(e for e in api.get("/categories?all=true", user="admin").json["items"] if e["code"] == "C020101")
    retired = api.post("/admin/categories/C020101/retire", json={"reason": "并入数码产品",
                                                                 "expected_version": entry["_version"]}, user="admin")
    assert retired.status == 200, retired.body
    try:
        after = categories(appliance)
        assert "C020101" not in [i["code"] for i in after["items"]]
        assert after["items"] and after["items"][0]["path"][:2] == ["市场监管", "商品质量"], after
    finally:
        back = api.post("/admin/categories/C020101/reinstate", json={"expected_version": retired.json["_version"]},
                        user="admin")
        assert back.status == 200, back.body
    assert categories(appliance)["items"][0]["code"] == "C020101"


def test_admins_set_a_categorys_suggestion_words_and_go_back_to_the_defaults(module_api):
    api = module_api
    text = "小区门口的共享充电宝柜机吞了押金，客服电话打不通。要求退还押金"

    def suggested(text):
        return [i["code"] for i in api.post("/dispatch/recommend", json={"text": text}, user="agent").json[
            "categories"]["items"]]

    listed = api.get("/admin/category-keywords", user="admin")
    assert listed.status == 200, listed.body
    rows = {r["code"]: r for r in listed.json["items"]}
    assert "电饭煲" in rows["C020101"]["default"] and rows["C020101"]["custom"] is None
    assert "C020104" not in suggested(text)[:1]
    version = listed.json["version"]
    saved = api.put("/admin/category-keywords/C020104", json={"keywords": ["充电宝", " 吞了押金 ", "充电宝"],
                                                             "expected_version": version}, user="admin")
    assert saved.status == 200, saved.body
    assert saved.json["custom"] == ["充电宝", "吞了押金"] and saved.json["keywords"] == ["充电宝", "吞了押金"]
    assert suggested(text)[0] == "C020104"  # 市场监管 / 商品质量 / 售后服务, found by the admin's words
    stale = api.put("/admin/category-keywords/C020104", json={"keywords": [], "expected_version": version},
                    user="admin")
    assert stale.status == 409
    for bad in ({"keywords": ["一"], "expected_version": saved.json["version"]},
                {"keywords": "充电宝", "expected_version": saved.json["version"]}):
        assert api.put("/admin/category-keywords/C020104", json=bad, user="admin").status == 400
    unknown = api.put("/admin/category-keywords/C9999", json={"keywords": [], "expected_version": saved.json["version"]},
                      user="admin")
    assert unknown.status == 400 and "code" in unknown.json["error"]["details"]
    assert api.put("/admin/category-keywords/C020104", json={"keywords": None, "expected_version": saved.json["version"]},
                   user="agent").status == 403
    back = api.put("/admin/category-keywords/C020104", json={"keywords": None, "expected_version": saved.json["version"]},
                   user="admin")
    assert back.status == 200 and back.json["custom"] is None and back.json["keywords"] == back.json["default"]
    assert "C020104" not in suggested(text)[:1]
