"""The authorization matrix (OWASP API1 and API5), read from the app's own route table.

Every route the Chalice app serves must have a declared policy (chalicelib/api/routing.py); every
role is then checked against every route: an allowed role gets past the role gate, a refused role
gets exactly the gate's 403. Department-scoped roles (handler, department lead) are refused with a
403 on every route that takes a ticket id when the ticket is another department's or no
department's, while the same request on their own department's ticket is not refused (so the 403
is the scope check, not a 400 in disguise). Lists are scoped the same way. Citizens reach only their
own ticket, through its tracking code and the last four digits of their phone. A route added
tomorrow is in these loops without editing this file.
"""
from __future__ import annotations

from typing import Any

import pytest

import app as application
from chalicelib.api.auth import DEPARTMENT_ROLES, ROLES
from chalicelib.api.routing import ANY_SIGNED_IN, PUBLIC, ROUTE_POLICIES, RoutePolicy
from tests.security.probes import gate_refusal, minimal_instance, probe, token_for

STAFF = ("agent", "dispatcher", "handler", "dept_lead", "manager", "admin")
PROBE_USERS = {"citizen": "citizen-probe", "partner": "partner-probe"}
SCOPE_REFUSAL_CODES = ("forbidden",)

COMPLAINT = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "孙立", "phone": "13911112222", "address": "苏州市吴中区东吴北路10号",
                    "id_number": "320506198805051234"},
    "respondent": {"name": "吴中某某超市", "address": "苏州市吴中区宝带东路5号"},
    "request": "要求赔偿", "facts": "购买的牛奶已过保质期。", "category": "食品安全",
}


def _user(role: str) -> str:
    return PROBE_USERS.get(role, role)


def _body(api, path: str, body: Any, user: str) -> dict[str, Any]:
    answer = api.post(path, json=body, user=user)
    assert answer.status in (200, 201), (path, answer.status, answer.body)
    return answer.json


def _register(api, phone: str, **changes: Any) -> dict[str, Any]:
    body = {**COMPLAINT, **changes, "complainant": {**COMPLAINT["complainant"], "phone": phone}}
    return _body(api, "/tickets", body, "agent")["tickets"][0]


def _dispatched(api, phone: str, department: str, **changes: Any) -> dict[str, Any]:
    ticket = _register(api, phone, **changes)
    _body(api, f"/tickets/{ticket['id']}/accept", {}, "agent")
    return _body(api, f"/tickets/{ticket['id']}/dispatch", {"mode": "single", "department": department},
                 "dispatcher")


PROBE_ADDRESS = "192.0.2.50"  # the role probes' own address (their failed lookups back it off)


@pytest.fixture(scope="module")
def world(module_api):
    """Tickets of MARKET (the department of ``handler`` and ``dept_lead``), of URBAN, and of nobody yet."""
    api = module_api
    for role, user in PROBE_USERS.items():
        api._tokens[user] = token_for(role)
    web = api.post("/public/tickets", json={k: v for k, v in COMPLAINT.items() if k != "channel"} | {
        "complainant": {**COMPLAINT["complainant"], "phone": "13955556666"}},
        source_ip="198.51.100.7")
    assert web.status == 201, web.body
    return {
        "api": api,
        "market": _dispatched(api, "13911110001", "MARKET"),
        "urban": _dispatched(api, "13911110002", "URBAN"),
        "nobody": _register(api, "13911110003"),
        "web_code": web.json["tickets"][0]["tracking_code"],
        "other_code": _register(api, "13911110004")["tracking_code"],
        # the role probes' failed lookups back off their code and address: a ticket and an address
        # of their own keep the citizen's test below from meeting that back-off
        "probe_code": _register(api, "13911110009")["tracking_code"],
    }


def _call(api, policy: RoutePolicy, user: str | None, values: dict[str, str]):
    method, path, body = probe(policy, values)
    return api.request(method, path, body=body, user=user, source_ip=PROBE_ADDRESS)


def _roles_of(policy: RoutePolicy) -> tuple[str, ...]:
    if policy.roles in (PUBLIC, ANY_SIGNED_IN):
        return ROLES
    return tuple(policy.roles)


