"""Settings read from the environment, in one place.

Every deployed function and the local runtime get the same variables (infra/ sets them on the
Lambda functions, the local bootstrap exports them), so the code never guesses a resource name.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache

LOCAL_STAGE = "local"
DEFAULT_LOCAL_JWT_SECRET = "local-dev-secret-change-me-0123456789abcdef"
DEFAULT_LOCAL_BLIND_INDEX_KEY = "local-blind-index-key"
DEFAULT_LOCAL_JWT_ISSUER = "local"
MIN_BLIND_INDEX_KEY_LENGTH = 32


# Every environment variable the deployed code reads is either set for every function by the template
# (infra/template.yaml's Globals, .chalice/config.json's stage), refused at start-up when missing
# (REFUSED_WHEN_MISSING, by require_deployed_secrets), or listed here with why a deployed function
# needs no value. tests/infra/test_configuration.py compares the code, this list and the built template.
OPTIONAL_SETTINGS: dict[str, str] = {
    "AWS_REGION": "set by the Lambda runtime",
    "AWS_DEFAULT_REGION": "set by the Lambda runtime",
    "AWS_LAMBDA_FUNCTION_NAME": "set by the Lambda runtime (start-up checks run only inside Lambda)",
    "LOCAL_JWT_SECRET": "dev-login's HS256 secret: read on the local stage only",
    "BLIND_INDEX_KEY": "local stage and tests; a deployed stage reads BLIND_INDEX_KEY_SECRET_ID",
    "SMS_ENDPOINT": "Alibaba Cloud's public dysmsapi endpoint is the default; tests point it at a fake",
    "SMTP_HOST": "read only with NOTIFY_EMAIL_ADAPTER=smtp (the stage sets ses)",
    "SMTP_PORT": "read only with NOTIFY_EMAIL_ADAPTER=smtp",
    "SMTP_USERNAME": "read only with NOTIFY_EMAIL_ADAPTER=smtp",
    "SMTP_PASSWORD": "read only with NOTIFY_EMAIL_ADAPTER=smtp",
    "SMTP_STARTTLS": "read only with NOTIFY_EMAIL_ADAPTER=smtp",
    "POWERTOOLS_METRICS_DISABLED": "tests switch metrics off; deployed, metrics are on",
    "DISPATCH_DATA_DIR": "the corpus bundled with the code is the default (tests and tools override it)",
    "DISPATCH_MODEL_DIR": "models come from the models bucket; the variable is for the offline tools",
    "DISPATCH_MODEL_CHECK_SECONDS": "how often a container looks for a newly promoted model; the default fits",
    "DISPATCH_JIEBA_CACHE": "jieba's dictionary cache goes to /tmp by default, which Lambda allows",
    "PLATFORM_URL": "the partner simulator, a command-line tool",
    "PARTNER_PROVINCE_12315_SECRET": "the partner simulator, a command-line tool",
}
# Read by the deployed code and refused at start-up (ConfigurationError) when a deployed stage lacks them.
REFUSED_WHEN_MISSING = ("STAGE", "JWT_ISSUER", "JWKS_URL", "BLIND_INDEX_KEY_SECRET_ID", "NOTIFY_EMAIL_SENDER",
                        "NOTIFY_SMS_ADAPTER")


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
    blind_index_key_secret_id: str = ""

    @property
    def is_local(self) -> bool:
        """True in the embedded local runtime and in tests, where dev-login exists."""
        return self.stage == LOCAL_STAGE


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


# Settings read on their own, outside the cached Settings: the PynamoDB models take the table's name
# and region when they are declared (at import, also on the build machine that runs `chalice
# package`, where get_settings() would refuse a stage without secrets), and adapters are chosen at
# each use (tests and the local runtime switch them by changing the environment).


def table_name() -> str:
    """The single table's name (``TABLE_NAME``)."""
    return _env("TABLE_NAME", "tickets")


def aws_region() -> str:
    """The region the SDKs talk to (the Lambda runtime sets both variables)."""
    return _env("AWS_DEFAULT_REGION") or _env("AWS_REGION") or "us-east-1"


def table_stream_arn() -> str:
    """The table's stream, which ``make package`` wires to the template's ``TicketsTable.StreamArn``;
    the local runtime's pump reads the table's stream whatever this says."""
    return _env("TABLE_STREAM_ARN", "arn:aws:dynamodb:us-east-1:000000000000:table/tickets/stream/local")


