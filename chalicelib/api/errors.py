"""The one JSON error envelope: ``{"error": {"code", "message", "details"}}``.

Every failure the API answers goes through :func:`error_response`, whether it comes from the
domain (a :class:`~chalicelib.domain.errors.DomainError`), from malformed input, from a storage
throttle, or from something unexpected.
"""
from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib.domain.errors import DomainError
from chalicelib.services.errors import TooManyRequests

__all__ = ["JSON_HEADERS", "PayloadTooLarge", "ServiceUnavailable", "TooManyRequests", "Unauthenticated",
           "domain_error_response", "envelope", "envelope_bytes", "error_response"]

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


class ServiceUnavailable(DomainError):
    """A component is down or throttling; the client should retry later (HTTP 503)."""

    code = "service_unavailable"
    http_status = 503

    def __init__(self, message: str, *, retry_after: int = 1, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class Unauthenticated(DomainError):
    """No valid bearer token (HTTP 401)."""

    code = "unauthenticated"
    http_status = 401


class PayloadTooLarge(DomainError):
    """The request body is larger than the route accepts (HTTP 413)."""

    code = "payload_too_large"
    http_status = 413


def envelope(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The error body as a dict."""
    return {"error": {"code": code, "message": message, "details": details if details is not None else {}}}


def envelope_bytes(code: str, message: str, details: Any = None) -> bytes:
    """The error body as UTF-8 JSON bytes (for gateway-level answers)."""
    return json.dumps(envelope(code, message, details), ensure_ascii=False).encode("utf-8")


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> Response:
    """A Chalice response carrying the envelope."""
    all_headers = dict(JSON_HEADERS)
    if headers:
        all_headers.update(headers)
    return Response(body=envelope(code, message, details), status_code=status, headers=all_headers)


def domain_error_response(exc: DomainError) -> Response:
    """Map a domain (or API) error to its HTTP answer."""
    headers: dict[str, str] = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return error_response(exc.http_status, exc.code, exc.message, exc.details, headers)
