"""Report jobs: requested by a person or a schedule, worked through the ``reports`` queue.

A job item (``REPORT`` / ``<id>``, ids sort by time) says what to build and how far it got:
``queued`` -> ``running`` (with a percentage and the current step) -> ``done`` (with the S3
versions written) or ``failed``. One item per type and period (``REPORTKEY`` /
``<type>#<period>``) points at its latest job and revision, so that

* a scheduled run that fires twice creates one job;
* regenerating a report that was already sent needs an explicit ``revise`` with a reason, and
  produces revision n+1 that says what it replaces - never a silent replacement (the sent
  version also stays in the bucket, and the e-mailed links point at it).
"""
from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.analytics import ddb
from chalicelib.analytics.ddb import S
from chalicelib.analytics.period import Period
from chalicelib.aws import client
from chalicelib.config import get_settings
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed

TYPES = ("monthly", "quarterly", "annual", "special")
JOB_TYPES = (*TYPES, "ledger")
TYPE_LABELS = {"monthly": "月度报告", "quarterly": "季度报告", "annual": "年度报告", "special": "专题分析报告",
               "ledger": "台账"}
PERIOD_KINDS = {"monthly": "month", "quarterly": "quarter", "annual": "year"}
JOBS_PK = "REPORT"
KEYS_PK = "REPORTKEY"
MAX_LIST = 100


def new_id(now: datetime, job_type: str) -> str:
    return f"{now.astimezone(TZ):%Y%m%d%H%M%S}-{job_type}-{secrets.token_hex(3)}"


def _valid_id(job_id: str) -> bool:
    return isinstance(job_id, str) and 10 < len(job_id) < 64 and all(c.isalnum() or c == "-" for c in job_id)


def check_period(job_type: str, period: Period) -> None:
    """Periodic reports cover exactly their month, quarter or year."""
    kind = PERIOD_KINDS.get(job_type)
    if kind is not None and period.kind != kind:
        raise ValidationFailed("the period does not match the report type",
                               details={"period": {"month": "e.g. 2026-03", "quarter": "e.g. 2026-Q1",
                                                   "year": "e.g. 2026"}[kind]})


def report_key(job_type: str, period: Period, subject: str | None = None) -> str:
    return f"{job_type}#{period.label}" + (f"#{subject}" if subject else "")


def _save(job: dict[str, Any], *, condition: str | None = None) -> None:
    kwargs: dict[str, Any] = {}
    if condition:
        kwargs["ConditionExpression"] = condition
    ddb.ddb().put_item(TableName=ddb.table(), Item={
        "PK": S(JOBS_PK), "SK": S(job["id"]), "doc": S(json.dumps(job, ensure_ascii=False, separators=(",", ":")))},
        **kwargs)


def get(job_id: str) -> dict[str, Any]:
    if not _valid_id(job_id):
        raise NotFound("no such report job")
    item = ddb.get(JOBS_PK, job_id)
    if item is None:
        raise NotFound("no such report job")
    return json.loads(item["doc"])


def _find(job_id: str) -> dict[str, Any] | None:
    try:
        return get(job_id)
    except NotFound:
        return None


def update(job_id: str, **changes: Any) -> dict[str, Any]:
    """Change fields of a job (read-modify-write: one worker at a time works a job)."""
    job = get(job_id)
    job.update(changes)
    _save(job)
    return job


def list_jobs(*, limit: int = 50, job_type: str | None = None) -> list[dict[str, Any]]:
    """The newest jobs first."""
    found = []
    for item in ddb.query(max_pages=10, KeyConditionExpression="PK = :p",
                          ExpressionAttributeValues={":p": S(JOBS_PK)}, ScanIndexForward=False):
        job = json.loads(ddb.from_item(item)["doc"])
        if job_type is None or job["type"] == job_type:
            found.append(job)
        if len(found) >= min(limit, MAX_LIST):
            break
    return found


def _current(key: str) -> dict[str, Any] | None:
    return ddb.get(KEYS_PK, key)


