"""Per-ticket data reporting to the city's data centre (监管数据中心): one record per ticket change.

Every outbox message about a ticket (registration included) becomes a ``ticket.record`` event for
each enabled partner of kind ``data_center``: the ticket's state after the change, in the field
mapping :data:`FIELDS` declares once. docs/integration-mapping.md writes the same mapping as a
table (tests/integration/test_partner_data_centre.py checks that the two agree). The record goes
out through the ordinary deliveries (durable before the first send, signed, retried, parked,
replayable) and each ticket's last sent and last acknowledged record are kept for reconciliation
(:mod:`chalicelib.integration.feeds`).

Personal data (docs/security.md): the complainant's name, phone and address are masked
(``周**``, ``139****5678``, ``苏州市姑苏区****``); a reporter's (举报人) are withheld entirely
(Art. 37); ID numbers are never sent; free text has phones, ID numbers, e-mail addresses and the
complainants' names masked. The daily counts (``report.daily``, :mod:`.reports`) go on beside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from chalicelib.domain.privacy import mask_address, mask_name, mask_phone, mask_text
from chalicelib.domain.ticket import Kind, Ticket

TREATMENTS = ("plain", "code", "masked", "masked_text")


@dataclass(frozen=True)
class RecordField:
    """One field of a data-centre record."""

    name: str  # the field in the record
    label: str  # its Chinese name (the data centre's column)
    source: str  # where it comes from on our ticket (documentation; ``read`` does it)
    treatment: str  # plain | code (a /vocabulary code) | masked (personal data) | masked_text
    read: Callable[[Ticket], Any]


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def _category_code(ticket: Ticket) -> str | None:
    from chalicelib.services import categories

    return categories.view(ticket.category)["category_code"]


def _category_path(ticket: Ticket) -> str | None:
    from chalicelib.services import categories

    path = categories.view(ticket.category)["category_path"]
    return "/".join(path) if path else ticket.category


def _accepted_at(ticket: Ticket) -> str | None:
    decision = ticket.acceptance
    return _iso(decision.at) if decision is not None and decision.outcome == "accepted" else None


def _first_dispatch(ticket: Ticket) -> str | None:
    return _iso(min((a.dispatched_at for a in ticket.assignments), default=None))


def _handling_due(ticket: Ticket) -> str | None:
    return _iso(min((c.due for key, c in ticket.clocks.items() if key.startswith("handling")), default=None))


def _result(ticket: Ticket) -> str | None:
    done = [a for a in ticket.assignments if a.closure is not None and a.closure.result]
    lead = next((a for a in done if a.role == "lead"), done[0] if done else None)
    return lead.closure.result if lead is not None and lead.closure is not None else None


def _hidden(ticket: Ticket) -> bool:
    """A reporter's identity never leaves the platform (Art. 37)."""
    return ticket.kind == Kind.REPORT


def _party(ticket: Ticket, field: str, mask: Callable[[str | None], str | None]) -> str | None:
    return None if _hidden(ticket) else mask(getattr(ticket.complainant, field))


def _text(ticket: Ticket, field: str) -> str | None:
    names = [ticket.complainant.name] + [j.party.name for j in ticket.co_complainants]
    return mask_text(getattr(ticket, field), names=names, hide_names=_hidden(ticket))


