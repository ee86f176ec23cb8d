"""The category tree (诉求分类: 领域 → 事项 → 具体问题) end to end through the API: admins manage it like
the rest of the directory, registration names a category by code, bad codes are refused, statistics,
hotspot labels and reply templates use it."""
from __future__ import annotations

import itertools

import pytest

from chalicelib.domain.category_tree import default_entries
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services import categories, clock, reference

_PHONES = itertools.count(13700000101)

COMPLAINT = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "王五", "address": "苏州市姑苏区十全街8号"},
    "respondent": {"name": "苏州某某电器商店", "address": "苏州市姑苏区观前街1号"},
    "request": "要求退货", "facts": "购买的电饭煲三天后无法加热，商家拒绝退货。",
}


def _register(api, **fields):
    body = {**COMPLAINT, "complainant": {**COMPLAINT["complainant"], "phone": str(next(_PHONES))}, **fields}
    return api.post("/tickets", json=body, user="agent")


def _flat(api, user="admin"):
    return {e["code"]: e for e in api.get("/categories?all=true", user=user).json["items"]}


def test_the_default_tree_has_three_levels_and_is_searchable(api):
    answer = api.get("/categories", user="agent")
    assert answer.status == 200, answer.body
    tree = answer.json["tree"]
    names = [n["name"] for n in tree]
    assert {"城乡建设", "市场监管", "交通运输", "生态环境", "劳动社保", "教育", "卫生健康", "公共安全"} <= set(names)
    market = next(n for n in tree if n["name"] == "市场监管")
    quality = next(n for n in market["children"] if n["name"] == "商品质量")
    assert quality["level"] == 2 and {c["name"] for c in quality["children"]} >= {"家用电器"}
    assert all(c["level"] == 3 and c["children"] == [] for c in quality["children"])
    found = api.get("/categories?q=电梯", user="agent").json["items"]
    assert [e["path"] for e in found] == [["市场监管", "特种设备（电梯）"], ["市场监管", "特种设备（电梯）", "电梯故障困人"],
                                          ["市场监管", "特种设备（电梯）", "电梯检验过期"]]
    assert api.get("/categories").status == 401


def test_the_default_tree_is_written_once_parents_first(api):
    """ensure_default writes the tree in one pass (reference.seed_categories): every entry at its
    level under its parent, nothing written again when a tree is there or an entry exists, and a
    child listed before its parent refused."""
    stored = _flat(api)
    defaults = default_entries()
    assert [(stored[e["code"]]["parent"], stored[e["code"]]["active"]) for e in defaults] == [
        (e["parent"], True) for e in defaults]
    levels = {e["code"]: 1 if e["parent"] is None else None for e in defaults}
    for e in defaults:
        levels[e["code"]] = levels[e["code"]] or levels[e["parent"]] + 1
        assert stored[e["code"]]["level"] == levels[e["code"]]
    assert categories.ensure_default() == 0  # a tree is there
    assert reference.seed_categories(defaults[:4], actor="seed") == 0  # each exists: created only if absent
    with pytest.raises(ValidationFailed) as refused:
        reference.seed_categories([{"code": "C9901", "name": "孤儿", "parent": "C99"}], actor="seed")
    assert "parent" in refused.value.details
    assert "C9901" not in _flat(api)


