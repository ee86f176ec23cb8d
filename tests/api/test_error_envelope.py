"""Hostile input on every route that exists: always a 4xx with the envelope, never a 5xx.

The routes come from the app's own policy registry, so a new route is covered without editing
this file.
"""
from __future__ import annotations

import json
import re

import pytest

import app  # noqa: F401 - registers every route
from chalicelib.api.routing import ANY_SIGNED_IN, PUBLIC, ROUTE_POLICIES

BAD_BODIES: list[bytes] = [
    b"{not json",
    b"\xff\xfe\x00garbage",
    b"[]",
    b"42",
    b'"a string"',
    b"null",
    json.dumps({"unexpected_field": "x" * 10}).encode(),
    json.dumps({k: 12345 for k in ("username", "role", "name", "kind", "text", "department", "reason")}).encode(),
    json.dumps({"nested": {"deep": [[[[[[[[[[1]]]]]]]]]]}}).encode(),
    b'{"a": ' + b"9" * 5000 + b"}",
    json.dumps({"text": "x" * (300 * 1024)}).encode(),
]


@pytest.fixture
def api(module_api):
    """One seeded AWS (and the callers' tokens) for the whole module: the ~250 cases only check that
    no input causes a 5xx and every refusal is an envelope, which holds whatever an earlier case left."""
    return module_api


def _caller(roles) -> str | None:
    if roles == PUBLIC:
        return None
    if roles == ANY_SIGNED_IN:
        return "agent"
    return sorted(roles)[0] if sorted(roles)[0] in ("agent", "dispatcher", "handler", "dept_lead", "manager", "admin") \
        else next(r for r in ("agent", "dispatcher", "handler", "manager", "admin") if r in roles)


def _path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "does-not-exist", template)


def _assert_envelope(answer) -> None:
    body = answer.json
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["code"], str) and isinstance(body["error"]["message"], str)
    assert "details" in body["error"]


@pytest.mark.parametrize("key", sorted(ROUTE_POLICIES), ids=lambda k: f"{k[0]} {k[1]}")
def test_hostile_bodies_never_cause_a_5xx(api, key):
    method, template = key
    policy = ROUTE_POLICIES[key]
    user = _caller(policy.roles)
    path = _path(template)
    bodies = BAD_BODIES if method in ("POST", "PUT", "PATCH") else [b""]
    for body in bodies:
        answer = api.request(method, path, body=body, user=user)
        assert answer.status < 500, (method, path, body[:60], answer.status, answer.body[:300])
        if answer.status >= 400:
            _assert_envelope(answer)


@pytest.mark.parametrize("key", sorted(ROUTE_POLICIES), ids=lambda k: f"{k[0]} {k[1]}")
def test_hostile_query_strings_never_cause_a_5xx(api, key):
    method, template = key
    policy = ROUTE_POLICIES[key]
    user = _caller(policy.roles)
    for query in ("?q=%00%ff", "?limit=-1&cursor=%%%", "?" + "a=" + "x" * 4000, "?start=not-a-date&amount=x"):
        answer = api.request(method, _path(template) + query, body=b"{}", user=user)
        assert answer.status < 500, (method, template, query[:40], answer.body[:300])
        if answer.status >= 400:
            _assert_envelope(answer)


def test_the_registry_knows_every_chalice_route():
    chalice_routes = {(m, p) for p, methods in app.app.routes.items() for m in methods}
    assert chalice_routes == set(ROUTE_POLICIES)


def test_wrong_content_type_is_an_envelope(api):
    answer = api.request("POST", "/auth/dev-login", body=b"username=agent",
                         headers={"content-type": "application/x-unknown"})
    assert answer.status == 415
    _assert_envelope(answer)
