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
    """Settings of this process, read once (call ``reset_settings`` after changing the env)."""
    return Settings(
        stage=_env("STAGE", LOCAL_STAGE),
        table_name=_env("TABLE_NAME", "tickets"),
        reports_bucket=_env("REPORTS_BUCKET", "reports"),
        exports_bucket=_env("EXPORTS_BUCKET", "exports"),
        models_bucket=_env("MODELS_BUCKET", "models"),
        outbox_queue_url=_env("OUTBOX_QUEUE_URL"),
        notify_queue_url=_env("NOTIFY_QUEUE_URL"),
        workflow_queue_url=_env("WORKFLOW_QUEUE_URL"),
        reports_queue_url=_env("REPORTS_QUEUE_URL"),
        ticket_flow_arn=_env("TICKET_FLOW_ARN"),
        jwt_issuer=_env("JWT_ISSUER", "local"),
        jwt_audience=_env("JWT_AUDIENCE", "complaint-platform"),
        jwks_url=_env("JWKS_URL"),
        local_jwt_secret=_env("LOCAL_JWT_SECRET", DEFAULT_LOCAL_JWT_SECRET),
        blind_index_key=_env("BLIND_INDEX_KEY", "local-blind-index-key"),
        data_key_arn=_env("DATA_KEY_ARN"),
    )


def reset_settings() -> None:
    """Forget cached settings (tests and the local runtime change the environment)."""
    get_settings.cache_clear()
