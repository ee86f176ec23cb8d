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
