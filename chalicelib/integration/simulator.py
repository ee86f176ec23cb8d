"""A partner platform simulator: plays an upper-level or a lower-level platform against ours.

* :class:`PartnerClient` sends signed Standard Webhooks events to ``/partners/{id}/webhooks``;
* :class:`WebhookReceiver` listens on a loopback port for our outbound webhooks, verifies each
  signature (and timestamp) with the partner's secret, and can answer with scripted statuses
  (a 503 with ``Retry-After``, a 410...) to exercise retries;
* ``python -m chalicelib.integration.simulator`` runs a demo against a running platform
  (``make run``): it points the seeded ``province-12315`` partner at its receiver, sends an
  upper-level assignment, and prints every verified webhook that comes back as the centre
  accepts, dispatches and closes the ticket.

Development tool: it uses ``requests`` (a dev dependency) only in the command line part, and
production code never imports it. Binds 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import secrets as _random
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from chalicelib.integration import signing

DEFAULT_PARTNER = "province-12315"
SECRET_ENV = "PARTNER_PROVINCE_12315_SECRET"
DEFAULT_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

Poster = Callable[[str, dict[str, str], bytes], tuple[int, Any]]


def new_webhook_id() -> str:
    return "msg_" + _random.token_hex(12)


def signed_request(secret: str | list[str], event_type: str, data: dict[str, Any], *, webhook_id: str | None = None,
                   timestamp: int | None = None, signing_keys: list[str] | None = None) -> tuple[dict[str, str], bytes]:
    """(headers, raw body) of a Standard Webhooks request signed with ``secret`` (one or several)."""
    body = json.dumps({"type": event_type, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "data": data}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    secrets_list = [secret] if isinstance(secret, str) else list(secret)
    headers = signing.sign_headers(webhook_id or new_webhook_id(), int(timestamp if timestamp is not None else time.time()),
                                   body, hmac_secrets=secrets_list, signing_keys=signing_keys or [])
    headers["content-type"] = "application/json"
    return headers, body


@dataclass
class PartnerClient:
    """Sends a partner's signed events to the platform through ``post`` (HTTP, or a test client)."""

    partner_id: str
    secret: str | list[str]
    post: Poster

    def send(self, event_type: str, data: dict[str, Any], **kw: Any) -> tuple[int, Any]:
        headers, body = signed_request(self.secret, event_type, data, **kw)
        return self.post(f"/partners/{self.partner_id}/webhooks", headers, body)

    def send_raw(self, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        return self.post(f"/partners/{self.partner_id}/webhooks", headers, body)


@dataclass
class Received:
    """One webhook our platform sent, as the receiver saw it."""

    headers: dict[str, str]
    body: bytes
    verified: bool
    reason: str | None
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)

    @property
    def id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass
