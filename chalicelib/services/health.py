"""Is every component the platform needs reachable? One cheap call per component.

Besides the components, a process can register a *reporter* (the local runtime's saver does): a
status that does not stop the platform from serving but puts data at risk. A reporter that answers
anything but ``ok`` makes ``/health`` say ``degraded`` (HTTP 200: requests are still served), named
under ``degraded`` and detailed under its own name; a component that is down makes it 503.
"""
from __future__ import annotations

from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws import client
from chalicelib.config import Settings, get_settings
from chalicelib.context_pool import ContextPool


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
    with ContextPool(max_workers=len(checks)) as pool:
        results = dict(zip(checks, pool.map(_run, checks.values())))
    return results


Reporter = Callable[[], dict[str, Any]]
_reporters: dict[str, Reporter] = {}


def register_reporter(name: str, reporter: Reporter) -> None:
    """Show ``reporter()`` (a dict with at least ``status``) in ``/health`` under ``name``."""
    _reporters[name] = reporter


def unregister_reporter(name: str) -> None:
    """Stop showing a reporter (its process part stopped)."""
    _reporters.pop(name, None)


def reporter_status() -> dict[str, dict[str, Any]]:
    """Every registered reporter's answer; one that raises reports ``degraded`` with the error."""
    answers: dict[str, dict[str, Any]] = {}
    for name, reporter in list(_reporters.items()):
        try:
            answers[name] = reporter()
        except Exception as exc:  # noqa: BLE001 - a broken reporter is itself a degraded status
            answers[name] = {"status": "degraded", "reason": f"{type(exc).__name__}: {exc}"[:200]}
    return answers


def health_report(settings: Settings | None = None) -> tuple[int, dict[str, Any]]:
    """The ``/health`` answer: 503 when a component is down, else 200, ``degraded`` when a reporter is."""
    settings = settings or get_settings()
    components = component_status(settings)
    down = sorted(name for name, status in components.items() if status != "ok")
    reports = reporter_status()
    degraded = sorted(name for name, report in reports.items() if report.get("status") != "ok")
    body: dict[str, Any] = {"status": "ok" if not down and not degraded else "degraded", "stage": settings.stage,
                            "components": components, "down": down, "degraded": degraded, **reports}
    return (200 if not down else 503), body
