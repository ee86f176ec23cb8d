"""What API Gateway does in front of the Lambda function, for the local runtime and tests.

Chalice's LocalGateway routes requests and runs the authorizer; this adapter adds what the
deployed API's GatewayResponses do (infra/): gateway-level failures (no route, no or bad token,
access denied) answer with the platform's error envelope, and an unknown route is a 404.
"""
from __future__ import annotations

import json
import threading
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import (
    ForbiddenError,
    LambdaEventConverter,
    LocalGateway,
    LocalGatewayException,
    NotAuthorizedError,
)

from chalicelib.api.auth import TokenRejected
from chalicelib.api.errors import envelope_bytes

_JSON = {"Content-Type": "application/json; charset=utf-8"}


LOOPBACK = "127.0.0.1"


class _PeerEventConverter(LambdaEventConverter):
    """Chalice's event converter with ``requestContext.identity.sourceIp`` set to the address the
    request came from (Chalice always says 127.0.0.1), as API Gateway does: the rate limits and
    the audit log trust this address, never the client's own X-Forwarded-For."""

    source_ip = LOOPBACK

    def create_lambda_event(self, method: str, path: str, headers: dict[str, str],
                            body: bytes | None = None) -> dict[str, Any]:
        event = super().create_lambda_event(method, path, headers, body)
        event["requestContext"]["identity"]["sourceIp"] = self.source_ip
        return event


class EnvelopeGateway:
    """LocalGateway with API Gateway's GatewayResponses applied.

    Chalice keeps the current request on the app object, so one Lambda container serves one request
    at a time; this gateway serialises requests the same way (``lock``).
    """

    def __init__(self, app: Chalice, *, stage: str = "local") -> None:
        self._gateway = LocalGateway(app, Config(chalice_stage=stage))
        converter = self._gateway.event_converter
        self._events = _PeerEventConverter(converter._route_matcher, converter._binary_types)
        self._gateway.event_converter = self._events
        self.lock = threading.Lock()

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes | None, *,
               source_ip: str = LOOPBACK) -> dict[str, Any]:
        """Answer one request as ``{"statusCode", "headers", "body"}`` (body: str or bytes).

        ``source_ip`` is the peer address of the connection (API Gateway's ``sourceIp``).
        """
        with self.lock:
            self._events.source_ip = source_ip
            try:
                return self._gateway.handle_request(method=method, path=path, headers=headers, body=body or b"")
            except TokenRejected:
                return _answer(401, "unauthenticated", "a valid bearer token is required")
            except NotAuthorizedError:
                return _answer(401, "unauthenticated", "a valid bearer token is required")
            except ForbiddenError as exc:
                if b"Missing Authentication Token" in (exc.body or b"") or b"Authorization header requires" in (exc.body or b""):
                    return _answer(404, "not_found", f"no route {method} {path.split('?')[0]}")
                return _answer(403, "forbidden", "access denied")
            except LocalGatewayException as exc:
                return _answer(exc.CODE or 500, "gateway_error", _message(exc.body))


def _message(body: bytes | None) -> str:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return "gateway error"
    return str(data.get("message") or data.get("Message") or "gateway error")


def _answer(status: int, code: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": dict(_JSON), "multiValueHeaders": {},
            "body": envelope_bytes(code, message).decode("utf-8")}
