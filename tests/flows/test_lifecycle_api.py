"""End-to-end flows through the HTTP API on moto: every stage, by the right roles, audited."""
from __future__ import annotations

import threading

from chalicelib.services import tickets as service
from chalicelib.domain.ticket import Actor

from tests.flows.complaint_bodies import PHONE_COMPLAINT


def _register(api, body=None, user="agent"):
    answer = api.post("/tickets", json=body or PHONE_COMPLAINT, user=user)
    assert answer.status == 201, answer.body
    return answer.json["tickets"][0]


def _act(api, ticket_id, action, user, status=200, **params):
    answer = api.post(f"/tickets/{ticket_id}/{action.replace('_', '-')}", json=params, user=user)
    assert answer.status == status, (action, answer.status, answer.body)
    return answer.json


def _assignment(ticket, department):
    return next(a for a in ticket["assignments"] if a["department"] == department and a["status"] != "withdrawn")


def test_phone_complaint_from_registration_to_closure_with_lead_and_assist(api):
    ticket = _register(api)
    tid = ticket["id"]
    assert ticket["status"] == "pending_acceptance"
    assert ticket["complainant"]["phone"] == "138****5678"  # masked even for the agent who registered it
    assert "accept" in ticket["allowed_actions"]

    queue = api.get("/queues/pending_acceptance", user="agent").json["items"]
    assert [i["id"] for i in queue] == [tid]
    assert queue[0]["complainant"] == "张**"

    _act(api, tid, "accept", "agent", category="商品质量", district="GUSU")
    assert tid in [i["id"] for i in api.get("/queues/to_dispatch", user="dispatcher").json["items"]]
    dispatched = _act(api, tid, "dispatch", "dispatcher", mode="lead_assist", lead="MARKET", assists=["URBAN"])
    assert dispatched["status"] == "in_handling"
    lead = _assignment(dispatched, "MARKET")
    assist = _assignment(dispatched, "URBAN")

    assert [i["id"] for i in api.get("/queues/to_sign", user="handler").json["items"]] == [tid]
    assert [i["id"] for i in api.get("/queues/to_sign", user="handler-urban").json["items"]] == [tid]
    assert api.get("/queues/to_sign", user="handler-water").json["items"] == []
    assert api.get(f"/tickets/{tid}", user="handler-water").status == 403

    _act(api, tid, "sign", "handler", assignment_id=lead["id"])
    _act(api, tid, "sign", "handler-urban", assignment_id=assist["id"])
    _act(api, tid, "add_note", "handler", assignment_id=lead["id"], text="已电话联系双方，约定周五现场调解。")
    # the lead may not close before the assist has submitted its part
    _act(api, tid, "submit_closure", "handler", status=409, assignment_id=lead["id"], result="settled",
         facts="双方达成一致，商家同意退货退款。")
    _act(api, tid, "submit_closure", "handler-urban", assignment_id=assist["id"], facts="已核查店招合规。")
    reviewed = _act(api, tid, "submit_closure", "handler", assignment_id=lead["id"], result="settled",
                    facts="双方达成一致，商家同意退货退款。")
    assert reviewed["status"] == "closure_review"
    assert [i["id"] for i in api.get("/queues/closure_reviews", user="dispatcher").json["items"]] == [tid]

    approved = _act(api, tid, "review_closure", "dispatcher", decision="approve", reply="经调解，商家已同意退货退款。")
    assert approved["status"] == "pending_callback"
    closed = _act(api, tid, "record_callback", "agent", satisfaction="satisfied", solved=True)
    assert closed["status"] == "closed"  # the callback result closes the ticket
    assert api.get("/queues/pending_callback", user="agent").json["items"] == []

    events = api.get(f"/tickets/{tid}/timeline", user="manager").json["events"]
    types = [e["type"] for e in events]
    assert types[0] == "registered" and types[-1] == "callback_recorded"  # the event that closed it
    for expected in ("accepted", "dispatched", "signed", "note_added", "closure_submitted", "closure_reviewed",
                     "callback_recorded"):
        assert expected in types, (expected, types)
    assert all(e["actor"]["username"] for e in events)
    signed = [e for e in events if e["type"] == "signed"]
    assert signed and all(e["deadline_met"] is True for e in signed)


