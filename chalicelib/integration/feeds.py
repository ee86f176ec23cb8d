"""Per-ticket feeds: what each partner was last sent and last acknowledged about each ticket, the
per-ticket reconciliation (逐单对账) over a period, and the resend of the tickets found out of step.

Two feeds are kept per ticket, on the ticket's link item (``T#<ticket>`` / ``PARTNER#<partner>``,
in the ticket's partition):

* the **origin feed** - the upper-level or 12345 platform a ticket came from hears its progress
  and results (:mod:`.outbound`); it already knows the ticket as received when it assigns it;
* the **data-centre feed** - every ticket, one record per change (:mod:`.data_centre`).

The sender notes each delivery it creates (``sent_*``) and each one the partner answers 2xx
(``acked_*``), keeping the newest version only. Reconciliation then compares, ticket by ticket,
what the partner acknowledged with the ticket as it stands:

| problem | 中文 | when |
| --- | --- | --- |
| ``missing`` | 未推送 | nothing about the ticket was ever sent to the partner |
| ``failed`` | 推送失败 | the last delivery about it was parked after its retries |
| ``pending`` | 待确认 | the last delivery is still being retried |
| ``status_mismatch`` | 状态不一致 | the partner acknowledged a status other than the ticket's |

Statuses are compared in the partner's vocabulary: a 12345 or upper-level platform sees our
statuses grouped as :data:`hotline12345.STATUS_12345` groups them (it never hears, say, a closure
review on its own), the data centre sees each status. The tickets of a period: for an origin
partner, the assignments it sent (its inbound ledger, one Query per day and shard); for the data
centre, the tickets received (the by-day index). Never a Scan. A 12345 platform's books also list
the handling units (承办单位) its cases of the period named that its unit mapping does not route
(``unmapped_units``, :mod:`.units`), so an admin can map them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.domain.ticket import Status, Ticket
from chalicelib.integration import data_centre, hotline12345, outbound, records, registry, units
from chalicelib.integration.records import DeliveryItem, LinkItem, iso

FEED_KINDS = frozenset({"upper", "hotline_12345", "data_center"})
ORIGIN_APPLIED = frozenset({"registered", "merged", "linked_duplicate"})
OPEN = frozenset({"pending", "retrying", "sending"})
MAX_DAYS = 31
MAX_TICKETS = 2000
MAX_RESEND = 100
PROBLEMS: dict[str, str] = {"missing": "未推送", "failed": "推送失败", "pending": "待确认",
                            "status_mismatch": "状态不一致"}


def relation_of(kind: str) -> str:
    return "data_centre" if kind == "data_center" else "origin"


# --------------------------------------------------------------------------- noting what was sent
def _note(ticket_id: str, partner_id: str, kind: str, now: datetime, version_attr: Any, version: int,
          values: list[Any]) -> None:
    """Upsert the feed fields of a ticket's link, unless it already notes a newer version."""
    link = LinkItem(f"T#{ticket_id}", records.link_sk(partner_id))
    try:
        link.update(actions=[
            LinkItem.partner_id.set(partner_id), LinkItem.relation.set(LinkItem.relation | relation_of(kind)),
            LinkItem.created_at.set(LinkItem.created_at | iso(now)), LinkItem.updated_at.set(iso(now)),
            version_attr.set(version), *values],
            condition=version_attr.does_not_exist() | (version_attr <= version))
    except UpdateError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise


def note_sent(ticket_id: str, partner_id: str, kind: str, delivery_id: str, version: int | None,
              status: str | None, now: datetime) -> None:
    """Record a delivery created about a ticket (a late, older one does not overwrite a newer one)."""
    if kind not in FEED_KINDS or version is None:
        return
    _note(ticket_id, partner_id, kind, now, LinkItem.sent_version, int(version), [
        LinkItem.sent_delivery.set(delivery_id), LinkItem.sent_status.set(str(status)), LinkItem.sent_at.set(iso(now))])


