"""Serialise moto's answers to the hot read calls straight to JSON.

moto 5 builds every answer by walking botocore's service model attribute by attribute, looking each
member up under several candidate names: for a Query returning a few hundred counter items that is
a quarter of a second, most of a statistics request on the local runtime, and the event pump's
stream reads, ticket reads and the flow tests' execution histories spent as much again (a third
of the CPU of a Step Functions flow test). These answers are almost always in wire form already
(DynamoDB JSON, strings, numbers), so here each answer is checked against the operation's output
shape, member by member, and dumped with ``json``: binary values in base64 and timestamps in epoch
seconds, exactly as moto's serializer writes them (its own timestamp conversion is used). An answer
holding anything the check does not vouch for - a member the shape does not name, a value of
another type than its shape's (a number where a string belongs: moto's serializer would convert
it), a renamed member, a service with response transformers - goes through moto's serializer
unchanged. ``tests/local/test_moto_responses.py`` compares the two on every kind of value.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime
from enum import Enum
from functools import lru_cache, wraps
from typing import Any

# (handler module, handler class, method): the calls answered by the fast path.
READS: tuple[tuple[str, str, str], ...] = (
    ("moto.dynamodb.responses", "DynamoHandler", "query"),
    ("moto.dynamodb.responses", "DynamoHandler", "get_item"),
    ("moto.dynamodb.responses", "DynamoHandler", "batch_get_item"),
    ("moto.dynamodb.responses", "DynamoHandler", "update_item"),
    ("moto.dynamodbstreams.responses", "DynamoDBStreamsHandler", "get_records"),
    ("moto.stepfunctions.responses", "StepFunctionResponse", "get_execution_history"),
)

_installed: list[tuple[type, str, Any]] = []


class _NotPlain(TypeError):
    """A value the fast path leaves to moto's serializer."""


@lru_cache(maxsize=1)
def _timestamps() -> Any:
    from moto.core.serialize import TimestampSerializer

    return TimestampSerializer(TimestampSerializer.TIMESTAMP_FORMAT_UNIX)


def _wire(value: Any, shape: Any) -> Any:
    """``value`` as moto's JSON serializer writes it for ``shape``, or :class:`_NotPlain`."""
    kind = shape.type_name
    if kind == "string":
        if type(value) is not str:
            if not isinstance(value, Enum) or type(value.value) is not str:
                raise _NotPlain(kind)
            return value.value  # as moto's serializer writes an enum member
        return value
    if kind == "structure":
        if type(value) is not dict:
            raise _NotPlain(kind)
        if shape.is_document_type:
            return value
        members, out = shape.members, {}
        for key, member in value.items():
            if member is None:
                continue  # moto's serializer leaves out members whose value is None
            member_shape = members.get(key)
            if member_shape is None or member_shape.serialization.get("name", key) != key:
                raise _NotPlain(key)
            out[key] = _wire(member, member_shape)
        return out
    if kind == "map":
        if type(value) is not dict:
            raise _NotPlain(kind)
        value_shape = shape.value
        return {k: _wire(v, value_shape) for k, v in value.items()}
    if kind == "list":
        if type(value) is not list:
            raise _NotPlain(kind)
        member_shape = shape.member
        return [_wire(v, member_shape) for v in value]
    if kind in ("integer", "long"):
        if type(value) is not int:
            raise _NotPlain(kind)
        return value
    if kind == "boolean":
        if type(value) is not bool:
            raise _NotPlain(kind)
        return value
    if kind in ("double", "float"):
        if type(value) not in (int, float):
            raise _NotPlain(kind)
        return float(value)
    if kind == "blob":
        if not isinstance(value, (bytes, bytearray)):
            raise _NotPlain(kind)
        return base64.b64encode(bytes(value)).strip().decode("utf-8")
    if kind == "timestamp":
        if not isinstance(value, (datetime, str, int, float)) or isinstance(value, bool):
            raise _NotPlain(kind)
        return _timestamps()._convert_timestamp_to_str(
            value, shape.serialization.get("timestampFormat", _timestamps().TIMESTAMP_FORMAT_UNIX))
    raise _NotPlain(kind)


@lru_cache(maxsize=64)
def _output_shape(service: str, action: str) -> Any:
    """The output shape of a JSON-protocol operation, or None (then the fast path stays out)."""
    from moto.core.utils import get_service_model

    model = get_service_model(service)
    if model.protocol != "json":
        return None
    return model.operation_model(action).output_shape


def fast_body(handler: Any, result: Any) -> str | None:
    """The JSON body of ``result`` for the handler's current operation, or None when moto's
    serializer must write it (see the module docstring)."""
    if not isinstance(result, dict) or getattr(handler, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None):
        return None
    shape = _output_shape(handler.boto3_service_name, handler._get_action())
    if shape is None:
        return None
    try:
        return json.dumps(_wire(result, shape), separators=(",", ":"))
    except _NotPlain:
        return None


def install() -> None:
    """Wrap the handlers of :data:`READS` (once per process)."""
    import importlib

    from moto.core.responses import ActionResult

    if _installed:
        return
    for module, class_name, name in READS:
        cls = getattr(importlib.import_module(module), class_name)
        original = getattr(cls, name)

        def fast(self: Any, _original: Any = original) -> Any:
            answer = _original(self)
            if not isinstance(answer, ActionResult) or type(answer).execute_result is not ActionResult.execute_result:
                return answer
            body = fast_body(self, answer.result)
            return answer if body is None else body

        setattr(cls, name, wraps(original)(fast))
        _installed.append((cls, name, original))


def originals() -> list[tuple[type, str, Any]]:
    """Each wrapped handler method with moto's own (for the tests that compare the two)."""
    return list(_installed)
