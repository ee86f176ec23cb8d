"""Routes of smart dispatch: for admins, model versions (list, promote, roll back), the dispatchers'
corrections collected for retraining, the auto-dispatch settings and its live guard per department; for agents and dispatchers,
the model's advice on a text being typed."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from chalice import Blueprint

from chalicelib.api.errors import ServiceUnavailable
from chalicelib.api.routing import RequestContext, route
from chalicelib.cursors import decode_cursor, encode_cursor
from chalicelib.domain.errors import ValidationFailed
from chalicelib.dispatch import corrections, registry
from chalicelib.services import clock, recommend

models_bp = Blueprint(__name__)

ADMIN = ("admin",)
REASON_BODY = {
    "type": "object",
    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 200}},
    "additionalProperties": False,
}
CORRECTIONS_QUERY = {
    "type": "object",
    "properties": {"month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                   "limit": {"type": "string", "pattern": "^[1-9][0-9]{0,2}$"},
                   "cursor": {"type": "string", "maxLength": 2000}},
}
SETTINGS_BODY = {
    "type": "object",
    "properties": {
        "auto_dispatch": {"type": "boolean"},
        "min_probability": {"type": ["number", "null"], "minimum": 0.5, "maximum": 1},
        "exclude_channels": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 32}},
        "expected_version": {"type": "integer", "minimum": 0},
    },
    "required": ["auto_dispatch", "expected_version"],
    "additionalProperties": False,
}
SUGGEST_BODY = {
    "type": "object",
    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 12000},
                   "address": {"type": "string", "maxLength": 300}},
    "required": ["text"],
    "additionalProperties": False,
}
KEYWORDS_BODY = {
    "type": "object",
    "properties": {"keywords": {"type": ["array", "null"], "maxItems": 30,
                                "items": {"type": "string", "minLength": 2, "maxLength": 20}},
                   "expected_version": {"type": "integer", "minimum": 0}},
    "required": ["keywords", "expected_version"],
    "additionalProperties": False,
}
# Metadata parts too large or too internal for an admin screen (thousands of dictionary words).
HIDDEN_METADATA = ("user_words", "knowledge")


def _active() -> dict[str, Any]:
    pointer = registry.active_pointer()
    if pointer is None:
        return {"version": registry.bundled_version(), "bundled": True, "previous": [], "revision": 0}
    return {**asdict(pointer), "bundled": pointer.version == registry.bundled_version()}


@route(models_bp, "/admin/models", roles=ADMIN, tags=("admin", "dispatch"),
       summary="Dispatch model versions (newest first) and which one is active")
def list_models(ctx: RequestContext) -> dict[str, Any]:
    active = _active()
    versions = [{**v, "active": v["version"] == active["version"]} for v in registry.versions()]
    return {"active": active, "bundled_version": registry.bundled_version(), "versions": versions}


@route(models_bp, "/admin/models/versions/{version}", roles=ADMIN, tags=("admin", "dispatch"),
       summary="One dispatch model version: labels, training-data hash, metrics, threshold")
def get_model(ctx: RequestContext, version: str) -> dict[str, Any]:
    metadata = registry.version_metadata(registry.check_version(version))
    return {k: v for k, v in metadata.items() if k not in HIDDEN_METADATA}


@route(models_bp, "/admin/models/versions/{version}/promote", method="POST", roles=ADMIN, body=REASON_BODY,
       tags=("admin", "dispatch"), summary="Make a dispatch model version the active one")
def promote_model(ctx: RequestContext, version: str) -> dict[str, Any]:
    assert ctx.principal is not None
    pointer = registry.promote(registry.check_version(version), actor=ctx.principal.username, now=clock.now(),
                               reason=ctx.body.get("reason"))
    return {"active": asdict(pointer)}


@route(models_bp, "/admin/models/rollback", method="POST", roles=ADMIN, body=REASON_BODY,
       tags=("admin", "dispatch"), summary="Make the previously active dispatch model version active again")
def rollback_model(ctx: RequestContext) -> dict[str, Any]:
    assert ctx.principal is not None
    pointer = registry.rollback(actor=ctx.principal.username, now=clock.now(), reason=ctx.body.get("reason"))
    return {"active": asdict(pointer)}


@route(models_bp, "/admin/models/corrections", roles=ADMIN, query=CORRECTIONS_QUERY, tags=("admin", "dispatch"),
       summary="Dispatchers' decisions that differed from the model (labelled examples), by month")
def list_corrections(ctx: RequestContext) -> dict[str, Any]:
    month = corrections.check_month(ctx.query.get("month") or corrections.month_of(clock.now()))
    limit = min(int(ctx.query.get("limit") or 50), 200)
    examples, last = corrections.page(month, limit=limit, cursor=decode_cursor(ctx.query.get("cursor")))
    return {"month": month, "items": [e.to_dict() for e in examples], "next_cursor": encode_cursor(last)}


@route(models_bp, "/admin/dispatch-settings", roles=ADMIN, tags=("admin", "dispatch"),
       summary="Auto-dispatch on/off, minimum probability override, channels never auto-dispatched")
def get_settings(ctx: RequestContext) -> dict[str, Any]:
    return recommend.dispatch_settings(fresh=True).to_dict()


@route(models_bp, "/admin/dispatch-settings", method="PUT", roles=ADMIN, body=SETTINGS_BODY,
       tags=("admin", "dispatch"), summary="Change the auto-dispatch settings")
def put_settings(ctx: RequestContext) -> dict[str, Any]:
    assert ctx.principal is not None
    body = {k: v for k, v in ctx.body.items() if k != "expected_version"}
    return recommend.save_dispatch_settings(body, expected_version=ctx.body["expected_version"],
                                            actor=ctx.principal.username).to_dict()


RESUME_BODY = {
    "type": "object",
    "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 200},
                   "expected_version": {"type": "integer", "minimum": 0}},
    "required": ["expected_version"],
    "additionalProperties": False,
}


def _guarded_departments() -> list[str]:
    from chalicelib.dispatch.taxonomy import departments

    return [d.code for d in departments()]


@route(models_bp, "/admin/dispatch-guard", roles=ADMIN, tags=("admin", "dispatch"),
       summary="Live auto-dispatch precision per department (from returns and re-dispatches) and what the guard did")
def get_guard(ctx: RequestContext) -> dict[str, Any]:
    from chalicelib.dispatch import guard

    return {"target": guard.TARGET, "window_days": guard.WINDOW_DAYS, "min_outcomes": guard.MIN_OUTCOMES,
            "departments": guard.all_states(_guarded_departments(), clock.now())}


@route(models_bp, "/admin/dispatch-guard/{department}/resume", method="POST", roles=ADMIN, body=RESUME_BODY,
       tags=("admin", "dispatch"), summary="Let the platform dispatch a department's tickets again (window restarts)")
def resume_guard(ctx: RequestContext, department: str) -> dict[str, Any]:
    from chalicelib.dispatch import guard

    assert ctx.principal is not None
    if department not in _guarded_departments():
        raise ValidationFailed("unknown department", details={"department": department})
    state = guard.resume(department, actor=ctx.principal.username, now=clock.now(),
                         expected_version=ctx.body["expected_version"], reason=ctx.body.get("reason"))
    return state.figures(clock.now())


@route(models_bp, "/dispatch/recommend", method="POST", roles=("agent", "dispatcher"), body=SUGGEST_BODY,
       tags=("dispatch",), summary="The dispatch model's top 3 and the jurisdiction for a text being typed, and the "
                                    "categories of the tree it suggests (with a confidence, or none when unsure)")
def recommend_text(ctx: RequestContext) -> dict[str, Any]:
    text = ctx.body["text"].strip()
    if not text:
        raise ValidationFailed("empty text", details={"text": "required"})
    rec = recommend.suggest(text, ctx.body.get("address"), now=clock.now())
    if rec is None:
        raise ServiceUnavailable("the dispatch model is not available right now", details={})
    return {"recommendation": rec.to_dict(), "categories": recommend.suggest_categories(text)}


@route(models_bp, "/admin/category-keywords", roles=ADMIN, tags=("admin", "dispatch"),
       summary="The words the category suggestion looks for, per active category: defaults, an admin's own, in force")
def get_category_keywords(ctx: RequestContext) -> dict[str, Any]:
    from chalicelib.services import category_keywords

    return category_keywords.listing()


@route(models_bp, "/admin/category-keywords/{code}", method="PUT", roles=ADMIN, body=KEYWORDS_BODY,
       tags=("admin", "dispatch"),
       summary="Replace a category's suggestion words (null: back to the defaults; optimistic: expected_version)")
def put_category_keywords(ctx: RequestContext, code: str) -> dict[str, Any]:
    from chalicelib.services import category_keywords

    assert ctx.principal is not None
    return category_keywords.save(code, ctx.body["keywords"], expected_version=ctx.body["expected_version"],
                                  actor=ctx.principal.username)


FIGURES_QUERY = {
    "type": "object",
    "properties": {"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}},
    "additionalProperties": False,
}
FIGURE_ROLES = ("admin", "manager")


@route(models_bp, "/admin/category-model", roles=ADMIN, tags=("admin", "dispatch"),
       summary="The category model trained on the city's tickets: the active version, every version, the minimum "
               "examples a category needs")
def get_category_model(ctx: RequestContext) -> dict[str, Any]:
    from chalicelib.dispatch import category_model_registry, category_model_training

    pointer = category_model_registry.active_pointer()
    versions = category_model_registry.versions()
    active = None if pointer is None else pointer.version
    return {"active": None if pointer is None else asdict(pointer), "min_examples": category_model_training.MIN_EXAMPLES,
            "versions": [{**v, "active": v["version"] == active} for v in versions]}


@route(models_bp, "/admin/category-model/versions/{version}/promote", method="POST", roles=ADMIN, body=REASON_BODY,
       tags=("admin", "dispatch"),
       summary="Make a category model version the active one (an earlier one: a rollback); containers load it at "
               "their next check")
def promote_category_model(ctx: RequestContext, version: str) -> dict[str, Any]:
    from chalicelib.dispatch import category_model_registry

    assert ctx.principal is not None
    pointer = category_model_registry.promote(registry.check_version(version), actor=ctx.principal.username,
                                              now=clock.now(), reason=ctx.body.get("reason"))
    return {"active": asdict(pointer)}


@route(models_bp, "/admin/category-model/figures", roles=FIGURE_ROLES, query=FIGURES_QUERY,
       tags=("admin", "dispatch"),
       summary="How good the category suggestions stored at registration were against the final category: top-1 "
               "and top-3 hit rates by method (keywords, model), days received (default the last 30, at most 92)")
def get_category_figures(ctx: RequestContext) -> dict[str, Any]:
    from chalicelib.services import category_suggestions

    start, end = category_suggestions.check_range(ctx.query.get("from"), ctx.query.get("to"),
                                                  today=clock.now().date())
    return category_suggestions.figures(start, end)
