"""``GET /vocabulary``: every code the API answers with and its Simplified Chinese label, the
status groups and the results each kind's closure takes - the domain's one vocabulary
(``chalicelib/domain/vocabulary.py``; docs/domain.md "Code map"), so the portal keeps no copy.

The same document for every signed-in caller, and it changes only with a deployment: the answer
may be cached (``Cache-Control``), and an ``ETag`` lets a client revalidate cheaply.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.errors import JSON_HEADERS
from chalicelib.api.routing import ANY_SIGNED_IN, RequestContext, route
from chalicelib.domain import lifecycle
from chalicelib.domain.vocabulary import document

vocabulary_bp = Blueprint(__name__)

CACHE_SECONDS = 3600


def _document() -> dict[str, Any]:
    doc = document()
    doc["actions"] = [{"name": r.name, "label": doc["labels"]["action"].get(r.name, r.name),
                       "params": sorted(r.params), "roles": sorted(r.roles)} for r in lifecycle.ROWS]
    return doc


_BODY = _document()
_ETAG = '"' + hashlib.sha256(json.dumps(_BODY, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32] + '"'


@route(vocabulary_bp, "/vocabulary", roles=ANY_SIGNED_IN, tags=("system",),
       summary="Codes and their Chinese labels, status groups, results per kind, the lifecycle's actions")
def get_vocabulary(ctx: RequestContext) -> Response:
    headers = {"Cache-Control": f"private, max-age={CACHE_SECONDS}", "ETag": _ETAG}
    if ctx.headers.get("if-none-match") == _ETAG:
        return Response(body="", status_code=304, headers=headers)
    headers.update(JSON_HEADERS)
    return Response(body=_BODY, status_code=200, headers=headers)