def outbox_dlq_url() -> str:
    """The outbox's dead-letter queue (``OUTBOX_DLQ_URL``), where parked deliveries are copied; "" for none."""
    return _env("OUTBOX_DLQ_URL")


def stream_dlq_url() -> str:
    """The table stream's dead-letter queue (``STREAM_DLQ_URL``), where the stream function parks the
    keys of changes it gave up on (chalicelib/stream_failures.py); "" for none."""
    return _env("STREAM_DLQ_URL")


# The dispatch model's files (chalicelib/dispatch/): "" means the module's own default (the checkout's or
# the Lambda layer's copy), which it knows; the tests and the offline tools set these.


def dispatch_data_dir() -> str:
    """Where the gazetteer, user dictionary and taxonomy are (``DISPATCH_DATA_DIR``); "" for the default."""
    return _env("DISPATCH_DATA_DIR")


def dispatch_model_dir() -> str:
    """The default model's artifact directory (``DISPATCH_MODEL_DIR``); "" for the default."""
    return _env("DISPATCH_MODEL_DIR")


def dispatch_model_check_seconds() -> str:
    """How often a container looks for a newly promoted model (``DISPATCH_MODEL_CHECK_SECONDS``); "" for
    the registry's default."""
    return _env("DISPATCH_MODEL_CHECK_SECONDS")


def dispatch_jieba_cache() -> str:
    """jieba's dictionary cache file (``DISPATCH_JIEBA_CACHE``); "" for the default."""
    return _env("DISPATCH_JIEBA_CACHE")


@dataclass(frozen=True)
class ObservabilitySettings:
    """Powertools' service name, metric namespace and switch (Powertools' own variable names)."""

    service: str
    metrics_namespace: str
    metrics_enabled: bool


def observability_settings() -> ObservabilitySettings:
    """Read at each call: tests switch metrics off by changing the environment."""
    return ObservabilitySettings(
        service=_env("POWERTOOLS_SERVICE_NAME", "complaint-platform"),
        metrics_namespace=_env("POWERTOOLS_METRICS_NAMESPACE", "ComplaintPlatform"),
        metrics_enabled=_env("POWERTOOLS_METRICS_DISABLED", "false").lower() not in ("1", "true", "yes"),
    )


@dataclass(frozen=True)
class NotificationSettings:
    """The SMS and e-mail adapters and what they need (see :func:`notification_settings`)."""

    sms_adapter: str  # NOTIFY_SMS_ADAPTER: aliyun, or outbox (the recorder; local stage only)
    sms_secret_id: str  # SMS_SECRET_ID: the Secrets Manager secret with the SMS credentials
    sms_endpoint: str  # SMS_ENDPOINT: "" for the provider's public endpoint
    email_adapter: str  # NOTIFY_EMAIL_ADAPTER: ses (default) or smtp
    email_sender: str  # NOTIFY_EMAIL_SENDER: "" for the adapter's default address
    smtp_host: str
    smtp_port: str  # a number; parsed by the SMTP adapter, so a bad value cannot stop SMS
    smtp_username: str
    smtp_password: str = field(repr=False)
    smtp_starttls: bool = True


def notification_settings() -> NotificationSettings:
    """The notification adapters' settings, read at each send (not cached): tests and the local runtime
    switch adapters by changing the environment. SMTP_* matter only with ``NOTIFY_EMAIL_ADAPTER=smtp``."""
    return NotificationSettings(
        sms_adapter=_env("NOTIFY_SMS_ADAPTER", "outbox").lower(),
        sms_secret_id=_env("SMS_SECRET_ID"),
        sms_endpoint=_env("SMS_ENDPOINT"),
        email_adapter=_env("NOTIFY_EMAIL_ADAPTER", "ses").lower(),
        email_sender=_env("NOTIFY_EMAIL_SENDER"),
        smtp_host=_env("SMTP_HOST", "127.0.0.1"),
        smtp_port=_env("SMTP_PORT", "587"),
        smtp_username=_env("SMTP_USERNAME"),
        smtp_password=_env("SMTP_PASSWORD"),
        smtp_starttls=_env("SMTP_STARTTLS", "true").lower() != "false",
    )


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
        table_name=table_name(),
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
        # deployed: the key is a Secrets Manager secret (BLIND_INDEX_KEY_SECRET_ID), read when first used
        blind_index_key=_env("BLIND_INDEX_KEY", DEFAULT_LOCAL_BLIND_INDEX_KEY
                             if local and not _env("BLIND_INDEX_KEY_SECRET_ID") else ""),
        blind_index_key_secret_id=_env("BLIND_INDEX_KEY_SECRET_ID"),
        data_key_arn=_env("DATA_KEY_ARN"),
    )
    require_deployed_secrets(settings)
    return settings


