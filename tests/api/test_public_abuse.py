"""Abuse limits of the citizens' routes: whose address counts, which phone counts, what counts at all,
and guessing the phone digits of a tracking code without locking its citizen out."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.api import public
from chalicelib.services import ratelimit, tracking

SUBMISSION = {
    "kind": "complaint",
    "complainant": {"name": "钱多多", "phone": "13700009999", "address": "苏州市姑苏区人民路100号"},
    "respondent": {"name": "观前某某服装店", "address": "苏州市姑苏区观前街8号"},
    "request": "要求退货", "facts": "衣服开线，商家拒绝退货。",
}


class FakeTime:
    """What ``ratelimit`` reads as ``time``: a clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    fake = FakeTime()
    monkeypatch.setattr(ratelimit, "time", fake)
    return fake


def _variant(n: int, **complainant: Any) -> dict[str, Any]:
    """A different matter each time (another shop), so that repeat detection never merges them."""
    return {**SUBMISSION, "complainant": {**SUBMISSION["complainant"], **complainant},
            "respondent": {"name": f"观前某某服装店{n}号", "address": "苏州市姑苏区观前街8号"}}


def test_the_address_limit_counts_the_address_the_gateway_saw_not_x_forwarded_for(api, monkeypatch):
    monkeypatch.setattr(public, "SUBMISSIONS_PER_ADDRESS_PER_HOUR", 3)
    statuses = [api.post("/public/tickets", json=_variant(n, phone=f"1390000000{n}"), source_ip="203.0.113.7",
                         headers={"x-forwarded-for": f"198.51.100.{n}, 10.0.0.1"}).status for n in range(4)]
    assert statuses == [201, 201, 201, 429], "a made-up X-Forwarded-For must not buy more submissions"
    other = api.post("/public/tickets", json=_variant(9, phone="13900000009"), source_ip="203.0.113.8")
    assert other.status == 201, "another address has its own count"


def test_the_phone_limit_counts_one_phone_however_it_is_written(api):
    for n in range(public.SUBMISSIONS_PER_PHONE_PER_HOUR):
        answer = api.post("/public/tickets", json=_variant(n), source_ip=f"203.0.113.{n}")
        assert answer.status == 201, answer.body
    again = api.post("/public/tickets", json=_variant(99, phone="013700009999"), source_ip="203.0.113.99")
    assert again.status == 429, "013700009999 is 13700009999 with a trunk 0"
    assert again.json["error"]["code"] == "rate_limited" and again.headers.get("Retry-After")


def test_a_refused_submission_counts_against_no_limit(api):
    incomplete = {**SUBMISSION, "facts": "   "}
    for _ in range(public.SUBMISSIONS_PER_PHONE_PER_HOUR + 2):
        assert api.post("/public/tickets", json=incomplete, source_ip="203.0.113.20").status == 400
    for n in range(public.SUBMISSIONS_PER_PHONE_PER_HOUR):
        answer = api.post("/public/tickets", json=_variant(n), source_ip="203.0.113.20")
        assert answer.status == 201, (n, answer.body)


def _track(api, code: str, last4: str, source: str):
    return api.get(f"/public/tickets/{code}?phone_last4={last4}", source_ip=source)


def test_guessing_phone_digits_backs_off_per_code_without_locking_the_citizen_out(api, fake_time):
    code = api.post("/public/tickets", json=SUBMISSION, source_ip="203.0.113.1").json["tickets"][0]["tracking_code"]
    # Guessers from many addresses: a few free tries on the code, then a doubling wait after each failure.
    free = tracking.CODE_BACKOFF["free"]
    for n in range(free):
        assert _track(api, code, f"{n:04d}", f"198.51.100.{n}").status == 404
    refused = _track(api, code, "0100", "198.51.100.50")
    assert refused.status == 429 and int(refused.headers["Retry-After"]) == tracking.CODE_BACKOFF["base_seconds"]
    assert refused.json["error"]["message"] == "查询失败次数过多，请稍后再试"
    # A flood of refused tries does not lengthen the wait, and each failure after a wait is capped.
    for n in range(12):
        for m in range(20):
            assert _track(api, code, "0200", f"198.51.{n}.{m}").status == 429
        fake_time.advance(int(_track(api, code, "0200", "198.51.200.1").headers["Retry-After"]))
        assert _track(api, code, f"{n + 300:04d}", f"198.51.{n}.99").status == 404
    waiting = _track(api, code, "9999", "203.0.113.1")  # the citizen, right after the last guess
    assert waiting.status == 429
    assert int(waiting.headers["Retry-After"]) <= tracking.CODE_BACKOFF["max_seconds"], "capped, not an hour"
    fake_time.advance(int(waiting.headers["Retry-After"]))
    tracked = _track(api, code, "9999", "203.0.113.1")
    assert tracked.status == 200 and tracked.json["tracking_code"] == code


def test_one_address_guessing_many_codes_is_slowed_down_and_only_that_address(api, fake_time):
    code = api.post("/public/tickets", json=SUBMISSION, source_ip="203.0.113.1").json["tickets"][0]["tracking_code"]
    for n in range(tracking.SOURCE_BACKOFF["free"]):
        assert _track(api, f"AAAA-BBBB-{n:04d}".replace("0", "2"), "1234", "192.0.2.66").status == 404
    assert _track(api, code, "9999", "192.0.2.66").status == 429, "the guessing address waits, even for a real code"
    assert _track(api, code, "9999", "203.0.113.1").status == 200, "nobody else does"


def test_tracking_codes_are_accepted_with_or_without_dashes_in_any_case(api):
    code = api.post("/public/tickets", json=SUBMISSION, source_ip="203.0.113.1").json["tickets"][0]["tracking_code"]
    for typed in (code, code.replace("-", ""), code.lower(), code.replace("-", "").lower()):
        answer = api.get(f"/public/tickets/{typed}?phone_last4=9999")
        assert answer.status == 200 and answer.json["tracking_code"] == code, (typed, answer.body)


def test_the_local_runtime_gives_the_app_the_socket_peer_address():
    """The local HTTP server passes the connection's peer as sourceIp (API Gateway's identity), and no
    longer forges an X-Forwarded-For from it."""
    from chalicelib.local.server import LocalHttpServer

    seen: list[tuple[str, dict[str, str]]] = []

    class Recorder:
        def handle(self, method, path, headers, body, *, source_ip):
            seen.append((source_ip, headers))
            return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    import threading
    import urllib.request

    server = LocalHttpServer(0, Recorder(), None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).read()
    finally:
        server.shutdown()
        server.server_close()
    [(source, headers)] = seen
    assert source == "127.0.0.1" and "x-forwarded-for" not in headers
