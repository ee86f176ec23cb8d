"""Platform-level routes: health, demo sign-in (local stage only), and who am I."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.auth import Principal, issue_local_token
from chalicelib.api.routing import ANY_SIGNED_IN, PUBLIC, RequestContext, route
from chalicelib.config import get_settings
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.services import people
from chalicelib.services.health import health_report

system_bp = Blueprint(__name__)

DEV_LOGIN_BODY = {
    "type": "object",
    "properties": {"username": {"type": "string", "minLength": 1, "maxLength": 64}},
    "required": ["username"],
    "additionalProperties": False,
}


@route(system_bp, "/health", roles=PUBLIC, summary="Status of every component", tags=("system",))
def health(ctx: RequestContext) -> tuple[int, dict[str, Any]]:
    return health_report()


@route(system_bp, "/auth/dev-login", method="POST", roles=PUBLIC, body=DEV_LOGIN_BODY,
       summary="Sign in as a seeded demo user (local stage only)", tags=("system",), audit="login")
def dev_login(ctx: RequestContext) -> dict[str, Any]:
    if not get_settings().is_local:
        raise NotFound("dev-login exists only in the local stage")
    user = people.find_user(ctx.body["username"])
    if user is None or not user.get("active", True):
        raise ValidationFailed("unknown demo user", details={"username": "no such demo user"})
    principal = Principal(username=user["username"], role=user["role"], department=user.get("department"),
                          district=user.get("district"), display_name=user.get("name"))
    return {"token": issue_local_token(principal), "token_type": "Bearer",
            "user": {"username": principal.username, "role": principal.role,
                     "department": principal.department, "district": principal.district,
                     "name": principal.display_name}}


@route(system_bp, "/me", roles=ANY_SIGNED_IN, summary="The signed-in caller", tags=("system",))
def me(ctx: RequestContext) -> dict[str, Any]:
    p = ctx.principal
    assert p is not None
    return {"username": p.username, "role": p.role, "department": p.department, "district": p.district,
            "name": p.display_name}
