"""The knowledge base through the API: managers keep articles, agents search them in Chinese."""
from __future__ import annotations

from collections import Counter
from urllib.parse import urlencode

from chalicelib.store.models import ALL_MODELS

PREPAID = {
    "kind": "policy", "title": "预付卡消费纠纷处理指引",
    "body": "经营者以预付卡方式提供商品或者服务的，应当按照约定提供。健身房、美容美发店关门停业导致预付卡余额无法退还的，"
            "消费者可以要求经营者退还剩余预付款。登记时应记录办卡时间、卡内余额和经营者名称。",
    "categories": ["预付卡"], "keywords": ["健身房", "退卡"], "templates": ["mediation-settled"],
    "departments": ["MARKET"],
}
PROPERTY = {
    "kind": "faq", "title": "物业费收费标准咨询答复",
    "body": "住宅物业服务收费实行政府指导价和市场调节价。业主对物业费收费标准有疑问的，可以向住房和城乡建设局咨询。",
    "categories": ["物业服务"], "keywords": ["物业费"],
}
NOISE = {
    "kind": "procedure", "title": "夜间施工噪音投诉处置流程",
    "body": "夜间施工噪音扰民的，由城市管理局执法；登记时问清施工地点、时间段。",
    "categories": ["噪音扰民"], "templates": ["inquiry-answer"],
}


def _put(api, article_id, body, version=0, user="manager"):
    return api.put(f"/knowledge/articles/{article_id}", json={**body, "expected_version": version}, user=user)


def _search(api, text, user="agent", **extra):
    return api.get("/knowledge/search?" + urlencode({"text": text, **extra}), user=user)


def _seed(api):
    for article_id, body in (("prepaid-card", PREPAID), ("property-fee", PROPERTY), ("night-noise", NOISE)):
        answer = _put(api, article_id, body)
        assert answer.status == 200, answer.body


def test_agent_typing_a_complaint_finds_the_matching_article_first(api):
    _seed(api)
    found = _search(api, "来电人反映小区附近健身房突然关门，预付卡里还有3000元余额退不了")
    assert found.status == 200, found.body
    items = found.json["items"]
    assert items and items[0]["id"] == "prepaid-card", items
    assert "预付卡" in items[0]["matched"] and "body" not in items[0]
    assert "预付卡" in items[0]["snippet"]
    assert items[0]["templates"] == ["mediation-settled"]
    assert [i["id"] for i in _search(api, "物业费太贵了", user="handler").json["items"]][:1] == ["property-fee"]
    assert _search(api, "今天天气很好", user="dispatcher").json["items"] == []
    # a category named in the search lifts the articles that list it
    plain = {i["id"]: i["score"] for i in _search(api, "施工 物业 预付卡").json["items"]}
    lifted = {i["id"]: i["score"] for i in _search(api, "施工 物业 预付卡", category="噪音扰民").json["items"]}
    assert abs(lifted["night-noise"] - plain["night-noise"] * 1.5) < 0.01 and lifted["prepaid-card"] == plain["prepaid-card"]


def test_search_reads_the_index_without_scanning(api):
    _seed(api)
    _search(api, "预付卡")  # jieba loaded, tokens cached
    calls: Counter = Counter()

    def count(event_name: str, **kwargs) -> None:
        calls[event_name.split(".")[-1]] += 1

    clients = {id(m._get_connection().connection.client): m._get_connection().connection.client for m in ALL_MODELS}
    for client in clients.values():
        client.meta.events.register("before-call.dynamodb", count)
    try:
        answer = _search(api, "健身房预付卡退费")
    finally:
        for client in clients.values():
            client.meta.events.unregister("before-call.dynamodb", count)
    assert answer.status == 200 and answer.json["items"][0]["id"] == "prepaid-card"
    assert "Scan" not in calls and calls["BatchGetItem"] == 1, calls
    assert calls["Query"] == len(answer.json["terms"]), (calls, answer.json["terms"])


def test_every_edit_is_a_version_and_the_index_follows(api):
    _seed(api)
    changed = {**PROPERTY, "title": "电梯维保费用咨询答复", "body": "电梯维保费用由业主共同分摊，具体标准见物业服务合同。",
               "keywords": ["电梯维保"], "note": "改写为电梯维保"}
    stale = _put(api, "property-fee", changed, version=0)
    assert stale.status == 409
    saved = _put(api, "property-fee", changed, version=1)
    assert saved.status == 200 and saved.json["_version"] == 2, saved.body
    assert "terms" not in saved.json and saved.json["updated_by"] == "manager"

    assert [i["id"] for i in _search(api, "电梯维保").json["items"]] == ["property-fee"]
    assert _search(api, "物业费").json["items"] == []  # the old words no longer find it

    versions = api.get("/knowledge/articles/property-fee/versions", user="agent").json["items"]
    assert [v["_version"] for v in versions] == [2, 1]
    assert versions[1]["title"] == "物业费收费标准咨询答复" and versions[1]["body"] == PROPERTY["body"]
    first = api.get("/knowledge/articles/property-fee/versions/1", user="handler").json
    assert first["title"] == "物业费收费标准咨询答复"
    assert api.get("/knowledge/articles/property-fee/versions/7", user="agent").status == 404
    assert api.get("/knowledge/articles/property-fee/versions/x", user="agent").status == 400
    current = api.get("/knowledge/articles/property-fee", user="agent").json
    assert current["title"] == "电梯维保费用咨询答复" and current["_version"] == 2


