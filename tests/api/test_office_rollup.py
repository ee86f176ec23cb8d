"""Grassroots offices (基层所) under their department (issue 19, item 2): the department lead's queues
merge the offices' work, and the statistics count an office's figures under its department, with
the office's share in the department's row. Everything through the API; the counters are fed with
the stream records of the ticket's real states, as the table's stream carries them."""
from __future__ import annotations

import itertools

from chalicelib.analytics import wall
from chalicelib.analytics.period import month_period
from chalicelib.domain.calendar import TZ
from chalicelib.services import tickets as service
from tests.analytics import helpers

_PHONES = itertools.count(13912340001)
COMPLAINT = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "王五", "phone": "13912345678", "address": "苏州市姑苏区十全街8号"},
    "respondent": {"name": "苏州某某超市", "address": "苏州市姑苏区凤凰街2号"},
    "request": "要求退款", "facts": "购买的牛奶已过保质期，商家拒绝退款。", "category": "食品安全",
}


class Stream:
    """The ticket item's stream records, taken from the stored states between API calls."""

    def __init__(self) -> None:
        self.records: list[dict] = []
        self.last: dict = {}

    def see(self, ticket_id: str) -> None:
        after = service.repository().get(ticket_id)
        self.records.append(helpers.record(self.last.get(ticket_id), after))
        self.last[ticket_id] = after

    def feed(self) -> None:
        helpers.feed(self.records)
        self.records = []


def _dispatched(api, department: str, stream: Stream | None = None) -> tuple[str, str]:
    """A ticket registered, accepted and dispatched to ``department``: (ticket id, assignment id)."""
    body = {**COMPLAINT, "complainant": {**COMPLAINT["complainant"], "phone": str(next(_PHONES))}}
    answer = api.post("/tickets", json=body, user="agent")
    assert answer.status == 201, answer.body
    tid = answer.json["tickets"][0]["id"]
    steps = [("agent", "accept", {"category": "食品安全", "district": "GUSU"}),
             ("dispatcher", "dispatch", {"mode": "single", "department": department})]
    if stream:
        stream.see(tid)
    for user, action, params in steps:
        done = api.post(f"/tickets/{tid}/{action}", json=params, user=user)
        assert done.status == 200, (action, done.body)
        if stream:
            stream.see(tid)
    return tid, done.json["assignments"][0]["id"]


def _queue(api, name: str, user: str, **query) -> dict:
    suffix = "&".join(f"{k}={v}" for k, v in query.items())
    answer = api.get(f"/queues/{name}" + (f"?{suffix}" if suffix else ""), user=user)
    assert answer.status == 200, answer.body
    return answer.json


