"""Settings read from the environment, in one place.

Every deployed function and the local runtime get the same variables (infra/ sets them on the
Lambda functions, the local bootstrap exports them), so the code never guesses a resource name.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

LOCAL_STAGE = "local"
DEFAULT_LOCAL_JWT_SECRET = "local-dev-secret-change-me-0123456789abcdef"
DEFAULT_LOCAL_BLIND_INDEX_KEY = "local-blind-index-key"
DEFAULT_LOCAL_JWT_ISSUER = "local"
MIN_BLIND_INDEX_KEY_LENGTH = 32


class ConfigurationError(RuntimeError):
    """A stage other than ``local`` lacks a secret or setting it must never run without.

    Raised instead of falling back to a local default: a deployed function that guessed its blind-index
    key or identity provider would look healthy while being open or unable to find citizens' tickets.
    """


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one process."""

    stage: str
    table_name: str
    reports_bucket: str
    exports_bucket: str
    models_bucket: str
    outbox_queue_url: str
    notify_queue_url: str
    workflow_queue_url: str
    reports_queue_url: str
    ticket_flow_arn: str
    jwt_issuer: str
    jwt_audience: str
    jwks_url: str
    local_jwt_secret: str
    blind_index_key: str
    data_key_arn: str

    @property
    def is_local(self) -> bool:
        """True in the embedded local runtime and in tests, where dev-login exists."""
        return self.stage == LOCAL_STAGE


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once (call ``reset_settings`` after changing the env).

    Only ``STAGE=local`` (the embedded runtime and the tests, which set it explicitly) gets the local
    defaults; a missing ``STAGE`` is a deployed stage. A deployed stage without its secrets raises
    :class:`ConfigurationError` rather than run on a default.
    """
    stage = _env("STAGE")
    local = stage == LOCAL_STAGE
    settings = Settings(
        stage=stage,
        table_name=_env("TABLE_NAME", "tickets"),
        reports_bucket=_env("REPORTS_BUCKET", "reports"),
        exports_bucket=_env("EXPORTS_BUCKET", "exports"),
        models_bucket=_env("MODELS_BUCKET", "models"),
        outbox_queue_url=_env("OUTBOX_QUEUE_URL"),
        notify_queue_url=_env("NOTIFY_QUEUE_URL"),
        workflow_queue_url=_env("WORKFLOW_QUEUE_URL"),
        reports_queue_url=_env("REPORTS_QUEUE_URL"),
        ticket_flow_arn=_env("TICKET_FLOW_ARN"),
        jwt_issuer=_env("JWT_ISSUER", DEFAULT_LOCAL_JWT_ISSUER if local else ""),
        jwt_audience=_env("JWT_AUDIENCE", "complaint-platform"),
        jwks_url=_env("JWKS_URL"),
        # HS256 signing exists only for dev-login in the local stage: a deployed stage has no such secret.
        local_jwt_secret=_env("LOCAL_JWT_SECRET", DEFAULT_LOCAL_JWT_SECRET) if local else "",
        blind_index_key=_env("BLIND_INDEX_KEY", DEFAULT_LOCAL_BLIND_INDEX_KEY if local else ""),
        data_key_arn=_env("DATA_KEY_ARN"),
    )
    require_deployed_secrets(settings)
    return settings


def require_deployed_secrets(settings: Settings) -> None:
    """Refuse a non-local stage that lacks its secrets or carries a local default.

    Checked: ``STAGE`` itself, ``BLIND_INDEX_KEY`` (at least 32 characters, not the local key), and
    the identity provider (``JWT_ISSUER`` other than ``local``, an https ``JWKS_URL``).
    """
    if settings.is_local:
        return
    problems: list[str] = []
    if not settings.stage:
        problems.append("STAGE is not set (only STAGE=local runs on local defaults)")
    if not settings.blind_index_key:
        problems.append("BLIND_INDEX_KEY is not set")
    elif (settings.blind_index_key == DEFAULT_LOCAL_BLIND_INDEX_KEY
          or len(settings.blind_index_key) < MIN_BLIND_INDEX_KEY_LENGTH):
        problems.append(f"BLIND_INDEX_KEY is the local key or shorter than {MIN_BLIND_INDEX_KEY_LENGTH} characters")
    if not settings.jwt_issuer or settings.jwt_issuer == DEFAULT_LOCAL_JWT_ISSUER:
        problems.append("JWT_ISSUER is not set")
    if not settings.jwks_url.startswith("https://"):
        problems.append("JWKS_URL is not an https URL")
    if problems:
        raise ConfigurationError(f"stage {settings.stage or '(unset)'!r} refuses to start: " + "; ".join(problems))


def check_lambda_startup() -> None:
    """Fail a Lambda cold start (not the first request) when the stage lacks its secrets.

    Only inside a Lambda runtime: ``chalice package`` imports the app on a build machine that has no
    secrets and must still be able to produce the template.
    """
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        get_settings()


def reset_settings() -> None:
    """Forget cached settings (tests and the local runtime change the environment)."""
    get_settings.cache_clear()
