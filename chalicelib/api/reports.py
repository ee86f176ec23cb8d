"""Reports (月报/季报/年报/专题报告), their subscribers, and the ledger (台账) export.

``POST /reports`` answers 202 with a job worked through the ``reports`` queue; ``GET
/reports/{id}`` shows its progress and, when done, presigned links to the exact versions of the
HTML report and the xlsx ledger. ``GET /ledger`` answers at once with a link when the period is
small (counted from the counters first), else 202 with a job.
"""
from __future__ import annotations

import os
from typing import Any

from chalice import Blueprint

from chalicelib.analytics import alerts, statistics
from chalicelib.analytics import period as periods
from chalicelib.api.auth import DEPARTMENT_ROLES
from chalicelib.api.routing import RequestContext, route
from chalicelib.api.stats import PERIOD_QUERY, PERIOD_SPEC, department_scope
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.reports import jobs, ledger, storage, subscribers
from chalicelib.services import clock

reports_bp = Blueprint(__name__)

MANAGER = ("manager",)
LEDGER_ROLES = ("manager", "dispatcher", "dept_lead", "handler")
SYNC_LEDGER_MAX_ROWS = 2000  # what a request can write well inside API Gateway's 29 s
REPORT_BODY = {"type": "object", "properties": {
    "type": {"type": "string", "enum": list(jobs.TYPES)}, "period": PERIOD_SPEC,
    "alert_id": {"type": "string", "maxLength": 64}, "title": {"type": "string", "minLength": 1, "maxLength": 80},
    "notify": {"type": "boolean"}, "revise": {"type": "boolean"}, "reason": {"type": "string", "maxLength": 200}},
    "required": ["type", "period"], "additionalProperties": False}
LIST_QUERY = {"type": "object", "properties": {"type": {"type": "string", "enum": list(jobs.JOB_TYPES)},
                                               "limit": {"type": "string", "pattern": "^[1-9][0-9]?$"}}}
SUBSCRIBERS_BODY = {"type": "object", "properties": {
    "subscribers": {"type": "array", "maxItems": subscribers.MAX_SUBSCRIBERS, "items": {"type": "object"}},
    "expected_version": {"type": "integer", "minimum": 0}},
    "required": ["subscribers", "expected_version"], "additionalProperties": False}


def _username(ctx: RequestContext) -> str:
    assert ctx.principal is not None
    return ctx.principal.username


def _with_links(job: dict[str, Any]) -> dict[str, Any]:
    """The job with presigned links to what it has stored so far: a report's HTML is linked as soon
    as it is written, before the ledger (the slow part) is done."""
    out = jobs.public(job)
    links: dict[str, Any] = {}
    if job.get("html"):
        links["html"] = storage.link(job["html"])
    if job.get("xlsx") and job.get("status") == "done":
        links["xlsx"] = storage.link(job["xlsx"], filename=f"{job['title']}台账.xlsx")
    if links:
        out["links"] = {**links, "expires_in": storage.LINK_SECONDS}
    return out


@route(reports_bp, "/reports", method="POST", roles=MANAGER, body=REPORT_BODY,
       summary="Generate a monthly, quarterly, annual or special report (202 with a job)", tags=("reports",))
def post_report(ctx: RequestContext) -> tuple[int, dict[str, Any]]:
    body = ctx.body
    now = clock.now()
    period = periods.parse(body["period"], now=now)
    subject = None
    params: dict[str, Any] = {}
    if body.get("alert_id"):
        if body["type"] != "special":
            raise ValidationFailed("an alert is analysed in a special report", details={"alert_id": "type special only"})
        alert = alerts.get(body["alert_id"])
        subject = alert["id"]
        params["alert_id"] = alert["id"]
    job, _ = jobs.create(body["type"], period, requested_by=_username(ctx), now=now,
                         notify=bool(body.get("notify", False)), revise=bool(body.get("revise", False)),
                         reason=body.get("reason"), subject=subject, title=body.get("title"), params=params)
    return 202, {"job": _with_links(job)}


@route(reports_bp, "/reports", roles=MANAGER, query=LIST_QUERY, summary="Report jobs, newest first",
       tags=("reports",))
def list_reports(ctx: RequestContext) -> dict[str, Any]:
    return {"jobs": [jobs.public(j) for j in jobs.list_jobs(limit=int(ctx.query.get("limit") or 50),
                                                            job_type=ctx.query.get("type"))]}


@route(reports_bp, "/reports/{job_id}", roles=LEDGER_ROLES, audit="report_download",
       summary="A report or ledger job: progress, and presigned links when done", tags=("reports",))
def get_report(ctx: RequestContext, job_id: str) -> dict[str, Any]:
    job = jobs.get(job_id)
    principal = ctx.principal
    assert principal is not None
    if principal.role != "manager":
        if job["type"] != "ledger" or job.get("requested_by") != principal.username:
            raise NotFound("no such report job")  # others' jobs are not even acknowledged
    return _with_links(job)


@route(reports_bp, "/report-subscribers", roles=MANAGER, summary="Who receives reports by e-mail",
       tags=("reports",))
def get_subscribers(ctx: RequestContext) -> dict[str, Any]:
    return subscribers.document()


@route(reports_bp, "/report-subscribers", method="PUT", roles=MANAGER, body=SUBSCRIBERS_BODY,
       summary="Replace the report subscribers (optimistic: expected_version)", tags=("reports",))
def put_subscribers(ctx: RequestContext) -> dict[str, Any]:
    return subscribers.save(ctx.body["subscribers"], expected_version=ctx.body["expected_version"])


@route(reports_bp, "/ledger", roles=LEDGER_ROLES, query=PERIOD_QUERY, audit="ledger_export",
       summary="The ledger (台账) of a period as xlsx: a presigned link, or 202 with a job for large periods",
       tags=("reports",))
def get_ledger(ctx: RequestContext) -> Any:
    now = clock.now()
    period = periods.from_query(ctx.query, now=now)
    department = department_scope(ctx)
    principal = ctx.principal
    assert principal is not None
    if principal.role in DEPARTMENT_ROLES and not department:
        raise Forbidden("a department role without a department has no ledger")
    expected = int(statistics.sums(period).get("received", 0))  # an upper bound for a department's share
    if expected > SYNC_LEDGER_MAX_ROWS:
        job, _ = jobs.create("ledger", period, requested_by=principal.username, now=now, department=department)
        return 202, {"job": _with_links(job), "expected_rows": expected}
    title = f"投诉举报工单台账（{period.title}）" + (f"（{department}）" if department else "")
    path, rows = ledger.write(period, department=department, title=title)
    if rows == 0:  # nothing to hand over: no empty file in the bucket
        os.remove(path)
        return {"url": None, "rows": 0, "period": period.to_dict(), "message": "该期间没有工单"}
    key = f"ledgers/direct/{now.astimezone(TZ):%Y%m%d%H%M%S}-{principal.username}-{period.label.replace('..', '_')}.xlsx"
    try:
        version = storage.put_file(key, path, storage.XLSX_TYPE)
    finally:
        os.remove(path)
    ref = {"key": key, "version_id": version}
    return {"url": storage.link(ref, filename=f"台账-{period.label}.xlsx"), "rows": rows,
            "period": period.to_dict(), "expires_in": storage.LINK_SECONDS}