def test_a_leads_queues_show_the_offices_work_each_row_naming_its_unit(api):
    office_tid, office_share = _dispatched(api, "MARKET-GUSU")
    own_tid, _ = _dispatched(api, "MARKET")
    other_tid, _ = _dispatched(api, "MARKET-WUZHONG")

    lead = _queue(api, "to_sign", "dept_lead")
    assert set(lead["offices"]) >= {"MARKET-GUSU", "MARKET-WUZHONG"}
    owners = {row["id"]: row["owner"] for row in lead["items"]}
    assert owners == {office_tid: "MARKET-GUSU", own_tid: "MARKET", other_tid: "MARKET-WUZHONG"}
    dues = [row["due"] for row in lead["items"]]
    assert dues == sorted(dues)  # one queue, merged by deadline

    # handlers keep their own unit's queue; another department sees none of it
    assert [r["id"] for r in _queue(api, "to_sign", "handler")["items"]] == [own_tid]
    assert [r["id"] for r in _queue(api, "to_sign", "handler-market-gusu")["items"]] == [office_tid]
    assert _queue(api, "to_sign", "handler-urban")["items"] == []
    assert api.put("/admin/users/lead-urban", json={"role": "dept_lead", "name": "城管局 负责人", "department": "URBAN"},
                   user="admin").status == 200
    assert _queue(api, "to_sign", "lead-urban")["items"] == []
    # the manager's wall counts the offices' queues in the city's backlog
    assert wall.count_backlog()["to_sign"] == 3

    # pages of one row each walk the merged queue once, in the same order
    seen, cursor = [], None
    for _ in range(6):
        page = _queue(api, "to_sign", "dept_lead", limit=1, **({"cursor": cursor} if cursor else {}))
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [r["id"] for r in lead["items"]] and cursor is None
    forged = api.get("/queues/to_sign?cursor=eyJVUkJBTiI6e319", user="dept_lead")  # {"URBAN":{}}
    assert forged.status == 400 and "cursor" in forged.json["error"]["details"]

    # signed by the office: in the lead's in-progress queue; urged: in the lead's urgings
    assert api.post(f"/tickets/{office_tid}/sign", json={"assignment_id": office_share},
                    user="handler-market-gusu").status == 200
    progress = _queue(api, "in_progress", "dept_lead")["items"]
    assert [(r["id"], r["owner"]) for r in progress] == [(office_tid, "MARKET-GUSU")]
    urged = api.post(f"/tickets/{office_tid}/urge", json={"department": "MARKET-GUSU", "text": "请尽快办理"},
                     user="manager")
    assert urged.status == 200, urged.body
    urgings = _queue(api, "urgings", "dept_lead")["items"]
    assert [(r["id"], r["owner"]) for r in urgings] == [(office_tid, "MARKET-GUSU")]
    assert _queue(api, "urgings", "handler-urban")["items"] == []

    # the lead's monitoring counts the offices' queues and their shares of the day's tickets
    day = service.repository().get(office_tid).created_at.astimezone(TZ).date().isoformat()
    watched = api.get(f"/monitoring/overview?from={day}&to={day}", user="dept_lead").json
    assert watched["queues"] == {"to_sign": 2, "in_progress": 1, "urgings": 1}
    assert watched["period"]["tickets"] == 3 and watched["period"]["urgings"] == 1
    assert api.get(f"/monitoring/overview?from={day}&to={day}", user="handler").status == 403  # leads watch
    other = api.get(f"/monitoring/overview?from={day}&to={day}", user="lead-urban").json
    assert set(other["queues"].values()) == {0} and other["period"]["tickets"] == 0


def _rows(answer: dict) -> dict:
    return {r["keys"]["department"]: r for r in answer["rows"]}


def test_statistics_count_an_offices_work_under_its_department(api):
    stream = Stream()
    office_tid, _ = _dispatched(api, "MARKET-GUSU", stream)
    own_tid, _ = _dispatched(api, "MARKET", stream)
    urban_tid, _ = _dispatched(api, "URBAN", stream)
    stream.feed()
    month = service.repository().get(office_tid).created_at.astimezone(TZ).strftime("%Y-%m")
    period = f"period={month}"

    city = api.get(f"/stats/efficiency?by=department&{period}", user="manager").json
    rows = _rows(city)
    assert "MARKET-GUSU" not in rows  # counted under its department, not beside it
    assert rows["MARKET"]["values"]["dispatched"] == 2 and rows["URBAN"]["values"]["dispatched"] == 1
    assert [(o["key"], o["values"]["dispatched"]) for o in rows["MARKET"]["offices"]] == [("MARKET-GUSU", 1)]
    assert rows["MARKET"]["offices"][0]["label"] == "姑苏市场监督管理所"
    assert "offices" not in rows["URBAN"]
    assert city["total"]["dispatched"] == 3
    on_wall = {r["code"]: r["dispatched"] for r in
               wall.compute(month_period(int(month[:4]), int(month[5:])))["by_department"]}
    assert on_wall == {"MARKET": 2, "URBAN": 1}  # the wall's breakdown rolls offices up as well

    # the lead of the department sees the office's work in its figures and can drill into it
    lead = api.get(f"/stats/efficiency?by=department&{period}", user="dept_lead").json
    assert list(_rows(lead)) == ["MARKET"] and _rows(lead)["MARKET"]["values"]["dispatched"] == 2
    overview = {f["name"]: f["value"] for f in api.get(f"/stats/overview?{period}", user="dept_lead").json["figures"]}
    assert overview["dispatched"] == 2
    drill = api.get(f"/stats/drilldown?{period}&measure=dispatched", user="dept_lead").json
    assert sorted(i["ticket_id"] for i in drill["items"]) == sorted([office_tid, own_tid])
    office_only = api.get(f"/stats/drilldown?{period}&measure=dispatched&department=MARKET-GUSU", user="dept_lead")
    assert office_only.status == 200 and [i["ticket_id"] for i in office_only.json["items"]] == [office_tid]
    one_office = api.post("/stats/query", json={"period": month, "measures": ["dispatched"], "dimensions": ["department"],
                                                "filters": {"department": ["MARKET-GUSU"]}}, user="dept_lead")
    assert one_office.status == 200, one_office.body
    assert {k: r["values"]["dispatched"] for k, r in _rows(one_office.json).items()} == {"MARKET-GUSU": 1}

    # the office itself sees its own figures alone
    office = {f["name"]: f["value"] for f in
              api.get(f"/stats/overview?{period}", user="handler-market-gusu").json["figures"]}
    assert office["dispatched"] == 1

    # another department sees neither the office's figures nor its tickets
    urban = api.get(f"/stats/efficiency?by=department&{period}", user="handler-urban").json
    assert list(_rows(urban)) == ["URBAN"] and "offices" not in _rows(urban)["URBAN"]
    assert api.get(f"/stats/drilldown?{period}&measure=dispatched&department=MARKET-GUSU",
                   user="handler-urban").status == 403
    assert api.post("/stats/query", json={"period": month, "measures": ["dispatched"],
                                          "filters": {"department": ["MARKET-GUSU"]}}, user="handler-urban").status == 403
    urban_drill = api.get(f"/stats/drilldown?{period}&measure=dispatched", user="handler-urban").json
    assert [i["ticket_id"] for i in urban_drill["items"]] == [urban_tid]


