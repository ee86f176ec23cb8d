"""Reference data routes: departments (by list and keyword), districts, and user administration."""
from __future__ import annotations

from datetime import date
from typing import Any

from chalice import Blueprint

from chalicelib.api.auth import ROLES, STAFF_ROLES
from chalicelib.api.routing import RequestContext, route
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services import audit
from chalicelib.store import directory

directory_bp = Blueprint(__name__)

DEPARTMENT_QUERY = {
    "type": "object",
    "properties": {"q": {"type": "string", "maxLength": 50}},
    "additionalProperties": True,
}

USER_BODY = {
    "type": "object",
    "properties": {
        "role": {"type": "string", "enum": list(ROLES)},
        "name": {"type": "string", "minLength": 1, "maxLength": 64},
        "department": {"type": ["string", "null"], "maxLength": 32},
        "district": {"type": ["string", "null"], "maxLength": 32},
        "active": {"type": "boolean"},
        "expected_version": {"type": "integer", "minimum": 0},
    },
    "required": ["role", "name"],
    "additionalProperties": False,
}


def _public_department(dept: dict[str, Any]) -> dict[str, Any]:
    return {"code": dept["code"], "name": dept["name"], "duties": dept.get("duties", []),
            "active": dept.get("active", True)}


@route(directory_bp, "/departments", roles=STAFF_ROLES, query=DEPARTMENT_QUERY,
       summary="Departments, optionally filtered by a keyword over name and duties", tags=("directory",))
def list_departments(ctx: RequestContext) -> dict[str, Any]:
    keyword = (ctx.query.get("q") or "").strip()
    departments = [_public_department(d) for d in directory.list_entries(directory.DEPARTMENTS)]
    if keyword:
        departments = [d for d in departments
                       if keyword in d["name"] or keyword.upper() == d["code"]
                       or any(keyword in duty for duty in d["duties"])]
    return {"items": departments}


@route(directory_bp, "/districts", roles=STAFF_ROLES, summary="Districts of the city", tags=("directory",))
def list_districts(ctx: RequestContext) -> dict[str, Any]:
    return {"items": [{k: v for k, v in d.items() if k != "_version"}
                      for d in directory.list_entries(directory.DISTRICTS)]}


AUDIT_QUERY = {"type": "object", "properties": {
    "date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    "actor": {"type": "string", "maxLength": 64}, "action": {"type": "string", "maxLength": 100}},
    "required": ["date"]}


@route(directory_bp, "/admin/audit", roles=("admin",), query=AUDIT_QUERY,
       summary="The audit log of one day: admin actions, reveals, exports, sign-ins", tags=("admin",))
def audit_log(ctx: RequestContext) -> dict[str, Any]:
    try:
        day = date.fromisoformat(ctx.query["date"])
    except ValueError:
        raise ValidationFailed("not a date", details={"date": "YYYY-MM-DD"}) from None
    return {"date": day.isoformat(),
            "items": audit.query(day, actor=ctx.query.get("actor"), action=ctx.query.get("action"))}


@route(directory_bp, "/admin/users", roles=("admin",), summary="Every user account", tags=("admin",))
def list_users(ctx: RequestContext) -> dict[str, Any]:
    return {"items": directory.list_entries(directory.USERS)}


@route(directory_bp, "/admin/users/{username}", method="PUT", roles=("admin",), body=USER_BODY,
       summary="Create or update a user account (role, department, district, active)", tags=("admin",))
def put_user(ctx: RequestContext, username: str) -> dict[str, Any]:
    body = ctx.body
    if len(username) > 64 or not username.replace("-", "").replace("_", "").isalnum():
        raise ValidationFailed("invalid username", details={"username": "letters, digits, - and _ only"})
    if body["role"] in ("handler", "dept_lead"):
        if not body.get("department"):
            raise ValidationFailed("department roles need a department", details={"department": "required"})
        if directory.find_entry(directory.DEPARTMENTS, body["department"]) is None:
            raise ValidationFailed("unknown department", details={"department": "no such department"})
    user = {"username": username, "role": body["role"], "name": body["name"],
            "department": body.get("department"), "district": body.get("district"),
            "active": body.get("active", True)}
    version = directory.put_entry(directory.USERS, username, user, expected_version=body.get("expected_version"))
    return {**user, "_version": version}
