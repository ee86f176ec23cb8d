"""Inbound partner webhooks over the API: authenticity first, then validity, then exactly once."""
from __future__ import annotations

import json
import time

from partner_helpers import UPPER, UPPER_SECRET, assignment, create_partner, poster

from chalicelib.integration import records, signing
from chalicelib.integration.simulator import PartnerClient, signed_request

OTHER_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="


def _idempotency_records() -> list:
    from chalicelib.aws import client

    answer = client("dynamodb").query(TableName="tickets", KeyConditionExpression="PK = :pk",
                                      ExpressionAttributeValues={":pk": {"S": f"IDEMPOTENCY#webhooks#{UPPER}"}})
    return answer["Items"]


def _upper_queue(api) -> list:
    return api.get("/queues/upper_assignments", user="agent").json["items"]


def _reconciliation(api, partner=UPPER) -> dict:
    answer = api.get(f"/partners/{partner}/reconciliation", user="admin")
    assert answer.status == 200, answer.body
    return answer.json


def _nothing_stored(api) -> None:
    assert _upper_queue(api) == []
    assert _reconciliation(api)["inbound"]["received"]["count"] == 0
    assert _idempotency_records() == []


def test_an_upper_level_assignment_lands_awaiting_acceptance_mapped_both_ways(api, upper):
    status, body = upper.send("ticket.assigned", assignment("GJ-2026-0001"))

    assert status == 200, body
    assert body["outcome"] == "registered" and body["external_id"] == "GJ-2026-0001"
    ticket = api.get(f"/tickets/{body['ticket_id']}", user="agent").json
    assert ticket["status"] == "upper_level_pending" and ticket["channel"] == "upper_level"
    assert ticket["external_ref"] == "GJ-2026-0001"
    assert ticket["registered_by"] == UPPER
    assert [i["id"] for i in _upper_queue(api)] == [body["ticket_id"]]
    assert records.find_mapping(UPPER, "GJ-2026-0001") == body["ticket_id"]
    [link] = records.links_of(body["ticket_id"])
    assert (link.partner_id, link.relation, link.external_id) == (UPPER, "origin", "GJ-2026-0001")
    assert len(_idempotency_records()) == 1


def test_unauthentic_requests_are_401_and_nothing_is_stored(api, upper):
    headers, body = signed_request(UPPER_SECRET, "ticket.assigned", assignment("GJ-T1"))
    tampered = body.replace("周晓梅".encode(), "李四五".encode())

    status, answer = upper.send_raw(headers, tampered)

    assert status == 401 and answer["error"]["code"] == "invalid_signature"
    assert answer["error"]["details"] == {"reason": "no_matching_signature"}
    for offset, reason in ((-301, "timestamp_too_old"), (301, "timestamp_in_future")):
        status, answer = upper.send("ticket.assigned", assignment("GJ-S1"), timestamp=int(time.time()) + offset)
        assert status == 401 and answer["error"]["details"]["reason"] == reason
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        status, answer = upper.send_raw({k: v for k, v in headers.items() if k != name}, body)
        assert status == 401 and answer["error"]["details"]["reason"] == "missing_headers"
    wrong = PartnerClient(UPPER, OTHER_SECRET, poster(api))
    assert wrong.send("ticket.assigned", assignment("GJ-W1"))[0] == 401
    nobody = PartnerClient("no-such-partner", UPPER_SECRET, poster(api))
    assert nobody.send("ticket.assigned", assignment("GJ-W2"))[0] == 401
    assert api.request("PATCH", f"/partners/{UPPER}", json_body={"enabled": False}, user="admin").status == 200
    status, answer = upper.send("ticket.assigned", assignment("GJ-W3"))
    assert status == 401 and answer["error"]["code"] == "invalid_signature"
    _nothing_stored(api)


