"""Knowledge base routes (知识库): managers keep articles; agents, dispatchers and departments read
and search them; the registration screen asks for suggestions from the text being typed."""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.routing import RequestContext, route
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services import knowledge

knowledge_bp = Blueprint(__name__)

READERS = ("agent", "dispatcher", "handler", "dept_lead", "manager")
WRITERS = ("manager",)
TAGS = ("knowledge",)
_TAG_LIST = {"type": "array", "maxItems": knowledge.MAX_LIST, "items": {"type": "string", "maxLength": knowledge.MAX_TAG}}
ARTICLE_BODY = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": list(knowledge.KINDS)},
        "title": {"type": "string", "minLength": 1, "maxLength": knowledge.MAX_TITLE},
        "body": {"type": "string", "minLength": 1, "maxLength": knowledge.MAX_BODY},
        "categories": _TAG_LIST, "keywords": _TAG_LIST, "templates": _TAG_LIST, "departments": _TAG_LIST,
        "note": {"type": "string", "maxLength": 200},
        "expected_version": {"type": "integer", "minimum": 0},
    },
    "required": ["kind", "title", "body", "expected_version"],
    "additionalProperties": False,
}
VERSION_BODY = {"type": "object", "properties": {"expected_version": {"type": "integer", "minimum": 1}},
                "required": ["expected_version"], "additionalProperties": False}
LIST_QUERY = {"type": "object", "properties": {
    "kind": {"type": "string", "enum": list(knowledge.KINDS)}, "category": {"type": "string", "maxLength": 30},
    "template": {"type": "string", "maxLength": 40}, "include_retired": {"type": "string", "enum": ["0", "1"]}},
    "additionalProperties": False}
SEARCH_QUERY = {"type": "object", "properties": {
    "text": {"type": "string", "minLength": 1, "maxLength": knowledge.MAX_SEARCH_TEXT},
    "category": {"type": "string", "maxLength": 30}, "limit": {"type": "string", "pattern": "^([1-9]|1[0-9]|20)$"}},
    "required": ["text"], "additionalProperties": False}


def _keeper(ctx: RequestContext) -> bool:
    """Those who keep the base also see retired articles."""
    return ctx.principal is not None and ctx.principal.role in WRITERS


def _actor(ctx: RequestContext) -> str:
    assert ctx.principal is not None
    return ctx.principal.username


@route(knowledge_bp, "/knowledge/articles", roles=READERS, query=LIST_QUERY, tags=TAGS,
       summary="Knowledge articles (no bodies), by kind, category or linked reply template")
def list_articles(ctx: RequestContext) -> dict[str, Any]:
    include_retired = ctx.query.get("include_retired") == "1" and _keeper(ctx)
    return {"items": knowledge.list_articles(kind=ctx.query.get("kind"), category=ctx.query.get("category"),
                                             template=ctx.query.get("template"), include_retired=include_retired)}


@route(knowledge_bp, "/knowledge/search", roles=READERS, query=SEARCH_QUERY, tags=TAGS,
       summary="Articles matching a Chinese text (jieba terms over the inverted index), best first")
def search(ctx: RequestContext) -> dict[str, Any]:
    return knowledge.search(ctx.query["text"], category=ctx.query.get("category"),
                            limit=int(ctx.query.get("limit") or 5))


@route(knowledge_bp, "/knowledge/articles/{article_id}", roles=READERS, tags=TAGS,
       summary="The current version of an article")
def get_article(ctx: RequestContext, article_id: str) -> dict[str, Any]:
    article = knowledge.get(article_id, include_retired=_keeper(ctx))
    return {k: v for k, v in article.items() if k != "terms"}


@route(knowledge_bp, "/knowledge/articles/{article_id}", method="PUT", roles=WRITERS, body=ARTICLE_BODY,
       tags=TAGS, audit="knowledge.article.save",
       summary="Create (expected_version 0) or change an article; every version stays readable")
def put_article(ctx: RequestContext, article_id: str) -> dict[str, Any]:
    saved = knowledge.save(article_id, ctx.body, actor=_actor(ctx), expected_version=ctx.body["expected_version"])
    return {k: v for k, v in saved.items() if k != "terms"}


@route(knowledge_bp, "/knowledge/articles/{article_id}/retire", method="POST", roles=WRITERS, body=VERSION_BODY,
       tags=TAGS, audit="knowledge.article.retire",
       summary="Retire an article: out of search and suggestions, its versions kept")
def retire_article(ctx: RequestContext, article_id: str) -> dict[str, Any]:
    saved = knowledge.set_active(article_id, active=False, actor=_actor(ctx),
                                 expected_version=ctx.body["expected_version"])
    return {k: v for k, v in saved.items() if k != "terms"}


@route(knowledge_bp, "/knowledge/articles/{article_id}/reinstate", method="POST", roles=WRITERS,
       body=VERSION_BODY, tags=TAGS, audit="knowledge.article.reinstate", summary="Reinstate a retired article")
def reinstate_article(ctx: RequestContext, article_id: str) -> dict[str, Any]:
    saved = knowledge.set_active(article_id, active=True, actor=_actor(ctx),
                                 expected_version=ctx.body["expected_version"])
    return {k: v for k, v in saved.items() if k != "terms"}


@route(knowledge_bp, "/knowledge/articles/{article_id}/versions", roles=READERS, tags=TAGS,
       summary="Every version of an article, newest first")
def article_versions(ctx: RequestContext, article_id: str) -> dict[str, Any]:
    return {"items": knowledge.versions(article_id, include_retired=_keeper(ctx))}


@route(knowledge_bp, "/knowledge/articles/{article_id}/versions/{number}", roles=READERS, tags=TAGS,
       summary="One version of an article as it was saved")
def article_version(ctx: RequestContext, article_id: str, number: str) -> dict[str, Any]:
    if not number.isdigit() or not 1 <= int(number) <= 999999:
        raise ValidationFailed("invalid version", details={"number": "a version number from 1"})
    return knowledge.version(article_id, int(number), include_retired=_keeper(ctx))
