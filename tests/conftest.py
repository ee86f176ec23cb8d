"""Shared fixtures: an in-process moto AWS with every resource of infra/, and an API client.

The environment is set before anything imports the app, so PynamoDB models and settings see the
test table name and never a real AWS endpoint.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
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


@pytest.fixture
def aws() -> Iterator[dict[str, str]]:
    """moto in-process with every resource the bootstrap creates from infra/; yields their env."""
    from chalicelib.local.bootstrap import bootstrap

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        reset_aws_clients()
        saved = dict(os.environ)
        env = bootstrap(None)
        os.environ.update(env)
        reset_aws_clients()
        try:
            yield env
        finally:
            os.environ.clear()
            os.environ.update(saved)
            reset_aws_clients()


@pytest.fixture
def seeded(aws: dict[str, str]) -> dict[str, str]:
    """The resources plus the demo departments, districts and users."""
    from chalicelib.local.seed import seed_reference_data

    seed_reference_data()
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
                user: str | None = None, headers: dict[str, str] | None = None) -> ApiResponse:
        all_headers = {"content-type": "application/json"}
        if user:
            all_headers["authorization"] = f"Bearer {self.token(user)}"
        all_headers.update(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        answer = self.gateway.handle(method, path, all_headers, body)
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
