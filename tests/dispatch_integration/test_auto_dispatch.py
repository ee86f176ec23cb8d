"""Auto-dispatch: above the threshold the platform dispatches an accepted ticket by itself;
below it (or when switched off) the dispatcher sees the model's top 3."""
from __future__ import annotations

from dispatch_helpers import act, register, submission

from chalicelib.dispatch.registry import bundled_version
from chalicelib.services import autodispatch

UNSURE = {
    "kind": "help_request", "channel": "phone",
    "complainant": {"name": "钱七", "phone": "13900002222", "address": "苏州市姑苏区十全街8号"},
    "request": "请帮忙协调",
    "facts": "我和邻居之间有点矛盾，说不清楚，想请你们帮忙看看。",
}


def _timeline(api, ticket_id):
    return api.get(f"/tickets/{ticket_id}/timeline", user="manager").json["events"]


def _recommended_auto(api, ticket_id):
    return api.get(f"/tickets/{ticket_id}", user="dispatcher").json["recommendation"]["auto"]


def _queue_ids(api, name="to_dispatch", user="dispatcher"):
    return [i["id"] for i in api.get(f"/queues/{name}", user=user).json["items"]]


def test_a_confident_ticket_is_dispatched_by_the_platform_after_acceptance(api, pump):
    ticket = register(api, submission("11"))
    top = ticket["recommendation"]["departments"][0]
    assert ticket["recommendation"]["auto"] and top["department"] == "MARKET"
    pump.drain()
    assert api.get(f"/tickets/{ticket['id']}", user="dispatcher").json["status"] == "pending_acceptance"

    act(api, ticket["id"], "accept", "agent")
    pump.drain()

    dispatched = api.get(f"/tickets/{ticket['id']}", user="dispatcher").json
    assert dispatched["status"] == "in_handling" and dispatched["dispatch_mode"] == "single"
    assert [(a["department"], a["role"], a["status"]) for a in dispatched["assignments"]] == [
        ("MARKET", "single", "to_sign")]
    assert dispatched["district"] == "WUZHONG"  # the located district
    event = _timeline(api, ticket["id"])[-1]
    assert event["type"] == "dispatched" and event["actor"]["role"] == "system"
    assert event["data"]["auto_dispatch"] == {"model_version": bundled_version(), "probability_bp": top["probability_bp"]}
    assert bundled_version() in event["data"]["text"] and "市场监督管理局" in event["data"]["text"]
    assert f"{top['probability_bp'] / 100:.1f}%" in event["data"]["text"]
    assert ticket["id"] not in _queue_ids(api)
    assert ticket["id"] in _queue_ids(api, "to_sign", "handler")

    # a replayed stream record changes nothing
    assert autodispatch.auto_dispatch(ticket["id"]) == "not_to_dispatch"


def test_an_unsure_ticket_waits_for_the_dispatcher_with_the_top_three(api):
    ticket = register(api, UNSURE)
    rec = ticket["recommendation"]
    assert rec["auto"] is False and rec["departments"][0]["probability_bp"] < rec["threshold_bp"]
    act(api, ticket["id"], "accept", "agent")
    assert autodispatch.auto_dispatch(ticket["id"]) == "below_threshold"  # what the stream consumer does
    # and a dispatcher cannot pass a dispatch off as the model's
    act(api, ticket["id"], "dispatch", "dispatcher", status=403, mode="single", department="HOUSING",
        auto={"model_version": rec["model_version"], "probability_bp": 9999})

    assert api.get(f"/tickets/{ticket['id']}", user="dispatcher").json["status"] == "to_dispatch"
    [item] = [i for i in api.get("/queues/to_dispatch", user="dispatcher").json["items"] if i["id"] == ticket["id"]]
    shown = item["recommendation"]
    assert shown["departments"] == rec["departments"] and len(shown["departments"]) == 3
    assert shown["model_version"] == bundled_version() and shown["auto"] is False
    assert all(e["type"] != "dispatched" for e in _timeline(api, ticket["id"]))


def test_the_admin_switches_auto_dispatch_off_and_on_and_overrides_the_threshold(api):
    assert api.put("/admin/dispatch-settings", json={"auto_dispatch": False, "expected_version": 0},
                   user="admin").status == 200
    off = register(api, submission("12"))
    act(api, off["id"], "accept", "agent")
    assert autodispatch.auto_dispatch(off["id"]) == "disabled"

    answer = api.put("/admin/dispatch-settings", json={"auto_dispatch": True, "min_probability": 1,
                                                       "expected_version": 1}, user="admin")
    assert answer.status == 200 and answer.json["min_probability"] == 1
    assert _recommended_auto(api, off["id"]) is True  # the model alone would have dispatched it
    assert autodispatch.auto_dispatch(off["id"]) == "below_threshold"

    assert api.put("/admin/dispatch-settings", json={"auto_dispatch": True, "min_probability": None,
                                                     "expected_version": 2}, user="admin").status == 200
    assert autodispatch.auto_dispatch(off["id"]) == "dispatched"
    assert api.get(f"/tickets/{off['id']}", user="dispatcher").json["status"] == "in_handling"


