"""Fault injection for the in-process moto AWS: throttling, transient 5xx, lost answers, services down.

Every AWS call the platform makes in tests (boto3 clients and PynamoDB's own botocore client alike)
goes through botocore's ``before-send`` event, where moto's stubber answers it. The ``faults``
fixture wraps that stubber: a rule picks calls by service and operation and answers them with an
error *as the service would* (so botocore's standard retry mode sees a real throttle or 5xx and
retries it), or lets moto process the call and then loses the answer (the write happened, the
caller never heard). botocore's back-off delays are recorded, not slept, so the tests stay fast and
can still assert that the client backed off. The standard mode's retry quota (a per-client budget
that makes a client stop retrying after a long run of failures: right in production) is kept full,
so that each step of a long scenario shows its own retries.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.retries.quota import RetryQuota
from botocore.retries.standard import ExponentialBackoff
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

import app as application
from chalicelib.local import pump as pump_module
from chalicelib.local.pump import EventPump
from tests.faults.queues import ImmediateRetrySqs

THROTTLE = "ProvisionedThroughputExceededException"


def call_of(request: AWSPreparedRequest) -> tuple[str, str]:
    """``(service, operation)`` of a prepared AWS request, e.g. ``("dynamodb", "TransactWriteItems")``."""
    host = urlsplit(request.url).hostname or ""
    service = host.split(".")[0]
    if service.startswith("streams"):
        service = "dynamodbstreams"
    elif service.endswith("s3") or ".s3." in host or host.startswith("s3"):
        service = "s3"
    target = request.headers.get("X-Amz-Target")
    if isinstance(target, bytes):
        target = target.decode()
    if target:
        return service, target.rsplit(".", 1)[-1]
    body = request.body
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            body = ""
    if isinstance(body, str) and "Action=" in body:
        return service, (parse_qs(body).get("Action") or [""])[0]
    if service == "s3":
        return service, {"PUT": "PutObject", "GET": "GetObject", "HEAD": "HeadObject",
                         "DELETE": "DeleteObject", "POST": "PostObject"}.get(request.method or "", "")
    return service, urlsplit(request.url).path.strip("/").split("/")[-1]


def _error_response(request: AWSPreparedRequest, service: str, code: str, status: int) -> AWSResponse:
    """An error answer in the protocol the service speaks (JSON for DynamoDB/SQS, XML otherwise)."""
    if service in ("dynamodb", "dynamodbstreams"):
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected fault"})
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fault"}
    elif service == "sqs" and request.headers.get("X-Amz-Target"):
        body = json.dumps({"__type": f"com.amazonaws.sqs#{code}", "message": "injected fault"})
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "fault"}
    elif service == "s3":
        body = f"<Error><Code>{code}</Code><Message>injected fault</Message><RequestId>fault</RequestId></Error>"
        headers = {"Content-Type": "application/xml"}
    else:
        body = (f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>injected fault</Message>"
                f"</Error><RequestId>fault</RequestId></ErrorResponse>")
        headers = {"Content-Type": "text/xml"}
    return AWSResponse(request.url, status, headers, MockRawResponse(body))


@dataclass
class Rule:
    """Which calls fail and how: the calls numbered ``first``..``first+times-1`` of the match (1-based)."""

    service: str
    operation: str | None
    code: str = THROTTLE
    status: int = 400
    first: int = 1
    times: int | None = None  # None: every matching call from ``first`` on
    lose_answer: bool = False  # let moto do the call, then answer with a 500 (the caller never heard)
    seen: int = 0
    injected: int = 0

    def matches(self, service: str, operation: str) -> bool:
        return self.service == service and (self.operation is None or self.operation == operation)

    def fires(self) -> bool:
        self.seen += 1
        last = None if self.times is None else self.first + self.times - 1
        return self.seen >= self.first and (last is None or self.seen <= last)


@dataclass
class Faults:
    """The active fault rules, the calls seen, and the back-off delays botocore asked for."""

    rules: list[Rule] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, service: str, operation: str | None = None, *, code: str = THROTTLE, status: int = 400,
             first: int = 1, times: int | None = None) -> Rule:
        """Answer matching calls with an error (a throttle by default)."""
        rule = Rule(service, operation, code=code, status=status, first=first, times=times)
        self.rules.append(rule)
        return rule

    def down(self, service: str, operation: str | None = None) -> Rule:
        """The service answers every call with a 503 until :meth:`clear`."""
        return self.fail(service, operation, code="ServiceUnavailable", status=503)

    def lose_answer(self, service: str, operation: str, *, first: int = 1, times: int = 1) -> Rule:
        """The call is carried out, but its answer is lost (a 500 instead): the client retries."""
        rule = Rule(service, operation, code="InternalServerError", status=500, first=first, times=times,
                    lose_answer=True)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def count(self, service: str, operation: str) -> int:
        return sum(1 for call in self.calls if call == (service, operation))

    def _answer(self, stubber: BotocoreStubber, original: Callable[..., Any], event_name: str,
                request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        service, operation = call_of(request)
        with self.lock:
            self.calls.append((service, operation))
            rule = next((r for r in self.rules if r.matches(service, operation) and r.fires()), None)
            if rule is not None:
                rule.injected += 1
        if rule is None:
            return original(stubber, event_name, request, **kwargs)
        if rule.lose_answer:
            original(stubber, event_name, request, **kwargs)
        return _error_response(request, service, rule.code, rule.status)


@pytest.fixture
def faults(monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    """Install the fault injector (and instant back-off) for one test."""
    injector = Faults()
    original = BotocoreStubber.__call__
    original_delay = ExponentialBackoff.delay_amount

    def answer(stubber: BotocoreStubber, event_name: str, request: AWSPreparedRequest, **kwargs: Any) -> Any:
        return injector._answer(stubber, original, event_name, request, **kwargs)

    def delay(backoff: ExponentialBackoff, context: Any) -> float:
        injector.delays.append(original_delay(backoff, context))
        return 0.0

    monkeypatch.setattr(BotocoreStubber, "__call__", answer)
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", delay)
    monkeypatch.setattr(RetryQuota, "acquire", lambda quota, amount: True)
    yield injector
    injector.clear()


@pytest.fixture
def pump(seeded: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> EventPump:
    """The local event pump over the seeded resources, with failed batches retried at once."""
    real_client = pump_module.client
    monkeypatch.setattr(pump_module, "client",
                        lambda service: ImmediateRetrySqs(real_client(service)) if service == "sqs"
                        else real_client(service))
    return EventPump(application.app, seeded)
