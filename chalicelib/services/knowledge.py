"""The knowledge base (知识库): articles managers keep and agents find while they register a call.

An article is a policy, a procedure, an FAQ answer or a department's duties; it names the categories
it applies to and the reply templates that go with it. Every save is a new version, and every
version stays readable. Retiring takes an article out of search and suggestions, never out of the
table. Search segments Chinese with jieba (:mod:`knowledge_terms`, loaded only on a write or a
search) and reads an inverted index of terms (:mod:`chalicelib.store.knowledge`).
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from typing import Any

from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.services import clock
from chalicelib.store import directory
from chalicelib.store import knowledge as store

ARTICLE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,47}$")
KINDS = ("policy", "procedure", "faq", "duty")
MAX_TITLE = 80
MAX_BODY = 8000
MAX_LIST = 10
MAX_TAG = 30
MAX_SEARCH_TEXT = 500
SNIPPET = 120
#: A category named in a search lifts an article that lists it by this factor.
CATEGORY_BOOST = 1.5


def _text(value: Any, field: str, limit: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > limit:
        raise ValidationFailed(f"invalid {field}", details={field: f"1-{limit} characters"})
    return text


def _tags(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise ValidationFailed(f"invalid {field}", details={field: f"a list of at most {MAX_LIST} entries"})
    out: list[str] = []
    for i, tag in enumerate(value):
        if not isinstance(tag, str) or not tag.strip() or len(tag.strip()) > MAX_TAG:
            raise ValidationFailed(f"invalid {field}", details={f"{field}[{i}]": f"1-{MAX_TAG} characters"})
        if tag.strip() not in out:
            out.append(tag.strip())
    return out


def _templates(value: Any) -> list[str]:
    ids = _tags(value, "templates")
    unknown = [t for t in ids if directory.find_entry(directory.TEMPLATES, t) is None]
    if unknown:
        raise ValidationFailed("unknown reply template", details={"templates": "no template " + ", ".join(unknown)})
    return ids


def _departments(value: Any) -> list[str]:
    codes = _tags(value, "departments")
    unknown = [c for c in codes if directory.find_entry(directory.DEPARTMENTS, c) is None
               and directory.find_entry(directory.OFFICES, c) is None]
    if unknown:
        raise ValidationFailed("unknown department", details={"departments": "no department " + ", ".join(unknown)})
    return codes


def check_id(article_id: str) -> str:
    """An article id: 2-48 lower-case letters, digits and -."""
    if not isinstance(article_id, str) or not ARTICLE_ID.match(article_id):
        raise ValidationFailed("invalid article id", details={"article_id": "2-48 lower-case letters, digits and -"})
    return article_id


def get(article_id: str, *, include_retired: bool) -> dict[str, Any]:
    """The current version of an article (a retired one only for those who keep the base)."""
    article = store.get(check_id(article_id))
    if article is None or (not article.get("active", True) and not include_retired):
        raise NotFound(f"article {article_id} not found")
    return article


def save(article_id: str, body: dict[str, Any], *, actor: str, expected_version: int) -> dict[str, Any]:
    """Create (``expected_version`` 0) or change an article; the previous version stays readable."""
    check_id(article_id)
    kind = body.get("kind")
    if kind not in KINDS:
        raise ValidationFailed("invalid kind", details={"kind": "one of " + ", ".join(KINDS)})
    existing = store.get(article_id)
    article = {
        "id": article_id, "kind": kind, "title": _text(body.get("title"), "title", MAX_TITLE),
        "body": _text(body.get("body"), "body", MAX_BODY),
        "categories": _tags(body.get("categories"), "categories"),
        "keywords": _tags(body.get("keywords"), "keywords"),
        "templates": _templates(body.get("templates")),
        "departments": _departments(body.get("departments")),
        "active": existing.get("active", True) if existing else True,
        "note": (body.get("note") or "").strip()[:200],
    }
    return _write(article, existing, actor=actor, expected_version=expected_version)


def set_active(article_id: str, *, active: bool, actor: str, expected_version: int) -> dict[str, Any]:
    """Retire (out of search and suggestions) or reinstate an article: a new version either way."""
    existing = store.get(check_id(article_id))
    if existing is None:
        raise NotFound(f"article {article_id} not found")
    article = {k: v for k, v in existing.items() if k not in ("_version", "terms", "updated_by", "updated_at")}
    article.update(active=active, note="重新启用" if active else "停用")
    return _write(article, existing, actor=actor, expected_version=expected_version)


def _write(article: dict[str, Any], existing: dict[str, Any] | None, *, actor: str,
           expected_version: int) -> dict[str, Any]:
    from chalicelib.services import knowledge_terms  # jieba: only writes and searches load it

    terms = knowledge_terms.article_terms(title=article["title"], body=article["body"],
                                          keywords=article["keywords"], categories=article["categories"]) \
        if article["active"] else {}
    article = {**article, "terms": sorted(terms), "updated_by": actor, "updated_at": clock.now().isoformat()}
    version = store.save(article, expected_version=expected_version,
                         old_terms=(existing or {}).get("terms", []), new_terms=terms)
    return {**article, "_version": version}


def summary(article: dict[str, Any]) -> dict[str, Any]:
    """What a list shows of an article (no body, no index terms)."""
    keys = ("id", "kind", "title", "categories", "keywords", "templates", "departments", "active",
            "updated_by", "updated_at", "_version")
    return {k: article.get(k) for k in keys}


def list_articles(*, kind: str | None = None, category: str | None = None, template: str | None = None,
                  include_retired: bool = False) -> list[dict[str, Any]]:
    """Articles, most recently changed first, filtered by kind, category or linked reply template."""
    items = [a for a in store.list_all() if include_retired or a.get("active", True)]
    if kind:
        items = [a for a in items if a.get("kind") == kind]
    if category:
        items = [a for a in items if category in (a.get("categories") or [])]
    if template:
        items = [a for a in items if template in (a.get("templates") or [])]
    items.sort(key=lambda a: a.get("updated_at") or "", reverse=True)
    return [summary(a) for a in items]


def versions(article_id: str, *, include_retired: bool) -> list[dict[str, Any]]:
    """Every version of an article, newest first (bodies included: each is readable as it was)."""
    get(article_id, include_retired=include_retired)
    return [{k: v for k, v in a.items() if k != "terms"} for a in store.versions(article_id)]


def version(article_id: str, number: int, *, include_retired: bool) -> dict[str, Any]:
    """One version of an article as it was saved."""
    get(article_id, include_retired=include_retired)
    found = store.version(article_id, number)
    if found is None:
        raise NotFound(f"article {article_id} has no version {number}")
    return {k: v for k, v in found.items() if k != "terms"}


def _snippet(body: str, matched: list[str]) -> str:
    at = min((body.find(t) for t in matched if t in body), default=-1)
    start = max(0, at - 20) if at >= 0 else 0
    text = body[start:start + SNIPPET]
    return ("…" if start > 0 else "") + text + ("…" if start + SNIPPET < len(body) else "")


def search(text: str, *, category: str | None = None, limit: int = 5) -> dict[str, Any]:
    """Active articles that share the most (and the rarest) terms with ``text``, best first.

    Score: Σ over matched terms of the article's weight for the term × 1/log2(1 + articles with the
    term), so a word every article has counts little; an article listing ``category`` is lifted.
    """
    from chalicelib.services import knowledge_terms  # jieba: only writes and searches load it

    if not isinstance(text, str) or len(text) > MAX_SEARCH_TEXT:
        raise ValidationFailed("invalid text", details={"text": f"at most {MAX_SEARCH_TEXT} characters"})
    terms = knowledge_terms.query_terms(text)
    scores: dict[str, float] = defaultdict(float)
    matched: dict[str, list[str]] = defaultdict(list)
    for term in terms:
        postings = store.postings(term)
        rarity = 1.0 / math.log2(1 + len(postings)) if postings else 0.0
        for article_id, weight in postings.items():
            scores[article_id] += weight * rarity
            matched[article_id].append(term)
    best = sorted(scores, key=lambda a: -scores[a])[: limit * 3]
    articles = store.get_many(best)
    results = []
    for article_id in best:
        article = articles.get(article_id)
        if article is None or not article.get("active", True):
            continue
        score = scores[article_id] * (CATEGORY_BOOST if category and category in (article.get("categories") or []) else 1)
        results.append({**summary(article), "score": round(score, 3), "matched": matched[article_id],
                        "snippet": _snippet(article.get("body", ""), matched[article_id])})
    results.sort(key=lambda r: -r["score"])
    return {"terms": terms, "items": results[:limit]}
