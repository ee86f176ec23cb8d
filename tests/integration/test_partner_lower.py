"""Lower-level platforms: the share we send down, and their progress and results applied by sequence."""
from __future__ import annotations

import pytest
from partner_helpers import UPPER_SECRET, assignment, create_partner, new_receiver, poster

from chalicelib.integration.simulator import PartnerClient

LOWER = "district-gusu"
LOWER_SECRET = "whsec_" + "bG93ZXItcGxhdGZvcm0tc2VjcmV0LTMyLWJ5dGVzISE="


@pytest.fixture
def sent_down(api, upper, pump, receivers):
    """An upper-level assignment, accepted and dispatched down to the lower-level platform."""
    receiver = new_receiver(receivers, LOWER_SECRET)
    create_partner(api, LOWER, "lower", [receiver.url], secret=LOWER_SECRET)
    ticket_id = upper.send("ticket.assigned", assignment("GJ-L1"))[1]["ticket_id"]
    assert api.post(f"/tickets/{ticket_id}/accept", json={}, user="agent").status == 200
    answer = api.post(f"/tickets/{ticket_id}/dispatch", json={"mode": "lower_platform", "platform": LOWER},
                      user="dispatcher")
    assert answer.status == 200, answer.body
    pump.drain()
    lower = PartnerClient(LOWER, LOWER_SECRET, poster(api))
    return ticket_id, receiver, lower


def test_a_report_sent_down_withholds_the_reporter(api, upper, pump, receivers):
    receiver = new_receiver(receivers, LOWER_SECRET)
    create_partner(api, LOWER, "lower", [receiver.url], secret=LOWER_SECRET)
    data = assignment("GJ-RP1", kind="report")
    del data["ticket"]["request"]
    ticket_id = upper.send("ticket.assigned", data)[1]["ticket_id"]
    api.post(f"/tickets/{ticket_id}/accept", json={}, user="agent")
    api.post(f"/tickets/{ticket_id}/dispatch", json={"mode": "lower_platform", "platform": LOWER}, user="dispatcher")
    pump.drain()

    [event] = receiver.events("ticket.assigned")
    assert event["data"]["complainant"] is None and event["data"]["reporter_withheld"] is True


def test_the_share_goes_down_signed_and_out_of_order_reports_never_overwrite_newer_ones(api, sent_down):
    ticket_id, receiver, lower = sent_down
    [event] = receiver.events("ticket.assigned")
    data = event["data"]
    assert data["ticket_id"] == ticket_id and data["assignment_id"] == "A1"
    assert data["complainant"]["phone"] == "13912345678"  # the platform handles it: it needs the contact
    assert data["facts"].startswith("在该公司购买的空调") and data["sign_due"]
    assert all(r.verified for r in receiver.received) and receiver.received[0].id.startswith("msg_")

    newer = lower.send("ticket.updated", {"ticket_id": ticket_id, "external_id": "GS-77", "sequence": 2,
                                          "text": "已联系商家，约定周五上门检测。"})
    older = lower.send("ticket.updated", {"ticket_id": ticket_id, "sequence": 1, "text": "已收到，正在联系当事人。"})

    assert newer[0] == 200 and newer[1]["outcome"] == "applied", newer
    assert older[0] == 200 and older[1]["outcome"] == "ignored_stale", older
    ticket = api.get(f"/tickets/{ticket_id}", user="dispatcher").json
    assert ticket["assignments"][0]["status"] == "in_progress"  # the report implied signing
    events = api.get(f"/tickets/{ticket_id}/timeline", user="manager").json["events"]
    notes = [e["data"]["text"] for e in events if e["type"] == "note_added"]
    assert notes == ["已联系商家，约定周五上门检测。"]
    assert [e["actor"]["username"] for e in events if e["type"] == "signed"] == [LOWER]

    closed = lower.send("ticket.closed", {"external_id": "GS-77", "sequence": 3, "result": "settled",
                                          "facts": "经调解，商家同意更换新机。"})
    late = lower.send("ticket.updated", {"ticket_id": ticket_id, "sequence": 2, "text": "迟到的旧消息"})

    assert closed[0] == 200 and closed[1]["status"] == "closure_review", closed
    assert late[1]["outcome"] == "ignored_stale"
    from chalicelib.integration import records

    assert records.find_mapping(LOWER, "GS-77") == ticket_id
    link = records.find_link(ticket_id, LOWER)
    assert (link.relation, link.external_id, int(link.last_sequence)) == ("lower", "GS-77", 3)


