"""Serialise moto's DynamoDB Query answers straight to JSON.

moto 5 builds every answer by walking botocore's service model attribute by attribute: for a Query
returning a few hundred counter items that is a quarter of a second, most of a statistics request
on the local runtime. A read answer is already DynamoDB JSON (items as attribute-value maps), so it
is dumped with ``json`` as moto itself did before its generic serializer, binary values in base64
(as moto's serializer writes blobs). An answer holding anything else - a value ``json`` does not
know - goes through moto's serializer unchanged. ``tests/local/test_moto_responses.py`` compares
the two on every kind of attribute value.

Only Query: with GetItem and BatchGetItem answered this way too, one browser test (the agent's
callback dialog) lost its satisfaction options, and the cause was not found in the time there was.
Their answers are small; Query's are the ones that cost.
"""
from __future__ import annotations

import base64
import json
from functools import wraps
from typing import Any

READS = ("query",)


class _NotPlain(TypeError):
    """A value the fast path leaves to moto's serializer."""


def _default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise _NotPlain(type(value).__name__)


def _without_none(value: Any) -> Any:
    """moto's serializer leaves out members whose value is None."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def install() -> None:
    """Wrap moto's DynamoDB read handlers (once per process)."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    for name in READS:
        original = getattr(DynamoHandler, name)

        def fast(self: Any, _original: Any = original) -> Any:
            answer = _original(self)
            if type(answer) not in (ActionResult, DynamoResult) or not isinstance(answer.result, dict):
                return answer
            try:
                return json.dumps(_without_none(answer.result), default=_default, separators=(",", ":"))
            except _NotPlain:
                return answer

        setattr(DynamoHandler, name, wraps(original)(fast))
