"""Outbound delivery: signed, re-signed on every attempt, retried on schedule, parked, replayed."""
from __future__ import annotations

import json
from datetime import datetime

from partner_helpers import UPPER, UPPER_SECRET, assignment, new_receiver, set_endpoints

from chalicelib.integration import sender, urlguard


def _accepted_upper_ticket(api, upper, external_id="GJ-O1"):
    status, body = upper.send("ticket.assigned", assignment(external_id))
    assert status == 200, body
    ticket_id = body["ticket_id"]
    assert api.post(f"/tickets/{ticket_id}/accept", json={"category": "家用电器"}, user="agent").status == 200
    return ticket_id


def _deliveries(api, **query):
    path = f"/partners/{UPPER}/deliveries"
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    answer = api.get(path, user="admin")
    assert answer.status == 200, answer.body
    return answer.json["items"]


def _dlq_messages(seeded):
    from chalicelib.aws import client

    answer = client("sqs").receive_message(QueueUrl=seeded["OUTBOX_DLQ_URL"], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in answer.get("Messages", [])]


def test_an_acceptance_reaches_the_upper_level_signed_with_every_active_key(api, upper, pump, receivers, clock):
    ticket_id = _accepted_upper_ticket(api, upper)
    rotated = api.post(f"/partners/{UPPER}/secrets", json={}, user="admin").json["key"]["value"]
    receiver = new_receiver(receivers, rotated, clock)  # the partner already switched to the new key
    set_endpoints(api, UPPER, [receiver.url])

    pump.drain()

    [event] = receiver.events("ticket.accepted")
    assert event["data"]["ticket_id"] == ticket_id and event["data"]["external_id"] == "GJ-O1"
    assert event["data"]["status"] == "to_dispatch" and event["data"]["category"] == "家用电器"
    [delivered] = _deliveries(api, status="delivered", date=clock.now().date().isoformat())
    assert delivered["attempts"] == 1 and delivered["last_status_code"] == 200
    pump.drain()  # nothing sent twice
    assert len(receiver.received) == 1
    assert [d["attempts"] for d in _deliveries(api, status="delivered", date=clock.now().date().isoformat())] == [1]
    assert len(receiver.received[0].headers["webhook-signature"].split(" ")) == 2  # old and new key

    # a declined upper-level assignment is reviewed, then returned upward
    returned_id = upper.send("ticket.assigned", assignment("GJ-O2", phone="13900000077"))[1]["ticket_id"]
    assert api.post(f"/tickets/{returned_id}/decline", json={"reason_code": "not_our_duty"},
                    user="agent").status == 200
    pump.drain()
    assert receiver.events("ticket.declined") == []  # not final yet: a dispatcher reviews it
    assert api.post(f"/tickets/{returned_id}/review-non-acceptance", user="dispatcher",
                    json={"decision": "return_upward", "text": "不属于本市管辖"}).status == 200
    pump.drain()
    [returned] = receiver.events("ticket.returned")
    assert returned["data"]["external_id"] == "GJ-O2" and returned["data"]["reason_code"] == "not_our_duty"
    assert returned["data"]["review"] == "不属于本市管辖" and returned["data"]["status"] == "closed"


def test_a_partner_endpoint_that_is_down_gets_every_retry_then_the_dlq_then_a_replay(
        api, upper, pump, receivers, clock, seeded):
    receiver = new_receiver(receivers, UPPER_SECRET, clock)
    receiver.answer_next(503, times=sender.MAX_ATTEMPTS)
    set_endpoints(api, UPPER, [receiver.url])
    ticket_id = _accepted_upper_ticket(api, upper)
    pump.drain()
    day = clock.now().date().isoformat()
    [delivery] = _deliveries(api, status="retrying", date=day)
    first_due = datetime.fromisoformat(delivery["next_attempt_at"])
    assert 5 <= (first_due - clock.now()).total_seconds() <= 5.5  # the schedule's 5 s (+ up to 10 % jitter)

    clock.advance(seconds=2)
    assert sender.retry_due() == 0  # not due yet
    for delay in sender.SCHEDULE_SECONDS:
        clock.advance(seconds=delay * 1.1 + 1)
        assert sender.retry_due() == 1
        pump.drain()

    assert len(receiver.received) == sender.MAX_ATTEMPTS
    assert {r.id for r in receiver.received} == {delivery["id"]}  # the same webhook-id throughout
    stamps = [r.headers["webhook-timestamp"] for r in receiver.received]
    assert len(set(stamps)) == len(stamps)  # re-signed on every attempt
    assert all(r.verified for r in receiver.received)
    [parked] = _deliveries(api)  # status=failed by default
    assert (parked["status"], parked["failure_reason"], parked["attempts"]) == \
        ("failed", "retries_exhausted", sender.MAX_ATTEMPTS)
    assert [m["delivery_id"] for m in _dlq_messages(seeded)] == [delivery["id"]]
    detail = api.get(f"/partners/{UPPER}/deliveries/{delivery['id']}", user="manager").json
    assert [h["status"] for h in detail["history"]] == [503] * sender.MAX_ATTEMPTS
    assert detail["body"]["type"] == "ticket.accepted" and detail["body"]["data"]["ticket_id"] == ticket_id
    recon = api.get(f"/partners/{UPPER}/reconciliation?date={day}", user="admin").json
    assert recon["balanced"] is False and recon["outbound"]["failed"]["ids"] == [delivery["id"]]

    assert api.post(f"/partners/{UPPER}/deliveries/{delivery['id']}/replay", json={}, user="manager").status == 403
    replayed = api.post(f"/partners/{UPPER}/deliveries/{delivery['id']}/replay", json={}, user="admin")
    assert replayed.status == 202, replayed.body
    pump.drain()

    assert receiver.events("ticket.accepted")[0]["data"]["ticket_id"] == ticket_id
    assert _deliveries(api) == []
    recon = api.get(f"/partners/{UPPER}/reconciliation?date={day}", user="admin").json
    assert recon["balanced"] is True and recon["outbound"]["acknowledged"]["ids"] == [delivery["id"]]
    again = api.post(f"/partners/{UPPER}/deliveries/{delivery['id']}/replay", json={}, user="admin")
    assert again.status == 409  # only failed deliveries are replayed


