"""Shared fixtures: an in-process moto AWS with every resource of infra/, and an API client.

The environment is set before anything imports the app, so PynamoDB models and settings see the
test table name and never a real AWS endpoint.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from contextlib import contextmanager
from typing import Any, Iterator

os.environ.update({
    "STAGE": "local",
    "TABLE_NAME": "tickets",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",  # moto routes DynamoDB Streams by the regional host only
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
})
os.environ.pop("AWS_ENDPOINT_URL", None)

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from chalicelib.local import moto_patches  # noqa: E402

moto_patches.apply()

from tests.moto_state import MotoState  # noqa: E402


def reset_aws_clients() -> None:
    """Forget every cached client so the next call is made inside the current mock."""
    from chalicelib.aws import reset_clients
    from chalicelib.config import reset_settings
    from chalicelib.services.policy import forget_cache
    from chalicelib.store.fieldcrypt import forget_key
    from chalicelib.store.models import ALL_MODELS

    forget_cache()
    forget_key()
    reset_clients()
    reset_settings()
    for model in ALL_MODELS:
        model._connection = None


def fresh_mock_aws() -> Any:
    """moto's in-process mock with Step Functions execution on, refusing to nest: a nested mock does
    not reset moto's data, so an earlier test's leftovers would silently leak into this one."""
    from moto.core.models import MockAWS

    assert MockAWS._nested_count == 0, "an earlier fixture left moto's mock running (its data would leak)"
    return mock_aws(config={"stepfunctions": {"execute_state_machine": True}})


# The state a bootstrap (and a seeding) leaves in moto, built once per process and restored into each
# fresh mock (tests/moto_state.py). Keyed by what that state depends on besides the template and the
# data files: the environment, and the hour (seeding stamps partner keys and audit entries with the
# time; a copy never crosses a day, or an hour, boundary). Tests that fake the services' clock do so
# after these fixtures, so the resources are made at the real time, as they always were.
_BUILT: dict[tuple[Any, ...], tuple[MotoState, dict[str, str]]] = {}


def _state_key(seeded: bool) -> tuple[Any, ...]:
    from datetime import datetime, timezone

    environment = tuple(sorted((k, v) for k, v in os.environ.items() if not k.startswith("PYTEST_")))
    return seeded, datetime.now(timezone.utc).strftime("%Y-%m-%dT%H"), environment  # UTC+8: same hours


def _make_resources(seeded: bool) -> dict[str, str]:
    """Inside a fresh mock: the resources of infra/ (and the demo directory when ``seeded``), restored
    from this process's copy when it has one, else created and copied; returns their env."""
    key = _state_key(seeded)
    built = _BUILT.get(key)
    if built is not None:
        state, env = built
        state.restore()
        return dict(env)
    from chalicelib.local.bootstrap import bootstrap

    env = bootstrap(None)
    if seeded:
        from chalicelib.local.seed import seed_reference_data

        os.environ.update(env)
        reset_aws_clients()
        seed_reference_data()
    _BUILT[key] = (MotoState.capture(), dict(env))
    return env


@contextmanager
def embedded_aws(*, seeded: bool = False) -> Iterator[dict[str, str]]:
    """moto in-process with every resource the bootstrap creates from infra/ (plus the demo
    departments, districts, users and partner when ``seeded``); yields their env and puts it in
    ``os.environ`` until the block ends. Each block gets its own copy of that state."""
    with fresh_mock_aws():
        reset_aws_clients()
        saved = dict(os.environ)
        try:
            env = _make_resources(seeded)
            os.environ.update(env)
            reset_aws_clients()
            yield env
        finally:
            os.environ.clear()
            os.environ.update(saved)
            reset_aws_clients()


