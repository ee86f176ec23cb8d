"""Inside a department (issue 19 item 5), through the HTTP API on moto: the lead assigns a signed
share to one of the department's handlers, a closure can need the lead's approval (呈批) before it
reaches the centre, and every role has "my tickets"."""
from __future__ import annotations

import threading

from tests.flows.test_lifecycle_api import PHONE_COMPLAINT, _act, _register


def _complaint(name: str, phone: str) -> dict:
    return dict(PHONE_COMPLAINT, complainant={"name": name, "phone": phone, "address": "苏州市吴中区木渎镇"})


def _in_handling(api) -> tuple[str, str]:
    """A phone complaint dispatched to MARKET alone and signed by its handler: (ticket id, share id)."""
    tid = _register(api)["id"]
    _act(api, tid, "accept", "agent", category="商品质量", district="GUSU")
    dispatched = _act(api, tid, "dispatch", "dispatcher", mode="single", department="MARKET")
    aid = dispatched["assignments"][0]["id"]
    _act(api, tid, "sign", "handler", assignment_id=aid)
    return tid, aid


def _add_user(api, username: str, role: str, department: str | None) -> None:
    answer = api.put(f"/admin/users/{username}", json={"role": role, "name": f"{username} 测试",
                                                        "department": department}, user="admin")
    assert answer.status == 200, answer.body


def _set_approval(api, code: str, on: bool) -> None:
    dept = next(d for d in api.get("/departments", user="admin").json["items"] if d["code"] == code)
    answer = api.put(f"/admin/departments/{code}", user="admin", json={
        "name": dept["name"], "duties": dept["duties"], "expected_version": dept["_version"],
        "closure_needs_approval": on})
    assert answer.status == 200, answer.body
    assert answer.json["closure_needs_approval"] is on


def _submit(api, tid: str, aid: str, facts: str = "办结。", user: str = "handler") -> dict:
    """A closure submission (settled) of the share ``aid``."""
    return _act(api, tid, "submit_closure", user, assignment_id=aid, result="settled", facts=facts)


def _queue_ids(api, name: str, user: str) -> list[str]:
    answer = api.get(f"/queues/{name}", user=user)
    assert answer.status == 200, answer.body
    return [i["id"] for i in answer.json["items"]]


def _events(api, tid: str) -> list[dict]:
    return api.get(f"/tickets/{tid}/timeline", user="manager").json["events"]


def test_lead_assigns_a_signed_share_to_a_handler_and_reassigns_it(api):
    _add_user(api, "handler-market-2", "handler", "MARKET")
    tid, aid = _in_handling(api)

    lead_view = api.get(f"/tickets/{tid}", user="dept_lead").json
    assert "assign_handler" in lead_view["allowed_actions"]
    assert lead_view["action_shares"]["assign_handler"] == [aid]
    assert "assign_handler" not in api.get(f"/tickets/{tid}", user="handler").json["allowed_actions"]

    assigned = _act(api, tid, "assign_handler", "dept_lead", assignment_id=aid, handler="handler")
    assert assigned["assignments"][0]["assigned_to"] == "handler"
    assert _queue_ids(api, "assigned_to_me", "handler") == [tid]
    assert _queue_ids(api, "assigned_to_me", "handler-market-2") == []

    moved = _act(api, tid, "assign_handler", "dept_lead", assignment_id=aid, handler="handler-market-2")
    assert moved["assignments"][0]["assigned_to"] == "handler-market-2"
    assert _queue_ids(api, "assigned_to_me", "handler") == []
    assert _queue_ids(api, "assigned_to_me", "handler-market-2") == [tid]

    events = [e for e in _events(api, tid) if e["type"] == "handler_assigned"]
    assert [(e["data"]["handler"], e["data"]["previous"]) for e in events] == [
        ("handler", None), ("handler-market-2", "handler")]
    assert all(e["actor"]["username"] == "dept_lead" for e in events)

    # the lead's queue list and the handler's differ: only handlers have "assigned to me"
    assert api.get("/queues/assigned_to_me", user="dept_lead").status == 403


