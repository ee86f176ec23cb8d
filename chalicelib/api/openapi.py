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
        responses: dict[str, Any] = {
            "200": {"description": "OK", "content": {"application/json": {"schema": {}}}},
            "default": {"description": "Error", "content": {"application/json": {"schema": ERROR_SCHEMA}}},
        }
        operation: dict[str, Any] = {
            "operationId": f"{method.lower()}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '')}",
            "summary": policy.summary,
            "tags": list(policy.tags) or ["api"],
            "parameters": parameters,
            "responses": responses,
            "x-roles": policy.roles if policy.roles == PUBLIC else list(policy.roles) if isinstance(policy.roles, tuple) else policy.roles,
        }
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