@pytest.fixture
def aws(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """moto in-process with every resource the bootstrap creates from infra/; yields their env.

    When the test also asks for ``seeded`` (directly or through ``api``), the copy restored here
    is the seeded one, so that seeding costs nothing per test.
    """
    with embedded_aws(seeded="seeded" in request.fixturenames) as env:
        yield env


@pytest.fixture
def seeded(aws: dict[str, str]) -> dict[str, str]:
    """The resources plus the demo departments, districts, users and partner (``seed_reference_data``;
    the ``aws`` fixture restored them)."""
    return aws


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class ApiClient:
    """Calls the app through the same gateway adapter the local runtime uses."""

    def __init__(self) -> None:
        from app import app
        from chalicelib.local.gateway import EnvelopeGateway

        self.app = app
        self.gateway = EnvelopeGateway(app)
        self._tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self._tokens:
            answer = self.request("POST", "/auth/dev-login", json_body={"username": username})
            assert answer.status == 200, answer.body
            self._tokens[username] = answer.json["token"]
        return self._tokens[username]

    def request(self, method: str, path: str, *, json_body: Any = None, body: bytes | None = None,
                user: str | None = None, headers: dict[str, str] | None = None,
                source_ip: str = "127.0.0.1") -> ApiResponse:
        all_headers = {"content-type": "application/json"}
        if user:
            all_headers["authorization"] = f"Bearer {self.token(user)}"
        all_headers.update(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        answer = self.gateway.handle(method, path, all_headers, body, source_ip=source_ip)
        raw = answer.get("body") or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        return ApiResponse(int(answer["statusCode"]), dict(answer.get("headers") or {}), raw)

    def get(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> ApiResponse:  # noqa: A002
        return self.request("POST", path, json_body=json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> ApiResponse:  # noqa: A002
        return self.request("PUT", path, json_body=json, **kw)


@pytest.fixture
def api(seeded: dict[str, str]) -> ApiClient:
    """An API client over seeded resources."""
    return ApiClient()


@pytest.fixture(scope="module")
def module_api() -> Iterator[ApiClient]:
    """Like ``api``, but one seeded moto AWS for a whole test module (many read-mostly checks).

    Do not mix with the function-scoped ``aws``/``api`` fixtures in the same module.
    """
    with embedded_aws(seeded=True) as env:
        client = ApiClient()
        client.env = env  # type: ignore[attr-defined]
        yield client


# --------------------------------------------------------------------------- personal data in logs
# Every log record of the whole suite (root logger and the Powertools logger) and every test's
# captured stdout/stderr are scanned for mainland mobile numbers and resident ID numbers; a test
# during which one appears fails, naming where it was seen (the value itself masked). Boundaries
# are letters and digits, so hex ids and timestamps do not look like phone numbers.
import logging  # noqa: E402
import re  # noqa: E402
import weakref  # noqa: E402

PII_PATTERNS: dict[str, re.Pattern[str]] = {
    "id_number": re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
                            r"\d{3}[0-9Xx](?![0-9A-Za-z])"),
    "phone": re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?1[3-9]\d{9}(?![0-9A-Za-z])"),
}
_STANDARD_RECORD_KEYS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def find_pii(text: str) -> list[tuple[str, str]]:
    """``(kind, masked value)`` for every phone or ID number in ``text``."""
    found = []
    for kind, pattern in PII_PATTERNS.items():
        for match in pattern.finditer(text):
            value = match.group(0)
            found.append((kind, value[:3] + "*" * (len(value) - 7) + value[-4:]))
    return found


class PiiLogCapture(logging.Handler):
    """Scans every record it sees: the message, its extra fields and its exception text."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.findings: list[str] = []
        self._seen: weakref.WeakSet[logging.LogRecord] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        """See every record: Powertools puts a filter on the root logger's handlers that drops its own
        records there (they are printed by its handler); this handler dedupes by itself instead."""
        return True

    def emit(self, record: logging.LogRecord) -> None:
        if record in self._seen:  # seen on the Powertools logger, then again on root
            return
        self._seen.add(record)
        try:
            parts = [record.getMessage()]
        except Exception:  # a broken format string is not ours to judge here
            parts = [str(record.msg)]
        parts += [f"{k}={v!r}" for k, v in vars(record).items() if k not in _STANDARD_RECORD_KEYS]
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        for kind, masked in find_pii("\n".join(parts)):
            self.findings.append(f"{kind} {masked} in a log record of {record.name} "
                                 f"({record.pathname}:{record.lineno}: {str(record.msg)[:80]!r})")

    def take(self) -> list[str]:
        found, self.findings = self.findings, []
        return found

    @staticmethod
    def scan(text: str) -> list[tuple[str, str]]:
        return find_pii(text)


PII_LOG_CAPTURE = PiiLogCapture()


def pytest_configure(config: pytest.Config) -> None:
    for name in ("", "complaint-platform"):
        target = logging.getLogger(name)
        if PII_LOG_CAPTURE not in target.handlers:
            target.addHandler(PII_LOG_CAPTURE)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    findings = PII_LOG_CAPTURE.take()
    for when, key, content in getattr(item, "_report_sections", []):
        if when == call.when and key in ("stdout", "stderr"):
            findings += [f"{kind} {masked} in captured {key}" for kind, masked in find_pii(content)]
    if findings and not getattr(item, "_pii_expected", False) and report.outcome != "skipped":
        report.outcome = "failed"
        report.longrepr = (f"personal data reached the logs or the console during {call.when}:\n  "
                           + "\n  ".join(sorted(set(findings))[:20]))


@pytest.fixture
def pii_log(request: pytest.FixtureRequest) -> PiiLogCapture:
    """The suite's log scanner, for tests that log personal data on purpose to prove it is caught
    (they read :meth:`PiiLogCapture.take` themselves; the test is not failed for it)."""
    request.node._pii_expected = True
    return PII_LOG_CAPTURE


# --------------------------------------------------------------------------- order of files
# `make test` hands whole files to two workers in collection order (--dist loadfile
# --no-loadscope-reorder), each taking the next file when it is nearly done. Files that start a
# subprocess runtime, a browser or `chalice package` take minutes where most take seconds, so they
# go first: otherwise one of them, handed out last, keeps one worker busy while the other idles.
# Within a file, and among files of equal weight, the collected order is kept. The browser files
# come first of all, one after another: a worker shares one runtime among the browser files it
# runs and stops it when its next file is not one (tests/browser/conftest.py), so browser files
# between other heavy files would start it again.
_HEAVY_MARKERS = {"browser": 4, "runtime": 3, "package": 2}
_HEAVY_FIXTURES = {"runtime": 3, "browser": 4, "built_template": 2}


def _weight(item: pytest.Item) -> int:
    marks = [_HEAVY_MARKERS.get(mark.name, 0) for mark in item.iter_markers()]
    fixtures = [_HEAVY_FIXTURES.get(name, 0) for name in getattr(item, "fixturenames", ())]
    return max(marks + fixtures + [0])


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    heaviest: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        heaviest[path] = max(heaviest.get(path, 0), _weight(item))
    items.sort(key=lambda item: -heaviest[item.nodeid.split("::", 1)[0]])
