"""Safe production defaults: a deployed stage never runs on local secrets, tokens must expire, and an
identity-provider outage is answered at once from a short failure cache (issue 14)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.api import auth
from chalicelib.config import ConfigurationError, Settings, get_settings, reset_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED_SECRETS = {
    "STAGE": "prod",
    "BLIND_INDEX_KEY": "k" * 40,
    "JWT_ISSUER": "https://idp.example.gov.cn/realms/12345",
    "JWKS_URL": "https://idp.example.gov.cn/realms/12345/certs",
    "NOTIFY_EMAIL_SENDER": "noreply@notify.example.gov.cn",  # the template's EmailSender (issue 17)
    "NOTIFY_SMS_ADAPTER": "aliyun",  # the prod stage's (.chalice/config.json)
}


@pytest.fixture
def deployed_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """An environment with the deployed stage's variables; the local settings come back afterwards."""
    for name in ("STAGE", "BLIND_INDEX_KEY", "BLIND_INDEX_KEY_SECRET_ID", "JWT_ISSUER", "JWKS_URL", "LOCAL_JWT_SECRET",
                 "NOTIFY_EMAIL_SENDER", "NOTIFY_SMS_ADAPTER"):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    yield monkeypatch
    monkeypatch.undo()
    reset_settings()


def test_a_missing_stage_is_not_local(deployed_env):
    with pytest.raises(ConfigurationError) as refused:
        get_settings()
    message = str(refused.value)
    assert "STAGE is not set" in message and "BLIND_INDEX_KEY" in message and "JWKS_URL" in message


@pytest.mark.parametrize("missing", ["BLIND_INDEX_KEY", "JWT_ISSUER", "JWKS_URL"])
def test_a_deployed_stage_refuses_to_start_without_each_secret(deployed_env, missing):
    for name, value in DEPLOYED_SECRETS.items():
        if name != missing:
            deployed_env.setenv(name, value)
    with pytest.raises(ConfigurationError, match=missing):
        get_settings()


def test_a_deployed_stage_refuses_the_local_defaults(deployed_env):
    for name, value in DEPLOYED_SECRETS.items():
        deployed_env.setenv(name, value)
    deployed_env.setenv("BLIND_INDEX_KEY", "local-blind-index-key")
    with pytest.raises(ConfigurationError, match="BLIND_INDEX_KEY"):
        get_settings()
    deployed_env.setenv("BLIND_INDEX_KEY", "k" * 40)
    deployed_env.setenv("JWT_ISSUER", "local")
    reset_settings()
    with pytest.raises(ConfigurationError, match="JWT_ISSUER"):
        get_settings()


def test_a_complete_deployed_stage_starts_without_any_hs256_secret(deployed_env):
    for name, value in DEPLOYED_SECRETS.items():
        deployed_env.setenv(name, value)
    deployed_env.setenv("LOCAL_JWT_SECRET", "set-by-mistake-in-prod-0123456789abcdef")
    settings = get_settings()
    assert settings.stage == "prod" and not settings.is_local
    assert settings.local_jwt_secret == ""  # HS256 tokens cannot be verified, nor issued
    with pytest.raises(RuntimeError):
        auth.issue_local_token(auth.Principal(username="admin", role="admin"), settings=settings)
    hs256 = jwt.encode({"sub": "admin", "role": "admin", "iat": int(time.time()), "exp": int(time.time()) + 60,
                        "iss": settings.jwt_issuer, "aud": settings.jwt_audience},
                       "set-by-mistake-in-prod-0123456789abcdef", algorithm="HS256")
    with pytest.raises(auth.TokenRejected):
        auth.verify_token(hs256, settings=settings)


def test_dev_login_is_gone_in_a_deployed_stage(api, deployed_env):
    for name, value in DEPLOYED_SECRETS.items():
        deployed_env.setenv(name, value)
    reset_settings()
    answer = api.post("/auth/dev-login", json={"username": "admin"})
    assert answer.status == 404
    assert answer.json["error"]["code"] == "not_found"