def test_a_webhook_id_takes_effect_once_and_an_external_id_maps_to_one_ticket(api, upper):
    headers, body = signed_request(UPPER_SECRET, "ticket.assigned", assignment("GJ-R1"))

    first = upper.send_raw(headers, body)
    again = upper.send_raw(headers, body)
    # a partner's retry: same id and body, a new timestamp and signature
    retry = signing.sign_headers(headers["webhook-id"], int(time.time()) + 1, body, hmac_secrets=[UPPER_SECRET])
    resigned = upper.send_raw(retry, body)

    assert first[0] == again[0] == resigned[0] == 200
    assert first[1] == again[1] == resigned[1]
    # the same id with another body
    status, answer = upper.send("ticket.assigned", assignment("GJ-R2"), webhook_id=headers["webhook-id"])
    assert status == 409 and answer["error"]["code"] == "webhook_id_reused"
    # the same external id under a new webhook id
    status, answer = upper.send("ticket.assigned", assignment("GJ-R1"))
    assert status == 200 and answer["outcome"] == "already_registered"
    assert answer["ticket_id"] == first[1]["ticket_id"]

    assert [i["id"] for i in _upper_queue(api)] == [first[1]["ticket_id"]]
    recon = _reconciliation(api)["inbound"]
    assert recon["received"]["count"] == 2 and headers["webhook-id"] in recon["received"]["ids"]
    assert recon["applied"]["ids"] == [headers["webhook-id"]] and recon["ignored"]["count"] == 1
    assert recon["tickets_registered"] == 1 and recon["rejected"]["count"] == 0


def test_a_repeat_of_an_open_ticket_is_linked_not_duplicated(api, upper):
    phone = api.post("/tickets", json={**assignment("x")["ticket"], "channel": "phone"}, user="agent")
    assert phone.status == 201, phone.body
    existing = phone.json["tickets"][0]["id"]

    status, answer = upper.send("ticket.assigned", assignment("GJ-DUP"))

    assert status == 200 and answer["outcome"] == "linked_duplicate" and answer["ticket_id"] == existing
    assert _upper_queue(api) == []
    assert records.find_mapping(UPPER, "GJ-DUP") == existing
    assert [link.relation for link in records.links_of(existing)] == ["origin"]


MALFORMED = [
    (b"{not json", "body"),
    (b"[]", "body"),
    (json.dumps({"type": "ticket.assigned"}).encode(), "body"),
    (json.dumps({"type": "ticket.exploded", "data": {}}).encode(), "type"),
    (json.dumps({"type": "ticket.updated", "data": {"sequence": 1, "text": "x"}}).encode(), "type"),  # lower's
    (json.dumps({"type": "ticket.assigned", "data": {"ticket": {}}}).encode(), "data"),
    (json.dumps({"type": "ticket.assigned", "data": {"external_id": "bad#id", "ticket": {}}}).encode(),
     "data.external_id"),
    (json.dumps({"type": "ticket.urged", "data": {"external_id": "GJ-1", "text": ""}}).encode(), "data.text"),
]


def test_malformed_payloads_are_400_with_every_bad_field_and_nothing_stored(api, upper):
    for n, (raw, field) in enumerate(MALFORMED):
        headers = signing.sign_headers(f"msg_malformed{n}", int(time.time()), raw, hmac_secrets=[UPPER_SECRET])

        status, answer = upper.send_raw(headers, raw)

        assert status == 400, (raw, answer)
        assert answer["error"]["code"] == "validation_failed"
        assert any(key.startswith(field) for key in answer["error"]["details"]), (raw, answer["error"]["details"])
    data = assignment("GJ-V1")
    data["ticket"]["complainant"] = {"name": "周晓梅", "phone": "12345"}
    data["ticket"]["channel"] = "phone"
    status, answer = upper.send("ticket.assigned", data)
    assert status == 400 and answer["error"]["details"] == {"data.ticket.channel": "set by the platform"}
    del data["ticket"]["channel"]
    status, answer = upper.send("ticket.assigned", data)
    assert status == 400
    assert {"data.ticket.complainant.phone", "data.ticket.complainant.address"} <= set(answer["error"]["details"])
    _nothing_stored(api)


def test_upper_level_urgings_and_recalls(api, upper):
    ticket_id = upper.send("ticket.assigned", assignment("GJ-U1"))[1]["ticket_id"]
    assert api.post(f"/tickets/{ticket_id}/accept", json={}, user="agent").status == 200
    assert api.post(f"/tickets/{ticket_id}/dispatch", json={"mode": "single", "department": "MARKET"},
                    user="dispatcher").status == 200

    status, answer = upper.send("ticket.urged", {"external_id": "GJ-U1", "text": "请加快办理并于三日内反馈。"})

    assert status == 200 and answer["outcome"] == "applied" and answer["urging_ids"] == ["U1"]
    items = api.get("/queues/urgings", user="handler").json["items"]
    assert [i["id"] for i in items] == [ticket_id]
    urging = api.get(f"/tickets/{ticket_id}", user="handler").json["urgings"][0]
    assert (urging["department"], urging["source"]) == ("MARKET", "upper_level")
    assert upper.send("ticket.urged", {"external_id": "GJ-NONE", "text": "催办"})[0] == 404

    recalled_id = upper.send("ticket.assigned", assignment("GJ-C1", phone="13900000009"))[1]["ticket_id"]
    status, answer = upper.send("ticket.recalled", {"external_id": "GJ-C1", "reason": "已由省局直接办理"})
    assert status == 200, answer
    ticket = api.get(f"/tickets/{recalled_id}", user="agent").json
    assert ticket["urgings"][0]["department"] == "center"
    assert "已由省局直接办理" in ticket["urgings"][0]["text"]
    assert "answer_urging" in ticket["allowed_actions"]


