"""Fixtures for the ticket flow: real Step Functions executions under moto with a test SLA profile
whose clocks are seconds long, driven by the event pump; every execution is stopped afterwards."""
from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import boto3
import pytest

from chalicelib.domain.ticket import Actor

AGENT = Actor(username="agent", role="agent")
DISPATCHER = Actor(username="dispatcher", role="dispatcher")
HANDLER = Actor(username="handler", role="handler", department="MARKET")
MANAGER = Actor(username="manager", role="manager")

SLOW = "C1102"  # a category of the default tree (综合 / 意见建议) given twice the time: sign yellow 3 s / due 6 s,
# handling 4 s / 8 s (registration takes codes of the tree only)

# Sign: yellow at 1.5 s, due at 3 s. Handling: yellow at 2 s, due at 4 s. Supervision right after
# an urging when still overdue (0 working days). The centre's clocks are an hour long.
FAST_RULES: list[dict[str, Any]] = [
    {"clock": "acceptance", "amount": 3600, "unit": "seconds", "owner": "agent"},
    {"clock": "sign", "amount": 3, "unit": "seconds", "yellow_ratio": 0.5, "supervise_after_working_days": 0},
    {"clock": "handling", "amount": 4, "unit": "seconds", "yellow_ratio": 0.5, "pausable": True,
     "supervise_after_working_days": 0},
    {"clock": "sign", "amount": 6, "unit": "seconds", "yellow_ratio": 0.5, "supervise_after_working_days": 0,
     "category": SLOW},
    {"clock": "handling", "amount": 8, "unit": "seconds", "yellow_ratio": 0.5, "pausable": True,
     "supervise_after_working_days": 0, "category": SLOW},
    # complaints' mediation (60 natural days in force; here 20 s), pausable, carried by the lead share
    {"clock": "mediation", "amount": 20, "unit": "seconds", "yellow_ratio": 0.5, "pausable": True,
     "supervise_after_working_days": 0},
    {"clock": "closure_review", "amount": 3600, "unit": "seconds", "owner": "dispatcher"},
    {"clock": "callback", "amount": 3600, "unit": "seconds", "owner": "agent"},
]

HELP_REQUEST = {
    "kind": "help_request",
    "channel": "phone",
    "complainant": {"name": "李四", "phone": "13900001111", "address": "苏州市姑苏区十全街8号"},
    "respondent": {"name": "苏州某某物业公司", "address": "苏州市姑苏区十全街10号"},
    "request": "请协调处理小区电梯长期停运问题",
    "facts": "小区3号楼电梯已停运两周，物业未给出维修时间。",
    "category": "物业服务",
}


@dataclass
class Flow:
    """The test's handle on the embedded AWS: the app's event pump and small helpers."""

    env: dict[str, str]
    pump: Any

    @property
    def sfn(self) -> Any:
        return boto3.client("stepfunctions")

    def executions(self, status: str | None = None) -> list[dict[str, Any]]:
        kwargs = {"stateMachineArn": self.env["TICKET_FLOW_ARN"]}
        if status:
            kwargs["statusFilter"] = status
        return self.sfn.list_executions(**kwargs)["executions"]

    def until(self, predicate: Callable[[], Any], *, timeout: float = 12.0, what: str = "condition") -> Any:
        """Pump events until ``predicate()`` is truthy (bounded in time); returns its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.pump.pump_once()
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def settle(self, seconds: float) -> None:
        """Keep pumping for ``seconds`` (to show that nothing happens meanwhile)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.pump.pump_once()
            time.sleep(0.05)


HERE = Path(__file__).resolve().parent
_shared: ExitStack | None = None
_shared_value: tuple[dict[str, str], Any] | None = None


