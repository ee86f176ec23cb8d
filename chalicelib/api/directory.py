"""Reference data routes: departments (by list and keyword), districts, grassroots offices, the
category tree (诉求分类), and their administration (create, change, retire, reinstate: admins only,
audited), and user administration."""
from __future__ import annotations

from datetime import date
from typing import Any, Callable

from chalice import Blueprint

from chalicelib.api.auth import ROLES, STAFF_ROLES
from chalicelib.api.routing import RequestContext, route
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services import audit, categories, people, policy, reference

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


_RETIREMENT = ("retired_at", "retired_by", "retire_reason")


def _public_department(dept: dict[str, Any]) -> dict[str, Any]:
    shown = {"code": dept["code"], "name": dept["name"], "duties": dept.get("duties", []),
             "active": dept.get("active", True), "_version": dept.get("_version", 0),
             "closure_needs_approval": dept.get("closure_needs_approval") is True}
    return {**shown, **{k: dept[k] for k in _RETIREMENT if k in dept}}


ENTRY_NAME = {"type": "string", "minLength": 1, "maxLength": 60}
DUTIES = {"type": "array", "maxItems": 60, "items": {"type": "string", "maxLength": 60}}
VERSION = {"type": "integer", "minimum": 0}
APPROVAL_FLAG = {"type": "boolean", "description": "A handler's closure needs the lead's approval (呈批) first; "
                                                  "left out: unchanged (off for a new department)"}
DEPARTMENT_BODY = {"type": "object", "properties": {"name": ENTRY_NAME, "duties": DUTIES, "expected_version": VERSION,
                                                    "closure_needs_approval": APPROVAL_FLAG},
                   "required": ["name", "expected_version"], "additionalProperties": False}
DISTRICT_BODY = {"type": "object", "properties": {
    "name": ENTRY_NAME, "kind": {"type": "string", "enum": list(reference.TOP_KINDS + reference.STREET_KINDS)},
    "parent": {"type": ["string", "null"], "maxLength": 32}, "expected_version": VERSION},
    "required": ["name", "kind", "expected_version"], "additionalProperties": False}
OFFICE_BODY = {"type": "object", "properties": {
    "name": ENTRY_NAME, "department": {"type": "string", "maxLength": 32},
    "district": {"type": ["string", "null"], "maxLength": 32}, "duties": DUTIES, "expected_version": VERSION,
    "closure_needs_approval": APPROVAL_FLAG},
    "required": ["name", "department", "expected_version"], "additionalProperties": False}
RETIRE_BODY = {"type": "object", "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 200},
                                                "expected_version": VERSION},
               "required": ["reason", "expected_version"], "additionalProperties": False}
REINSTATE_BODY = {"type": "object", "properties": {"expected_version": VERSION},
                  "required": ["expected_version"], "additionalProperties": False}
CATEGORY_BODY = {"type": "object", "properties": {
    "name": ENTRY_NAME, "parent": {"type": ["string", "null"], "maxLength": 32}, "expected_version": VERSION},
    "required": ["name", "expected_version"], "additionalProperties": False}
CATEGORY_QUERY = {"type": "object", "properties": {"q": {"type": "string", "maxLength": 30},
                                                   "all": {"type": "string", "enum": ["true", "false"]}}}
OFFICE_QUERY = {"type": "object", "properties": {"department": {"type": "string", "maxLength": 32}}}


def _actor(ctx: RequestContext) -> str:
    assert ctx.principal is not None
    return ctx.principal.username


@route(directory_bp, "/departments", roles=STAFF_ROLES, query=DEPARTMENT_QUERY,
       summary="Departments, optionally filtered by a keyword over name and duties", tags=("directory",))
def list_departments(ctx: RequestContext) -> dict[str, Any]:
    keyword = (ctx.query.get("q") or "").strip()
    departments = [_public_department(d) for d in reference.entries("department")]
    if keyword:
        departments = [d for d in departments
                       if keyword in d["name"] or keyword.upper() == d["code"]
                       or any(keyword in duty for duty in d["duties"])]
    return {"items": departments}


@route(directory_bp, "/districts", roles=STAFF_ROLES,
       summary="Districts of the city and the streets and towns in them (retired ones marked active=false)",
       tags=("directory",))
def list_districts(ctx: RequestContext) -> dict[str, Any]:
    return {"items": reference.entries("district")}


@route(directory_bp, "/offices", roles=STAFF_ROLES, query=OFFICE_QUERY,
       summary="Grassroots offices (基层所), dispatch targets under a department; optionally one department's",
       tags=("directory",))
def list_offices(ctx: RequestContext) -> dict[str, Any]:
    department = ctx.query.get("department")
    return {"items": [o for o in reference.entries("office")
                      if not department or o.get("department") == department]}


@route(directory_bp, "/categories", roles=STAFF_ROLES, query=CATEGORY_QUERY,
       summary="The category tree (领域 → 事项 → 具体问题) for a cascader; all=true adds retired entries "
               "(marked active=false) and the flat list with versions; q finds entries by name", tags=("directory",))
def list_categories(ctx: RequestContext) -> dict[str, Any]:
    tree = categories.tree()
    every = ctx.query.get("all") == "true"
    answer: dict[str, Any] = {"tree": tree.as_nested(active_only=not every)}
    keyword = (ctx.query.get("q") or "").strip()
    if every or keyword:
        flat = [{**entry, "path": tree.path(entry["code"])} for entry in reference.entries("category")]
        if not every:
            flat = [e for e in flat if tree.is_active(e["code"])]
        if keyword:
            flat = [e for e in flat if keyword in e["name"] or keyword.upper() == e["code"]]
        answer["items"] = flat
    return answer


