"""Operation budgets, counted through botocore's event hooks: the platform adds little I/O.

register: at most 1 Query (repeat detection) + 1 TransactWriteItems; any transition: at most 1 read
+ 1 TransactWriteItems; no Scan anywhere on a request path.
"""
from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from typing import Iterator

from chalicelib.domain.ticket import Actor
from chalicelib.services import categories, category_keywords, policy
from chalicelib.services import tickets as service
from chalicelib.store.models import ALL_MODELS

COMPLAINT = {
    "kind": "complaint", "channel": "phone",
    "complainant": {"name": "李四", "phone": "13700001234", "address": "苏州市吴中区东吴北路1号"},
    "respondent": {"name": "某健身房", "address": "苏州市吴中区宝带西路2号"},
    "request": "退还预付卡余额", "facts": "健身房突然关门，预付卡余额3000元无法退还。",
}
AGENT = Actor(username="agent", role="agent")
DISPATCHER = Actor(username="dispatcher", role="dispatcher")
HANDLER = Actor(username="handler", role="handler", department="MARKET")


@contextmanager
def dynamodb_calls() -> Iterator[Counter]:
    """Count every DynamoDB API call made by the PynamoDB connection and boto3 clients."""
    calls: Counter = Counter()

    def count(event_name: str, **kwargs) -> None:
        calls[event_name.split(".")[-1]] += 1

    from chalicelib.aws import client

    hooked = [client("dynamodb")] + [m._get_connection().connection.client for m in ALL_MODELS]
    for c in hooked:
        c.meta.events.register("before-call.dynamodb", count)
    try:
        yield calls
    finally:
        for c in hooked:
            c.meta.events.unregister("before-call.dynamodb", count)


def _warm() -> None:
    """Configuration is read once per container (cached), not per request."""
    policy.sla_rules()
    policy.working_calendar()
    policy.department_codes()
    categories.stored()  # the tree and words the category suggestion reads at registration
    category_keywords.custom()


def test_register_costs_one_query_and_one_transaction(seeded):
    _warm()
    with dynamodb_calls() as calls:
        service.register(COMPLAINT, AGENT)
    assert calls == Counter({"Query": 1, "TransactWriteItems": 1}), calls


def test_each_transition_costs_one_read_and_one_transaction(seeded):
    _warm()
    ticket = service.register(COMPLAINT, AGENT).tickets[0]
    steps = [("accept", {}, AGENT), ("dispatch", {"mode": "single", "department": "MARKET"}, DISPATCHER)]
    for action, params, actor in steps:
        with dynamodb_calls() as calls:
            ticket = service.act(ticket.id, action, params, actor)
        assert calls == Counter({"GetItem": 1, "TransactWriteItems": 1}), (action, calls)
    assignment = ticket.assignments[0].id
    with dynamodb_calls() as calls:
        service.act(ticket.id, "sign", {"assignment_id": assignment}, HANDLER)
    assert calls == Counter({"GetItem": 1, "TransactWriteItems": 1}), calls


def test_a_transition_at_the_version_the_client_saw_costs_no_extra_read(seeded):
    _warm()
    ticket = service.register(COMPLAINT, AGENT).tickets[0]
    with dynamodb_calls() as calls:
        service.act(ticket.id, "accept", {}, AGENT, expected_version=ticket.version)
    assert calls == Counter({"GetItem": 1, "TransactWriteItems": 1}), calls


def test_no_scan_on_any_request_path(api):
    with dynamodb_calls() as calls:
        tid = api.post("/tickets", json=COMPLAINT, user="agent").json["tickets"][0]["id"]
        api.get(f"/tickets/{tid}", user="agent")
        api.get(f"/tickets/{tid}/timeline", user="agent")
        api.get("/queues/pending_acceptance", user="agent")
        api.get("/tickets", user="manager")
        api.get("/departments?q=食品", user="dispatcher")
    assert calls["Scan"] == 0 and sum(calls.values()) > 0, calls