def test_upper_level_assignments_are_left_to_the_dispatcher_by_default(api):
    ticket = register(api, submission("15", channel="upper_level", external_ref="SJ-1"))
    act(api, ticket["id"], "accept", "agent")
    assert autodispatch.auto_dispatch(ticket["id"]) == "channel_excluded"
    assert api.get("/admin/dispatch-settings", user="admin").json["exclude_channels"] == ["upper_level"]


def test_a_returned_ticket_is_not_dispatched_again_by_the_platform(api):
    ticket = register(api, submission("16"))
    act(api, ticket["id"], "accept", "agent")
    assert autodispatch.auto_dispatch(ticket["id"]) == "dispatched"
    handled = api.get(f"/tickets/{ticket['id']}", user="handler").json
    assignment = handled["assignments"][0]["id"]
    act(api, ticket["id"], "request_return", "handler", assignment_id=assignment, reason="非本部门职责",
        basis="应由属地街道处理")
    back = act(api, ticket["id"], "decide_return", "dispatcher", assignment_id=assignment, decision="approve")
    assert back["status"] == "to_dispatch"
    assert autodispatch.auto_dispatch(ticket["id"]) == "dispatched_before"  # Art. 41: the centre decides again


def test_the_stream_consumer_takes_acceptances_of_recommended_tickets_only():
    from chalicelib.streams import TableChange

    def change(old, new, pk="T#1", sk="TICKET", rec=True):
        data = {"recommendation": {"model_version": "v"}} if rec else {}
        return TableChange("e", "MODIFY", "1", pk, sk, {"status": new, "data": data}, {"status": old, "data": data})

    accepts = autodispatch._accepted_with_recommendation
    assert accepts(change("pending_acceptance", "to_dispatch"))
    assert accepts(change("internet_inbox", "to_dispatch")) and accepts(change("upper_level_pending", "to_dispatch"))
    assert not accepts(change("pending_acceptance", "to_dispatch", rec=False))
    assert not accepts(change("in_handling", "to_dispatch"))  # back from a return
    assert not accepts(change("to_dispatch", "to_dispatch"))  # merged facts, urgings...
    assert not accepts(change("pending_acceptance", "to_dispatch", sk="Q#to_dispatch#center#1"))


def test_settings_are_validated_and_versioned(api):
    bad = [{"auto_dispatch": "yes", "expected_version": 0},
           {"auto_dispatch": True, "min_probability": 0.2, "expected_version": 0},
           {"auto_dispatch": True, "exclude_channels": ["fax"], "expected_version": 0}]
    for body in bad:
        assert api.put("/admin/dispatch-settings", json=body, user="admin").status == 400, body
    assert api.put("/admin/dispatch-settings", json={"auto_dispatch": True, "expected_version": 3},
                   user="admin").status == 409
    assert api.put("/admin/dispatch-settings", json={"auto_dispatch": False, "expected_version": 0},
                   user="dispatcher").status == 403
    shown = api.get("/admin/dispatch-settings", user="admin").json
    assert shown == {"auto_dispatch": True, "min_probability": None, "exclude_channels": ["upper_level"],
                     "_version": 0, "default": True}


def test_text_far_from_anything_the_model_knows_waits_for_the_dispatcher_with_the_ranked_list(api):
    poem = {**UNSURE, "request": "请转交", "facts": "床前明月光，疑是地上霜。举头望明月，低头思故乡。"}
    ticket = register(api, poem)
    rec = ticket["recommendation"]
    assert rec["abstain"] == "unfamiliar" and rec["auto"] is False and len(rec["departments"]) == 3
    assert rec["familiarity_bp"] is not None
    # even an admin's low minimum probability does not make the model sure of it
    assert api.put("/admin/dispatch-settings", json={"auto_dispatch": True, "min_probability": 0.5,
                                                     "expected_version": 0}, user="admin").status == 200
    act(api, ticket["id"], "accept", "agent")
    assert autodispatch.auto_dispatch(ticket["id"]) == "unfamiliar"
    assert ticket["id"] in _queue_ids(api)
    shown = api.get(f"/tickets/{ticket['id']}", user="dispatcher").json["recommendation"]
    assert shown["abstain"] == "unfamiliar" and shown["departments"] == rec["departments"]
