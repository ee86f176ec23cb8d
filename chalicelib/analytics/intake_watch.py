"""Watching intake: every new ticket is read for sensitive events and abuse patterns at once.

A stream consumer on ticket inserts (seconds after registration, whatever the channel): a
sensitive or major event raises an urgent alert to the managers (:mod:`alerts`), an abuse
pattern an advisory one. Both are idempotent (alert ids derive from the ticket), so a
redelivered record changes nothing.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.analytics import abuse, alerts, sensitive
from chalicelib.analytics.measures import CHANNEL_LABELS, KIND_LABELS
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import ValidationFailed
from chalicelib.observability import logger
from chalicelib.services import clock
from chalicelib.streams import TableChange, consumer, is_ticket

ART_17_NOTE = "（依据《市场监督管理投诉举报处理办法》第十七条提示，供人工核查，不影响工单办理）"


def accepts(change: TableChange) -> bool:
    return is_ticket(change) and change.event_name == "INSERT"


def _where(ticket: dict[str, Any]) -> str:
    parts = [KIND_LABELS.get(ticket.get("kind"), ticket.get("kind") or ""),
             CHANNEL_LABELS.get(ticket.get("channel"), ticket.get("channel") or "")]
    if ticket.get("category"):
        parts.append(str(ticket["category"]))
    if ticket.get("district"):
        parts.append(str(ticket["district"]))
    return "，".join(p for p in parts if p)


def watch_ticket(ticket: dict[str, Any], gsi3pk: str | None, *, now: datetime) -> list[str]:
    """Raise the alerts a new ticket calls for; returns the ids of new alerts."""
    raised = []
    tid = str(ticket["id"])
    at = datetime.fromisoformat(ticket["created_at"]).astimezone(TZ)
    text = f"{ticket.get('request') or ''}\n{ticket.get('facts') or ''}"
    flags = sensitive.classify(text, 1 + len(ticket.get("co_complainants") or []))
    if flags:
        major = flags[0].level == "major"
        names = "、".join(f.label for f in flags)
        identifier, new = alerts.raise_alert(
            kind="sensitive", level="major" if major else "sensitive", at=at, subject=tid,
            title=f"{'重大' if major else '敏感'}事件：{names}",
            body=f"工单 {tid}（{_where(ticket)}）疑似{names}，请立即关注处置。",
            ticket_ids=[tid], now=now,
            data={"flags": [{"code": f.code, "label": f.label, "level": f.level, "evidence": f.evidence}
                            for f in flags],
                  "category": ticket.get("category"), "district": ticket.get("district"),
                  "channel": ticket.get("channel")})
        if new:
            raised.append(identifier)
    advisories = abuse.check(ticket, gsi3pk)
    if advisories:
        names = "、".join(f.label for f in advisories)
        related = sorted({tid, *(i for f in advisories for i in f.evidence.get("ticket_ids", []) if i)})
        identifier, new = alerts.raise_alert(
            kind="abuse", level="advisory", at=at, subject=tid, title=f"异常投诉提示：{names}",
            body=f"工单 {tid}：{names}{ART_17_NOTE}", ticket_ids=related, now=now,
            data={"flags": [{"code": f.code, "label": f.label,
                             "evidence": {k: v for k, v in f.evidence.items() if k != "ticket_ids"}}
                            for f in advisories]})
        if new:
            raised.append(identifier)
    return raised


@consumer("intake_watch", accepts=accepts)
def watch(records: list[TableChange]) -> None:
    now = clock.now()
    for record in records:
        image = record.new or {}
        ticket = image.get("data")
        if not isinstance(ticket, dict) or not ticket.get("id") or not ticket.get("created_at"):
            logger.error("intake watch: ticket record without data", extra={"pk": record.pk})
            continue
        try:
            watch_ticket(ticket, image.get("GSI3PK"), now=now)
        except (ValidationFailed, ValueError, TypeError, KeyError) as exc:
            logger.error("intake watch: unreadable ticket", extra={"pk": record.pk, "error": type(exc).__name__})
