"""The category suggestions stored at registration, how good they were, and the category model that learns
from the city's own tickets (issue 19 item 3; services/category_suggestions.py, dispatch/category_model*.py).

One seeded moto AWS for the module (``module_api``); the training data are tickets registered here, their
texts built from a few phrases per category of the default tree.
"""
from __future__ import annotations

import itertools
from typing import Any, Iterator

import pytest

NOISE = "C080101"  # 公共安全 / 噪音扰民 / 邻里噪音: no keyword of it in the texts below
FEES = "C010101"  # 城乡建设 / 物业服务 / 物业收费
APPLIANCE = "C020101"  # 市场监管 / 商品质量 / 家用电器: too few tickets to be learnt
MIN_EXAMPLES = 7
PROBE = "楼上深夜拖桌椅咚咚响，吵得睡不着"

NOISE_TEXTS = [f"{who}{what}，{effect}" for who, what, effect in itertools.islice(itertools.product(
    ("楼上住户", "隔壁邻居", "对门住户", "楼下人家"),
    ("每天深夜拖动桌椅咚咚作响", "半夜打麻将大声喧哗", "每晚十一点后还在弹钢琴", "养的狗整夜吠叫"),
    ("孩子无法入睡", "吵得整晚睡不着", "上门沟通没有用")), 9)]
FEE_TEXTS = [f"{what}，{how}" for what, how in itertools.islice(itertools.product(
    ("物业突然把物业费每平方涨了一元", "物业公司停车费每月多收一百元", "物业强收电梯使用费", "物业费账目从不公示"),
    ("没有开业主大会", "也不给发票", "不交就停门禁卡")), 9)]
APPLIANCE_TEXTS = ["买的电饭煲三天就坏了，要求退货", "新买的洗衣机漏水，商家不给换", "空调装好就不制冷，要求退款"]
_phones = itertools.count(1)


@pytest.fixture(scope="module", autouse=True)
def no_category_model_between_modules() -> Iterator[None]:
    """The category model this module trains never outlives it (the container keeps a loaded model)."""
    from chalicelib.dispatch.category_model_registry import active_model

    active_model.reset()
    yield
    active_model.reset()


def body(text: str, code: str | None, **extra: Any) -> dict[str, Any]:
    phone = f"139{next(_phones):08d}"
    out = {"kind": "complaint", "channel": "phone",
           "complainant": {"name": "周八", "phone": phone, "address": "苏州市姑苏区十全街8号"},
           "respondent": {"name": "某单位", "address": "苏州市姑苏区十全街10号"},
           "request": "要求处理", "facts": text, **extra}
    if code:
        out["category_code"] = code
    return out


def register(api: Any, data: dict[str, Any], user: str = "agent") -> dict[str, Any]:
    answer = api.post("/tickets", json=data, user=user)
    assert answer.status == 201, answer.body
    return answer.json["tickets"][0]


def suggested(api: Any, text: str) -> dict[str, Any]:
    answer = api.post("/dispatch/recommend", json={"text": text}, user="agent")
    assert answer.status == 200, answer.body
    return answer.json["categories"]


def stored(api: Any, ticket_id: str) -> dict[str, Any]:
    return api.get(f"/tickets/{ticket_id}", user="manager").json["category_suggestion"]


def figures(api: Any, user: str = "admin") -> dict[str, Any]:
    answer = api.get("/admin/category-model/figures", user=user)
    assert answer.status == 200, answer.body
    return answer.json


