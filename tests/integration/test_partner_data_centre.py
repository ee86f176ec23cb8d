"""Per-ticket data reporting to the city's data centre: a record per change in the documented
mapping, personal data masked (a reporter withheld), reconciled ticket by ticket, resent."""
from __future__ import annotations

import json

from partner_helpers import ASSIGNMENT, create_partner, doc_table, new_receiver

from chalicelib.integration import data_centre

CENTRE = "city-data-centre"
SECRET = "whsec_" + "Y2l0eS1kYXRhLWNlbnRyZS1zZWNyZXQtMzItYnl0ZXMh"


def _register(api, **changes):
    body = {**ASSIGNMENT, "channel": "phone", **changes}
    answer = api.post("/tickets", json=body, user="agent")
    assert answer.status == 201, answer.body
    return answer.json["tickets"][0]["id"]


def _books(api, day, user="manager"):
    answer = api.get(f"/partners/{CENTRE}/reconciliation/tickets?from={day}&to={day}", user=user)
    assert answer.status == 200, answer.body
    return answer.json


def test_every_ticket_change_reaches_the_data_centre_as_a_masked_record_and_the_books_balance(
        api, pump, receivers, clock):
    receiver = new_receiver(receivers, SECRET, clock)
    create_partner(api, CENTRE, "data_center", [receiver.url], secret=SECRET)
    complaint = _register(api, complainant={**ASSIGNMENT["complainant"], "phone": "13912340001"})
    report = _register(api, kind="report", complainant={"name": "吴举报", "phone": "13912340002",
                                                         "address": "苏州市吴中区东吴北路1号"},
                       facts="该店销售过期食品，举报人吴举报现场看到，电话13912340002。")
    assert api.post(f"/tickets/{complaint}/accept", json={}, user="agent").status == 200
    pump.drain()

    records = receiver.events("ticket.record")
    assert all(r.verified and r.answered == 200 for r in receiver.received)
    mine = [e["data"] for e in records if e["data"]["ticket_id"] == complaint]
    assert [r["change"] for r in mine][:2] == ["registered", "accepted"]
    last = mine[-1]
    assert list(last) == ["record_id", "change", *[f.name for f in data_centre.FIELDS]]
    assert last["record_id"] == f"{complaint}-v{last['version']}" and last["channel"] == "phone"
    assert (last["complainant_name"], last["complainant_phone"], last["complainant_address"]) == \
        ("周**", "139****0001", "苏州市姑苏区****")
    assert last["accepted_at"] is not None and last["category_path"].endswith("家用电器")
    [reported] = [e["data"] for e in records if e["data"]["ticket_id"] == report]
    assert reported["kind"] == "report"
    assert (reported["complainant_name"], reported["complainant_phone"], reported["complainant_address"]) == \
        (None, None, None)  # a reporter never leaves the platform (Art. 37)
    assert "吴举报" not in reported["facts"] and "13912340002" not in reported["facts"]
    wire = json.dumps([json.loads(r.body) for r in receiver.received], ensure_ascii=False)
    assert "13912340001" not in wire and "13912340002" not in wire and "吴举报" not in wire

    day = clock.now().date().isoformat()
    books = _books(api, day)
    assert (books["checked"], books["balanced"], books["feed"]) == (2, True, "data_centre")

    # the centre is switched off while the report is accepted and a third ticket comes in
    assert api.request("PATCH", f"/partners/{CENTRE}", json_body={"enabled": False}, user="admin").status == 200
    assert api.post(f"/tickets/{report}/accept", json={}, user="agent").status == 200
    third = _register(api, complainant={**ASSIGNMENT["complainant"], "phone": "13912340003"})
    pump.drain()
    books = _books(api, day)
    problems = {d["ticket_id"]: (d["problem"], d["problem_label"]) for d in books["differences"]}
    assert problems[third] == ("missing", "未推送")
    assert problems[report] == ("status_mismatch", "状态不一致")
    assert books["counts"]["missing"] == 1 and books["balanced"] is False
    refused = api.post(f"/partners/{CENTRE}/reconciliation/resend", json={"ticket_ids": [third]}, user="admin")
    assert refused.status == 409  # enable it first

    assert api.request("PATCH", f"/partners/{CENTRE}", json_body={"enabled": True}, user="admin").status == 200
    resent = api.post(f"/partners/{CENTRE}/reconciliation/resend", json={"ticket_ids": sorted(problems)}, user="admin")
    assert resent.status == 202 and all(i["resent"] for i in resent.json["items"]), resent.body
    pump.drain()
    again = [e["data"] for e in receiver.events("ticket.record") if e["data"]["change"] == "resync"]
    assert sorted(r["ticket_id"] for r in again) == sorted(problems)
    assert _books(api, day, user="admin")["balanced"] is True


def test_the_data_centre_mapping_document_matches_the_code():
    rows = doc_table("Data-centre record fields")
    assert rows[0] == ["field", "中文", "from our ticket", "treatment"]
    assert rows[1:] == [[f"`{f.name}`", f.label, f.source, f.treatment] for f in data_centre.FIELDS]
    assert {f.treatment for f in data_centre.FIELDS} <= set(data_centre.TREATMENTS)


def _counts(api, day_from, day_to, dimensions=()):
    answer = api.post("/stats/query", json={
        "dimensions": list(dimensions), "period": {"from": day_from, "to": day_to},
        "measures": ["data_report_on_time", "data_report_late", "data_report_rate"]}, user="manager")
    assert answer.status == 200, answer.body
    return answer.json