def test_wrong_role_and_illegal_transition(api):
    tid = _register(api)["id"]
    assert api.post(f"/tickets/{tid}/dispatch", json={"mode": "single", "department": "MARKET"},
                    user="handler").status == 403
    answer = api.post(f"/tickets/{tid}/dispatch", json={"mode": "single", "department": "MARKET"}, user="dispatcher")
    assert answer.status == 409 and answer.json["error"]["code"] == "illegal_transition"
    answer = api.post(f"/tickets/{tid}/accept", json={"colour": "red"}, user="agent")
    assert answer.status == 400 and "colour" in answer.json["error"]["details"]
    assert api.post("/tickets/NOPE-1/accept", json={}, user="agent").status == 404


def test_stale_expected_version_is_409(api):
    ticket = _register(api)
    tid = ticket["id"]
    _act(api, tid, "accept", "agent")
    answer = api.post(f"/tickets/{tid}/dispatch", json={"mode": "single", "department": "MARKET",
                                                        "expected_version": ticket["version"]}, user="dispatcher")
    assert answer.status == 409 and answer.json["error"]["code"] == "concurrent_modification"


def test_a_stale_version_the_client_saw_writes_nothing(api):
    tid = _register(api)["id"]
    seen = _act(api, tid, "accept", "agent")  # the dispatcher opened the ticket at this version
    _act(api, tid, "urge", "manager", text="请尽快分拨。")  # someone else changed it meanwhile
    before = api.get(f"/tickets/{tid}", user="manager").json
    events = api.get(f"/tickets/{tid}/timeline", user="manager").json["events"]
    answer = api.post(f"/tickets/{tid}/dispatch", json={"mode": "single", "department": "MARKET",
                                                        "expected_version": seen["version"]}, user="dispatcher")
    assert answer.status == 409 and answer.json["error"]["code"] == "concurrent_modification"
    assert answer.json["error"]["details"] == {"expected_version": seen["version"], "version": before["version"]}
    after = api.get(f"/tickets/{tid}", user="manager").json
    assert (after["version"], after["status"]) == (before["version"], "to_dispatch")
    assert api.get(f"/tickets/{tid}/timeline", user="manager").json["events"] == events
    assert tid in [i["id"] for i in api.get("/queues/to_dispatch", user="dispatcher").json["items"]]


def test_the_version_the_client_saw_may_come_as_if_match(api):
    tid = _register(api)["id"]
    seen = _act(api, tid, "accept", "agent")["version"]
    body = {"mode": "single", "department": "MARKET"}
    stale = api.post(f"/tickets/{tid}/dispatch", json=body, user="dispatcher", headers={"If-Match": f'"{seen - 1}"'})
    assert stale.status == 409 and stale.json["error"]["code"] == "concurrent_modification"
    bad = api.post(f"/tickets/{tid}/dispatch", json=body, user="dispatcher", headers={"If-Match": "latest"})
    assert bad.status == 400 and "If-Match" in bad.json["error"]["details"]
    both = api.post(f"/tickets/{tid}/dispatch", json={**body, "expected_version": seen}, user="dispatcher",
                    headers={"If-Match": f'"{seen + 1}"'})
    assert both.status == 400 and "expected_version" in both.json["error"]["details"]
    assert api.get(f"/tickets/{tid}", user="manager").json["version"] == seen  # none of them wrote anything
    done = api.post(f"/tickets/{tid}/dispatch", json=body, user="dispatcher", headers={"If-Match": f'W/"{seen}"'})
    assert done.status == 200 and done.json["status"] == "in_handling" and done.json["version"] == seen + 1


def test_concurrent_signs_one_wins_the_other_gets_409(api):
    tid = _register(api)["id"]
    _act(api, tid, "accept", "agent")
    dispatched = _act(api, tid, "dispatch", "dispatcher", mode="single", department="MARKET")
    assignment = _assignment(dispatched, "MARKET")
    actors = [Actor(username="handler", role="handler", department="MARKET"),
              Actor(username="dept_lead", role="dept_lead", department="MARKET")]
    barrier = threading.Barrier(2)
    results: list[str] = []

    def sign(actor):
        barrier.wait()
        try:
            service.act(tid, "sign", {"assignment_id": assignment["id"]}, actor)
            results.append("ok")
        except Exception as exc:  # the loser's error is what we assert on
            results.append(getattr(exc, "code", type(exc).__name__))

    threads = [threading.Thread(target=sign, args=(a,)) for a in actors]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) in (["concurrent_modification", "ok"], ["illegal_transition", "ok"]), results
    events = api.get(f"/tickets/{tid}/timeline", user="manager").json["events"]
    assert [e["type"] for e in events].count("signed") == 1, [(e["type"], e["actor"]["username"]) for e in events]
    ticket = api.get(f"/tickets/{tid}", user="manager").json
    assert ticket["version"] == 4