def test_the_suggestion_shown_is_stored_with_the_ticket_and_whether_the_first_was_taken(module_api):
    api = module_api
    shown = suggested(api, APPLIANCE_TEXTS[0])
    assert shown["items"][0]["code"] == APPLIANCE
    taken = register(api, body(APPLIANCE_TEXTS[0], APPLIANCE, category_suggestion=shown))
    record = stored(api, taken["id"])
    assert record["source"] == "shown" and record["method"] == "keywords" and record["first_taken"] is True
    assert [i["code"] for i in record["items"]] == [i["code"] for i in shown["items"]]
    assert record["items"][0]["confidence_bp"] == round(shown["items"][0]["confidence"] * 10_000)
    other = register(api, body(APPLIANCE_TEXTS[0], "C020102", category_suggestion=shown))  # 数码产品 chosen instead
    assert stored(api, other["id"])["first_taken"] is False

    # no suggestion sent (an older client, another channel): the one worked out at registration
    computed = register(api, body(APPLIANCE_TEXTS[0], APPLIANCE))
    record = stored(api, computed["id"])
    assert record["source"] == "computed" and record["method"] == "keywords"
    assert record["items"][0]["code"] == APPLIANCE and record["first_taken"] is True
    vague = register(api, body("您好，我想反映一下上次那个事情", None))
    assert stored(api, vague["id"])["abstain"] == "no_match" and stored(api, vague["id"])["first_taken"] is None

    # the web form: computed at registration; a citizen cannot send one
    web = body(APPLIANCE_TEXTS[0], None)
    assert api.post("/public/tickets", json={**{k: v for k, v in web.items() if k != "channel"},
                                             "category_suggestion": shown}).status == 400
    from chalicelib.domain.ticket import Actor
    from chalicelib.services import tickets as service

    [citizens] = service.register({**web, "channel": "web"}, Actor(username="citizen", role="citizen")).tickets
    assert citizens.category_suggestion.source == "computed"
    assert citizens.category_suggestion.items[0].code == APPLIANCE and citizens.category_suggestion.first_taken is None
    assert stored(api, vague["id"])["abstain"] == "no_match" and stored(api, vague["id"])["first_taken"] is None


@pytest.mark.parametrize("bad, field", [
    ({"items": [{"code": "C9999", "confidence": 0.5}], "abstain": None, "method": "keywords"}, "items[0].code"),
    ({"items": [{"code": APPLIANCE, "confidence": 2}], "abstain": None, "method": "keywords"}, "items[0].confidence"),
    ({"items": "C020101", "abstain": None, "method": "keywords"}, "items"),
    ({"items": [], "abstain": "guess", "method": "keywords"}, "abstain"),
    ({"items": [], "abstain": "no_match", "method": "magic"}, "method"),
    ({"items": [], "abstain": "no_match", "extra": 1}, "extra"),
    ("C020101", ""),
])
def test_a_bad_suggestion_is_a_400_naming_it_and_registers_nothing(module_api, bad, field):
    api = module_api
    data = body(APPLIANCE_TEXTS[2], None, category_suggestion=bad)
    answer = api.post("/tickets", json=data, user="agent")
    assert answer.status == 400, answer.body
    error = answer.json["error"]
    assert error["code"] and f"category_suggestion{'.' + field if field else ''}" in error["details"], error
    # nothing was registered: the same complaint without it is new, not a repeat (Art. 35)
    again = api.post("/tickets", json={k: v for k, v in data.items() if k != "category_suggestion"}, user="agent")
    assert again.status == 201 and again.json["tickets"], again.body


def test_hit_rates_of_the_stored_suggestions_against_the_final_category(module_api):
    api = module_api
    before = figures(api)

    def shown(*codes: str, method: str = "keywords") -> dict[str, Any]:
        items = [{"code": c, "confidence": round(0.6 - 0.1 * i, 2), "method": method} for i, c in enumerate(codes)]
        return {"items": items, "abstain": None if items else "no_match", "method": method}

    register(api, body(APPLIANCE_TEXTS[0], APPLIANCE, category_suggestion=shown(APPLIANCE, "C020102")))  # top-1
    register(api, body(APPLIANCE_TEXTS[1], APPLIANCE, category_suggestion=shown("C020102", APPLIANCE)))  # top-3
    register(api, body(APPLIANCE_TEXTS[2], APPLIANCE, category_suggestion=shown()))  # abstained: a miss
    register(api, body(APPLIANCE_TEXTS[2], APPLIANCE, category_suggestion=shown("C0201")))  # its 事项: a hit
    register(api, body(FEE_TEXTS[0], FEES, category_suggestion=shown(NOISE, method="model")))  # the model, wrong
    after = figures(api)
    delta = {m: {k: after["by_method"][m][k] - before["by_method"][m][k] for k in ("n", "suggested", "abstained",
                                                                                  "top1", "top3")}
             for m in ("keywords", "model")}
    assert delta["keywords"] == {"n": 4, "suggested": 3, "abstained": 1, "top1": 2, "top3": 3}
    assert delta["model"] == {"n": 1, "suggested": 1, "abstained": 0, "top1": 0, "top3": 0}
    for row in (*after["by_method"].values(), after["overall"]):
        assert row["top1_rate"] == round(row["top1"] / row["n"], 4) and row["top3_rate"] == round(row["top3"] / row["n"], 4)
    assert after["overall"]["n"] == after["by_method"]["keywords"]["n"] + after["by_method"]["model"]["n"]
    assert after["first_taken"]["n"] - before["first_taken"]["n"] == 4
    assert after["first_taken"]["taken"] - before["first_taken"]["taken"] == 1


