"""E-mailing a finished report to its subscribers, once each, through the e-mail adapter.

The message carries presigned links (valid seven days) to the exact S3 versions generated, so
what a reader opens is what was sent. Each address is marked in the job as it is sent, so a
retried delivery after a failure sends only to those still waiting. Addresses never reach logs.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from chalicelib.domain.calendar import TZ
from chalicelib.observability import logger
from chalicelib.reports import jobs, storage, subscribers


def _mark(address: str) -> str:
    return hashlib.sha256(address.encode("utf-8")).hexdigest()[:16]


def message(job: dict[str, Any], html_link: str | None, xlsx_link: str | None) -> tuple[str, str]:
    """Subject and plain-text body (Chinese) of the report e-mail."""
    subject = job["title"] + (f"（修订版，第{job['revision']}版）" if job.get("supersedes") else "")
    lines = [f"您好！{job['title']}已生成。", "", f"统计期间：{job['period']['title']}"]
    if job.get("supersedes"):
        lines.append(f"本报告为修订版，替代第{job['supersedes'].get('revision', 1)}版"
                     + (f"，修订原因：{job['revise_reason']}" if job.get("revise_reason") else "") + "。")
    lines += ["", f"报告（网页，可打印）：{html_link}", f"台账（Excel）：{xlsx_link}", "",
              "链接7日内有效，过期后请登录平台在“统计报表”中下载。"]
    return subject, "\n".join(lines)


def send(job: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """Send the report to every subscriber of its type not yet sent to; returns the updated job."""
    from chalicelib.notifications.email import email_sender

    recipients = subscribers.for_type(job["type"])
    sent: dict[str, str] = dict(job.get("sent_to") or {})
    html_link = storage.link(job.get("html"), seconds=storage.EMAIL_LINK_SECONDS)
    xlsx_link = storage.link(job.get("xlsx"), seconds=storage.EMAIL_LINK_SECONDS,
                             filename=f"{job['title']}台账.xlsx")
    subject, body = message(job, html_link, xlsx_link)
    sender = email_sender()
    for recipient in recipients:
        mark = _mark(recipient["email"])
        if mark in sent:
            continue
        sender.send(recipient["email"], subject, body)
        sent[mark] = now.astimezone(TZ).isoformat()
        job = jobs.update(job["id"], sent_to=sent)
    logger.info("report e-mailed", extra={"job_id": job["id"], "recipients": len(recipients)})
    return jobs.update(job["id"], sent_to=sent, recipients=len(recipients),
                       sent_at=job.get("sent_at") or now.astimezone(TZ).isoformat())
