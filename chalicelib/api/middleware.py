"""HTTP middleware: correlation ids, metrics, tracing, and the envelope for Chalice's own errors.

Chalice answers some failures itself before a view runs (415 unsupported media type, 405 method
not allowed, its own view errors) with ``{"Code", "Message"}``; this middleware rewrites those into
the platform's one envelope so that clients see a single error shape.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from chalice import Response
from chalice.app import Request

from chalicelib.api.errors import JSON_HEADERS, envelope
from chalicelib.observability import count, logger, metrics, metrics_enabled, tracer

_CHALICE_CODES = {
    "UnsupportedMediaType": "unsupported_media_type",
    "MethodNotAllowedError": "method_not_allowed",
    "BadRequestError": "bad_request",
    "NotFoundError": "not_found",
    "InternalServerError": "internal_error",
}


def _rewrite_chalice_error(response: Response) -> Response:
    body = response.body
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except (ValueError, TypeError):
            return response
    if isinstance(body, dict) and "Code" in body and "error" not in body:
        code = _CHALICE_CODES.get(str(body["Code"]), "error")
        headers = {**(response.headers or {}), **JSON_HEADERS}
        return Response(body=envelope(code, str(body.get("Message", code))), status_code=response.status_code,
                        headers=headers)
    return response


def http_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Wrap every HTTP request: correlation id in logs, one metric, one trace segment."""
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    correlation_id = headers.get("x-correlation-id") or (event.context or {}).get("requestId")
    logger.set_correlation_id(correlation_id)
    with tracer.provider.in_subsegment(f"## {event.method} {event.path}"):
        response = get_response(event)
    if response.status_code >= 400:
        response = _rewrite_chalice_error(response)
    if correlation_id:
        response.headers = {**(response.headers or {}), "X-Correlation-Id": str(correlation_id)}
    count("HttpRequests")
    return response


def flush_metrics_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Flush EMF metrics once per invocation, whatever the event type."""
    try:
        return get_response(event)
    finally:
        if metrics_enabled() and metrics.metric_set:
            metrics.flush_metrics()
