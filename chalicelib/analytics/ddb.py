"""Thin helpers over the low-level DynamoDB client for analytics items (counters, facts, alerts).

Analytics writes many small ``ADD`` updates and reads wide counter items; the low-level client
with hand-built attribute values is the cheapest way to do both. Reads are paginated with a
bound on pages so that no request path can loop without end.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

from chalicelib.aws import client
from chalicelib.config import get_settings

MAX_PAGES = 200
BATCH_RETRIES = 8

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def table() -> str:
    return get_settings().table_name


def ddb() -> Any:
    return client("dynamodb")


def S(value: str) -> dict[str, str]:
    return {"S": value}


def N(value: int | float) -> dict[str, str]:
    return {"N": str(value)}


def to_av(value: Any) -> dict[str, Any]:
    """Any JSON-like value as an attribute value (floats become Decimals)."""
    return _serializer.serialize(_decimals(value))


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_decimals(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """Decimals to int/float, sets to sorted lists, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Binary):
        return bytes(value.value)
    return value


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A low-level item as plain Python values."""
    return {k: plain(_deserializer.deserialize(v)) for k, v in item.items()}


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: to_av(v) for k, v in values.items() if v is not None}


def query(*, max_pages: int = MAX_PAGES, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every item of a Query (low-level items), page after page, at most ``max_pages`` pages."""
    kwargs.setdefault("TableName", table())
    for _ in range(max_pages):
        answer = ddb().query(**kwargs)
        yield from answer.get("Items", [])
        last = answer.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last
    raise RuntimeError(f"query exceeded {max_pages} pages")  # a bug or an absurd period, never silent


def get(pk: str, sk: str, *, consistent: bool = True) -> dict[str, Any] | None:
    answer = ddb().get_item(TableName=table(), Key={"PK": S(pk), "SK": S(sk)}, ConsistentRead=consistent)
    item = answer.get("Item")
    return from_item(item) if item else None


def batch_get(keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Items for (PK, SK) keys, in no particular order (100 per call, unprocessed keys retried)."""
    found: list[dict[str, Any]] = []
    name = table()
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), 100):
        request = {name: {"Keys": [{"PK": S(pk), "SK": S(sk)} for pk, sk in unique[start:start + 100]]}}
        for attempt in range(BATCH_RETRIES):
            answer = ddb().batch_get_item(RequestItems=request)
            found.extend(from_item(i) for i in answer.get("Responses", {}).get(name, []))
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2 ** attempt, 1.0))
        else:
            raise RuntimeError("batch_get: keys left unprocessed after retries")
    return found


def batch_put(items: list[dict[str, Any]]) -> None:
    """Put low-level items, 25 per call, unprocessed items retried with backoff."""
    name = table()
    for start in range(0, len(items), 25):
        request = {name: [{"PutRequest": {"Item": item}} for item in items[start:start + 25]]}
        for attempt in range(BATCH_RETRIES):
            answer = ddb().batch_write_item(RequestItems=request)
            request = answer.get("UnprocessedItems") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2 ** attempt, 1.0))
        else:
            raise RuntimeError("batch_put: items left unprocessed after retries")


def is_condition_failure(exc: Exception) -> bool:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return code == "ConditionalCheckFailedException"