def test_admin_creates_renames_retires_and_reinstates_a_category(api):
    created = api.put("/admin/categories/C0299", json={"name": "二手车交易", "parent": "C02", "expected_version": 0},
                      user="admin")
    assert created.status == 200, created.body
    assert created.json["level"] == 2 and created.json["active"] is True and created.json["_version"] == 1
    leaf = api.put("/admin/categories/C029901", json={"name": "里程表篡改", "parent": "C0299", "expected_version": 0},
                   user="admin")
    assert leaf.status == 200 and leaf.json["level"] == 3
    assert api.put("/admin/categories/C02990101", json={"name": "太深", "parent": "C029901", "expected_version": 0},
                   user="admin").status == 400
    assert api.put("/admin/categories/C0299", json={"name": "二手车", "expected_version": 0},
                   user="admin").status == 409  # stale version
    assert api.put("/admin/categories/C0299", json={"name": "二手车", "parent": "C03", "expected_version": 1},
                   user="admin").status == 409  # a category keeps its parent
    renamed = api.put("/admin/categories/C0299", json={"name": "二手车交易纠纷", "parent": "C02", "expected_version": 1},
                      user="admin")
    assert renamed.status == 200 and renamed.json["_version"] == 2

    ticket = _register(api, category_code="C029901")
    assert ticket.status == 201, ticket.body
    tid = ticket.json["tickets"][0]["id"]
    assert ticket.json["tickets"][0]["category"] == "C029901"
    assert ticket.json["tickets"][0]["category_path"] == ["市场监管", "二手车交易纠纷", "里程表篡改"]

    blocked = api.post("/admin/categories/C0299/retire", json={"reason": "并入网络交易", "expected_version": 2},
                       user="admin")
    assert blocked.status == 409 and blocked.json["error"]["details"]["active_children"] == ["C029901"]
    assert api.post("/admin/categories/C029901/retire", json={"reason": "并入网络交易", "expected_version": 1},
                    user="admin").status == 200
    retired = api.post("/admin/categories/C0299/retire", json={"reason": "并入网络交易", "expected_version": 2},
                       user="admin")
    assert retired.status == 200 and retired.json["active"] is False and retired.json["retired_by"] == "admin"

    # history intact: listed as retired, not offered, the old ticket still shows its path
    flat = _flat(api)
    assert flat["C0299"]["active"] is False and flat["C0299"]["retire_reason"] == "并入网络交易"
    market = next(n for n in api.get("/categories", user="agent").json["tree"] if n["code"] == "C02")
    assert "C0299" not in {c["code"] for c in market["children"]}
    old = api.get(f"/tickets/{tid}", user="manager").json
    assert old["category"] == "C029901" and old["category_label"] == "市场监管 / 二手车交易纠纷 / 里程表篡改"

    refused = _register(api, category_code="C029901")
    assert refused.status == 400 and "category_code" in refused.json["error"]["details"]

    # a child is not reinstated under a retired parent; the parent first, then it
    assert api.post("/admin/categories/C029901/reinstate", json={"expected_version": 2}, user="admin").status == 409
    assert api.post("/admin/categories/C0299/reinstate", json={"expected_version": 3}, user="admin").status == 200
    assert api.post("/admin/categories/C029901/reinstate", json={"expected_version": 2}, user="admin").status == 200
    assert _register(api, category_code="C029901").status == 201


def test_category_changes_are_admin_only_and_bad_input_is_a_400(api):
    body = {"name": "测试", "parent": "C02", "expected_version": 0}
    for user in ("manager", "dispatcher", "agent", "handler"):
        assert api.put("/admin/categories/C0298", json=body, user=user).status == 403, user
    cases = [
        ("/admin/categories/bad code", {"name": "x", "expected_version": 0}, "code"),
        ("/admin/categories/C0298", {"name": " ", "parent": "C02", "expected_version": 0}, "name"),
        ("/admin/categories/C0298", {"name": "x", "parent": "NOPE", "expected_version": 0}, "parent"),
        ("/admin/categories/C0298", {"name": "x", "parent": "C02", "expected_version": 0, "x": 1}, "x"),
    ]
    for path, payload, field in cases:
        answer = api.put(path, json=payload, user="admin")
        assert answer.status == 400, (path, answer.body)
        assert any(field in key for key in answer.json["error"]["details"]), answer.json
    assert "C0298" not in _flat(api)
    assert api.post("/admin/categories/NOPE/retire", json={"reason": "x", "expected_version": 1},
                    user="admin").status == 404


def test_registration_takes_a_code_and_refuses_unknown_codes_and_free_text(api):
    ok = _register(api, category_code="C020101")
    assert ok.status == 201, ok.body
    shown = ok.json["tickets"][0]
    assert shown["category"] == "C020101" and shown["category_code"] == "C020101"
    assert shown["category_label"] == "市场监管 / 商品质量 / 家用电器"

    for fields, field in (({"category_code": "C9999"}, "category_code"),
                          ({"category_code": "c020101"}, "category_code"),
                          ({"category": "我自己写的分类"}, "category"),
                          ({"category_code": "C020101", "category": "食品安全"}, "category")):
        answer = _register(api, **fields)
        assert answer.status == 400, (fields, answer.body)
        assert field in answer.json["error"]["details"], answer.json
    # a legacy name of exactly one category is taken as its code (old clients, the seed's demo)
    legacy = _register(api, category="食品安全")
    assert legacy.status == 201 and legacy.json["tickets"][0]["category"] == "C0202"
    # acceptance re-classifies with a code too, and refuses an unknown one
    tid = ok.json["tickets"][0]["id"]
    assert api.post(f"/tickets/{tid}/accept", json={"category": "C9999", "district": "GUSU"},
                    user="agent").status == 400
    accepted = api.post(f"/tickets/{tid}/accept", json={"category": "C020104", "district": "GUSU"}, user="agent")
    assert accepted.status == 200 and accepted.json["category"] == "C020104"