def test_a_rotated_secret_works_both_old_and_new_during_the_grace_period_then_old_is_revoked(api, upper):
    rotated = api.post(f"/partners/{UPPER}/secrets", json={"grace_hours": 24}, user="admin")
    assert rotated.status == 201, rotated.body
    new_secret = rotated.json["key"]["value"]
    assert new_secret.startswith("whsec_") and new_secret != UPPER_SECRET
    keys = rotated.json["partner"]["keys"]
    assert len(keys) == 2 and all("value" not in k for k in keys)
    assert [k["expires_at"] is not None for k in keys] == [True, False]

    fresh = PartnerClient(UPPER, new_secret, poster(api))
    both = PartnerClient(UPPER, [UPPER_SECRET, new_secret], poster(api))
    assert upper.send("ticket.assigned", assignment("GJ-K1", phone="13900000001"))[0] == 200
    assert fresh.send("ticket.assigned", assignment("GJ-K2", phone="13900000002"))[0] == 200
    assert both.send("ticket.assigned", assignment("GJ-K3", phone="13900000003"))[0] == 200

    old_id = keys[0]["id"]
    assert api.request("DELETE", f"/partners/{UPPER}/secrets/{old_id}", user="admin").status == 200
    assert upper.send("ticket.assigned", assignment("GJ-K4", phone="13900000004"))[0] == 401
    assert fresh.send("ticket.assigned", assignment("GJ-K5", phone="13900000005"))[0] == 200
    new_id = api.get(f"/partners/{UPPER}", user="admin").json["keys"][0]["id"]
    last = api.request("DELETE", f"/partners/{UPPER}/secrets/{new_id}", user="admin")
    assert last.status == 409  # the last verifying key stays


def test_an_ed25519_partner_signs_v1a(api):
    private, public = signing.new_ed25519_keypair()
    create_partner(api, "national-12315", "upper")
    answer = api.post("/partners/national-12315/secrets", json={"kind": "ed25519_public", "value": public},
                      user="admin")
    assert answer.status == 201, answer.body
    assert answer.json["key"]["public_key"] == public and "value" not in answer.json["key"]

    def post(path, headers, body):
        reply = api.request("POST", path, body=body, headers=headers)
        return reply.status, reply.json

    headers, body = signed_request([], "ticket.assigned", assignment("GZ-1"), signing_keys=[private])
    assert headers["webhook-signature"].startswith("v1a,")
    status, reply = post("/partners/national-12315/webhooks", headers, body)
    assert status == 200, reply
    other, _ = signing.new_ed25519_keypair()
    headers, body = signed_request([], "ticket.assigned", assignment("GZ-2"), signing_keys=[other])
    assert post("/partners/national-12315/webhooks", headers, body)[0] == 401


def test_a_lone_surrogate_in_a_signed_webhook_is_a_400_naming_the_field(api, upper):
    """Valid JSON (``"\\ud800"``) and a valid signature, but no character: refused, never a retryable 503."""
    from chalicelib.domain.intake import INVALID_CHARACTER
    from chalicelib.integration.simulator import new_webhook_id

    data = assignment("GJ-SUR1", facts="电池鼓包\ud800")
    body = json.dumps({"type": "ticket.assigned", "data": data}).encode("ascii")
    headers = signing.sign_headers(new_webhook_id(), int(time.time()), body, hmac_secrets=[UPPER_SECRET],
                                   signing_keys=[])
    headers["content-type"] = "application/json"

    status, answer = upper.send_raw(headers, body)

    assert status == 400, answer
    assert answer["error"]["details"] == {"data.ticket.facts": INVALID_CHARACTER}
    _nothing_stored(api)
