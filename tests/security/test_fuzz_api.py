"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis + hypothesis).

The document is fetched from the running app (``GET /openapi.json``) through a small WSGI adapter
around the same gateway the local runtime serves, so what is fuzzed is what a client reads. Every
operation gets valid (positive) and invalid (negative) requests, sent by signed-in callers of the
roles the operation admits (and anonymously for public ones), with path parameters drawn half the
time from real tickets, tracking codes and partners so that the fuzzing reaches the lifecycle and
not only the 404s. Each answer must:

* never be a 5xx (``not_a_server_error``);
* conform to the document: a documented status, JSON content type, the error envelope for every
  4xx/5xx, ``Retry-After`` on a 503 (``status_code_conformance``, ``content_type_conformance``,
  ``response_schema_conformance``, ``response_headers_conformance``).

``make test`` runs a bounded pass (``FUZZ_EXAMPLES`` per operation and mode, derandomized so that
CI is reproducible); ``make fuzz`` runs a long randomized one (``FUZZ_EXAMPLES=150 FUZZ_RANDOM=1``).
All failures of a run are collected and reported together.
"""
from __future__ import annotations

import base64
import itertools
import os
import time
from typing import Any, Callable, Iterable

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import app as application
from chalicelib.api.auth import ROLES
from tests.security.probes import token_for

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
RANDOM = os.environ.get("FUZZ_RANDOM", "") not in ("", "0")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
PROBE_USERS = {"citizen": "citizen-probe", "partner": "partner-probe"}


class GatewayWsgi:
    """WSGI in front of the envelope gateway: the raw request URI and body go to the app unchanged.

    Every request comes from its own source address (API Gateway's ``sourceIp``, which the per-address
    limits of the public routes count) so that the fuzz run does not turn into a run of 429s after the
    first thirty submissions.
    """

    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway
        self._addresses = itertools.count(1)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if not uri:
            uri = environ.get("PATH_INFO", "/")
            if environ.get("QUERY_STRING"):
                uri += "?" + environ["QUERY_STRING"]
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        n = next(self._addresses)
        source_ip = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        answer = self.gateway.handle(environ["REQUEST_METHOD"], uri, headers, body, source_ip=source_ip)
        raw = answer.get("body") or b""
        if answer.get("isBase64Encoded"):
            raw = base64.b64decode(raw)
        elif isinstance(raw, str):
            raw = raw.encode("utf-8")
        status = int(answer["statusCode"])
        out = [(k, str(v)) for k, v in (answer.get("headers") or {}).items() if k.lower() != "content-length"]
        out.append(("Content-Length", str(len(raw))))
        start_response(f"{status} {_REASONS.get(status, 'Status')}", out)
        return [raw]


_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
            415: "Unsupported Media Type", 429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable"}


@pytest.fixture(scope="module")
def target(module_api):
    """The app behind WSGI, its document, real objects to aim at, and a token per role."""
    api = module_api
    for role, user in PROBE_USERS.items():
        api._tokens[user] = token_for(role)
    complaint = {"kind": "complaint", "channel": "phone",
                 "complainant": {"name": "周芷若", "phone": "13800009999", "address": "苏州市相城区元和街道1号"},
                 "respondent": {"name": "相城某某餐馆", "address": "苏州市相城区华元路3号"},
                 "request": "要求退款", "facts": "菜品不洁。", "category": "餐饮服务"}
    registered = api.post("/tickets", json=complaint, user="agent").json["tickets"][0]
    accepted = api.post(f"/tickets/{registered['id']}/accept", json={}, user="agent").json
    dispatched = api.post(f"/tickets/{accepted['id']}/dispatch", json={"mode": "single", "department": "MARKET"},
                          user="dispatcher").json
    tokens = {role: api.token(PROBE_USERS.get(role, role)) for role in ROLES}
    schema = schemathesis.openapi.from_wsgi("/openapi.json", GatewayWsgi(api.gateway))
    return {"schema": schema, "tokens": tokens,
            "values": {"ticket_id": [registered["id"], dispatched["id"]],
                       "code": [registered["tracking_code"]],
                       "partner_id": ["province-12315"], "name": ["to_sign", "pending_acceptance"],
                       "username": ["agent"], "template_id": ["mediation-settled"]}}


def _roles(operation: Any) -> list[str | None]:
    declared = operation.definition.raw.get("x-roles")
    if declared == "public":
        return [None, "agent"]
    if declared == "any_signed_in":
        return list(ROLES)
    return list(declared)


def _strategy(operation: Any, mode: GenerationMode, values: dict[str, list[str]]) -> st.SearchStrategy:
    free = operation.as_strategy(generation_mode=mode)
    names = [p.name for p in operation.path_parameters]
    if not names or not all(n in values for n in names):
        return free
    aimed = [operation.as_strategy(generation_mode=mode, path_parameters=dict(zip(names, combo)))
             for combo in itertools.product(*(values[n] for n in names))]
    return st.one_of(free, *aimed)


def _fuzz(operation: Any, mode: GenerationMode, target: dict[str, Any]) -> list[str]:
    failures: list[str] = []
    roles = _roles(operation)

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
              report_multiple_bugs=False)
    @given(case=_strategy(operation, mode, target["values"]), role=st.sampled_from(roles))
    def run(case: Any, role: str | None) -> None:
        headers = {"Authorization": f"Bearer {target['tokens'][role]}"} if role else {}
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as exc:  # collected per operation, reported together below
            failures.append(f"{operation.label} [{mode.value}, {role}]: {str(exc)[:1500]}")

    try:
        run()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # nothing in this operation's input can be made invalid (no parameters, no body)
    return failures


def test_every_operation_survives_fuzzing_and_keeps_to_its_document(target):
    schema = target["schema"]
    operations = [result.ok() for result in schema.get_all_operations()]
    served = {(m, p) for p, ms in application.app.routes.items() for m in ms}
    documented = {(o.method.upper(), o.path) for o in operations}
    # schemathesis leaves out the operation that serves the document itself
    assert documented == served - {("GET", "/openapi.json")}, ("the document lists every route", served ^ documented)
    started = time.monotonic()
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += _fuzz(operation, mode, target)
    elapsed = time.monotonic() - started
    assert not failures, f"{len(failures)} failing cases in {elapsed:.0f} s:\n\n" + "\n\n".join(failures[:30])