def test_a_lambda_cold_start_without_secrets_fails():
    env = {k: v for k, v in os.environ.items() if k not in ("STAGE", "BLIND_INDEX_KEY", "JWKS_URL", "JWT_ISSUER")}
    env.update({"AWS_LAMBDA_FUNCTION_NAME": "complaint-platform-prod-api", "PYTHONPATH": str(ROOT)})
    completed = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=120, check=False)
    assert completed.returncode != 0
    assert "ConfigurationError" in completed.stderr and "STAGE is not set" in completed.stderr


@pytest.mark.parametrize("dropped", ["exp", "iat", "sub"])
def test_local_tokens_must_carry_exp_iat_and_sub(api, dropped):
    settings = get_settings()
    now = int(time.time())
    claims = {"iss": settings.jwt_issuer, "aud": settings.jwt_audience, "sub": "admin", "role": "admin",
              "iat": now, "exp": now + 600, "preferred_username": "admin"}
    complete = jwt.encode(claims, settings.local_jwt_secret, algorithm="HS256")
    assert api.get("/me", headers={"authorization": f"Bearer {complete}"}).status == 200
    del claims[dropped]
    partial = jwt.encode(claims, settings.local_jwt_secret, algorithm="HS256")
    answer = api.get("/me", headers={"authorization": f"Bearer {partial}"})
    assert answer.status == 401
    assert answer.json["error"]["code"] == "unauthenticated"


# ------------------------------------------------------------------------------------------ JWKS
class _Provider:
    """A loopback identity provider whose JWKS endpoint counts its fetches and can be switched off."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        self.jwks = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}
        self.fetches = 0
        self.down = False
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                provider.fetches += 1
                status, body = (503, b"down") if provider.down else (200, json.dumps(provider.jwks).encode())
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/certs"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def token(self, **extra: Any) -> str:
        now = int(time.time())
        claims = {"iss": "https://idp.test", "aud": "complaint-platform", "sub": "u-1", "iat": now,
                  "exp": now + 600, "role": "manager", "name": "王经理", **extra}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[_Provider]:
    auth.forget_jwks()
    running = _Provider()
    yield running
    running.close()
    auth.forget_jwks()


def _deployed_settings(url: str) -> Settings:
    return Settings(stage="prod", table_name="t", reports_bucket="", exports_bucket="", models_bucket="",
                    outbox_queue_url="", notify_queue_url="", workflow_queue_url="", reports_queue_url="",
                    ticket_flow_arn="", jwt_issuer="https://idp.test", jwt_audience="complaint-platform",
                    jwks_url=url, local_jwt_secret="", blind_index_key="k" * 40, data_key_arn="")


def test_jwks_is_fetched_with_a_short_timeout_and_cached(provider):
    settings = _deployed_settings(provider.url)
    for _ in range(3):
        principal = auth.verify_token(provider.token(), settings=settings)
    assert principal.username == "u-1" and principal.role == "manager" and principal.display_name == "王经理"
    assert provider.fetches == 1
    assert auth.jwks_keys(provider.url).client.timeout <= 3


def test_rs256_tokens_without_expiry_are_refused(provider):
    settings = _deployed_settings(provider.url)
    now = int(time.time())
    forever = jwt.encode({"iss": "https://idp.test", "aud": "complaint-platform", "sub": "u-1", "iat": now,
                          "role": "admin"}, provider.key, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(auth.TokenRejected):
        auth.verify_token(forever, settings=settings)


def test_an_identity_provider_outage_is_remembered_briefly(provider):
    now = [1000.0]
    keys = auth.JwksKeys(provider.url, clock=lambda: now[0])
    provider.down = True
    with pytest.raises(auth.TokenRejected, match="Unauthorized"):
        keys.signing_key(provider.token())
    assert provider.fetches == 1
    for _ in range(5):  # while the failure is remembered nothing waits on the provider
        with pytest.raises(auth.TokenRejected):
            keys.signing_key(provider.token())
    assert provider.fetches == 1
    provider.down = False
    now[0] += auth.JWKS_FAILURE_BACKOFF_SECONDS + 1
    assert keys.signing_key(provider.token()) is not None
    assert provider.fetches == 2