def test_assignment_is_refused_for_a_handler_another_departments_user_or_a_stranger(api):
    tid, aid = _in_handling(api)
    before = api.get(f"/tickets/{tid}", user="dept_lead").json["version"]

    refused = api.post(f"/tickets/{tid}/assign-handler", json={"assignment_id": aid, "handler": "handler"},
                       user="handler")
    assert refused.status == 403, refused.body  # a handler may not assign
    for stranger in ("handler-urban", "nobody-at-all", "dept_lead", "agent"):
        answer = api.post(f"/tickets/{tid}/assign-handler", json={"assignment_id": aid, "handler": stranger},
                          user="dept_lead")
        assert answer.status == 400, (stranger, answer.body)
        assert answer.json["error"]["details"]["handler"].startswith("no active handler"), answer.json
    missing = api.post(f"/tickets/{tid}/assign-handler", json={"assignment_id": aid}, user="dept_lead")
    assert missing.status == 400, missing.body
    assert api.get(f"/tickets/{tid}", user="dept_lead").json["version"] == before  # nothing written


def test_closure_without_approval_goes_straight_to_the_centre(api):
    tid, aid = _in_handling(api)
    submitted = _submit(api, tid, aid, "双方达成一致，商家同意退货退款。")
    assert submitted["status"] == "closure_review"
    assert submitted["assignments"][0]["status"] == "submitted"
    assert _queue_ids(api, "closure_approvals", "dept_lead") == []


def test_closure_with_approval_waits_for_the_lead_who_approves(api):
    _set_approval(api, "MARKET", True)
    tid, aid = _in_handling(api)
    proposed = _submit(api, tid, aid, "双方达成一致，商家同意退货退款。")
    assert proposed["status"] == "in_handling"
    assert proposed["assignments"][0]["status"] == "pending_approval"
    assert proposed["clocks"][f"handling:{aid}"]["status"] == "running"  # the department's time runs on
    assert _queue_ids(api, "closure_approvals", "dept_lead") == [tid]
    assert tid not in _queue_ids(api, "closure_reviews", "dispatcher")
    assert "decide_closure_approval" not in api.get(f"/tickets/{tid}", user="handler").json["allowed_actions"]
    assert api.post(f"/tickets/{tid}/decide-closure-approval", json={"decision": "approve"},
                    user="handler").status == 403

    approved = _act(api, tid, "decide_closure_approval", "dept_lead", assignment_id=aid, decision="approve")
    assert approved["status"] == "closure_review"
    share = approved["assignments"][0]
    assert share["status"] == "submitted"
    assert share["closure"]["submitted_by"] == "handler" and share["closure"]["approved_by"] == "dept_lead"
    assert approved["clocks"][f"handling:{aid}"]["status"] == "stopped"
    assert _queue_ids(api, "closure_approvals", "dept_lead") == []
    assert tid in _queue_ids(api, "closure_reviews", "dispatcher")

    types = [e["type"] for e in _events(api, tid)]
    assert types[-2:] == ["closure_proposed", "closure_submitted"]
    # and on exactly as today: the centre approves, the agent calls back
    _act(api, tid, "review_closure", "dispatcher", decision="approve", reply="经调解，商家已同意退货退款。")

    # a lead's own closure needs no approval
    tid2, aid2 = _in_handling(api)
    own = _submit(api, tid2, aid2, "负责人直接办结。", user="dept_lead")
    assert own["status"] == "closure_review"


def test_the_lead_sends_a_closure_back_with_a_reason(api):
    _set_approval(api, "MARKET", True)
    tid, aid = _in_handling(api)
    _submit(api, tid, aid, "初稿。")
    no_reason = api.post(f"/tickets/{tid}/decide-closure-approval", json={"decision": "send_back"},
                         user="dept_lead")
    assert no_reason.status == 400 and "text" in no_reason.json["error"]["details"], no_reason.body

    back = _act(api, tid, "decide_closure_approval", "dept_lead", decision="send_back", text="请补充调解协议内容。")
    assert back["status"] == "in_handling"
    assert back["assignments"][0]["status"] == "in_progress" and back["assignments"][0]["closure"] is None
    assert _queue_ids(api, "closure_approvals", "dept_lead") == []
    assert tid in _queue_ids(api, "in_progress", "handler")
    last = _events(api, tid)[-1]
    assert last["type"] == "closure_sent_back" and last["data"]["text"] == "请补充调解协议内容。"

    again = _submit(api, tid, aid, "补充后的办理情况。")
    assert again["assignments"][0]["status"] == "pending_approval"


def test_turning_approval_off_restores_the_direct_path(api):
    _set_approval(api, "MARKET", True)
    _set_approval(api, "MARKET", False)
    tid, aid = _in_handling(api)
    submitted = _submit(api, tid, aid, "办结。")
    assert submitted["status"] == "closure_review"


