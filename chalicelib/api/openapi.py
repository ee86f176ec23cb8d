"""The OpenAPI 3.1 document, generated from the route policies (so it is always complete)."""
from __future__ import annotations

import re
from typing import Any

from chalice import Blueprint

from chalicelib.api.routing import PUBLIC, ROUTE_POLICIES, RequestContext, route

openapi_bp = Blueprint(__name__)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message", "details"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "details": {}}}},
}
_PARAM = re.compile(r"\{([^}]+)\}")
# Optimistic locking over HTTP (docs/decisions/0013): a read answers with the version as a strong
# ETag; a change may send it back as If-Match (or as the body's expected_version; both must agree).
ETAG_HEADER = {"description": 'The resource\'s version as a strong entity tag, e.g. "3": send it back as If-Match',
               "schema": {"type": "string", "pattern": '^"[1-9][0-9]*"$'}}
IF_MATCH = {"name": "If-Match", "in": "header", "required": False,
            "description": 'The version the client saw (the ETag of its last read: "3", 3 or W/"3"; * states none). '
                           "A stale one is a 409 and changes nothing; it must agree with expected_version if both "
                           "are given (else a 400)",
            "schema": {"type": "string", "pattern": '^(\\*|(W/)?"?[1-9][0-9]*"?)$'}}


# Routes whose 503 is a status report rather than an error (a load balancer reads the code).
_STATUS_REPORTS = {("GET", "/health")}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _responses(policy: Any) -> dict[str, Any]:
    """Success is any 2XX (200 read/changed, 201 created, 202 accepted); every failure is the envelope.

    The 4XX/5XX ranges are spelled out (not only ``default``) so that a client, and the fuzz run in
    tests/security, can check that every error the API answers has the one envelope shape; 503s
    carry ``Retry-After``.
    """
    responses: dict[str, Any] = {
        "2XX": {"description": "Success", "content": {"application/json": {"schema": {}}}},
        "400": _error("Invalid input: a body, query or path parameter failed validation"),
        "404": _error("No such resource (or not visible to the caller)"),
        "409": _error("Conflict: illegal transition, duplicate, or a concurrent change (reload and retry)"),
        "4XX": _error("Refused: unauthenticated, forbidden, too large, unsupported media type, rate limited"),
        "503": {**_error("A component is busy or down: retry after the given delay"),
                "headers": {"Retry-After": {"description": "Seconds to wait before retrying", "required": True,
                                            "schema": {"type": "string", "pattern": "^[0-9]+$"}}}},
        "5XX": _error("Server error (never expected: the fuzz run asserts there is none)"),
    }
    if policy.roles != PUBLIC:
        responses["401"] = _error("No valid bearer token")
        responses["403"] = _error("The caller's role or department may not do this")
    if policy.versioned:
        responses["2XX"]["headers"] = {"ETag": ETAG_HEADER}
        if policy.method != "GET":
            responses["409"] = _error("Conflict: illegal transition, or the version in If-Match / expected_version "
                                      "is no longer the current one (reload and retry)")
    if (policy.method, policy.path) in _STATUS_REPORTS:
        responses["503"] = {"description": "Degraded: the same status report, naming the components that are down",
                            "content": {"application/json": {"schema": {}}}}
    return responses


def build_document() -> dict[str, Any]:
    """Every declared route with its parameters, body schema, security and error answers."""
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), policy in sorted(ROUTE_POLICIES.items()):
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
            for name in _PARAM.findall(path)]
        for name, schema in ((policy.query_schema or {}).get("properties") or {}).items():
            parameters.append({"name": name, "in": "query",
                               "required": name in ((policy.query_schema or {}).get("required") or []),
                               "schema": schema})
        if policy.versioned and method in ("POST", "PUT", "PATCH"):
            parameters.append(IF_MATCH)
        responses = _responses(policy)
        operation: dict[str, Any] = {
            "operationId": f"{method.lower()}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
            "summary": policy.summary,
            "tags": list(policy.tags) or ["api"],
            "parameters": parameters,
            "responses": responses,
            "x-roles": policy.roles if policy.roles == PUBLIC else list(policy.roles) if isinstance(policy.roles, tuple) else policy.roles,
        }
        if policy.ticket_scoped:
            operation["x-ticket-scoped"] = True
        if policy.roles != PUBLIC:
            operation["security"] = [{"bearer": []}]
        if policy.body_schema is not None and method in ("POST", "PUT", "PATCH"):
            operation["requestBody"] = {"required": True,
                                        "content": {"application/json": {"schema": policy.body_schema}}}
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "投诉举报处置平台 API (complaint and report handling platform)", "version": "1.0.0"},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
                       "schemas": {"Error": ERROR_SCHEMA}},
        "paths": paths,
    }


@route(openapi_bp, "/openapi.json", roles=PUBLIC, summary="This API's OpenAPI document", tags=("system",))
def openapi_document(ctx: RequestContext) -> dict[str, Any]:
    return build_document()
