"""The full round trip, all signed: the upper level assigns, we accept and send it down, the lower
level reports its closure, we review, the upper level receives our closure; reconciliation balances."""
from __future__ import annotations

from partner_helpers import UPPER, UPPER_SECRET, assignment, create_partner, new_receiver, poster, set_endpoints

from chalicelib.integration import reconciliation
from chalicelib.integration.simulator import PartnerClient

LOWER = "district-gusu"
LOWER_SECRET = "whsec_" + "bG93ZXItcGxhdGZvcm0tc2VjcmV0LTMyLWJ5dGVzISE="


def _act(api, ticket_id, action, user, **params):
    answer = api.post(f"/tickets/{ticket_id}/{action.replace('_', '-')}", json=params, user=user)
    assert answer.status == 200, (action, answer.body)
    return answer.json


def test_upper_assigns_we_send_down_lower_closes_we_review_upper_hears_and_the_books_balance(
        api, upper, pump, receivers, clock):
    upper_receiver = new_receiver(receivers, UPPER_SECRET, clock)  # all on one instant: one ledger day
    lower_receiver = new_receiver(receivers, LOWER_SECRET, clock)
    set_endpoints(api, UPPER, [upper_receiver.url])
    create_partner(api, LOWER, "lower", [lower_receiver.url], secret=LOWER_SECRET)
    lower = PartnerClient(LOWER, LOWER_SECRET, poster(api))

    # 上级交办
    status, body = upper.send("ticket.assigned", assignment("JS12315-2026-000123"))
    assert status == 200, body
    ticket_id = body["ticket_id"]
    # 受理, 派往下级平台
    _act(api, ticket_id, "accept", "agent", category="家用电器", district="GUSU")
    _act(api, ticket_id, "dispatch", "dispatcher", mode="lower_platform", platform=LOWER)
    pump.drain()
    [down] = lower_receiver.events("ticket.assigned")
    assert down["data"]["ticket_id"] == ticket_id

    # the lower platform works it and reports back, referring to what it received
    share = {"ticket_id": down["data"]["ticket_id"], "assignment_id": down["data"]["assignment_id"],
             "external_id": "GS-2026-0456"}
    assert lower.send("ticket.updated", {**share, "sequence": 1, "text": "已受理，约双方周五现场调解。"})[0] == 200
    status, body = lower.send("ticket.closed", {**share, "sequence": 2, "result": "settled",
                                                "facts": "经现场调解，商家同意为消费者更换新空调。"})
    assert status == 200 and body["status"] == "closure_review", body
    # 结案审核, 回访, 办结
    _act(api, ticket_id, "review_closure", "dispatcher", decision="approve", reply="经调解，商家已同意更换新机。")
    _act(api, ticket_id, "record_callback", "agent", satisfaction="satisfied", solved=True)  # closes it
    pump.drain()

    up = upper_receiver.events()
    assert [e["type"] for e in up][0] == "ticket.accepted"
    stages = [e["data"]["stage"] for e in up if e["type"] == "ticket.progress"]
    assert sorted(stages) == ["closure_submitted", "dispatched", "note_added", "signed"]
    [closed] = [e for e in up if e["type"] == "ticket.closed"]
    assert closed["data"]["external_id"] == "JS12315-2026-000123"
    assert closed["data"]["reply"] == "经调解，商家已同意更换新机。"
    assert closed["data"]["results"] == [{"department": LOWER, "role": "lower_platform", "result": "settled",
                                          "termination_reason": None,
                                          "facts": "经现场调解，商家同意为消费者更换新空调。"}]
    [evaluated] = [e for e in up if e["type"] == "ticket.evaluated"]
    assert (evaluated["data"]["satisfaction"], evaluated["data"]["solved"]) == ("satisfied", True)
    assert [e["type"] for e in lower_receiver.events()] == ["ticket.assigned", "ticket.reviewed"]
    everything = upper_receiver.received + lower_receiver.received
    assert everything and all(r.verified and r.answered == 200 for r in everything)
    assert len({r.id for r in everything}) == len(everything)  # each delivered exactly once

    day = clock.now().date().isoformat()
    upper_books = api.get(f"/partners/{UPPER}/reconciliation?date={day}", user="manager").json
    lower_books = api.get(f"/partners/{LOWER}/reconciliation?date={day}", user="manager").json
    for books, receiver, received in ((upper_books, upper_receiver, 1), (lower_books, lower_receiver, 2)):
        assert books["balanced"] is True, books["mismatches"]
        assert sorted(books["outbound"]["sent"]["ids"]) == sorted(books["outbound"]["acknowledged"]["ids"]) \
            == sorted(r.id for r in receiver.received)
        assert books["outbound"]["failed"]["count"] == books["outbound"]["pending"]["count"] == 0
        assert books["inbound"]["received"]["count"] == books["inbound"]["applied"]["count"] == received
    assert upper_books["inbound"]["tickets_registered"] == 1

    nightly = reconciliation.nightly(day=day)
    assert nightly["written"] == [] and all(p["balanced"] for p in nightly["partners"].values())
