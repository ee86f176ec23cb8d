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