# --------------------------------------------------------------------------- the route table
def test_every_route_the_app_serves_has_a_declared_policy():
    served = {(method, path) for path, methods in application.app.routes.items() for method in methods}
    undeclared = served - set(ROUTE_POLICIES)
    assert not undeclared, f"routes without a declared policy: {sorted(undeclared)}"
    assert set(ROUTE_POLICIES) <= served, "a declared policy without a route"
    for key, policy in ROUTE_POLICIES.items():
        if policy.roles not in (PUBLIC, ANY_SIGNED_IN):
            assert policy.roles and set(policy.roles) <= set(ROLES), (key, policy.roles)


def test_every_route_taking_a_ticket_id_is_scoped_for_department_roles():
    """A department role may only reach a ticket through a route that checks the ticket's scope."""
    unscoped = [key for key, p in ROUTE_POLICIES.items()
                if "{ticket_id}" in p.path and set(_roles_of(p)) & set(DEPARTMENT_ROLES) and not p.ticket_scoped]
    assert not unscoped, f"ticket routes open to department roles without ticket_scoped=True: {unscoped}"


def test_every_probe_passes_its_route_schemas():
    """The probes below carry valid input, so a 403 they get is a refusal, not a validation error."""
    for key, policy in ROUTE_POLICIES.items():
        minimal_instance(policy.query_schema)
        if policy.method in ("POST", "PUT", "PATCH"):
            minimal_instance(policy.body_schema)


# --------------------------------------------------------------------------- roles
def test_each_role_is_allowed_or_refused_exactly_as_declared(world):
    api = world["api"]
    values = {"ticket_id": world["market"]["id"], "code": world["probe_code"]}
    wrong: list[str] = []
    for key, policy in sorted(ROUTE_POLICIES.items()):
        for role in ROLES:
            allowed = policy.roles in (PUBLIC, ANY_SIGNED_IN) or role in policy.roles
            answer = _call(api, policy, _user(role), values)
            error = (answer.json or {}).get("error", {}) if answer.body[:1] == b"{" else {}
            gate_said_no = answer.status == 403 and error.get("message") == gate_refusal(role, policy)
            signed_out = answer.status == 401 and error.get("code") == "unauthenticated"
            if allowed and (signed_out or gate_said_no):
                wrong.append(f"{key} {role}: declared allowed, got {answer.status} {error}")
            if not allowed and not gate_said_no:
                wrong.append(f"{key} {role}: declared refused, got {answer.status} {answer.body[:120]!r}")
        if policy.roles != PUBLIC:
            anonymous = _call(api, policy, None, values)
            if anonymous.status != 401:
                wrong.append(f"{key} without a token: got {anonymous.status}, not 401")
    assert not wrong, "\n".join(wrong)


# --------------------------------------------------------------------------- department scope
def _scoped_routes() -> list[RoutePolicy]:
    return [p for p in ROUTE_POLICIES.values()
            if "{ticket_id}" in p.path and set(_roles_of(p)) & set(DEPARTMENT_ROLES)]


def test_department_roles_are_refused_every_other_departments_ticket(world):
    api = world["api"]
    routes = _scoped_routes()
    assert len(routes) >= 10, "the lifecycle, detail, timeline and reveal routes at least"
    wrong: list[str] = []
    for policy in sorted(routes, key=lambda p: (p.method, p.path)):
        for role in sorted(set(_roles_of(policy)) & set(DEPARTMENT_ROLES)):
            user = role  # both demo users of these roles are in MARKET
            for foreign in ("urban", "nobody"):
                answer = _call(api, policy, user, {"ticket_id": world[foreign]["id"]})
                if answer.status != 403 or answer.json["error"]["code"] not in SCOPE_REFUSAL_CODES:
                    wrong.append(f"{policy.method} {policy.path} by {role} on {foreign}'s ticket: "
                                 f"{answer.status} {answer.body[:160]!r}")
            # the same request on their own department's ticket is not refused: the 403 above was the scope
            own = _call(api, policy, user, {"ticket_id": world["market"]["id"]})
            if own.status in (401, 403):
                wrong.append(f"{policy.method} {policy.path} by {role} on its own ticket: {own.status} {own.body[:160]!r}")
    # and the other way round: URBAN's handler on MARKET's ticket
    for policy in routes:
        if "handler" in _roles_of(policy):
            answer = _call(api, policy, "handler-urban", {"ticket_id": world["market"]["id"]})
            if answer.status != 403:
                wrong.append(f"{policy.method} {policy.path} by handler-urban on MARKET's ticket: {answer.status}")
    assert not wrong, "\n".join(wrong)