def test_reports_the_state_or_the_scope_refuses(api, sent_down):
    ticket_id, _, lower = sent_down
    bad = lower.send("ticket.closed", {"ticket_id": ticket_id, "sequence": 1, "result": "exploded", "facts": "x"})
    assert bad[0] == 400 and "result" in bad[1]["error"]["details"]  # invalid content: nothing stored
    assert lower.send("ticket.closed", {"ticket_id": ticket_id, "sequence": 1, "result": "settled",
                                        "facts": "调解成功。"})[0] == 200

    status, answer = lower.send("ticket.updated", {"ticket_id": ticket_id, "sequence": 2, "text": "补充说明"})

    assert status == 409 and answer["error"]["code"] == "illegal_transition"
    recon = api.get(f"/partners/{LOWER}/reconciliation", user="admin").json
    assert recon["inbound"]["rejected"]["count"] == 1 and recon["balanced"] is False
    assert recon["inbound"]["received"]["count"] == 2
    # another platform, and tickets that do not exist
    create_partner(api, "district-wuzhong", "lower", secret=UPPER_SECRET)
    other = PartnerClient("district-wuzhong", UPPER_SECRET, poster(api))
    assert other.send("ticket.updated", {"ticket_id": ticket_id, "sequence": 1, "text": "越权"})[0] == 403
    assert other.send("ticket.updated", {"ticket_id": "20990101-NOPE", "sequence": 1, "text": "x"})[0] == 404
    assert other.send("ticket.updated", {"external_id": "NOPE-1", "sequence": 1, "text": "x"})[0] == 404
    assert other.send("ticket.updated", {"sequence": 1, "text": "x"})[0] == 400


def test_urgings_reviews_and_recalls_reach_the_platform(api, sent_down, upper, pump):
    ticket_id, receiver, lower = sent_down
    status, answer = upper.send("ticket.urged", {"external_id": "GJ-L1", "text": "请尽快办结"})
    assert status == 200, answer
    by_name = api.post(f"/tickets/{ticket_id}/urge", json={"department": LOWER, "text": "请本周办结"},
                       user="manager")  # the lower platform is addressed by its id, like a department
    assert by_name.status == 200, by_name.body
    assert by_name.json["urgings"][-1]["department"] == LOWER
    lower.send("ticket.closed", {"ticket_id": ticket_id, "sequence": 1, "result": "settled", "facts": "已调解。"})
    assert api.post(f"/tickets/{ticket_id}/review-closure", json={"decision": "rework", "text": "请补充调解协议"},
                    user="dispatcher").status == 200
    pump.drain()

    urged = receiver.events("ticket.urged")
    assert [u["data"]["text"] for u in urged] == ["请尽快办结", "请本周办结"]  # the upper level's, then ours
    [reviewed] = receiver.events("ticket.reviewed")
    assert reviewed["data"]["decision"] == "rework" and reviewed["data"]["assignment_status"] == "in_progress"

    again = lower.send("ticket.closed", {"ticket_id": ticket_id, "sequence": 2, "result": "settled",
                                         "facts": "已补充调解协议。"})
    assert again[0] == 200 and again[1]["status"] == "closure_review", again
    assert api.post(f"/tickets/{ticket_id}/review-closure", user="dispatcher",
                    json={"decision": "transfer", "department": "MARKET", "text": "改由市场监管局办理"}).status == 200
    pump.drain()
    [recalled] = receiver.events("ticket.recalled")
    assert (recalled["data"]["assignment_id"], recalled["data"]["assignment_status"]) == ("A1", "transferred")
    late = lower.send("ticket.updated", {"ticket_id": ticket_id, "sequence": 3, "text": "我们还在跟进"})
    assert late[0] == 409  # the share is no longer theirs to work
