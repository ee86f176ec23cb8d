"""The data center's daily report and the nightly reconciliation job."""
from __future__ import annotations

import json

from partner_helpers import UPPER, UPPER_SECRET, assignment, create_partner, new_receiver, set_endpoints


def test_the_daily_report_reaches_the_data_center_once(api, upper, pump, receivers, clock):
    receiver = new_receiver(receivers, "whsec_" + "ZGF0YS1jZW50ZXItc2VjcmV0LW9mLTMyLWJ5dGVzISE=", clock)
    create_partner(api, "regulator-dc", "data_center", [receiver.url],
                   secret="whsec_" + "ZGF0YS1jZW50ZXItc2VjcmV0LW9mLTMyLWJ5dGVzISE=")
    yesterday = clock.now().date().isoformat()
    for n in range(3):
        assert upper.send("ticket.assigned", assignment(f"GJ-DC{n}", phone=f"1391234560{n}"))[0] == 200
    assert api.post("/tickets", json={**assignment("x", phone="13700000000")["ticket"], "channel": "phone"},
                    user="agent").status == 201
    clock.advance(days=1)

    assert pump.fire_schedule("data_center_daily_report")
    assert pump.fire_schedule("data_center_daily_report")  # a re-run sends nothing twice
    pump.drain()

    [report] = receiver.events("report.daily")
    assert report["data"]["date"] == yesterday and report["data"]["title"] == f"{yesterday} 投诉举报处置日报"
    figures = report["data"]["tickets"]
    assert figures["received"] == 4
    assert figures["by_channel"] == {"phone": 1, "upper_level": 3}
    assert figures["by_status"] == {"pending_acceptance": 1, "upper_level_pending": 3}
    assert report["data"]["integration"]["received_from"] == {"upper": 3, "data_center": 0}
    assert "13912345600" not in json.dumps(report, ensure_ascii=False)  # figures only
    assert len(receiver.events("report.daily")) == 1
    # beside the counts, each registration reached it as a per-ticket record (test_partner_data_centre.py)
    assert sorted(e["data"]["change"] for e in receiver.events("ticket.record")) == ["registered"] * 4


def test_the_nightly_reconciliation_writes_mismatches_to_s3_and_warns(api, upper, pump, receivers, clock, seeded,
                                                                     caplog):
    receiver = new_receiver(receivers, UPPER_SECRET, clock)
    receiver.answer_next(500, times=3)
    set_endpoints(api, UPPER, [receiver.url])
    day = clock.now().date().isoformat()
    ticket_id = upper.send("ticket.assigned", assignment("GJ-N1"))[1]["ticket_id"]
    assert api.post(f"/tickets/{ticket_id}/accept", json={}, user="agent").status == 200
    pump.drain()
    clock.advance(days=1)

    from chalicelib.aws import client

    assert pump.fire_schedule("partner_reconciliation")

    key = f"reconciliation/{day}/{UPPER}.json"
    stored = json.loads(client("s3").get_object(Bucket=seeded["REPORTS_BUCKET"], Key=key)["Body"].read())
    assert stored["balanced"] is False
    assert [m["problem"] for m in stored["mismatches"]] == ["not_acknowledged"]
    assert stored["inbound"]["received"]["count"] == 1
    [warning] = [r for r in caplog.records if r.getMessage() == "partner reconciliation mismatch"]
    assert warning.levelname == "WARNING" and warning.report == key and warning.partner == UPPER
