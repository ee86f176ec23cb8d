"""Is every component the platform needs reachable? One cheap call per component."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws import client
from chalicelib.config import Settings, get_settings


def _checks(settings: Settings) -> dict[str, Callable[[], object]]:
    checks: dict[str, Callable[[], object]] = {
        "table": lambda: client("dynamodb").describe_table(TableName=settings.table_name),
    }
    for name, bucket in (("reports_bucket", settings.reports_bucket), ("exports_bucket", settings.exports_bucket),
                         ("models_bucket", settings.models_bucket)):
        checks[name] = (lambda b=bucket: client("s3").head_bucket(Bucket=b))
    for name, url in (("outbox_queue", settings.outbox_queue_url), ("notify_queue", settings.notify_queue_url),
                      ("workflow_queue", settings.workflow_queue_url), ("reports_queue", settings.reports_queue_url)):
        checks[name] = (lambda u=url: client("sqs").get_queue_attributes(QueueUrl=u, AttributeNames=["QueueArn"])
                        if u else _missing("queue URL not configured"))
    checks["ticket_flow"] = (lambda: client("stepfunctions").describe_state_machine(
        stateMachineArn=settings.ticket_flow_arn) if settings.ticket_flow_arn else _missing("state machine ARN not configured"))
    return checks


def _missing(what: str) -> object:
    raise LookupError(what)


def _run(check: Callable[[], object]) -> str:
    try:
        check()
    except ClientError as exc:
        return exc.response.get("Error", {}).get("Code", "error")
    except (BotoCoreError, LookupError) as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return "ok"


def component_status(settings: Settings | None = None) -> dict[str, str]:
    """Component name -> "ok" or what went wrong, checked in parallel."""
    settings = settings or get_settings()
    checks = _checks(settings)
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        results = dict(zip(checks, pool.map(_run, checks.values())))
    return results