def test_retry_after_is_honoured(api, upper, pump, receivers, clock):
    receiver = new_receiver(receivers, UPPER_SECRET, clock)
    receiver.answer_next(503, {"Retry-After": "3600"})
    set_endpoints(api, UPPER, [receiver.url])
    _accepted_upper_ticket(api, upper)
    pump.drain()

    [delivery] = _deliveries(api, status="retrying", date=clock.now().date().isoformat())
    assert (datetime.fromisoformat(delivery["next_attempt_at"]) - clock.now()).total_seconds() == 3600
    clock.advance(minutes=10)
    assert sender.retry_due() == 0
    clock.advance(minutes=51)
    assert sender.retry_due() == 1
    pump.drain()
    assert len(receiver.events("ticket.accepted")) == 1


def test_a_410_disables_the_endpoint_until_an_admin_enables_it(api, upper, pump, receivers, clock):
    receiver = new_receiver(receivers, UPPER_SECRET, clock)
    receiver.answer_next(410)
    set_endpoints(api, UPPER, [receiver.url])
    ticket_id = _accepted_upper_ticket(api, upper)
    pump.drain()

    [gone] = _deliveries(api)
    assert gone["failure_reason"] == "endpoint_gone" and gone["attempts"] == 1
    [endpoint] = api.get(f"/partners/{UPPER}", user="admin").json["endpoints"]
    assert (endpoint["enabled"], endpoint["disabled_reason"]) == (False, "gone")
    assert api.post(f"/tickets/{ticket_id}/dispatch", json={"mode": "single", "department": "MARKET"},
                    user="dispatcher").status == 200
    pump.drain()
    parked = _deliveries(api)
    assert sorted(d["failure_reason"] for d in parked) == ["endpoint_disabled", "endpoint_gone"]
    assert len(receiver.received) == 1  # nothing more was sent to it
    assert api.post(f"/partners/{UPPER}/deliveries/{gone['id']}/replay", json={}, user="admin").status == 409

    answer = api.request("PATCH", f"/partners/{UPPER}", user="admin",
                         json_body={"endpoints": [{"url": receiver.url, "enabled": True}]})
    assert answer.status == 200 and answer.json["endpoints"][0]["id"] == endpoint["id"]
    for item in parked:
        assert api.post(f"/partners/{UPPER}/deliveries/{item['id']}/replay", json={}, user="admin").status == 202
    pump.drain()
    assert sorted(e["type"] for e in receiver.events()) == ["ticket.accepted", "ticket.progress"]


def test_ssrf_internal_addresses_are_refused_when_entered_and_when_resolved_at_send_time(api, upper, pump, clock):
    for url in ("https://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hook", "https://10.0.0.1/hook",
                "https://[::ffff:192.168.0.1]/", "file:///etc/passwd", "https://admin:pw@partner.example.cn/"):
        answer = api.request("PATCH", f"/partners/{UPPER}", json_body={"endpoints": [{"url": url}]}, user="admin")

        assert answer.status == 400, (url, answer.body)
        assert answer.json["error"]["code"] == "unsafe_url" and "endpoints[0].url" in answer.json["error"]["details"]
    assert api.get(f"/partners/{UPPER}", user="admin").json["endpoints"] == []

    answers = {"partner.example.cn": ["10.0.0.7"]}
    urlguard.set_resolver(lambda host, port: answers[host])
    try:
        set_endpoints(api, UPPER, ["https://partner.example.cn/hook"])
        _accepted_upper_ticket(api, upper)
        pump.drain()
    finally:
        urlguard.set_resolver(None)

    [parked] = _deliveries(api)
    assert parked["failure_reason"] == "ssrf_blocked" and parked["last_status_code"] is None