def test_who_may_see_the_model_figures_and_bad_dates(module_api):
    api = module_api
    assert figures(api, "manager")["overall"]["n"] >= 0
    for user in ("agent", "dispatcher", "handler"):
        assert api.get("/admin/category-model/figures", user=user).status == 403
    assert api.get("/admin/category-model", user="manager").status == 403
    assert api.get("/admin/category-model/figures").status == 401
    for query, field in (("from=2026-13-01", "from"), ("from=2026-01-01&to=2026-12-31", "from"),
                         ("from=2026-03-02&to=2026-03-01", "from"), ("since=2026-01-01", "since")):
        answer = api.get(f"/admin/category-model/figures?{query}", user="admin")
        assert answer.status == 400, (query, answer.body)
        assert answer.json["error"]["code"] and answer.json["error"]["message"]


def test_the_model_learns_the_categories_agents_chose_and_takes_over_from_keywords(module_api, monkeypatch):
    from chalicelib.dispatch import category_model_training
    from chalicelib.dispatch.training import TrainConfig
    from chalicelib.services import categories, clock

    api = module_api
    assert suggested(api, PROBE) == {"items": [], "abstain": "no_match", "method": "keywords"}
    assert api.get("/admin/category-model", user="admin").json["active"] is None
    ids = {NOISE: [register(api, body(t, NOISE))["id"] for t in NOISE_TEXTS],
           FEES: [register(api, body(t, FEES))["id"] for t in FEE_TEXTS]}
    judged = {i for code in ids.values() for i in code[-2:]}  # the last two of each: held out, for the verdict
    monkeypatch.setattr(category_model_training, "held_out", lambda ticket_id: ticket_id in judged)

    config = TrainConfig(duty_documents=False, knowledge=False, calibration_folds=3)
    result = category_model_training.train(categories.tree(), {}, now=clock.now(), min_examples=MIN_EXAMPLES,
                                           config=config)
    assert result.status == "promoted", result
    assert set(result.labels) == {NOISE, FEES} and result.labels[NOISE] == 7  # FEES: the figures test's one too
    assert all(n < MIN_EXAMPLES for n in result.below_minimum.values())  # e.g. the appliance tickets: keywords stay
    assert result.held_out == 4 and result.candidate_top1 == 1.0 and result.current_top1 is not None
    assert result.current_top1 < result.candidate_top1  # keywords alone missed the noise tickets
    same = category_model_training.train(categories.tree(), {}, now=clock.now(), min_examples=MIN_EXAMPLES,
                                         config=config)
    assert same.status == "unchanged"  # nothing new to learn from

    model = api.get("/admin/category-model", user="admin").json
    assert model["active"]["version"] == result.candidate_version
    assert [v["labels"] for v in model["versions"] if v["active"]] == [[FEES, NOISE]]
    now = suggested(api, PROBE)
    assert now["method"] == "model" and now["items"][0]["code"] == NOISE and now["items"][0]["method"] == "model"
    assert now["model_version"] == result.candidate_version
    appliance = suggested(api, "买的电饭煲用了三天就坏了，商家拒绝退货")
    assert appliance["items"][0]["code"] == APPLIANCE and appliance["items"][0]["method"] == "keywords"

    # registered without a suggestion: the model's, computed then, and counted under the model
    before = figures(api)["by_method"]["model"]
    ticket = register(api, body("隔壁邻居每晚十一点后还在弹钢琴，吵得整晚睡不着", NOISE))
    record = stored(api, ticket["id"])
    assert record["method"] == "model" and record["model_version"] == result.candidate_version
    assert record["first_taken"] is True
    after = figures(api)["by_method"]["model"]
    assert (after["n"] - before["n"], after["top1"] - before["top1"]) == (1, 1)

    # admins choose the version in force: the same again is a 409, an unknown one a 404, others may not
    path = f"/admin/category-model/versions/{result.candidate_version}/promote"
    assert api.post(path, json={}, user="admin").status == 409
    assert api.post(path, json={}, user="manager").status == 403
    assert api.post("/admin/category-model/versions/category-none/promote", json={}, user="admin").status == 404
    assert api.post("/admin/category-model/versions/bad%20name/promote", json={}, user="admin").status == 400
    assert api.post(path, json={"reason": ""}, user="admin").status == 400