def test_duplicate_is_refused_and_new_facts_are_merged(api):
    tid = _register(api)["id"]
    again = api.post("/tickets", json=PHONE_COMPLAINT, user="agent")
    assert again.status == 409 and again.json["error"]["code"] == "duplicate"
    assert again.json["error"]["details"]["ticket_id"] == tid
    more = {**PHONE_COMPLAINT, "facts": "补充：商家今天又派人上门威胁不许投诉，另有发票为证。"}
    merged = api.post("/tickets", json=more, user="agent")
    assert merged.status == 200, merged.body
    assert merged.json["merged_into"]["id"] == tid
    types = [e["type"] for e in api.get(f"/tickets/{tid}/timeline", user="agent").json["events"]]
    assert "repeat_merged" in types or any("merge" in t for t in types), types


def test_mixed_complaint_and_report_is_split_into_two_linked_tickets(api):
    body = {**PHONE_COMPLAINT, "kind": ["complaint", "report"], "report_facts": "该店无照经营且销售过期食品。"}
    answer = api.post("/tickets", json=body, user="agent")
    assert answer.status == 201, answer.body
    first, second = answer.json["tickets"]
    assert {first["kind"], second["kind"]} == {"complaint", "report"}
    assert first["linked_ids"] == [second["id"]] and second["linked_ids"] == [first["id"]]


def test_reveal_is_recorded_and_reporters_are_hidden_from_departments(api):
    report = {**PHONE_COMPLAINT, "kind": "report", "facts": "该店销售过期食品。"}
    tid = _register(api, report)["id"]
    revealed = api.post(f"/tickets/{tid}/reveal", json={"reason": "回访核实"}, user="agent")
    assert revealed.status == 200 and revealed.json["complainant"]["phone"] == "13812345678"
    events = api.get(f"/tickets/{tid}/timeline", user="manager").json["events"]
    assert any(e["type"] == "personal_data_revealed" and e["actor"]["username"] == "agent" for e in events)
    _act(api, tid, "accept", "agent")
    _act(api, tid, "dispatch", "dispatcher", mode="single", department="MARKET")
    seen = api.get(f"/tickets/{tid}", user="handler").json
    assert "13812345678" not in str(seen) and "张三丰" not in str(seen)
    assert api.post(f"/tickets/{tid}/reveal", json={"reason": "核查"}, user="handler").status == 403


def test_citizen_web_channel_submit_track_and_evaluate(api):
    body = {k: v for k, v in PHONE_COMPLAINT.items() if k != "channel"}
    submitted = api.post("/public/tickets", json=body, source_ip="203.0.113.9")
    assert submitted.status == 201, submitted.body
    code = submitted.json["tickets"][0]["tracking_code"]
    assert "13812345678" not in submitted.body.decode()
    assert api.get(f"/public/tickets/{code}?phone_last4=0000").status == 404
    tracked = api.get(f"/public/tickets/{code}?phone_last4=5678")
    assert tracked.status == 200 and tracked.json["status"] == "internet_inbox"
    inbox = api.get("/queues/internet_inbox", user="agent").json["items"]
    tid = inbox[0]["id"]
    _act(api, tid, "accept", "agent")
    dispatched = _act(api, tid, "dispatch", "dispatcher", mode="single", department="MARKET")
    aid = _assignment(dispatched, "MARKET")["id"]
    _act(api, tid, "sign", "handler", assignment_id=aid)
    _act(api, tid, "submit_closure", "handler", assignment_id=aid, result="settled", facts="已退款。")
    _act(api, tid, "review_closure", "dispatcher", decision="approve", reply="商家已退款，请查收。")
    tracked = api.get(f"/public/tickets/{code}?phone_last4=5678").json
    assert tracked["status"] == "pending_evaluation" and tracked["can_evaluate"]
    assert any("退款" in r["text"] for r in tracked["replies"])
    evaluated = api.post(f"/public/tickets/{code}/evaluation",
                         json={"phone_last4": "5678", "satisfaction": "satisfied", "solved": True})
    assert evaluated.status == 200, evaluated.body
    assert evaluated.json["evaluated"] is True
    again = api.post(f"/public/tickets/{code}/evaluation",
                     json={"phone_last4": "5678", "satisfaction": "satisfied", "solved": True})
    assert again.status == 409