def note_acked(item: DeliveryItem, kind: str, now: datetime) -> None:
    """Record that the partner acknowledged a delivery about a ticket (newest version wins)."""
    if kind not in FEED_KINDS or not item.ticket_id:
        return
    data = json.loads(item.body).get("data") or {}
    if data.get("version") is None or not data.get("status"):
        return
    _note(str(item.ticket_id), item.partner_id, kind, now, LinkItem.acked_version, int(data["version"]), [
        LinkItem.acked_delivery.set(item.delivery_id), LinkItem.acked_status.set(str(data["status"])),
        LinkItem.acked_at.set(iso(now))])


# --------------------------------------------------------------------------- reconciliation
@dataclass(frozen=True)
class Period:
    """A reconciliation period: whole days, Asia/Shanghai, both ends included."""

    start: date
    end: date

    @classmethod
    def parse(cls, start: str | None, end: str | None, today: date) -> "Period":
        try:
            last = date.fromisoformat(end) if end else today
            first = date.fromisoformat(start) if start else last
        except ValueError:
            raise ValidationFailed("not a date", details={"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}) from None
        if first > last:
            raise ValidationFailed("the period ends before it starts", details={"from": "on or before to"})
        if (last - first).days >= MAX_DAYS:
            raise ValidationFailed("the period is too long", details={"to": f"at most {MAX_DAYS} days after from"})
        return cls(first, last)

    def days(self) -> list[str]:
        return [(self.start + timedelta(days=n)).isoformat() for n in range((self.end - self.start).days + 1)]


def _visible(kind: str, status: str | None, resolution: str | None) -> str | None:
    """A status as the partner sees it (see the module doc)."""
    if status is None:
        return None
    if kind == "data_center":
        return status
    return hotline12345.status_for(status, resolution)[0]


def _origin_tickets(partner_id: str, period: Period) -> list[tuple[str, str | None]]:
    seen: dict[str, str | None] = {}
    for day in period.days():
        for item in records.inbound_on(partner_id, day):
            if item.type == "ticket.assigned" and item.outcome in ORIGIN_APPLIED and item.ticket_id:
                seen.setdefault(str(item.ticket_id), item.external_id)
                if len(seen) > MAX_TICKETS:
                    return list(seen.items())
    return list(seen.items())


def _received_tickets(period: Period) -> tuple[list[Ticket], bool]:
    from chalicelib.services import tickets

    out: list[Ticket] = []
    cursor = None
    while len(out) <= MAX_TICKETS:
        page, cursor = tickets.repository().received_between(period.start, period.end, limit=200, cursor=cursor)
        out.extend(page)
        if not cursor:
            return out, False
    return out[:MAX_TICKETS], True


def compare(kind: str, ticket: Ticket, link: LinkItem | None,
            last: DeliveryItem | None) -> tuple[str | None, dict[str, Any]]:
    """(problem or None, the row's facts) for one ticket of a feed."""
    ours = _visible(kind, ticket.status, ticket.resolution)
    acked = link.acked_status if link is not None else None
    known = _visible(kind, acked, ticket.resolution if acked in (Status.CLOSED, Status.ARCHIVED) else None)
    if known is None and kind != "data_center":
        known = hotline12345.status_for(Status.UPPER_LEVEL_PENDING)[0]  # it assigned it: it knows it as received
    row = {"ticket_id": ticket.id, "external_id": link.external_id if link is not None else None,
           "status": ticket.status, "version": ticket.version, "expected": ours, "acknowledged": known,
           "acknowledged_version": int(link.acked_version) if link is not None and link.acked_version is not None
           else None, "last_delivery_id": last.delivery_id if last is not None else None,
           "last_delivery_status": str(last.status) if last is not None else None}
    if last is not None and last.status == "failed":
        return "failed", row
    if known == ours:
        return None, row
    if last is not None and last.status in OPEN:
        return "pending", row
    if link is None or link.sent_delivery is None:
        return "missing", row
    return "status_mismatch", row


def reconcile_tickets(partner_id: str, period: Period) -> dict[str, Any]:
    """Ticket-by-ticket reconciliation of one partner's feed over ``period`` (see the module doc)."""
    from chalicelib.services import tickets

    entry = registry.get(partner_id)
    kind = entry.get("kind", "")
    if kind not in FEED_KINDS:
        raise ValidationFailed("this partner has no per-ticket feed",
                               details={"partner_id": "an upper-level, 12345 or data-centre partner"})
    truncated = False
    if kind == "data_center":
        found, truncated = _received_tickets(period)
        pairs: list[tuple[Ticket | None, str]] = [(t, t.id) for t in found]
    else:
        ids = _origin_tickets(partner_id, period)
        truncated = len(ids) > MAX_TICKETS
        pairs = []
        for ticket_id, _external in ids[:MAX_TICKETS]:
            try:
                pairs.append((tickets.repository().get(ticket_id), ticket_id))
            except NotFound:
                pairs.append((None, ticket_id))
    differences: list[dict[str, Any]] = []
    for ticket, ticket_id in pairs:
        if ticket is None:
            differences.append({"ticket_id": ticket_id, "problem": "missing", "problem_label": "本平台无此工单"})
            continue
        link = records.find_link(ticket.id, partner_id)
        last = records.get_delivery(link.sent_delivery) if link is not None and link.sent_delivery else None
        problem, row = compare(kind, ticket, link, last)
        if problem is not None:
            differences.append({**row, "problem": problem, "problem_label": PROBLEMS[problem]})
    counts = {p: sum(1 for d in differences if d["problem"] == p) for p in PROBLEMS}
    books = {"partner_id": partner_id, "kind": kind, "feed": relation_of(kind), "from": period.start.isoformat(),
             "to": period.end.isoformat(), "checked": len(pairs), "balanced": not differences,
             "counts": counts, "differences": differences, "truncated": truncated}
    if kind == units.KIND:  # the 12345 units its cases named that no mapping routes (they wait for the centre)
        books["unmapped_units"] = units.unmapped_in(partner_id, period.start, period.end)
    return books


# --------------------------------------------------------------------------- resend
def event_now(entry: dict[str, Any], ticket: Ticket, link: LinkItem | None, at: str) -> outbound.PartnerEvent:
    """The partner event that tells a partner where ``ticket`` stands now."""
    if entry["kind"] == "data_center":
        return outbound.PartnerEvent(entry["id"], data_centre.EVENT_TYPE, data_centre.record(ticket, "resync"))
    if link is None or link.relation != "origin":
        raise Conflict("this ticket did not come from this partner", details={"ticket_id": ticket.id})
    data = outbound.snapshot(ticket, link.external_id, at)
    if entry["kind"] == "hotline_12345":
        data = hotline12345.decorate(data, ticket)
    return outbound.PartnerEvent(entry["id"], "ticket.synced", data)


def resend(partner_id: str, ticket_ids: list[str], now: datetime) -> dict[str, Any]:
    """Send each ticket's present state to the partner again (new deliveries, queued at once)."""
    from chalicelib.integration import sender
    from chalicelib.services import tickets

    entry = registry.get(partner_id)
    if entry.get("kind") not in FEED_KINDS:
        raise ValidationFailed("this partner has no per-ticket feed", details={"partner_id": entry.get("kind")})
    if not entry.get("enabled", True):
        raise Conflict("the partner is disabled: enable it first", details={"partner_id": partner_id})
    results: list[dict[str, Any]] = []
    created: list[str] = []
    for ticket_id in dict.fromkeys(ticket_ids):
        try:
            ticket = tickets.repository().get(ticket_id)
            event = event_now(entry, ticket, records.find_link(ticket_id, partner_id), iso(now))
        except (NotFound, Conflict) as exc:
            results.append({"ticket_id": ticket_id, "resent": False, "error": exc.code, "message": exc.message})
            continue
        ids = []
        for endpoint in registry.receivers(entry, event.type):
            delivery_id = sender.create(event, endpoint, f"resync:{ticket.id}:v{ticket.version}:{iso(now)}",
                                        ticket.id, now)
            if delivery_id:
                note_sent(ticket.id, partner_id, entry["kind"], delivery_id, ticket.version, ticket.status, now)
                ids.append(delivery_id)
        created.extend(ids)
        results.append({"ticket_id": ticket_id, "resent": bool(ids), "delivery_ids": ids,
                        **({} if ids else {"error": "no_endpoint", "message": "no enabled endpoint takes it"})})
    sender.enqueue_new(created)
    return {"partner_id": partner_id, "items": results}
