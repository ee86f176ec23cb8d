"""Route declaration with a policy: who may call it, what body it takes, and error mapping.

Every route of the platform is declared through :func:`route`, never with a bare
``@blueprint.route``. The declaration records a :class:`RoutePolicy` in :data:`ROUTE_POLICIES`
(the authorization-matrix test and the OpenAPI document read it), attaches the JWT authorizer
unless the route is public, checks the caller's role, validates the JSON body against the route's
JSON Schema, and turns every failure into the one error envelope.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Callable

import fastjsonschema
from botocore.exceptions import BotoCoreError, ClientError
from chalice import Blueprint, ChaliceViewError, Response
from pynamodb.exceptions import PynamoDBException

from chalicelib.api.auth import Principal, jwt_auth
from chalicelib.api.citizen import localise as citizen_words
from chalicelib.api.errors import (
    JSON_HEADERS,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthenticated,
    domain_error_response,
    error_response,
)
from chalicelib.domain.errors import DomainError, Forbidden, ValidationFailed
from chalicelib.domain.intake import surrogate_fields
from chalicelib.domain.jsonbody import parse_json
from chalicelib.observability import logger

MAX_BODY_BYTES = 256 * 1024
PUBLIC = "public"
ANY_SIGNED_IN = "any_signed_in"
THROTTLE_CODES = {
    "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
    "InternalServerError", "ServiceUnavailable", "TransactionInProgressException",
}


@dataclass(frozen=True)
class RoutePolicy:
    """What a route promises: its callers, its input, and whether it is department-scoped."""

    method: str
    path: str
    roles: tuple[str, ...] | str
    summary: str
    body_schema: dict[str, Any] | None = None
    query_schema: dict[str, Any] | None = None
    ticket_scoped: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)
    audit: str | None = None  # audit action name; admins' non-GET calls are audited in any case
    versioned: bool = False  # answers carry the resource's version as ETag; a change takes If-Match

    @property
    def is_public(self) -> bool:
        return self.roles == PUBLIC


ROUTE_POLICIES: dict[tuple[str, str], RoutePolicy] = {}


@dataclass
class RequestContext:
    """What a view receives besides its URI parameters."""

    principal: Principal | None
    body: dict[str, Any]
    query: dict[str, str]
    headers: dict[str, str]
    source_ip: str
    raw_body: bytes


def _compile(schema: dict[str, Any] | None) -> Callable[[Any], Any] | None:
    return fastjsonschema.compile(schema) if schema is not None else None


_FIELD_RE = re.compile(r"^data(?:\.|\[)?(.*)$")


_EXTRA_RE = re.compile(r"must not contain \{(.*)\} properties")


def _field_details(exc: fastjsonschema.JsonSchemaValueException, message: str) -> dict[str, str]:
    """Field-level details: which field is wrong and how (unknown fields are named one by one)."""
    path = ".".join(str(p) for p in (exc.path or [])[1:])
    extra = _EXTRA_RE.search(exc.message)
    if exc.rule == "additionalProperties" and extra:
        names = [n.strip().strip("'\"") for n in extra.group(1).split(",")]
        return {(f"{path}.{n}" if path else n): "unknown field" for n in names}
    if exc.rule == "required":
        missing = message.split("must contain")[-1].strip(" []properties")
        names = [n.strip().strip("'\"") for n in missing.split(",") if n.strip()]
        if names:
            return {(f"{path}.{n}" if path else n): "required" for n in names}
    return {path or "body": message.strip()}


def _validate(validator: Callable[[Any], Any] | None, data: Any, where: str) -> Any:
    if validator is None:
        return data
    try:
        return validator(data)
    except fastjsonschema.JsonSchemaValueException as exc:
        message = _FIELD_RE.sub(lambda m: m.group(1) or where, exc.message)
        raise ValidationFailed(f"invalid {where}", details=_field_details(exc, message)) from exc


def _principal_from(request: Any) -> Principal:
    context = (request.context or {}).get("authorizer") or {}
    if not context.get("username") or not context.get("role"):
        raise Unauthenticated("a valid bearer token is required")
    return Principal.from_context(context)


def _parse_body(request: Any, validator: Callable[[Any], Any] | None) -> tuple[dict[str, Any], bytes]:
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    if validator is None:
        return {}, raw
    data = parse_json(raw) if raw.strip() else {}
    return _validate(validator, data, "body"), raw


def storage_error(exc: Exception) -> DomainError:
    """Map a boto/botocore failure to a 503 (throttling, component down) for the client to retry.

    PynamoDB wraps the botocore error it gave up on (after botocore's own retries) in its own
    exceptions (GetError, PutError, QueryError, TransactWriteError...): the cause is what counts.
    """
    if isinstance(exc, PynamoDBException) and isinstance(exc.cause, (ClientError, BotoCoreError)):
        exc = exc.cause
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in THROTTLE_CODES:
            return ServiceUnavailable("storage is busy, retry shortly", retry_after=1, details={"cause": code})
        return ServiceUnavailable("a storage component failed", retry_after=2, details={"cause": code})
    return ServiceUnavailable("a component is unreachable", retry_after=2, details={"cause": "unreachable"})


def route(bp: Blueprint, path: str, *, method: str = "GET", roles: tuple[str, ...] | str,
          summary: str, body: dict[str, Any] | None = None, query: dict[str, Any] | None = None,
          ticket_scoped: bool = False, content_types: list[str] | None = None,
          tags: tuple[str, ...] = (), audit: str | None = None,
          citizen: bool | None = None, versioned: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a route with its policy.

    The view is called as ``view(ctx, **uri_params)`` with a :class:`RequestContext`, and may
    return a dict/list (200 JSON), a ``(status, body)`` tuple, or a Chalice ``Response``.
    ``citizen`` routes (default: public routes under ``/public/``) answer errors in Chinese.
    ``versioned`` routes answer with an ``ETag`` (the version) and, when they change something, take
    ``If-Match``: the OpenAPI document says so (the view sets the header, see api/tickets.py).
    """
    if citizen is None:
        citizen = roles == PUBLIC and path.startswith("/public/")
    method = method.upper()
    policy = RoutePolicy(method=method, path=path, roles=roles, summary=summary, body_schema=body,
                         query_schema=query, ticket_scoped=ticket_scoped, tags=tags, audit=audit,
                         versioned=versioned)
    if (method, path) in ROUTE_POLICIES:
        raise ValueError(f"route declared twice: {method} {path}")
    ROUTE_POLICIES[(method, path)] = policy
    body_validator = _compile(body) if method in ("POST", "PUT", "PATCH") else None
    query_validator = _compile(query)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def handler(**uri_params: Any) -> Response:
            request = bp.current_request
            ctx: RequestContext | None = None
            try:
                principal = None
                if roles != PUBLIC:
                    principal = _principal_from(request)
                    if roles != ANY_SIGNED_IN and principal.role not in roles:
                        raise Forbidden(f"role {principal.role} may not call {method} {path}")
                bad = surrogate_fields({k: v for k, v in uri_params.items()})
                if bad:
                    raise ValidationFailed("invalid characters in the path", details=bad)
                parsed, raw = _parse_body(request, body_validator)
                query_params = dict(request.query_params or {})
                bad = surrogate_fields(query_params)
                if bad:
                    raise ValidationFailed("invalid characters in the query", details=bad)
                query_params = _validate(query_validator, query_params, "query") if query_validator else query_params
                headers = {k.lower(): v for k, v in (request.headers or {}).items()}
                source_ip = ((request.context or {}).get("identity") or {}).get("sourceIp") or ""
                ctx = RequestContext(principal, parsed if isinstance(parsed, dict) else {"items": parsed},
                                     query_params, headers, source_ip, raw)
                response = _to_response(view(ctx, **uri_params))
            except DomainError as exc:
                response = domain_error_response(exc)
            except ChaliceViewError as exc:
                response = error_response(getattr(exc, "STATUS_CODE", 400), "bad_request", str(exc))
            except (ClientError, BotoCoreError, PynamoDBException) as exc:
                logger.warning("storage failure", extra={"path": path, "error": type(exc).__name__})
                response = domain_error_response(storage_error(exc))
            except Exception:  # the last line of defence: answer with the envelope, log the trace
                logger.exception("unhandled error", extra={"path": path, "method": method})
                response = error_response(500, "internal_error", "an unexpected error occurred")
            if citizen:
                response = _for_citizen(response)
            if ctx is not None:  # refused attempts at an audited action are recorded too
                try:
                    _audit(policy, ctx, uri_params, response)
                except (ClientError, BotoCoreError, PynamoDBException) as exc:
                    logger.error("audit record not written", extra={"path": path, "error": type(exc).__name__})
                    return domain_error_response(storage_error(exc))
            return response

        bp.route(path, methods=[method], authorizer=None if roles == PUBLIC else jwt_auth,
                 content_types=content_types or ["application/json"])(handler)
        return handler

    return decorator


def _audit(policy: RoutePolicy, ctx: RequestContext, uri_params: dict[str, Any], response: Response) -> None:
    """Record the call in the audit log when the route asks for it or an admin changed something."""
    principal = ctx.principal
    admin_change = principal is not None and principal.role == "admin" and policy.method != "GET"
    if policy.audit is None and not admin_change:
        return
    from chalicelib.services import audit

    if principal is not None:
        actor = {"username": principal.username, "role": principal.role, "department": principal.department}
    else:
        body = response.body if isinstance(response.body, dict) else {}
        user = body.get("user") if isinstance(body.get("user"), dict) else {}
        actor = {"username": user.get("username", "anonymous"), "role": user.get("role"), "department": user.get("department")}
    source = ctx.source_ip  # the address API Gateway saw; X-Forwarded-For is the client's claim
    details = {"user_agent": ctx.headers.get("user-agent", "")[:200]}
    if ctx.headers.get("x-forwarded-for"):
        details["forwarded_for"] = ctx.headers["x-forwarded-for"][:200]
    if policy.audit is not None and policy.query_schema is not None:  # e.g. the period of an export
        known = (policy.query_schema.get("properties") or {}).keys()
        details["query"] = {k: str(v)[:64] for k, v in (ctx.query or {}).items() if k in known}
    audit.record(action=policy.audit or f"{policy.method} {policy.path}", actor=actor,
                 target={k: str(v)[:64] for k, v in uri_params.items()}, source_ip=source,
                 status=response.status_code, details=details)


def _for_citizen(response: Response) -> Response:
    """An error answer reworded for a citizen (same code and fields, Chinese words)."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return response
    error = body["error"]
    message, details = citizen_words(str(error.get("code")), str(error.get("message")), error.get("details"))
    return Response(body={"error": {**error, "message": message, "details": details}},
                    status_code=response.status_code, headers=response.headers)


def _to_response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    status = 200
    if isinstance(result, tuple):
        status, result = result
    return Response(body=result, status_code=status, headers=dict(JSON_HEADERS))
