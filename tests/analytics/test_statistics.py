"""Every statistic on the hand-worked month of tests/analytics/dataset.py (March 2030)."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from chalicelib.analytics import counters, drilldown, statistics
from chalicelib.analytics.period import Period, month_period, parse
from chalicelib.analytics.statistics import Query
from chalicelib.domain.errors import Forbidden, ValidationFailed
from tests.analytics.dataset import TOTALS

MARCH = month_period(2030, 3)


def rows(result, dimension):
    return {r["keys"][dimension]: r["values"] for r in result["rows"]}


def test_totals_are_the_hand_worked_ones(march):
    assert +statistics.sums(MARCH) == Counter(TOTALS)
    assert statistics.sums(month_period(2030, 2)) == Counter()


def test_overview(march):
    answer = statistics.overview(MARCH)
    figures = {f["name"]: f for f in answer["figures"]}
    assert figures["received"]["value"] == 5 and figures["received"]["previous"] == 0
    assert figures["received"]["change_pct"] is None  # nothing to compare with
    assert figures["sign_rate"]["value"] == 50.0
    assert figures["handle_rate"]["value"] == 100.0
    assert figures["satisfaction_rate"]["value"] == 50.0 and figures["solved_rate"]["value"] == 50.0
    assert figures["closed_on_time_rate"]["value"] == 50.0  # T1 on time; T2 closed by its evaluation, late
    assert figures["return_rate"]["value"] == 0.0 and figures["extension_rate"]["value"] == 0.0
    assert figures["avg_handle_hours"]["value"] == 63.0
    assert figures["avg_total_hours"]["value"] == 210.0  # T1 170 h, T2 250 h
    assert figures["warned_red"]["value"] == 1 and figures["supervised"]["value"] == 1
    assert answer["staff"]["active"] == 2  # agent and agent2
    daily = {d["day"]: d["received"] for d in answer["daily"] if d["received"]}
    assert daily == {"2030-03-04": 1, "2030-03-05": 1, "2030-03-06": 2, "2030-03-10": 1}


def test_event_analysis(march):
    assert {k: v["received"] for k, v in rows(statistics.events(MARCH, "channel"), "channel").items()} == \
        {"phone": 2, "web": 1, "hotline_12345": 1, "upper_level": 1}
    assert {k: v["received"] for k, v in rows(statistics.events(MARCH, "kind"), "kind").items()} == \
        {"complaint": 3, "report": 1, "inquiry": 1}
    by_category = rows(statistics.events(MARCH, "category"), "category")
    assert {k: v["received"] for k, v in by_category.items()} == {"食品安全": 2, "商品质量": 1, "政策咨询": 1, "价格": 1}
    assert by_category["食品安全"]["declined"] == 1 and by_category["价格"]["accepted"] == 1
    assert {k: v["received"] for k, v in rows(statistics.events(MARCH, "district"), "district").items()} == \
        {"GUSU": 2, "WUZHONG": 1, "XIANGCHENG": 1, "-": 1}
    respondents = statistics.events(MARCH, "respondent")
    assert [(r["labels"]["respondent"], r["values"]["received"]) for r in respondents["rows"]][0] == ("甲超市", 2)
    assert sorted(r["values"]["received"] for r in respondents["rows"]) == [1, 1, 1, 2]
    kinds = statistics.events(MARCH, "kind")
    assert {r["keys"]["kind"]: r["labels"]["kind"] for r in kinds["rows"]}["complaint"] == "投诉"


def test_efficiency_by_department(march):
    result = statistics.efficiency(MARCH, "department")
    market, urban = rows(result, "department")["MARKET"], rows(result, "department")["URBAN"]
    assert (market["dispatched"], market["signed"], market["sign_rate"]) == (3, 3, 66.67)
    assert (market["submitted"], market["handle_rate"], market["urged"], market["urged_upper"]) == (3, 100.0, 2, 1)
    assert (market["supervised"], market["warned_red"], market["settled"], market["satisfaction_rate"]) == \
        (1, 1, 1, 100.0)
    assert (urban["dispatched"], urban["sign_rate"], urban["not_settled"], urban["satisfaction_rate"]) == \
        (1, 0.0, 2, 0.0)
    assert urban["mediation_success_rate"] == 0.0 and market["mediation_success_rate"] == 100.0
    assert result["total"]["dispatched"] == 4 and result["total"]["sign_rate"] == 50.0
    assert {r["labels"]["department"] for r in result["rows"]} == {"市场监督管理局", "城市管理局"}  # "-" has none of these


def test_efficiency_by_district_and_integration(march):
    by_district = rows(statistics.efficiency(MARCH, "district"), "district")
    assert by_district["XIANGCHENG"]["urged"] == 2 and by_district["XIANGCHENG"]["sign_rate"] == 0.0
    assert by_district["GUSU"]["sign_rate"] == 100.0
    integration = statistics.integration(MARCH)
    assert integration["received"] == {"upper_level": 1, "hotline_12345": 1}
    assert {f["name"]: f["value"] for f in integration["figures"]}["urged_upper"] == 1
    assert integration["reconciliation"][0] == {"name": "upper", "label": "上级交办闭环", "in": 1, "out": 0, "open": 1}


def test_queries_cross_dimensions_filter_and_follow_time(march):
    crossed = statistics.run(Query.build(MARCH, {"dimensions": ["district", "kind"], "measures": ["received"],
                                                 "filters": {"category": ["食品安全"]}}))
    assert crossed["source"] == "cube"
    assert {(r["keys"]["district"], r["keys"]["kind"]): r["values"]["received"] for r in crossed["rows"]} == \
        {("GUSU", "complaint"): 1, ("GUSU", "report"): 1}
    daily = statistics.run(Query.build(MARCH, {"dimensions": ["day"], "measures": ["signed", "sign_rate"]}))
    assert len(daily["rows"]) == 31 and daily["rows"][0]["keys"]["day"] == "2030-03-01"
    assert [(r["keys"]["day"], r["values"]["signed"]) for r in daily["rows"] if r["values"]["signed"]] == \
        [("2030-03-04", 1), ("2030-03-05", 1), ("2030-03-07", 1), ("2030-03-26", 1)]
    assert daily["rows"][3]["values"]["sign_rate"] == 100.0 and daily["rows"][0]["values"]["sign_rate"] is None
    part = Period(date(2030, 3, 1), date(2030, 3, 10))
    assert statistics.sums(part)["signed"] == 3 and statistics.sums(part)["received"] == 5
    by_agent = statistics.run(Query.build(MARCH, {"dimensions": ["agent"], "measures": ["received", "accepted",
                                                                                     "callback"]}))
    assert rows(by_agent, "agent") == {"agent": {"received": 2, "accepted": 2, "callback": 1},
                                       "agent2": {"received": 1, "accepted": 1, "callback": 0}}
    with pytest.raises(ValidationFailed):
        statistics.run(Query.build(MARCH, {"dimensions": ["agent", "district"], "measures": ["received"]}))
    with pytest.raises(ValidationFailed):
        Query.build(MARCH, {"measures": ["no_such_measure"]})


def test_department_scope(march):
    scoped = statistics.efficiency(MARCH, "district", department="URBAN")
    assert rows(scoped, "district") == {"WUZHONG": rows(scoped, "district")["WUZHONG"]}
    assert scoped["total"]["dispatched"] == 1
    assert statistics.overview(MARCH, "MARKET")["figures"][4]["value"] == 3  # dispatched to MARKET
    with pytest.raises(Forbidden):
        Query.build(MARCH, {"measures": ["received"], "filters": {"department": ["URBAN"]}}).scoped("MARKET")
    with pytest.raises(Forbidden):
        Query.build(MARCH, {"dimensions": ["agent"], "measures": ["received"]}).scoped("MARKET")


def test_drilldown_lists_the_tickets_behind_a_figure(march):
    desk, ids = march
    late, _ = drilldown.facts("sign_late", MARCH, {})
    assert sorted(f["ticket_id"] for f in late) == sorted([ids["T2"], ids["T5"]])
    market_late, _ = drilldown.facts("sign_late", MARCH, {"department": "MARKET"})
    assert [f["ticket_id"] for f in market_late] == [ids["T5"]]
    received_gusu = drilldown.page("received", MARCH, {"district": "GUSU"})
    assert sorted(i["ticket_id"] for i in received_gusu["items"]) == sorted([ids["T1"], ids["T3"]])
    assert all(i["ticket"]["complainant"].endswith("*") for i in received_gusu["items"])  # masked summaries
    first, cursor = drilldown.facts("received", MARCH, {}, limit=2)
    rest, end = drilldown.facts("received", MARCH, {}, limit=10, cursor=cursor)
    assert len(first) == 2 and end is None and {f["ticket_id"] for f in first + rest} == set(ids.values())
    respondent = counters.respondents_month("2030-03", MARCH)
    key = next(k for k, (name, _) in respondent.items() if name == "甲超市")
    assert sorted(f["ticket_id"] for f in drilldown.facts("received", MARCH, {"respondent": key})[0]) == \
        sorted([ids["T1"], ids["T2"]])
    with pytest.raises(ValidationFailed):
        drilldown.facts("sign_rate", MARCH, {})


def test_year_and_quarter_periods_read_whole_months(march):
    quarter = parse("2030-Q1")
    assert statistics.sums(quarter)["received"] == 5
    top = statistics.events(quarter, "respondent")  # whole months: the year's top list (3+ tickets only)
    assert top["rows"] == []  # 甲超市 has 2 tickets: not yet a pattern
    with pytest.raises(ValidationFailed):
        statistics.events(Period(date(2030, 1, 15), date(2030, 4, 15)), "respondent")
    assert [quarter.covers_month(m) for m in ("2029-12", "2030-01", "2030-03", "2030-04")] == [False, True, True, False]
    part = Period(date(2030, 1, 15), date(2030, 4, 30))
    assert [part.covers_month(m) for m in part.months()] == [False, True, True, True]
    assert parse("2028-02").covers_month("2028-02") and not Period(date(2028, 2, 1), date(2028, 2, 28)).covers_month("2028-02")


# --------------------------------------------------------------------------- over HTTP


def test_statistics_routes_scope_departments(march, api):
    city = api.get("/stats/overview?period=2030-03", user="manager").json
    assert {f["name"]: f["value"] for f in city["figures"]}["received"] == 5
    own = api.get("/stats/efficiency?period=2030-03&by=district", user="handler").json  # MARKET's handler
    assert own["filters"] == {"department": ["MARKET"]} and own["total"]["dispatched"] == 3
    assert api.get("/stats/events?period=2030-03&by=respondent", user="handler").status == 403
    assert api.post("/stats/query", json={"measures": ["received"], "filters": {"department": ["URBAN"]},
                                          "period": "2030-03"}, user="dept_lead").status == 403
    assert api.get("/stats/events?by=nonsense", user="manager").status == 400
    assert api.get("/stats/overview?from=2030-03-31&to=2030-03-01", user="manager").status == 400
    integration = api.get("/stats/integration?from=2030-03-01&to=2030-03-31", user="agent").json
    assert integration["received"]["upper_level"] == 1
    drill = api.get("/stats/drilldown?period=2030-03&measure=sign_late", user="handler").json
    assert [i["ticket_id"] for i in drill["items"]] == [march[1]["T5"]]
    assert api.get("/stats/drilldown?period=2030-03&measure=sign_late&department=URBAN", user="handler").status == 403
    catalogue = api.get("/stats/measures", user="agent").json
    assert {"name": "received", "label": "登记量", "drillable": True} in catalogue["measures"]
    assert {"name": "sign_seconds", "label": "签收用时(秒)", "drillable": False} in catalogue["measures"]


def test_templates_are_saved_by_managers_and_run_by_everyone(march, api):
    spec = {"name": "各属地食品投诉", "dimensions": ["district"], "measures": ["received", "satisfaction_rate"],
            "filters": {"category": ["食品安全"]}, "period": "2030-03"}
    assert api.post("/stats/templates", json=spec, user="dispatcher").status == 403
    created = api.post("/stats/templates", json=spec, user="manager")
    assert created.status == 201
    template = created.json
    ran = api.post(f"/stats/templates/{template['id']}/run", json={}, user="manager").json
    assert {r["keys"]["district"]: r["values"]["received"] for r in ran["rows"]} == {"GUSU": 2}
    assert ran["template"]["name"] == "各属地食品投诉"
    assert [(m["name"], m["drillable"]) for m in ran["measures"]] == [("received", True), ("satisfaction_rate", False)]
    other = api.post(f"/stats/templates/{template['id']}/run", json={"period": "2030-02"}, user="agent").json
    assert other["rows"] == [] and other["period"]["label"] == "2030-02"
    changed = api.put(f"/stats/templates/{template['id']}", json={**spec, "name": "食品投诉（属地）",
                                                                   "expected_version": template["version"]},
                      user="manager")
    assert changed.status == 200 and changed.json["name"] == "食品投诉（属地）"
    stale = api.put(f"/stats/templates/{template['id']}", json={**spec, "expected_version": template["version"]},
                    user="manager")
    assert stale.status == 409
    assert api.post("/stats/templates", json={**spec, "measures": ["nope"]}, user="manager").status == 400
    assert template["id"] in [t["id"] for t in api.get("/stats/templates", user="handler").json["templates"]]


def test_indicators_and_scores_over_http(march, api):
    indicators = api.get("/assessment/indicators?audience=department", user="manager").json["indicators"]
    sign = next(i for i in indicators if i["id"] == "dept-sign-rate")
    assert sign.get("default") and sign["version"] == 0
    body = {k: sign[k] for k in ("name", "audience", "formula", "weight", "rule", "target", "direction", "unit")}
    changed = api.put("/assessment/indicators/dept-sign-rate", json={**body, "weight": 30, "expected_version": 0},
                      user="manager")
    assert changed.status == 200 and changed.json["weight"] == 30 and changed.json["version"] == 2
    added = api.post("/assessment/indicators", json={
        "name": "督办率", "audience": "department", "formula": "supervised / dispatched", "weight": 10,
        "rule": {"type": "linear", "floor": 0.2}, "target": 0.0, "direction": "lower"}, user="manager")
    assert added.status == 201
    assert api.post("/assessment/indicators", json={**body, "formula": "import os"}, user="manager").status == 400
    run = api.post("/assessment/runs", json={"period": "2030-03", "audience": "department"}, user="manager").json
    assert run["scores"][0]["subject"] == "MARKET" and len(run["indicators"]) == 9
    own = api.get("/assessment/scores?period=2030-03&audience=department", user="dept_lead").json
    assert [r["subject"] for r in own["scores"]] == ["MARKET"] and own["scores"][0]["rank"] == 1
    assert api.get("/assessment/scores?period=2030-03&audience=agent", user="handler").status == 403
    trace = api.get("/assessment/trace?period=2030-03&audience=department&subject=MARKET&indicator=dept-sign-rate",
                    user="dept_lead").json
    late = next(d for d in trace["drilldown"] if d["measure"] == "sign_late")
    assert late["count"] == 1 and [i["ticket_id"] for i in late["tickets"]["items"]] == [march[1]["T5"]]
    assert api.get("/assessment/trace?period=2030-03&audience=department&subject=URBAN&indicator=dept-sign-rate",
                   user="dept_lead").status == 403
    # put the defaults back for the other tests of the package
    restored = api.put("/assessment/indicators/dept-sign-rate", json={**body, "expected_version": 2}, user="manager")
    assert restored.status == 200 and restored.json["weight"] == sign["weight"]
    retired = api.put(f"/assessment/indicators/{added.json['id']}", json={
        "name": "督办率", "audience": "department", "formula": "supervised / dispatched", "weight": 10,
        "rule": {"type": "linear", "floor": 0.2}, "target": 0.0, "direction": "lower", "active": False,
        "expected_version": added.json["version"]}, user="manager")
    assert retired.status == 200 and retired.json["active"] is False
    assert len(api.post("/assessment/runs", json={"period": "2030-03", "audience": "department"},
                        user="manager").json["indicators"]) == 8
    hot = api.get("/hotspots?date=2030-03-31", user="dispatcher").json
    assert hot["alpha"] == 0.05 and hot["window_days"] == 7 and isinstance(hot["hotspots"], list)
