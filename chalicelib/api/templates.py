"""Reply templates (答复模板): managers keep them, agents and handlers pick from them."""
from __future__ import annotations

import re
from typing import Any

from chalice import Blueprint

from chalicelib.api.routing import RequestContext, route
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services import categories, reply_templates

templates_bp = Blueprint(__name__)

TEMPLATE_BODY = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 60},
        "text": {"type": "string", "minLength": 1, "maxLength": 4000},
        "kind": {"type": ["string", "null"], "enum": [None, "complaint", "report", "inquiry", "suggestion", "help_request"]},
        "category": {"type": ["string", "null"], "maxLength": 64},
        "use": {"type": "string", "enum": ["reply", "callback", "decline", "closure", "note"]},
        "active": {"type": "boolean"},
        "expected_version": {"type": "integer", "minimum": 0},
    },
    "required": ["title", "text", "use", "expected_version"],
    "additionalProperties": False,
}
LIST_QUERY = {"type": "object", "properties": {
    "use": {"type": "string", "maxLength": 20}, "kind": {"type": "string", "maxLength": 20},
    "q": {"type": "string", "maxLength": 50}, "category": {"type": "string", "maxLength": 64}}}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@route(templates_bp, "/reply-templates", roles=("agent", "dispatcher", "handler", "dept_lead", "manager"),
       query=LIST_QUERY, summary="Active reply templates, filtered by use, kind, keyword or a ticket's category "
                                 "(templates linked to it or to a category above it, and unlinked ones)",
       tags=("templates",))
def list_templates(ctx: RequestContext) -> dict[str, Any]:
    items = [t for t in reply_templates.all_templates()
             if t.get("active", True) or (ctx.principal and ctx.principal.role == "manager")]
    use, kind, keyword = ctx.query.get("use"), ctx.query.get("kind"), (ctx.query.get("q") or "").strip()
    if use:
        items = [t for t in items if t["use"] == use]
    if kind:
        items = [t for t in items if t.get("kind") in (None, kind)]
    if keyword:
        items = [t for t in items if keyword in t["title"] or keyword in t["text"]]
    if ctx.query.get("category"):
        items = [t for t in items if categories.matches(t.get("category"), ctx.query["category"])]
    return {"items": items}


@route(templates_bp, "/reply-templates/{template_id}", method="PUT", roles=("manager",), body=TEMPLATE_BODY,
       summary="Create or change a reply template (deactivate with active=false; nothing is deleted)",
       tags=("templates",))
def put_template(ctx: RequestContext, template_id: str) -> dict[str, Any]:
    if not _ID.match(template_id):
        raise ValidationFailed("invalid template id", details={"template_id": "lowercase letters, digits and -"})
    assert ctx.principal is not None
    if ctx.body.get("category") is not None:  # a template is linked to an active category of the tree
        categories.check_code(ctx.body["category"], "category")
    data = {"id": template_id, "title": ctx.body["title"], "text": ctx.body["text"], "use": ctx.body["use"],
            "kind": ctx.body.get("kind"), "category": ctx.body.get("category"),
            "active": ctx.body.get("active", True), "updated_by": ctx.principal.username}
    version = reply_templates.save(template_id, data, expected_version=ctx.body["expected_version"])
    return {**data, "_version": version}
