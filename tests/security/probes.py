"""Requests that reach as far into a route as its policy lets them: built from the route's own policy.

The authorization tests must not mistake a 400 for a refusal: a probe carries a body and query that
pass the route's JSON Schemas (the minimal valid instance), so whatever refuses it afterwards is
the role gate or the ticket scope. Writes guarded by optimistic locking get an ``expected_version``
no document has, so that a probe by an allowed role is refused with a 409 instead of overwriting
shared settings (SLA rules, the calendar) in the middle of the run.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

import fastjsonschema
from hypothesis import find, settings, strategies as st

from chalicelib.api.auth import Principal, issue_local_token
from chalicelib.api.routing import RoutePolicy

UNMATCHABLE_VERSION = 10**6
_PARAM = re.compile(r"\{([^}]+)\}")
_FORMATS = {"date": "2026-03-02", "date-time": "2026-03-02T09:00:00+08:00", "email": "probe@example.com"}


def minimal_instance(schema: dict[str, Any] | None) -> Any:
    """The smallest instance of a JSON Schema (required properties only), checked against it."""
    if schema is None:
        return None
    return json.loads(_minimal_json(json.dumps(schema, sort_keys=True)))


@lru_cache(maxsize=None)
def _minimal_json(schema_json: str) -> str:
    schema = json.loads(schema_json)
    value = _minimal(schema)
    fastjsonschema.validate(schema, value)  # a helper that cannot build one fails loudly, not silently
    return json.dumps(value, ensure_ascii=False)


_PATTERN_GUESSES = ("1", "5678", "2026-03-02", "a", "A1", "x")


def _matching(pattern: str, min_length: int) -> str:
    for guess in _PATTERN_GUESSES:
        if re.fullmatch(pattern, guess) and len(guess) >= min_length:
            return guess
    return find(st.from_regex(pattern, fullmatch=True), lambda s: len(s) >= min_length,
                settings=settings(database=None, max_examples=200))


def _minimal(schema: dict[str, Any]) -> Any:
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return _minimal(schema[key][0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema or "required" in schema else "string"
    if kind == "object":
        properties = schema.get("properties") or {}
        out = {name: _minimal(properties.get(name, {})) for name in schema.get("required") or []}
        if "expected_version" in out:
            out["expected_version"] = UNMATCHABLE_VERSION
        while len(out) < int(schema.get("minProperties", 0)):
            name = next(n for n in properties if n not in out)
            out[name] = _minimal(properties[name])
        return out
    if kind == "array":
        return [_minimal(schema.get("items") or {}) for _ in range(int(schema.get("minItems", 0)))]
    if kind == "integer" or kind == "number":
        return int(schema.get("minimum", 0))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if "pattern" in schema:
        return _matching(schema["pattern"], int(schema.get("minLength", 0)))
    if "format" in schema and schema["format"] in _FORMATS:
        return _FORMATS[schema["format"]]
    return "核查" + "x" * max(0, int(schema.get("minLength", 0)) - 2)


def fill_path(template: str, values: dict[str, str], default: str = "matrix-probe") -> str:
    """The template with each ``{param}`` replaced by ``values[param]`` (or ``default``)."""
    return _PARAM.sub(lambda m: values.get(m.group(1), default), template)


def probe(policy: RoutePolicy, values: dict[str, str]) -> tuple[str, str, bytes | None]:
    """``(method, path with query, body)`` of a request that passes the route's schemas."""
    path = fill_path(policy.path, values)
    query = minimal_instance(policy.query_schema) or {}
    if query:
        path += "?" + urlencode(query)
    body = None
    if policy.method in ("POST", "PUT", "PATCH"):
        instance = minimal_instance(policy.body_schema) if policy.body_schema is not None else {}
        body = json.dumps(instance, ensure_ascii=False).encode("utf-8")
    return policy.method, path, body


def token_for(role: str, *, department: str | None = None) -> str:
    """A signed local token for a role no demo user has (citizen, partner): the authorizer accepts it,
    so only the route's policy stands between it and the route."""
    return issue_local_token(Principal(username=f"{role}-probe", role=role, department=department))


def gate_refusal(role: str, policy: RoutePolicy) -> str:
    """The message the route wrapper's role gate answers with (chalicelib/api/routing.py)."""
    return f"role {role} may not call {policy.method} {policy.path}"