def test_retired_articles_leave_search_but_keep_their_versions(api):
    _seed(api)
    retired = api.post("/knowledge/articles/night-noise/retire", json={"expected_version": 1}, user="manager")
    assert retired.status == 200 and retired.json["active"] is False
    assert _search(api, "夜间施工噪音").json["items"] == []
    assert api.get("/knowledge/articles/night-noise", user="agent").status == 404
    assert "night-noise" not in [a["id"] for a in api.get("/knowledge/articles", user="agent").json["items"]]
    managed = api.get("/knowledge/articles?include_retired=1", user="manager").json["items"]
    assert next(a for a in managed if a["id"] == "night-noise")["active"] is False
    assert len(api.get("/knowledge/articles/night-noise/versions", user="manager").json["items"]) == 2
    back = api.post("/knowledge/articles/night-noise/reinstate", json={"expected_version": 2}, user="manager")
    assert back.status == 200 and back.json["active"] is True
    assert [i["id"] for i in _search(api, "夜间施工噪音").json["items"]] == ["night-noise"]


def test_articles_by_category_and_linked_reply_template(api):
    _seed(api)
    by_template = api.get("/knowledge/articles?template=mediation-settled", user="agent").json["items"]
    assert [a["id"] for a in by_template] == ["prepaid-card"]
    by_category = api.get("/knowledge/articles?" + urlencode({"category": "物业服务"}), user="dispatcher").json["items"]
    assert [a["id"] for a in by_category] == ["property-fee"]
    assert {a["id"] for a in api.get("/knowledge/articles?kind=faq", user="handler").json["items"]} == {"property-fee"}


def test_roles_writes_for_managers_reads_for_desk_and_departments(api):
    _seed(api)
    for user in ("agent", "dispatcher", "handler", "dept_lead", "admin"):
        assert _put(api, "new-one", PROPERTY, user=user).status == 403, user
        assert api.post("/knowledge/articles/prepaid-card/retire", json={"expected_version": 1},
                        user=user).status == 403, user
    assert api.get("/knowledge/articles", user="admin").status == 403
    assert api.get("/knowledge/search?text=预付卡").status == 401
    assert api.get("/knowledge/articles?include_retired=1", user="agent").status == 200  # ignored for readers
    records = api.get("/admin/audit?" + urlencode({"date": _today(), "action": "knowledge.article.save"}),
                      user="admin").json["items"]
    assert {r["target"]["article_id"] for r in records if r["status"] == 200} >= {"prepaid-card", "property-fee"}


def _today() -> str:
    from chalicelib.services import clock

    return clock.now().date().isoformat()


def test_bad_input_is_a_400_and_writes_nothing(api):
    cases = [
        ("Bad_ID", PROPERTY, "article_id"),
        ("ok-id", {**PROPERTY, "kind": "rumour"}, "kind"),
        ("ok-id", {**PROPERTY, "title": "  "}, "title"),
        ("ok-id", {**PROPERTY, "body": "x" * 8001}, "body"),
        ("ok-id", {**PROPERTY, "templates": ["no-such-template"]}, "templates"),
        ("ok-id", {**PROPERTY, "departments": ["NOPE"]}, "departments"),
        ("ok-id", {**PROPERTY, "categories": [" "]}, "categories[0]"),
        ("ok-id", {**PROPERTY, "author": "me"}, "author"),
    ]
    for article_id, body, field in cases:
        answer = _put(api, article_id, body)
        assert answer.status == 400, (field, answer.body)
        assert field in answer.json["error"]["details"] or any(field in k for k in answer.json["error"]["details"]), \
            (field, answer.json)
    assert api.get("/knowledge/articles", user="manager").json["items"] == []
    assert _search(api, "x" * 501).status == 400
    assert api.get("/knowledge/search", user="agent").status == 400
    assert _search(api, "预付卡", limit="0").status == 400
    assert api.get("/knowledge/articles/ok-id", user="agent").status == 404
    assert api.post("/knowledge/articles/ok-id/retire", json={"expected_version": 1}, user="manager").status == 404


def test_the_demo_articles_are_written_through_the_service_and_found(api):
    from chalicelib.local.seed import DEMO_ARTICLES, seed_knowledge

    assert seed_knowledge() == len(DEMO_ARTICLES)
    assert seed_knowledge() == 0  # idempotent: existing articles are left as they are
    top = _search(api, "健身房突然关门了，办的卡里还有两千块钱退不了").json["items"]
    assert top[0]["id"] == "prepaid-card-refund", top
    assert _search(api, "在网上买的衣服不合适，商家不给退货").json["items"][0]["id"] == "online-seven-day-return"
    assert _search(api, "小区门口夜间施工噪音太吵").json["items"][0]["id"] == "urban-management-duties"