def require_deployed_secrets(settings: Settings) -> None:
    """Refuse a non-local stage that lacks its secrets or carries a local default.

    Checked: ``STAGE`` itself, the blind index key (``BLIND_INDEX_KEY_SECRET_ID``, or a
    ``BLIND_INDEX_KEY`` of at least 32 characters that is not the local key), the identity provider
    (``JWT_ISSUER`` other than ``local``, an https ``JWKS_URL``), the e-mail sender and a real SMS
    adapter (:data:`REFUSED_WHEN_MISSING`).
    """
    if settings.is_local:
        return
    problems: list[str] = []
    if not settings.stage:
        problems.append("STAGE is not set (only STAGE=local runs on local defaults)")
    if not settings.blind_index_key and not settings.blind_index_key_secret_id:
        problems.append("BLIND_INDEX_KEY_SECRET_ID is not set")  # its value is checked when first read
    elif settings.blind_index_key and (settings.blind_index_key == DEFAULT_LOCAL_BLIND_INDEX_KEY
                                       or len(settings.blind_index_key) < MIN_BLIND_INDEX_KEY_LENGTH):
        problems.append(f"BLIND_INDEX_KEY is the local key or shorter than {MIN_BLIND_INDEX_KEY_LENGTH} characters")
    if not settings.jwt_issuer or settings.jwt_issuer == DEFAULT_LOCAL_JWT_ISSUER:
        problems.append("JWT_ISSUER is not set")
    if not settings.jwks_url.startswith("https://"):
        problems.append("JWKS_URL is not an https URL")
    if "@" not in _env("NOTIFY_EMAIL_SENDER"):
        problems.append("NOTIFY_EMAIL_SENDER is not set (the EmailSender parameter)")
    if _env("NOTIFY_SMS_ADAPTER", "outbox").lower() == "outbox":
        problems.append("NOTIFY_SMS_ADAPTER is not set (outbox only records messages: local stage only)")
    if problems:
        raise ConfigurationError(f"stage {settings.stage or '(unset)'!r} refuses to start: " + "; ".join(problems))


def check_lambda_startup() -> None:
    """Fail a Lambda cold start (not the first request) when the stage lacks its secrets.

    Only inside a Lambda runtime: ``chalice package`` imports the app on a build machine that has no
    secrets and must still be able to produce the template.
    """
    if _env("AWS_LAMBDA_FUNCTION_NAME"):
        get_settings()


_secret_lock = threading.Lock()
_secret_values: dict[str, str] = {}


def blind_index_key() -> str:
    """The blind index's HMAC key: ``BLIND_INDEX_KEY``, else the Secrets Manager secret
    ``BLIND_INDEX_KEY_SECRET_ID`` (read once per container, by the functions that compute the index:
    only their roles may read it). A secret shorter than the minimum is refused."""
    settings = get_settings()
    if settings.blind_index_key:
        return settings.blind_index_key
    secret_id = settings.blind_index_key_secret_id
    if not secret_id:
        raise ConfigurationError("neither BLIND_INDEX_KEY nor BLIND_INDEX_KEY_SECRET_ID is set")
    with _secret_lock:
        if secret_id not in _secret_values:
            from chalicelib.aws import client

            value = str(client("secretsmanager").get_secret_value(SecretId=secret_id).get("SecretString") or "")
            if len(value) < MIN_BLIND_INDEX_KEY_LENGTH:
                raise ConfigurationError(f"the blind index key secret is shorter than {MIN_BLIND_INDEX_KEY_LENGTH} "
                                         f"characters")
            _secret_values[secret_id] = value
        return _secret_values[secret_id]


def reset_settings() -> None:
    """Forget cached settings and secrets (tests and the local runtime change the environment)."""
    get_settings.cache_clear()
    with _secret_lock:
        _secret_values.clear()