FIELDS: tuple[RecordField, ...] = (
    RecordField("ticket_id", "工单编号", "id", "plain", lambda t: t.id),
    RecordField("version", "数据版本", "version", "plain", lambda t: t.version),
    RecordField("kind", "诉求类型", "kind", "code", lambda t: t.kind),
    RecordField("channel", "来源渠道", "channel", "code", lambda t: t.channel),
    RecordField("external_ref", "上级平台编号", "external_ref", "plain", lambda t: t.external_ref),
    RecordField("status", "办理状态", "status", "code", lambda t: t.status),
    RecordField("resolution", "办结方式", "resolution", "code", lambda t: t.resolution),
    RecordField("priority", "紧急程度", "priority", "code", lambda t: t.priority),
    RecordField("category_code", "诉求分类编码", "category (tree code)", "code", _category_code),
    RecordField("category_path", "诉求分类", "category (tree path)", "plain", _category_path),
    RecordField("district", "属地", "district", "code", lambda t: t.district),
    RecordField("received_at", "接收时间", "received_at", "plain", lambda t: _iso(t.received_at)),
    RecordField("accepted_at", "受理时间", "acceptance.at (accepted)", "plain", _accepted_at),
    RecordField("dispatched_at", "首次分拨时间", "assignments[].dispatched_at (earliest)", "plain", _first_dispatch),
    RecordField("departments", "承办单位", "departments (active assignments)", "code", lambda t: t.departments),
    RecordField("handling_due", "办理时限", "clocks.handling*.due (earliest)", "plain", _handling_due),
    RecordField("result", "处理结果", "assignments[].closure.result (lead first)", "code", _result),
    RecordField("closed_at", "办结时间", "closed_at", "plain", lambda t: _iso(t.closed_at)),
    RecordField("satisfaction", "满意度", "feedback[-1].satisfaction", "code",
                lambda t: t.last_feedback.satisfaction if t.last_feedback else None),
    RecordField("solved", "是否解决", "feedback[-1].solved", "plain",
                lambda t: t.last_feedback.solved if t.last_feedback else None),
    RecordField("urging_count", "催办次数", "urgings (count)", "plain", lambda t: len(t.urgings)),
    RecordField("supervised", "是否督办", "supervisions (any)", "plain", lambda t: bool(t.supervisions)),
    RecordField("reopen_count", "重办次数", "reopen_count", "plain", lambda t: t.reopen_count),
    RecordField("complainant_name", "诉求人姓名", "complainant.name", "masked",
                lambda t: _party(t, "name", mask_name)),
    RecordField("complainant_phone", "诉求人电话", "complainant.phone", "masked",
                lambda t: _party(t, "phone", mask_phone)),
    RecordField("complainant_address", "诉求人地址", "complainant.address", "masked",
                lambda t: _party(t, "address", mask_address)),
    RecordField("respondent_name", "被投诉/举报对象", "respondent.name", "plain",
                lambda t: t.respondent.name if t.respondent else None),
    RecordField("respondent_credit_code", "统一社会信用代码", "respondent.credit_code", "plain",
                lambda t: t.respondent.credit_code if t.respondent else None),
    RecordField("respondent_address", "被投诉/举报对象地址", "respondent.address", "plain",
                lambda t: t.respondent.address if t.respondent else None),
    RecordField("request", "诉求人要求", "request", "masked_text", lambda t: _text(t, "request")),
    RecordField("facts", "诉求内容", "facts", "masked_text", lambda t: _text(t, "facts")),
    RecordField("updated_at", "更新时间", "updated_at", "plain", lambda t: _iso(t.updated_at)),
)
EVENT_TYPE = "ticket.record"


def record(ticket: Ticket, change: str) -> dict[str, Any]:
    """The data-centre record of ``ticket`` as it stands, naming the ``change`` that produced it.

    ``status`` and ``version`` are the ticket's; the feed's reconciliation compares them with what
    the data centre acknowledged."""
    body: dict[str, Any] = {"record_id": f"{ticket.id}-v{ticket.version}", "change": change}
    for spec in FIELDS:
        body[spec.name] = spec.read(ticket)
    return body


# --------------------------------------------------------------------------- reporting timeliness
#: How long the data centre has to acknowledge a record, counted from the ticket change it reports
#: (the record's ``updated_at``): 24 hours by default, per partner ``report_within_hours`` (1-168,
#: set by an admin on the partner). Natural hours, not working days: the exchange is machine to
#: machine and runs around the clock (so do our retries), and a working-day limit would let an
#: outage over a weekend or a holiday (8 days at National Day) pass as on time. 24 hours cover the
#: first seven attempts of the retry schedule (about 18 hours): a receiver down for an afternoon is
#: still on time, one down for a day is not.
REPORT_WITHIN_HOURS = 24
MAX_REPORT_WITHIN_HOURS = 168


def report_within_hours(entry: dict[str, Any] | None) -> int:
    """The partner's reporting limit in hours (the default when it has none)."""
    value = (entry or {}).get("report_within_hours")
    try:
        hours = int(value) if value is not None and not isinstance(value, bool) else 0
    except (TypeError, ValueError):
        hours = 0
    return hours if 0 < hours <= MAX_REPORT_WITHIN_HOURS else REPORT_WITHIN_HOURS


def report_due(changed_at: str, entry: dict[str, Any] | None) -> datetime:
    """When a record of a ticket change made at ``changed_at`` (ISO 8601) must be acknowledged."""
    return datetime.fromisoformat(changed_at) + timedelta(hours=report_within_hours(entry))


def reported_on_time(changed_at: str, acknowledged_at: str, entry: dict[str, Any] | None) -> bool:
    """The data centre acknowledged the record within its limit."""
    return datetime.fromisoformat(acknowledged_at) <= report_due(changed_at, entry)
