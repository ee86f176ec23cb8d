"""GET /vocabulary: the domain's one vocabulary for every signed-in caller, cacheable; ticket views
name, for each action on one's own share, the shares it can be about (the portal keeps no copy)."""
from __future__ import annotations

from chalicelib.domain import lifecycle
from chalicelib.domain.vocabulary import ACTION_LABELS, CHANNEL_LABELS, STATUS_LABELS
from tests.flows.complaint_bodies import PHONE_COMPLAINT


def test_every_signed_in_role_reads_the_same_vocabulary_and_can_revalidate_it(module_api):
    first = module_api.get("/vocabulary", user="agent")
    assert first.status == 200, first.body
    doc = first.json
    assert doc["labels"]["channel"]["web"] == "互联网" and doc["labels"]["channel"] == CHANNEL_LABELS
    assert doc["labels"]["status"] == STATUS_LABELS
    assert set(doc["labels"]["action"]) == lifecycle.ACTIONS
    assert [a["name"] for a in doc["actions"]] == [r.name for r in lifecycle.ROWS]
    assert {a["name"]: set(a["params"]) for a in doc["actions"]} == {k: set(v) for k, v in lifecycle.PARAMS.items()}
    assert doc["status_groups"]["accepting"] == ["pending_acceptance", "internet_inbox", "upper_level_pending"]
    assert doc["results_by_kind"]["complaint"] == ["settled", "not_settled", "terminated"]
    assert "max-age" in first.headers["Cache-Control"]
    assert module_api.get("/vocabulary", user="handler").json == doc
    again = module_api.get("/vocabulary", user="manager", headers={"if-none-match": first.headers["ETag"]})
    assert again.status == 304


def test_the_vocabulary_needs_a_signed_in_caller(module_api):
    assert module_api.get("/vocabulary").status == 401


def test_a_ticket_view_names_the_callers_shares_each_action_is_about(module_api):
    created = module_api.post("/tickets", json=PHONE_COMPLAINT, user="agent")
    assert created.status == 201, created.body
    tid = created.json["tickets"][0]["id"]
    assert module_api.post(f"/tickets/{tid}/accept", json={"district": "GUSU"}, user="agent").status == 200
    dispatched = module_api.post(f"/tickets/{tid}/dispatch", user="dispatcher",
                                 json={"mode": "lead_assist", "lead": "MARKET", "assists": ["URBAN"]})
    assert dispatched.status == 200, dispatched.body
    assert dispatched.json["action_shares"] == {}  # the dispatcher holds no share
    lead = next(a for a in dispatched.json["assignments"] if a["department"] == "MARKET")
    seen = module_api.get(f"/tickets/{tid}", user="handler").json
    assert seen["action_shares"] == {"sign": [lead["id"]], "request_return": [lead["id"]]}
    assert set(seen["action_shares"]) <= set(seen["allowed_actions"])
    signed = module_api.post(f"/tickets/{tid}/sign", json={"assignment_id": lead["id"]}, user="handler").json
    assert "sign" not in signed["action_shares"] and signed["action_shares"]["add_note"] == [lead["id"]]
    # the lead waits for its assist: it may not submit yet, so no share is offered for it
    assert "submit_closure" not in signed["action_shares"]