def test_lists_show_department_roles_their_own_department_only(world):
    api = world["api"]
    market, urban = world["market"]["id"], world["urban"]["id"]
    for user in ("handler", "dept_lead"):
        found = {i["id"] for i in api.get("/tickets", user=user).json["items"]}
        assert market in found and urban not in found and world["nobody"]["id"] not in found, (user, found)
        leaked = api.get("/tickets?department=URBAN", user=user).json["items"]
        assert urban not in {i["id"] for i in leaked}, "a department filter must not widen the scope"
        assert api.get("/queues/pending_acceptance", user=user).status == 403
    market, urban = _dispatched(api, "13911110005", "MARKET")["id"], _dispatched(api, "13911110006", "URBAN")["id"]
    for user, own, foreign in (("handler", market, urban), ("dept_lead", market, urban), ("handler-urban", urban, market)):
        to_sign = {i["id"] for i in api.get("/queues/to_sign", user=user).json["items"]}
        assert own in to_sign and foreign not in to_sign, (user, to_sign)


def test_notifications_are_the_callers_own(world):
    from chalicelib.notifications.model import Audience, Notification
    from chalicelib.notifications.port import deliver

    api = world["api"]
    for department in ("MARKET", "URBAN"):
        deliver(Notification(id=f"matrix-{department}", kind="urged", title="催办", body="请尽快签收",
                             audience=Audience(departments=(department,)), created_at="2026-03-02T09:00:00+08:00",
                             urgent=True))
    mine = api.get("/notifications", user="handler").json["items"]
    theirs = api.get("/notifications", user="handler-urban").json["items"]
    assert mine and theirs, "each department's handler got its own notification"
    assert not {i["id"] for i in mine} & {i["id"] for i in theirs}
    for item in mine:
        other = api.post(f"/notifications/{item['id']}/read", json={}, user="handler-urban")
        assert other.status == 404, other.body
    assert all(not i.get("read_at") for i in api.get("/notifications", user="handler").json["items"])


# --------------------------------------------------------------------------- citizens
def test_citizens_reach_only_their_own_ticket_with_code_and_phone(world):
    api = world["api"]
    code, other = world["web_code"], world["other_code"]
    tracked = api.get(f"/public/tickets/{code}?phone_last4=6666")
    assert tracked.status == 200 and tracked.json["tracking_code"] == code
    text = tracked.body.decode()
    assert "13955556666" not in text and "孙立" not in text and "320506198805051234" not in text
    assert set(tracked.json) >= {"status", "replies"} and "complainant" not in tracked.json
    for path in (f"/public/tickets/{code}?phone_last4=0000",    # right code, wrong phone
                 f"/public/tickets/{other}?phone_last4=6666",   # someone else's code, my phone
                 "/public/tickets/AAAA-BBBB-CCCC?phone_last4=6666"):
        answer = api.get(path)
        assert answer.status == 404 and answer.json["error"]["code"] == "not_found", (path, answer.body)
    other_id = api.get(f"/public/tickets/{other}?phone_last4=0004").json  # its owner's proof works
    assert other_id["tracking_code"] == other
    evaluation = {"phone_last4": "6666", "satisfaction": "dissatisfied", "solved": False}
    answer = api.post(f"/public/tickets/{other}/evaluation", json=evaluation)
    assert answer.status == 404 and answer.json["error"]["code"] == "not_found", answer.body
    # a citizen's token (should one ever be issued) opens no staff route
    assert api.get(f"/tickets/{world['market']['id']}", user="citizen-probe").status == 403
    assert api.get("/tickets", user="citizen-probe").status == 403
