"""The partner registry: kinds, endpoints, keys with rotation; secrets never in the table or the logs."""
from __future__ import annotations

from partner_helpers import UPPER, UPPER_SECRET, create_partner, poster

from chalicelib.integration.simulator import PartnerClient


def _table_dump() -> str:
    from chalicelib.aws import client

    return str(client("dynamodb").scan(TableName="tickets")["Items"])  # a test looking at everything


def test_create_shows_a_generated_secret_once_and_stores_it_only_in_secrets_manager(api, caplog):
    created = create_partner(api, "hotline-city", "hotline_12345")
    secret = created["key"]["value"]

    assert secret.startswith("whsec_") and created["partner"]["kind_label"] == "12345热线"
    shown = api.get("/partners/hotline-city", user="admin").json
    assert "value" not in str(shown["keys"]) and secret not in str(shown)
    assert shown["secret_name"] == "partners/hotline-city"
    from chalicelib.aws import client

    assert secret in client("secretsmanager").get_secret_value(SecretId="partners/hotline-city")["SecretString"]
    hotline = PartnerClient("hotline-city", secret, poster(api))
    data = {"external_id": "12345-0001", "ticket": {
        "kind": "help_request", "complainant": {"name": "王五", "phone": "13811112222", "address": "苏州市吴中区1号"},
        "request": "小区路灯不亮", "facts": "小区东门路灯已坏两周。"}}
    status, body = hotline.send("ticket.assigned", data)
    assert status == 200, body
    ticket = api.get(f"/tickets/{body['ticket_id']}", user="agent").json
    assert (ticket["channel"], ticket["status"]) == ("hotline_12345", "pending_acceptance")
    PartnerClient("hotline-city", UPPER_SECRET, poster(api)).send("ticket.assigned", data)  # a forgery
    rotated = api.post("/partners/hotline-city/secrets", json={}, user="admin").json["key"]["value"]

    dump = _table_dump()
    logs = str([r.__dict__ for r in caplog.records])
    assert "webhook signature rejected" in logs  # the forgery was logged, without any key
    for value in (secret, rotated, secret.removeprefix("whsec_"), UPPER_SECRET.removeprefix("whsec_")):
        assert value not in dump
        assert value not in logs


INVALID = [
    ({"id": "x", "name": "n", "kind": "upper"}, "id"),
    ({"id": "Bad_ID", "name": "n", "kind": "upper"}, "id"),
    ({"id": "ok-id", "name": "n", "kind": "sideways"}, "kind"),
    ({"id": "ok-id", "name": "n", "kind": "upper", "secret": "not-a-secret"}, "value"),
    ({"id": "ok-id", "name": "n", "kind": "lower", "endpoints": [{"url": "https://a.example.cn",
                                                                 "topics": ["report.daily"]}]}, "endpoints[0].topics"),
    ({"id": "ok-id", "name": "n", "kind": "upper", "endpoints": [{"url": "http://a.example.cn/h"}]}, "endpoints[0].url"),
    ({"id": "ok-id", "name": "n", "kind": "upper", "endpoints": [{"url": "https://a.example.cn/h"},
                                                                 {"url": "https://a.example.cn/h"}]}, "endpoints"),
]


def test_invalid_or_duplicate_partners_are_refused_and_only_admins_write(api):
    for body, field in INVALID:
        answer = api.post("/partners", json=body, user="admin")

        assert answer.status == 400, (body, answer.body)
        assert field in answer.json["error"]["details"], answer.json
    assert [p["id"] for p in api.get("/partners", user="admin").json["items"]] == [UPPER]
    create_partner(api, "data-center", "data_center")
    assert api.post("/partners", json={"id": "data-center", "name": "again", "kind": "upper"},
                    user="admin").status == 409
    assert api.post("/partners", json={"id": "p2", "name": "n", "kind": "upper"}, user="manager").status == 403
    assert api.get("/partners", user="handler").status == 403
    listed = {p["id"]: p for p in api.get("/partners", user="manager").json["items"]}
    assert set(listed) == {UPPER, "data-center"}
    assert listed[UPPER]["kind"] == "upper" and listed[UPPER]["enabled"] is True
    assert api.get("/partners/nobody", user="admin").status == 404

    # the local demo's other platforms (the runtime seeds them): registered switched off, once
    from chalicelib.local.seed import seed_platform_partners

    assert (seed_platform_partners(), seed_platform_partners()) == (2, 0)
    listed = {p["id"]: p for p in api.get("/partners", user="manager").json["items"]}
    demo = [listed["suzhou-12345"], listed["suzhou-data-centre"]]
    assert [p["kind"] for p in demo] == ["hotline_12345", "data_center"]
    assert not any(p["enabled"] or p["endpoints"][0]["enabled"] for p in demo)  # nothing is sent to them
    assert demo[1]["report_within_hours"] == 24


def test_signing_keys_for_outbound_ed25519(api):
    answer = api.post(f"/partners/{UPPER}/secrets", json={"kind": "ed25519_signing"}, user="admin")

    assert answer.status == 201
    key = answer.json["key"]
    assert key["public_key"].startswith("whpk_") and "value" not in key  # the private key never leaves
    kinds = sorted(k["kind"] for k in answer.json["partner"]["keys"])
    assert kinds == ["ed25519_signing", "hmac"]
    assert api.post(f"/partners/{UPPER}/secrets", json={"kind": "ed25519_public"}, user="admin").status == 400