class WebhookReceiver:
    """A loopback HTTP endpoint that verifies our webhooks (the partner's side of the contract)."""

    secrets: list[str]
    public_keys: list[str] = field(default_factory=list)
    port: int = 0
    received: list[Received] = field(default_factory=list)
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self._script: queue.Queue[tuple[int, dict[str, str]]] = queue.Queue()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                status, extra = receiver._next_answer()
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    signing.verify(headers, body, now=receiver.clock(), hmac_secrets=receiver.secrets,
                                   public_keys=receiver.public_keys)
                    verified, reason = True, None
                except signing.SignatureError as exc:
                    verified, reason = False, exc.reason
                    status = 401 if status < 300 else status
                answer = b'{"ok":true}' if status < 300 else b'{"ok":false}'
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                with receiver._arrived:
                    receiver.received.append(Received(headers, body, verified, reason, status))
                    receiver._arrived.notify_all()

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks"

    def answer_next(self, status: int, headers: dict[str, str] | None = None, times: int = 1) -> None:
        """Script the next answers (the default is 200)."""
        for _ in range(times):
            self._script.put((status, headers or {}))

    def _next_answer(self) -> tuple[int, dict[str, str]]:
        try:
            return self._script.get_nowait()
        except queue.Empty:
            return 200, {}

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """The verified, acknowledged events so far (optionally of one type)."""
        with self._lock:
            items = [r for r in self.received if r.verified and r.answered < 300]
        return [r.event for r in items if event_type is None or r.event.get("type") == event_type]

    def wait_for(self, event_type: str, *, timeout: float = 30.0, count: int = 1) -> list[dict[str, Any]]:
        """Block until ``count`` verified events of ``event_type`` arrived (bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [r.event for r in self.received if r.verified and r.answered < 300
                         and r.event.get("type") == event_type]
                if len(found) >= count or time.monotonic() >= deadline:
                    return found
                self._arrived.wait(timeout=min(0.5, max(0.0, deadline - time.monotonic())))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --------------------------------------------------------------------------- command line
DEMO_TICKET = {
    "kind": "complaint",
    "complainant": {"name": "周晓梅", "phone": "13912345678", "address": "苏州市姑苏区干将西路88号"},
    "respondent": {"name": "苏州某某家电有限公司", "address": "苏州市姑苏区石路12号"},
    "request": "要求更换或退款",
    "facts": "在该公司购买的空调安装后不制冷，多次联系售后未果。",
    "category": "家用电器", "district": "GUSU",
}


def _http_poster(base_url: str) -> Poster:
    import requests

    def post(path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        answer = requests.post(base_url.rstrip("/") + path, data=body, headers=headers, timeout=30)
        try:
            return answer.status_code, answer.json()
        except ValueError:
            return answer.status_code, answer.text

    return post


def _admin(base_url: str) -> Any:
    import requests

    session = requests.Session()
    token = session.post(f"{base_url}/auth/dev-login", json={"username": "admin"}, timeout=10).json()["token"]
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def demo(base_url: str, partner_id: str, secret: str, wait: float) -> int:
    """Point the partner at a local receiver, send an assignment, print what comes back."""
    receiver = WebhookReceiver(secrets=[secret])
    admin = _admin(base_url)
    answer = admin.patch(f"{base_url}/partners/{partner_id}", json={"endpoints": [{"url": receiver.url}]}, timeout=10)
    if answer.status_code != 200:
        print(f"cannot register the receiver endpoint: {answer.status_code} {answer.text}", file=sys.stderr)
        return 1
    client = PartnerClient(partner_id, secret, _http_poster(base_url))
    external_id = "SIM-" + time.strftime("%Y%m%d%H%M%S")
    status, body = client.send("ticket.assigned", {"external_id": external_id, "ticket": DEMO_TICKET})
    print(f"上级交办 {external_id}: HTTP {status} {json.dumps(body, ensure_ascii=False)}")
    if status != 200:
        return 1
    print(f"receiver on {receiver.url}; waiting up to {wait:.0f} s for the platform's webhooks "
          "(accept, dispatch and close the ticket in the workbench)…")
    deadline = time.monotonic() + wait
    seen = 0
    while time.monotonic() < deadline:
        time.sleep(0.5)
        for item in receiver.received[seen:]:
            mark = "✔ verified" if item.verified else f"✘ {item.reason}"
            print(f"  {mark} {item.id} {json.dumps(item.event, ensure_ascii=False)[:300]}")
        seen = len(receiver.received)
    receiver.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.integration.simulator",
                                     description="Play an upper-level (or lower-level) partner platform.")
    parser.add_argument("--base-url", default=os.environ.get("PLATFORM_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--partner", default=DEFAULT_PARTNER)
    parser.add_argument("--secret", default=os.environ.get(SECRET_ENV, DEFAULT_SECRET))
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("demo", help="send an upper-level assignment and print our webhooks (default)")
    run.add_argument("--wait", type=float, default=120.0, help="seconds to listen for webhooks")
    send = sub.add_parser("send", help="send one signed event")
    send.add_argument("type", help="e.g. ticket.assigned, ticket.urged, ticket.updated, ticket.closed")
    send.add_argument("data", help="the event's data as JSON")
    args = parser.parse_args(argv)
    if args.command == "send":
        client = PartnerClient(args.partner, args.secret, _http_poster(args.base_url))
        status, body = client.send(args.type, json.loads(args.data))
        print(status, json.dumps(body, ensure_ascii=False))
        return 0 if status == 200 else 1
    return demo(args.base_url, args.partner, args.secret, getattr(args, "wait", 120.0))


if __name__ == "__main__":
    sys.exit(main())