def test_concurrent_approve_and_send_back_one_wins_the_other_is_409(api):
    _set_approval(api, "MARKET", True)
    tid, aid = _in_handling(api)
    proposed = _submit(api, tid, aid, "办结。")
    seen = proposed["version"]
    bodies = [{"decision": "approve", "expected_version": seen},
              {"decision": "send_back", "text": "再核实一次。", "expected_version": seen}]
    answers: list = [None, None]
    start = threading.Barrier(2)

    def decide(n: int) -> None:
        start.wait()
        answers[n] = api.post(f"/tickets/{tid}/decide-closure-approval", json=bodies[n], user="dept_lead")

    threads = [threading.Thread(target=decide, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(a.status for a in answers)
    assert statuses == [200, 409], [(a.status, a.body) for a in answers]
    final = api.get(f"/tickets/{tid}", user="dept_lead").json
    assert final["version"] == seen + 1
    winner = next(a for a in answers if a.status == 200).json
    assert final["assignments"][0]["status"] == winner["assignments"][0]["status"]
    assert [e["type"] for e in _events(api, tid)].count("closure_proposed") == 1


def test_my_tickets_for_every_role(api):
    _set_approval(api, "MARKET", True)
    _add_user(api, "agent-2", "agent", None)
    tid, aid = _in_handling(api)  # registered by agent, dispatched by dispatcher, signed by handler
    other = _register(api, _complaint("王五", "13900002222"), user="agent-2")["id"]
    _submit(api, tid, aid, "办结。")
    _act(api, tid, "decide_closure_approval", "dept_lead", decision="approve")

    def mine(user: str) -> dict[str, str]:
        answer = api.get("/tickets/mine", user=user)
        assert answer.status == 200, answer.body
        return {i["id"]: i.get("ref") for i in answer.json["items"]}

    assert mine("agent") == {tid: "registered"}
    assert mine("agent-2") == {other: "registered"}
    assert mine("dispatcher") == {tid: "dispatched"}
    assert mine("handler") == {tid: "handled"}
    assert mine("dept_lead") == {tid: "approved"}
    assert mine("manager") == {}
    assert mine("handler-urban") == {}

    item = api.get("/tickets/mine", user="agent").json["items"][0]
    assert item["complainant"] == "张**"  # masked as lists are
    assert item["status"] == "closure_review"

    # kept after closure, newest first, paged
    _act(api, tid, "review_closure", "dispatcher", decision="approve", reply="已办结。")
    called = _act(api, tid, "record_callback", "agent", satisfaction="satisfied", solved=True)
    if called["status"] != "closed":  # a callback closes the ticket (issue 19 item 4) or the agent does
        _act(api, tid, "close", "agent")
    newer = _register(api, _complaint("李四", "13900001111"))["id"]
    first = api.get("/tickets/mine?limit=1", user="agent").json
    assert [i["id"] for i in first["items"]] == [newer] and first["next_cursor"]
    second = api.get(f"/tickets/mine?limit=1&cursor={first['next_cursor']}", user="agent").json
    assert [(i["id"], i["status"]) for i in second["items"]] == [(tid, "closed")]
    assert api.get("/tickets/mine?cursor=not-a-cursor", user="agent").status == 400


def test_an_assigned_share_is_refused_to_other_handlers_until_the_lead_reassigns(api):
    """Assignment exclusivity: a colleague of the assigned handler gets a 403 naming the assignee and
    changes nothing; the lead still acts and reassigns, which moves the right with the share."""
    _add_user(api, "handler-market-2", "handler", "MARKET")
    tid, aid = _in_handling(api)  # signed by "handler"
    _act(api, tid, "assign_handler", "dept_lead", assignment_id=aid, handler="handler-market-2")
    before = api.get(f"/tickets/{tid}", user="handler").json
    assert not {"add_note", "submit_closure"} & set(before["allowed_actions"])
    refused = api.post(f"/tickets/{tid}/add-note", json={"assignment_id": aid, "text": "已联系"}, user="handler")
    assert refused.status == 403, refused.body
    assert refused.json["error"]["code"] == "assigned_to_another_handler"
    assert refused.json["error"]["details"] == {"assignment_id": aid, "assigned_to": "handler-market-2"}
    assert api.post(f"/tickets/{tid}/submit-closure", json={"result": "settled", "facts": "办结。"},
                    user="handler").status == 403
    assert api.get(f"/tickets/{tid}", user="manager").json["version"] == before["version"]  # nothing written
    _act(api, tid, "add_note", "handler-market-2", assignment_id=aid, text="已联系双方")
    _act(api, tid, "add_note", "dept_lead", assignment_id=aid, text="请本周内办结")
    _act(api, tid, "assign_handler", "dept_lead", assignment_id=aid, handler="handler")
    assert api.post(f"/tickets/{tid}/add-note", json={"assignment_id": aid, "text": "继续"},
                    user="handler-market-2").status == 403
    assert _submit(api, tid, aid)["status"] == "closure_review"


def test_a_grassroots_office_share_is_assigned_and_approved_by_the_departments_lead(api):
    """基层所: the department's lead assigns an office's share to one of the office's handlers (not a
    department handler) and approves its closure (呈批 set on the department covers its offices); the
    approval waits in the lead's queue with the department's own."""
    _set_approval(api, "MARKET", True)
    _add_user(api, "handler-gusu-2", "handler", "MARKET-GUSU")
    tid = _register(api)["id"]
    _act(api, tid, "accept", "agent", category="商品质量", district="GUSU")
    aid = _act(api, tid, "dispatch", "dispatcher", mode="single", department="MARKET-GUSU")["assignments"][0]["id"]
    _act(api, tid, "sign", "handler-market-gusu", assignment_id=aid)

    handlers = api.get("/handlers", user="dept_lead").json["items"]
    assert {"username": "handler-gusu-2", "name": "handler-gusu-2 测试", "department": "MARKET-GUSU"} in handlers
    lead_view = api.get(f"/tickets/{tid}", user="dept_lead").json
    assert lead_view["action_shares"]["assign_handler"] == [aid]
    wrong = api.post(f"/tickets/{tid}/assign-handler", json={"assignment_id": aid, "handler": "handler"},
                     user="dept_lead")  # a handler of the department, not of the office holding the share
    assert wrong.status == 400 and "handler" in wrong.json["error"]["details"]
    _act(api, tid, "assign_handler", "dept_lead", assignment_id=aid, handler="handler-gusu-2")
    assert _queue_ids(api, "assigned_to_me", "handler-gusu-2") == [tid]
    assert api.post(f"/tickets/{tid}/add-note", json={"text": "我来办"}, user="handler-market-gusu").status == 403

    proposed = _submit(api, tid, aid, user="handler-gusu-2")
    assert proposed["assignments"][0]["status"] == "pending_approval" and proposed["status"] == "in_handling"
    assert tid in _queue_ids(api, "closure_approvals", "dept_lead")
    approved = _act(api, tid, "decide_closure_approval", "dept_lead", assignment_id=aid, decision="approve")
    assert approved["status"] == "closure_review"
    event = [e for e in _events(api, tid) if e["type"] == "closure_submitted"][-1]
    assert (event["data"]["approved_by"], event["data"]["submitted_by"]) == ("dept_lead", "handler-gusu-2")
    assert "offices" not in event["actor"]


def test_my_tickets_backfill_lists_tickets_stored_before_the_index(api):
    """Tickets stored before "my tickets" existed have no M# entries: the one-off backfill writes them
    (once: a second run writes nothing, and run_once is marked done)."""
    import boto3
    from boto3.dynamodb.conditions import Key

    from chalicelib import config
    from chalicelib.services import mine_backfill

    tid, aid = _in_handling(api)
    table = boto3.resource("dynamodb").Table(config.table_name())
    old = table.query(KeyConditionExpression=Key("PK").eq(f"T#{tid}") & Key("SK").begins_with("M#"))["Items"]
    assert len(old) == 3  # agent, dispatcher, handler
    for item in old:  # as a ticket saved before the index existed
        table.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
    assert tid not in {i["id"] for i in api.get("/tickets/mine", user="handler").json["items"]}

    assert not mine_backfill.done()
    report = mine_backfill.run_once()
    assert report is not None and report.backfilled == [tid] and report.entries == 3
    assert mine_backfill.done() and mine_backfill.run_once() is None
    assert mine_backfill.backfill().entries == 0  # idempotent
    for user, how in (("agent", "registered"), ("dispatcher", "dispatched"), ("handler", "handled")):
        items = api.get("/tickets/mine", user=user).json["items"]
        assert [(i["id"], i["ref"], i["complainant"]) for i in items] == [(tid, how, "张**")]
    _add_user(api, "handler-market-2", "handler", "MARKET")
    _act(api, tid, "assign_handler", "dept_lead", assignment_id=aid, handler="handler-market-2")  # later saves
    assert [i["id"] for i in api.get("/tickets/mine", user="handler-market-2").json["items"]] == [tid]
    assert [i["id"] for i in api.get("/tickets/mine", user="handler").json["items"]] == [tid]