def test_data_reporting_timeliness_counts_each_record_once_and_scores_departments(api, pump, receivers, clock):
    from chalicelib.integration import reconciliation, sender

    receiver = new_receiver(receivers, SECRET, clock)
    create_partner(api, CENTRE, "data_center", [receiver.url], secret=SECRET)
    shown = api.get(f"/partners/{CENTRE}", user="manager").json
    assert (shown["report_within_hours"], shown["report_within_hours_max"]) == (24, 168)  # the default; the bound
    assert "report_within_hours_max" not in api.get("/partners/province-12315", user="manager").json  # the portal form's
    for partner, body in ((CENTRE, {"report_within_hours": 0}), ("province-12315", {"report_within_hours": 12})):
        refused = api.request("PATCH", f"/partners/{partner}", json_body=body, user="admin")
        assert refused.status == 400 and "report_within_hours" in refused.json["error"]["details"], refused.body
    first_day = clock.now().date().isoformat()

    # A: every record acknowledged at once (on time); B: its first record refused, the rest on time
    a = _register(api)
    pump.drain()
    receiver.answer_next(503)
    b = _register(api, complainant={**ASSIGNMENT["complainant"], "phone": "13912340004"})
    pump.drain()
    for ticket_id in (a, b):
        assert api.post(f"/tickets/{ticket_id}/accept", json={}, user="agent").status == 200
        assert api.post(f"/tickets/{ticket_id}/dispatch", json={"mode": "single", "department": "MARKET"},
                        user="dispatcher").status == 200
    pump.drain()
    # B's registration record is acknowledged a day later: late (for MARKET, which B stands with now)
    clock.advance(hours=25)
    assert sender.retry_due() == 1
    pump.drain()
    # C: its registration record is never acknowledged; the nightly check finds it overdue
    receiver.answer_next(503)
    c = _register(api, complainant={**ASSIGNMENT["complainant"], "phone": "13912340005"})
    pump.drain()
    clock.advance(hours=25)
    night = reconciliation.nightly(now=clock.now())
    assert night["partners"][CENTRE]["overdue_records"] == 1
    pump.drain()
    assert reconciliation.nightly(now=clock.now())["partners"][CENTRE]["overdue_records"] == 0  # marked once
    # C's record then arrives and C is resent: nothing is counted again
    assert sender.retry_due() == 1
    resent = api.post(f"/partners/{CENTRE}/reconciliation/resend", json={"ticket_ids": [a, c]}, user="admin")
    assert resent.status == 202, resent.body
    pump.drain()

    acknowledged = {e["data"]["record_id"] for e in receiver.events("ticket.record")}
    assert f"{c}-v1" in acknowledged and f"{b}-v1" in acknowledged
    last_day = clock.now().date().isoformat()
    total = _counts(api, first_day, last_day)
    [row] = total["rows"]
    assert row["values"]["data_report_late"] == 2  # B's first record (acknowledged late), C's (overdue)
    assert row["values"]["data_report_on_time"] == len(acknowledged) - 2
    assert row["values"]["data_report_rate"] == round(100 * (len(acknowledged) - 2) / len(acknowledged), 2)
    assert [(m["name"], m["label"]) for m in total["measures"]] == [
        ("data_report_on_time", "数据上报及时"), ("data_report_late", "数据上报超时"),
        ("data_report_rate", "数据上报及时率")]
    catalogue = api.get("/stats/measures", user="manager").json  # what the portal's pickers list and label
    assert {"name": "data_report_late", "label": "数据上报超时", "drillable": True} in catalogue["measures"]
    assert {"name": "data_report_rate", "label": "数据上报及时率", "unit": "%",
            "formula": "data_report_on_time / (data_report_on_time + data_report_late)"} in catalogue["rates"]
    by_department = {r["keys"]["department"]: r["values"] for r in
                     _counts(api, first_day, last_day, ("department",))["rows"]}
    market = by_department["MARKET"]
    assert market["data_report_late"] == 1 and market["data_report_on_time"] >= 2
    drill = api.get(f"/stats/drilldown?from={first_day}&to={last_day}&measure=data_report_late", user="manager")
    assert sorted(i["ticket_id"] for i in drill.json["items"]) == sorted([b, c]), drill.body

    # a manager's own indicator over the measure scores the department (the defaults are unchanged)
    created = api.post("/assessment/indicators", user="manager", json={
        "name": "数据上报及时率", "audience": "department", "weight": 10, "target": 0.99,
        "formula": "data_report_on_time / (data_report_on_time + data_report_late)",
        "rule": {"type": "linear", "floor": 0.5}})
    assert created.status == 201, created.body
    scores = api.post("/assessment/runs", json={"period": {"from": first_day, "to": last_day},
                                                "audience": "department"}, user="manager")
    assert scores.status == 200, scores.body
    [market_row] = [r for r in scores.json["scores"] if r["subject"] == "MARKET"]
    [mine] = [d for d in market_row["indicators"] if d["indicator"] == created.json["id"]]
    on_time = market["data_report_on_time"]
    assert mine["inputs"] == {"data_report_late": 1, "data_report_on_time": on_time}
    assert mine["value"] == round(on_time / (on_time + 1), 4) and mine["score"] is not None