def test_statistics_by_category_level(api):
    from chalicelib.store.tickets import TicketRepository
    from tests.analytics.helpers import feed, record

    registered = [_register(api, category_code=code) for code in ("C020101", "C020102", "C0202", "C0101")]
    assert all(r.status == 201 for r in registered), [r.body for r in registered]
    repository = TicketRepository()
    feed([record(None, repository.get(r.json["tickets"][0]["id"])) for r in registered])
    day = clock.now().date().isoformat()

    def breakdown(by):
        answer = api.get(f"/stats/events?from={day}&to={day}&by={by}", user="manager")
        assert answer.status == 200, answer.body
        return {r["keys"][by]: (r["labels"][by], r["values"]["received"]) for r in answer.json["rows"]}

    assert breakdown("category_l1") == {"C02": ("市场监管", 3), "C01": ("城乡建设", 1)}
    assert breakdown("category_l2") == {"C0201": ("市场监管 / 商品质量", 2), "C0202": ("市场监管 / 食品安全", 1),
                                        "C0101": ("城乡建设 / 物业服务", 1)}
    leaves = breakdown("category")
    assert leaves["C020101"] == ("市场监管 / 商品质量 / 家用电器", 1)
    scoped = api.get(f"/stats/events?from={day}&to={day}&by=category_l1", user="handler")  # MARKET's: none yet
    assert scoped.status == 200 and scoped.json["rows"] == [], scoped.body
    # 具体问题: a ticket registered at a 事项 has none (未分类)
    assert breakdown("category_l3") == {"C020101": ("市场监管 / 商品质量 / 家用电器", 1),
                                        "C020102": ("市场监管 / 商品质量 / 数码产品", 1), "-": ("未分类", 2)}

    # the general query groups and filters by any level, crossed with another dimension
    def query(spec):
        answer = api.post("/stats/query", json={"period": {"from": day, "to": day}, "measures": ["received"], **spec},
                          user="manager")
        assert answer.status == 200, answer.body
        return answer.json
    crossed = query({"dimensions": ["category_l1", "kind"]})
    assert crossed["dimensions"][0] == {"name": "category_l1", "label": "类别（领域）"}
    assert {(r["keys"]["category_l1"], r["labels"]["category_l1"], r["keys"]["kind"]): r["values"]["received"]
            for r in crossed["rows"]} == {("C02", "市场监管", "complaint"): 3, ("C01", "城乡建设", "complaint"): 1}
    within = query({"dimensions": ["category_l2"], "filters": {"category_l1": ["C02"]}})
    assert {r["keys"]["category_l2"]: r["values"]["received"] for r in within["rows"]} == {"C0201": 2, "C0202": 1}
    assert within["total"]["received"] == 3
    levels = {d["name"]: d["label"] for d in api.get("/stats/measures", user="manager").json["dimensions"]}
    assert levels["category_l3"] == "类别（具体问题）"
    bad = api.post("/stats/query", json={"measures": ["received"], "dimensions": ["category_l4"]}, user="manager")
    assert bad.status == 400 and "dimensions" in bad.json["error"]["details"]

    # a level row lists the tickets behind it (its subtree's codes)
    drilled = api.get(f"/stats/drilldown?measure=received&from={day}&to={day}&category_l2=C0201", user="manager")
    assert drilled.status == 200, drilled.body
    ids = {r.json["tickets"][0]["id"] for r in registered[:2]}
    assert {item["ticket_id"] for item in drilled.json["items"]} == ids
    wrong_level = api.get(f"/stats/drilldown?measure=received&from={day}&to={day}&category_l1=C0201", user="manager")
    assert wrong_level.status == 400 and "category_l1" in wrong_level.json["error"]["details"]


def test_reply_templates_are_linked_to_categories_and_filtered_by_the_tickets(api):
    text = "您反映的家电质量问题已由承办部门处理。"
    linked = api.put("/reply-templates/appliance", json={"title": "家电答复", "text": text, "use": "reply",
                                                          "category": "C0201", "expected_version": 0}, user="manager")
    assert linked.status == 200, linked.body
    bad = api.put("/reply-templates/bad", json={"title": "x", "text": "x", "use": "reply", "category": "C9999",
                                                 "expected_version": 0}, user="manager")
    assert bad.status == 400 and "category" in bad.json["error"]["details"]

    def ids(category):
        answer = api.get(f"/reply-templates?use=reply&category={category}", user="agent")
        assert answer.status == 200, answer.body
        return {t["id"] for t in answer.json["items"]}

    under = ids("C020101")  # a 具体问题 under 商品质量 gets the template, with the unlinked ones
    assert "appliance" in under and "mediation-settled" in under
    elsewhere = ids("C0202")
    assert "appliance" not in elsewhere and "mediation-settled" in elsewhere
