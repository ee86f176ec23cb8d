"""The ledger (台账): every ticket received in a period, one row each, as an xlsx workbook.

Written with openpyxl's write-only mode, row by row into a temporary file, so memory stays flat
however long the period; tickets are read through GSI2 (tickets by received month and shard,
sorted by received time), one run of busy days at a time, never by scanning. Personal data is
masked; a department's ledger holds only the tickets it had a share of, and never a reporter's
identity (Art. 37). Excel's sheet limit (1,048,576 rows) is respected by continuing on a new sheet.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.analytics import counters
from chalicelib.analytics.facts import clock_met
from chalicelib.analytics.period import Period
from chalicelib.domain.calendar import TZ
from chalicelib.domain.privacy import mask_name, mask_phone, mask_text
from chalicelib.domain.ticket import Ticket
from chalicelib.domain.vocabulary import (
    CHANNEL_LABELS,
    KIND_LABELS,
    RESOLUTION_LABELS,
    RESULT_LABELS,
    SATISFACTION_LABELS,
    STATUS_LABELS,
)
from chalicelib.services import categories
from chalicelib.services import tickets as ticket_service

SHEET_ROWS = 1_000_000
PAGE = 500
COLUMNS = ("工单编号", "登记时间", "来源渠道", "诉求类型", "类别", "属地", "紧急程度", "投诉/举报人", "联系电话",
           "被投诉/举报对象", "诉求摘要", "当前状态", "承办部门", "受理时间", "首次派单时间", "签收时间",
           "办结提交时间", "办结时间", "办理结果", "是否按期", "满意度", "是否解决", "催办次数", "督办次数", "重办次数")


def _t(value: datetime | None) -> str:
    return value.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if value else ""


SETTLED_AFTER_DAYS = 2  # the stream is read within seconds and kept 24 h: older days' counters are complete


def days_with_tickets(period: Period, *, today: date | None = None) -> list[date]:
    """The period's days that may hold tickets: those the counters saw registrations on, and the
    last couple of days whatever the counters say (their stream records may still be on the way)."""
    today = today or datetime.now(TZ).date()
    counted = counters.read("total", period, by_day=True).get(counters.TOTAL, {})
    busy = {day for day, counts in counted.items() if counts.get("received")}
    recent = today - timedelta(days=SETTLED_AFTER_DAYS)
    return [d for d in period.each_day() if d.isoformat() in busy or recent <= d <= today]


def busy_runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days grouped into (first, last) runs, in order."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def tickets_in(period: Period, *, department: str | None = None,
               progress: Callable[[int], None] | None = None) -> Iterator[Ticket]:
    """Tickets received in the period, in received order (a department's: those it held a share of).

    Days without registrations are skipped (see :func:`days_with_tickets`): each run of busy days is
    read as one range (its months x the GSI2 shards, page by page), so a year's ledger with a quiet
    season costs the Queries of its busy stretches only.
    """
    repository = ticket_service.repository()
    seen = 0
    for first, last in busy_runs(days_with_tickets(period)):
        cursor: str | None = None
        while True:
            batch, cursor = repository.received_between(first, last, limit=PAGE, cursor=cursor)
            for ticket in batch:
                if department is None or department in {a.department for a in ticket.assignments}:
                    seen += 1
                    yield ticket
            if progress:
                progress(seen)
            if not cursor:
                break


def row(ticket: Ticket, *, department_view: bool = False) -> list[Any]:
    """One ledger row (masked; a reporter hidden from departments)."""
    t = ticket.to_dict()
    hide_reporter = department_view and ticket.kind == "report"
    shares = [a for a in ticket.assignments if a.status not in ("withdrawn",)]
    dispatched = min((a.dispatched_at for a in shares), default=None)
    signed = min((a.signed_at for a in shares if a.signed_at), default=None)
    submitted = max((a.closure.submitted_at for a in shares if a.closure), default=None)
    results = [a.closure.result for a in shares if a.closure and a.closure.result and a.role != "assist"]
    met = [clock_met(c) for c in t.get("clocks", {}).values()]
    if any(m is False for m in met):
        on_time = "否"
    elif ticket.is_open:
        on_time = "办理中"
    else:
        on_time = "是"
    feedback = ticket.last_feedback
    result = RESULT_LABELS.get(results[-1], results[-1]) if results else RESOLUTION_LABELS.get(ticket.resolution or "", "")
    return [
        ticket.id, _t(ticket.created_at), CHANNEL_LABELS.get(ticket.channel, ticket.channel),
        KIND_LABELS.get(ticket.kind, ticket.kind), categories.tree().label(ticket.category) if ticket.category else "",
        ticket.district or "",
        "紧急" if ticket.priority == "urgent" else "一般",
        "（依法保密）" if hide_reporter else (mask_name(ticket.complainant.name) or ""),
        "（依法保密）" if hide_reporter else (mask_phone(ticket.complainant.phone) or ""),
        ticket.respondent.name if ticket.respondent else "", mask_text((ticket.request or "")[:200]) or "",
        STATUS_LABELS.get(ticket.status, ticket.status), "、".join(dict.fromkeys(a.department for a in shares)),
        _t(ticket.acceptance.at) if ticket.acceptance else "", _t(dispatched), _t(signed), _t(submitted),
        _t(ticket.closed_at), result, on_time,
        SATISFACTION_LABELS.get(feedback.satisfaction, "") if feedback else "",
        ("是" if feedback.solved else "否") if feedback else "",
        len(ticket.urgings), len(ticket.supervisions), ticket.rework_count,
    ]


def write(period: Period, *, department: str | None = None, title: str = "",
          progress: Callable[[int], None] | None = None) -> tuple[str, int]:
    """Write the period's ledger to a temporary xlsx file; returns (path, rows). The caller deletes it."""
    return write_tickets(tickets_in(period, department=department, progress=progress),
                         title=title or f"投诉举报工单台账（{period.title}）", department_view=department is not None)


def write_tickets(tickets: Iterable[Ticket], *, title: str, department_view: bool = False) -> tuple[str, int]:
    """Write the given tickets as a ledger to a temporary xlsx file; returns (path, rows)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    header_font = Font(bold=True)
    rows = 0
    sheet = None

    def new_sheet(n: int) -> Any:
        ws = workbook.create_sheet(title="台账" if n == 1 else f"台账{n}")
        ws.freeze_panes = "A3"
        caption = WriteOnlyCell(ws, value=title)
        caption.font = Font(bold=True, size=13)
        ws.append([caption])
        header = []
        for name in COLUMNS:
            cell = WriteOnlyCell(ws, value=name)
            cell.font = header_font
            header.append(cell)
        ws.append(header)
        return ws

    sheet_number = 1
    sheet = new_sheet(sheet_number)
    in_sheet = 0
    for ticket in tickets:
        if in_sheet >= SHEET_ROWS:
            sheet_number += 1
            sheet = new_sheet(sheet_number)
            in_sheet = 0
        sheet.append(row(ticket, department_view=department_view))
        rows += 1
        in_sheet += 1
    handle, path = tempfile.mkstemp(prefix="ledger-", suffix=".xlsx")
    os.close(handle)
    workbook.save(path)
    return path, rows