@route(directory_bp, "/admin/categories/{code}", method="PUT", roles=("admin",), body=CATEGORY_BODY,
       summary="Create (expected_version 0) or rename a category; parent: an active 领域 or 事项 (none for a 领域)",
       tags=("admin",))
def put_category(ctx: RequestContext, code: str) -> dict[str, Any]:
    return reference.save_category(code, ctx.body, actor=_actor(ctx), expected_version=ctx.body["expected_version"])


@route(directory_bp, "/admin/departments/{code}", method="PUT", roles=("admin",), body=DEPARTMENT_BODY,
       summary="Create (expected_version 0) or change a department: name and duty list", tags=("admin",))
def put_department(ctx: RequestContext, code: str) -> dict[str, Any]:
    return _public_department(reference.save_department(code, ctx.body, actor=_actor(ctx),
                                                        expected_version=ctx.body["expected_version"]))


@route(directory_bp, "/admin/districts/{code}", method="PUT", roles=("admin",), body=DISTRICT_BODY,
       summary="Create or change a district, or a street/town under one (parent)", tags=("admin",))
def put_district(ctx: RequestContext, code: str) -> dict[str, Any]:
    return reference.save_district(code, ctx.body, actor=_actor(ctx), expected_version=ctx.body["expected_version"])


@route(directory_bp, "/admin/offices/{code}", method="PUT", roles=("admin",), body=OFFICE_BODY,
       summary="Create or change a grassroots office under a department", tags=("admin",))
def put_office(ctx: RequestContext, code: str) -> dict[str, Any]:
    return reference.save_office(code, ctx.body, actor=_actor(ctx), expected_version=ctx.body["expected_version"])


def _declare_retirement(kind: str, plural: str, retire_summary: str, reinstate_summary: str,
                        shape: Callable[[dict[str, Any]], dict[str, Any]] = lambda entry: entry) -> None:
    """Declare ``POST /admin/<plural>/{code}/retire`` (with a reason) and ``.../reinstate`` for one kind."""

    def retire(ctx: RequestContext, code: str) -> dict[str, Any]:
        return shape(reference.set_active(kind, code, active=False, actor=_actor(ctx),
                                          expected_version=ctx.body["expected_version"], reason=ctx.body["reason"]))

    def reinstate(ctx: RequestContext, code: str) -> dict[str, Any]:
        return shape(reference.set_active(kind, code, active=True, actor=_actor(ctx),
                                          expected_version=ctx.body["expected_version"]))

    for view, action in ((retire, "retire"), (reinstate, "reinstate")):
        view.__name__ = view.__qualname__ = f"{action}_{kind}"  # Chalice names views by function name
    route(directory_bp, f"/admin/{plural}/{{code}}/retire", method="POST", roles=("admin",), body=RETIRE_BODY,
          summary=retire_summary, tags=("admin",))(retire)
    route(directory_bp, f"/admin/{plural}/{{code}}/reinstate", method="POST", roles=("admin",), body=REINSTATE_BODY,
          summary=reinstate_summary, tags=("admin",))(reinstate)


_declare_retirement("department", "departments",
                    "Retire a department: no longer a dispatch target; its tickets keep its name",
                    "Reinstate a retired department", shape=_public_department)
_declare_retirement("district", "districts",
                    "Retire a district or street: no longer chosen for new tickets; old ones keep its name",
                    "Reinstate a retired district or street")
_declare_retirement("category", "categories",
                    "Retire a category (its active children first): no longer chosen at registration; "
                    "old tickets keep it", "Reinstate a retired category (its parent must be active)")
_declare_retirement("office", "offices", "Retire a grassroots office: no longer a dispatch target",
                    "Reinstate a retired grassroots office (its department must be active)")


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


@route(directory_bp, "/handlers", roles=("dept_lead",),
       summary="The active handlers of the caller's department and of its grassroots offices, each with its unit "
               "(a lead assigns a share to a handler of the unit holding it)", tags=("directory",))
def list_department_handlers(ctx: RequestContext) -> dict[str, Any]:
    assert ctx.principal is not None
    department = ctx.principal.department
    units = [department, *policy.offices_of(department)] if department else []
    return {"department": department, "items": people.department_handlers(*units)}


@route(directory_bp, "/admin/users", roles=("admin",), summary="Every user account", tags=("admin",))
def list_users(ctx: RequestContext) -> dict[str, Any]:
    return {"items": people.users()}


@route(directory_bp, "/admin/users/{username}", method="PUT", roles=("admin",), body=USER_BODY,
       summary="Create or update a user account (role, department, district, active)", tags=("admin",))
def put_user(ctx: RequestContext, username: str) -> dict[str, Any]:
    body = ctx.body
    if len(username) > 64 or not username.replace("-", "").replace("_", "").isalnum():
        raise ValidationFailed("invalid username", details={"username": "letters, digits, - and _ only"})
    if body["role"] in ("handler", "dept_lead"):
        if not body.get("department"):
            raise ValidationFailed("department roles need a department", details={"department": "required"})
        reference.check_user_department(body["department"])
    user = {"username": username, "role": body["role"], "name": body["name"],
            "department": body.get("department"), "district": body.get("district"),
            "active": body.get("active", True)}
    version = people.save_user(user, expected_version=body.get("expected_version"))
    return {**user, "_version": version}