def test_department_scores_roll_an_offices_work_up_and_show_the_office_as_its_own_row(api):
    stream = Stream()
    office_tid, _ = _dispatched(api, "MARKET-GUSU", stream)
    _dispatched(api, "MARKET", stream)
    _dispatched(api, "URBAN", stream)
    stream.feed()
    month = service.repository().get(office_tid).created_at.astimezone(TZ).strftime("%Y-%m")

    def inputs(row: dict, indicator: str) -> dict:
        return next(d for d in row["indicators"] if d["indicator"] == indicator)["inputs"]

    scores = api.get(f"/assessment/scores?period={month}&audience=department", user="manager").json["scores"]
    by_subject = {r["subject"]: r for r in scores}
    assert "MARKET-GUSU" not in by_subject  # ranked among departments only, under its department
    market = by_subject["MARKET"]
    assert inputs(market, "dept-return-rate")["dispatched"] == 2  # the department's own and the office's
    assert [o["subject"] for o in market["offices"]] == ["MARKET-GUSU"]
    office = market["offices"][0]
    assert office["rank"] is None and office["department"] == "MARKET"
    assert inputs(office, "dept-return-rate")["dispatched"] == 1 and office["trace"]["filter"] == {"department": "MARKET-GUSU"}
    assert inputs(by_subject["URBAN"], "dept-return-rate")["dispatched"] == 1 and "offices" not in by_subject["URBAN"]
    from chalicelib.reports import render, worker  # the monthly report's score table lists the office under it

    macros = render.environment().get_template("_macros.html.j2").make_module({"subject_names": worker._subject_names()})
    table = str(macros.scores({"scores": scores, "indicators": []}, "部门"))
    assert table.index("市场监督管理局") < table.index("└ 姑苏市场监督管理所") and table.count("└ ") == 1

    lead = api.get(f"/assessment/scores?period={month}&audience=department", user="dept_lead").json["scores"]
    assert [r["subject"] for r in lead] == ["MARKET"] and lead[0]["offices"][0]["subject"] == "MARKET-GUSU"
    traced = api.get(f"/assessment/trace?period={month}&audience=department&subject=MARKET-GUSU"
                     "&indicator=dept-return-rate", user="dept_lead")
    assert traced.status == 200, traced.body
    drilled = {d["measure"]: [t["ticket_id"] for t in d["tickets"]["items"]] for d in traced.json["drilldown"]}
    assert drilled["dispatched"] == [office_tid]
    own = api.get(f"/assessment/scores?period={month}&audience=department", user="handler-market-gusu").json["scores"]
    assert [(r["subject"], inputs(r, "dept-return-rate")["dispatched"]) for r in own] == [("MARKET-GUSU", 1)]
    assert api.get(f"/assessment/trace?period={month}&audience=department&subject=MARKET-GUSU"
                   "&indicator=dept-return-rate", user="handler-urban").status == 403