def _open_shared() -> tuple[dict[str, str], Any]:
    """One embedded AWS for this directory's tests: every resource of infra/, the demo directory
    and the fast SLA profile, with one event pump (a new pump would replay the stream from its
    start). boto3 clients are expensive to create, so the tests share them and tell their data
    apart by ticket."""
    global _shared, _shared_value
    from app import app
    from chalicelib.aws import client
    from chalicelib.local.pump import EventPump
    from chalicelib.notifications import recipients
    from chalicelib.services import policy
    from tests.conftest import embedded_aws

    stack = ExitStack()
    try:
        env = stack.enter_context(embedded_aws(seeded=True))
        stack.callback(_stop_running, env["TICKET_FLOW_ARN"])  # runs before the mock ends (LIFO)
        policy.save_sla_rules(FAST_RULES, expected_version=0, actor="test")
        recipients.forget_cache()
        pump = EventPump(app, env)
        for service in ("stepfunctions", "sqs", "ses", "dynamodb", "dynamodbstreams"):
            client(service)  # made once, here, rather than inside the first test's timings
        pump.drain()
    except BaseException:
        stack.close()
        raise
    _shared, _shared_value = stack, (env, pump)
    return _shared_value


def _stop_running(arn: str) -> None:
    sfn = boto3.client("stepfunctions")
    for execution in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
        _stop(sfn, execution["executionArn"])


def _stop(sfn: Any, arn: str) -> None:
    """Stop a test's execution. moto 5.2.5 fails to stop one whose worker already let go of its
    environment (an execution waiting inside a Map iteration): that one is left to the mock's end."""
    try:
        sfn.stop_execution(executionArn=arn, error="TestOver", cause="teardown")
    except AttributeError as exc:
        if "set_stop" not in str(exc):
            raise


def _close_shared() -> None:
    global _shared, _shared_value
    if _shared is not None:
        stack, _shared, _shared_value = _shared, None, None
        stack.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Close the shared embedded AWS as soon as the next test is not one of this directory's
    (pytest's "package" scope needs an __init__.py; the test tree has none)."""
    yield
    if nextitem is None or HERE not in Path(str(nextitem.path)).resolve().parents:
        _close_shared()


@pytest.fixture
def flow_env() -> tuple[dict[str, str], Any]:
    """The shared embedded AWS (see :func:`_open_shared`) and its event pump."""
    return _shared_value if _shared_value is not None else _open_shared()


@pytest.fixture
def flow(flow_env: tuple[dict[str, str], Any]) -> Iterator[Flow]:
    """The shared embedded AWS and event pump; this test's executions are stopped after it."""
    from chalicelib.notifications import recipients
    from chalicelib.services import policy

    policy.forget_cache()
    recipients.forget_cache()
    env, pump = flow_env
    handle = Flow(env=env, pump=pump)
    handle.pump.drain()  # what earlier tests left on the stream and the queues
    try:
        yield handle
    finally:
        for execution in handle.executions("RUNNING"):
            _stop(handle.sfn, execution["executionArn"])


def submission(**overrides: Any) -> dict[str, Any]:
    """A help request from a citizen no earlier test used (repeat detection would merge it)."""
    import secrets

    tail = "".join(secrets.choice("0123456789") for _ in range(8))
    return {**HELP_REQUEST, "complainant": {**HELP_REQUEST["complainant"], "phone": "139" + tail},
            "facts": HELP_REQUEST["facts"] + f"（编号{tail}）", **overrides}


def ticket_in_handling(*, sign: bool = False, department: str = "MARKET", category: str | None = None) -> Any:
    """Register, accept and dispatch a help request to ``department`` (and sign it): returns the ticket."""
    from chalicelib.services import tickets as service

    ticket = service.register(submission(**({"category": category} if category else {})), AGENT).tickets[0]
    service.act(ticket.id, "accept", {}, AGENT)
    ticket = service.act(ticket.id, "dispatch", {"mode": "single", "department": department}, DISPATCHER)
    if sign:
        ticket = service.act(ticket.id, "sign", {}, HANDLER)
    return ticket


def events_of(ticket_id: str, *types: str) -> list[Any]:
    """The ticket's timeline events of the given types, in order."""
    from chalicelib.services import tickets as service

    return [e for e in service.repository().timeline(ticket_id) if not types or e.type in types]