def _claim_key(key: str, job_id: str, revision: int, previous: dict[str, Any] | None) -> bool:
    item = {"PK": S(KEYS_PK), "SK": S(key), "job_id": S(job_id), "revision": {"N": str(revision)}}
    try:
        if previous is None:
            ddb.ddb().put_item(TableName=ddb.table(), Item=item, ConditionExpression="attribute_not_exists(PK)")
        else:
            ddb.ddb().put_item(TableName=ddb.table(), Item=item, ConditionExpression="revision = :r",
                               ExpressionAttributeValues={":r": {"N": str(previous["revision"])}})
        return True
    except ClientError as exc:
        if ddb.is_condition_failure(exc):
            return False
        raise


def create(job_type: str, period: Period, *, requested_by: str, now: datetime, scheduled: bool = False,
           notify: bool = False, revise: bool = False, reason: str | None = None, subject: str | None = None,
           department: str | None = None, title: str | None = None, params: dict[str, Any] | None = None,
           only_if_new: bool = False) -> tuple[dict[str, Any], bool]:
    """Create a job and queue it; returns (job, created). See the module docstring for revisions.

    ``only_if_new`` (schedules): when a job for this type and period exists, return it, create nothing.
    """
    if job_type not in JOB_TYPES:
        raise ValidationFailed("unknown report type", details={"type": "one of " + ", ".join(TYPES)})
    check_period(job_type, period)
    job_id = new_id(now, job_type)
    revision, supersedes = 1, None
    key = None
    if job_type != "ledger":
        key = report_key(job_type, period, subject)
        previous = _current(key)
        if previous is not None:
            earlier = _find(previous["job_id"])
            if only_if_new and earlier is not None:
                return earlier, False
            earlier = earlier or {"id": previous["job_id"], "revision": int(previous["revision"])}
            if earlier.get("sent_at") and not revise:
                raise Conflict("this report was already sent: regenerate it as a revision, with a reason",
                               details={"job_id": earlier["id"], "sent_at": earlier["sent_at"],
                                        "revise": "set revise=true and give a reason"})
            if earlier.get("status") in ("queued", "running"):
                raise Conflict("this report is being generated", details={"job_id": earlier["id"]})
            if revise and not (reason and reason.strip()):
                raise ValidationFailed("a revision needs a reason", details={"reason": "required with revise"})
            revision, supersedes = int(previous["revision"]) + 1, earlier
        if not _claim_key(key, job_id, revision, previous):
            raise Conflict("another request for this report came first: reload", details={"report": key})
    job = {
        "id": job_id, "type": job_type, "type_label": TYPE_LABELS[job_type], "period": period.to_dict(),
        "title": title or _title(job_type, period), "status": "queued", "progress": 0, "step": "排队中",
        "requested_by": requested_by, "requested_at": now.astimezone(TZ).isoformat(), "scheduled": scheduled,
        "notify": notify, "revision": revision, "report_key": key, "subject": subject, "department": department,
        "params": params or {}, "attempts": 0,
    }
    if supersedes is not None:
        job["supersedes"] = {"job_id": supersedes["id"], "revision": supersedes.get("revision", 1),
                             "sent_at": supersedes.get("sent_at"), "html": supersedes.get("html")}
        job["revise_reason"] = (reason or "").strip() or None
    _save(job, condition="attribute_not_exists(PK)")
    enqueue(job_id)
    return job, True


def _title(job_type: str, period: Period) -> str:
    if job_type == "ledger":
        return f"投诉举报工单台账（{period.title}）"
    return f"投诉举报处置{TYPE_LABELS[job_type]}（{period.title}）"


def enqueue(job_id: str) -> None:
    url = get_settings().reports_queue_url
    if not url:
        raise RuntimeError("REPORTS_QUEUE_URL is not configured")
    client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps({"job_id": job_id}))


def public(job: dict[str, Any]) -> dict[str, Any]:
    """What the API shows of a job (links are added by the caller)."""
    keep = ("id", "type", "type_label", "period", "title", "status", "progress", "step", "requested_by",
            "requested_at", "scheduled", "revision", "supersedes", "revise_reason", "rows", "finished_at", "error",
            "sent_at", "recipients", "department", "subject")
    out = {k: job.get(k) for k in keep if k in job}
    if out.get("supersedes"):
        out["supersedes"] = {k: v for k, v in out["supersedes"].items() if k != "html"}
    return out