def test_public_submissions_are_rate_limited_per_phone(api, monkeypatch):
    from types import SimpleNamespace

    from chalicelib.services import ratelimit

    # the hourly window must not turn over between two submissions: the limiter's clock stands still
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 3600 * 500_000 + 1800.0))
    body = {k: v for k, v in PHONE_COMPLAINT.items() if k != "channel"}
    statuses = []
    for n in range(7):
        variant = {**body, "respondent": {"name": f"商店{n}", "address": "苏州市姑苏区观前街1号"}}
        statuses.append(api.post("/public/tickets", json=variant, source_ip=f"198.51.100.{n}").status)
    assert statuses[:5] == [201] * 5 and statuses[5:] == [429, 429]


def test_search_by_period_and_filters_is_scoped_for_departments(api):
    tid = _register(api)["id"]
    other = _register(api, {**PHONE_COMPLAINT, "complainant": {**PHONE_COMPLAINT["complainant"], "phone": "13900001111"},
                            "kind": "inquiry", "request": "咨询营业时间"})["id"]
    found = api.get("/tickets?kind=complaint", user="manager").json["items"]
    assert [i["id"] for i in found] == [tid]
    assert {i["id"] for i in api.get("/tickets", user="manager").json["items"]} == {tid, other}
    _act(api, tid, "accept", "agent")
    _act(api, tid, "dispatch", "dispatcher", mode="single", department="URBAN")
    assert [i["id"] for i in api.get("/tickets", user="handler-urban").json["items"]] == [tid]
    assert api.get("/tickets", user="handler").json["items"] == []
    page = api.get("/tickets?limit=1", user="manager").json
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = api.get(f"/tickets?limit=1&cursor={page['next_cursor']}", user="manager").json
    assert len(rest["items"]) == 1 and rest["items"][0]["id"] != page["items"][0]["id"]


def test_dispatch_to_an_unknown_department_is_400(api):
    tid = _register(api)["id"]
    _act(api, tid, "accept", "agent")
    answer = api.post(f"/tickets/{tid}/dispatch", json={"mode": "lead_assist", "lead": "MARKET", "assists": ["NOPE"]},
                      user="dispatcher")
    assert answer.status == 400 and answer.json["error"]["details"] == {"assists": "no department NOPE"}


def test_reply_templates_are_kept_by_managers_and_offered_to_agents(api):
    body = {"title": "退款办结答复", "text": "您好，经调解，商家已同意退款。", "use": "reply", "kind": "complaint",
            "expected_version": 0}
    assert api.put("/reply-templates/refund-done", json=body, user="agent").status == 403
    assert api.put("/reply-templates/refund-done", json=body, user="manager").status == 200
    assert api.put("/reply-templates/refund-done", json=body, user="manager").status == 409
    offered = api.get("/reply-templates?use=reply&kind=complaint", user="agent").json["items"]
    assert "refund-done" in [t["id"] for t in offered]
    retired = api.put("/reply-templates/refund-done", json={**body, "active": False, "expected_version": 1}, user="manager")
    assert retired.status == 200
    assert "refund-done" not in [t["id"] for t in api.get("/reply-templates", user="handler").json["items"]]


def test_an_urging_addressed_to_the_centre_waits_in_the_centres_urgings_queue(api):
    tid = _register(api)["id"]
    _act(api, tid, "accept", "agent", category="商品质量", district="GUSU")
    urged = _act(api, tid, "urge", "manager", text="请尽快分拨")  # not yet dispatched: the centre is responsible
    urging = urged["urgings"][-1]
    assert urging["department"] == "center"
    for user in ("dispatcher", "agent"):
        assert [i["id"] for i in api.get("/queues/urgings", user=user).json["items"]] == [tid], user
    assert api.get("/queues/urgings", user="handler").json["items"] == []
    assert api.post(f"/tickets/{tid}/answer-urging", json={"urging_id": urging["id"], "text": "今日分拨"},
                    user="handler").status == 403
    _act(api, tid, "answer_urging", "dispatcher", urging_id=urging["id"], text="今日分拨")
    assert api.get("/queues/urgings", user="dispatcher").json["items"] == []
