"""Working a report job (the ``reports`` queue handler calls :func:`work`).

Steps, each recorded on the job for the progress bar: gather the figures, render the HTML and
store it in the versioned bucket (the report is readable from then on, while the job runs), write
the ledger and store it, then (scheduled reports and those asked to)
e-mail the subscribers. A job already done is not built again; a job done but not yet e-mailed
is only e-mailed. A failure marks the job failed and re-raises, so the queue retries it (and after
the last attempt parks the message in the reports DLQ).
"""
from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any

from chalicelib.analytics import ddb
from chalicelib.analytics import period as periods
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import NotFound
from chalicelib.domain.ticket import Ticket
from chalicelib.observability import logger
from chalicelib.reports import builder, delivery, jobs, ledger, render, storage
from chalicelib.services import clock
from chalicelib.store import directory

PROGRESS_EVERY_SECONDS = 2.0


def _period(job: dict[str, Any]) -> periods.Period:
    spec = job["period"]
    parsed = periods.parse({"from": spec["from"], "to": spec["to"]})
    return periods.Period(parsed.start, parsed.end, spec.get("kind", "range"))


def _base_key(job: dict[str, Any]) -> str:
    label = job["period"]["label"].replace("..", "_")
    if job["type"] == "special":
        return f"reports/special/{job.get('subject') or label}"
    return f"reports/{job['type']}/{label}"


def _subject_names() -> dict[str, str]:
    names = {d["code"]: d.get("name") or d["code"]  # departments and their grassroots offices
             for d in directory.list_entries(directory.DEPARTMENTS) + directory.list_entries(directory.OFFICES)
             if d.get("code")}
    for user in directory.list_entries(directory.USERS):
        if user.get("username") and user.get("role") == "agent":
            names[user["username"]] = user.get("name") or user["username"]
    return names


class _Progress:
    """Writes progress to the job at most every couple of seconds."""

    def __init__(self, job_id: str, start: int, end: int, step: str) -> None:
        self.job_id, self.start, self.end, self.step = job_id, start, end, step
        self.last = 0.0

    def __call__(self, rows: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_EVERY_SECONDS:
            self.last = now
            jobs.update(self.job_id, step=f"{self.step}（已处理{rows}条）",
                        progress=min(self.end, self.start + rows // 500))


def _special_tickets(ids: list[str]) -> list[Ticket]:
    found = {}
    for item in ddb.batch_get([(f"T#{i}", "TICKET") for i in ids]):
        data = item.get("data")
        if isinstance(data, dict):
            ticket = Ticket.from_dict(data)
            found[ticket.id] = ticket
    return [found[i] for i in ids if i in found]


def build(job: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """Build and store the job's files; returns the job, done."""
    period = _period(job)
    job_id = job["id"]
    if job["type"] == "ledger":
        jobs.update(job_id, step="生成台账", progress=10)
        path, rows = ledger.write(period, department=job.get("department"), title=job["title"],
                                  progress=_Progress(job_id, 10, 90, "生成台账"))
        try:
            version = storage.put_file(f"ledgers/{job_id}.xlsx", path, storage.XLSX_TYPE)
        finally:
            os.remove(path)
        return jobs.update(job_id, status="done", progress=100, step="已完成", rows=rows,
                           xlsx={"key": f"ledgers/{job_id}.xlsx", "version_id": version},
                           finished_at=now.astimezone(TZ).isoformat())
    jobs.update(job_id, step="汇总统计数据", progress=10)
    special = job["type"] == "special"
    if special:
        data = builder.special(period, alert_id=(job.get("params") or {}).get("alert_id"), now=now)
    else:
        data = builder.periodic(period, now=now)
    jobs.update(job_id, step="生成报告", progress=30)
    html = render.render("special.html.j2" if special else "periodic.html.j2", {
        "job": job, "data": data, "generated_at": now.astimezone(TZ).strftime("%Y-%m-%d %H:%M"),
        "subject_names": _subject_names()})
    base = _base_key(job)
    metadata = {"job-id": job_id, "revision": str(job.get("revision", 1))}
    html_version = storage.put_bytes(f"{base}/report.html", html.encode("utf-8"), storage.HTML_TYPE,
                                     metadata=metadata)
    html_ref = {"key": f"{base}/report.html", "version_id": html_version}
    # The report reads counters only and is readable now; the ledger lists every ticket, so its
    # time grows with the period's tickets: it follows, with its own progress.
    jobs.update(job_id, step="生成台账", progress=40, html=html_ref)
    if special:
        path, rows = ledger.write_tickets(_special_tickets([t["id"] for t in data["tickets"]]),
                                          title=f"{job['title']} 涉及工单台账")
    else:
        path, rows = ledger.write(period, title=f"投诉举报工单台账（{period.title}）",
                                  progress=_Progress(job_id, 40, 95, "生成台账"))
    try:
        xlsx_version = storage.put_file(f"{base}/ledger.xlsx", path, storage.XLSX_TYPE, metadata=metadata)
    finally:
        os.remove(path)
    return jobs.update(job_id, status="done", progress=100, step="已完成", rows=rows,
                       xlsx={"key": f"{base}/ledger.xlsx", "version_id": xlsx_version},
                       totals={k: data["figures"][k]["value"] for k in ("received", "closed")}
                       if "figures" in data else None,
                       finished_at=now.astimezone(TZ).isoformat())


def work(job_id: str) -> dict[str, Any]:
    """Run one job to the end (idempotent; see the module docstring)."""
    job = jobs.get(job_id)
    now = clock.now()
    if job["status"] != "done":
        job = jobs.update(job_id, status="running", progress=5, step="开始生成", error=None,
                          attempts=int(job.get("attempts", 0)) + 1, started_at=now.astimezone(TZ).isoformat())
        try:
            job = build(job, now=now)
        except Exception as exc:  # recorded on the job for the person waiting, then re-raised for the retry
            jobs.update(job_id, status="failed", step="生成失败", error=f"{type(exc).__name__}: {str(exc)[:200]}")
            logger.exception("report job failed", extra={"job_id": job_id})
            raise
    if job.get("notify") and job["type"] != "ledger" and not job.get("sent_at"):
        job = delivery.send(job, now=clock.now())
    return job


def work_messages(bodies: list[str]) -> int:
    """The reports queue's batch: each body ``{"job_id": ...}``; a malformed one is logged and dropped."""
    return sum(1 for body in bodies if work_body(body))


def work_body(body: str) -> bool:
    """One reports-queue message body: the job done (True), or dropped with a log line when it is
    not a job message or names no job (False). A failing job raises: the message returns to its
    queue and, after the queue's retries, waits in its DLQ."""
    import json

    try:
        job_id = str(json.loads(body)["job_id"])
    except (ValueError, KeyError, TypeError):
        logger.warning("report message dropped: not a job message")
        return False
    try:
        work(job_id)
    except NotFound:
        logger.warning("report message dropped: no such job", extra={"job_id": job_id[:64]})
        return False
    return True
