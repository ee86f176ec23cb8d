"""Call-centre use cases (CTI): take call records in (webhook, CSV), list and link them, count them.

A record is checked (:mod:`chalicelib.calls.records`), its linked ticket must exist, and it is
stored once per call id with its counters (:mod:`chalicelib.store.calls`): a record sent again
answers ``duplicate`` and changes nothing. The caller's number is encrypted at rest, found by a
keyed blind index (the same one tickets use for complainants) and only ever shown masked; it is
never logged.

Statistics (话务统计) for a period read one hour-counter partition per day: call volume
(话务量: calls offered), answered, abandoned, answer rate, average handling (talk) time and
average wait, by agent, by hour of day and by day. The same call also adds ``calls_offered``,
``calls_answered`` and ``call_handle_seconds`` to the agent's assessment counters, which the
agent indicators read.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from chalicelib.calls import records
from chalicelib.calls.records import CallRecord
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.domain.intake import normalize_phone
from chalicelib.domain.privacy import REPORTER_HIDDEN_ROLES, mask_phone
from chalicelib.domain.ticket import Actor, Kind
from chalicelib.services import clock
from chalicelib.store import calls as store
from chalicelib.store import fieldcrypt
from chalicelib.store.tickets import blind_index

MAX_BATCH = 200
MAX_STAT_DAYS = 92


def _ticket_exists(ticket_id: str) -> bool:
    from chalicelib.services import tickets as ticket_service

    try:
        ticket_service.repository().get(ticket_id)
    except NotFound:
        return False
    return True


def caller_index(number: str) -> str:
    """The keyed blind index of a caller number (as complainants' phones are indexed)."""
    return blind_index(normalize_phone(number))


def _stored(record: CallRecord, source: str) -> dict[str, Any]:
    return {
        "call_id": record.call_id, "agent": record.agent, "caller_enc": fieldcrypt.encrypt(record.caller),
        "caller_index": caller_index(record.caller), "caller_masked": mask_phone(record.caller),
        "start": record.start.isoformat(), "answer": record.answer.isoformat() if record.answer else None,
        "end": record.end.isoformat(), "queue": record.queue, "outcome": record.outcome,
        "recording": record.recording, "ticket_id": record.ticket_id, "day": record.day, "hour": record.hour,
        "wait_seconds": record.wait_seconds, "handle_seconds": record.handle_seconds,
        "source": source, "received_at": clock.now().isoformat(),
    }


def _counters(record: CallRecord) -> tuple[dict[str, int], dict[str, int]]:
    hour = {"offered": 1, "answered": int(record.answered), "abandoned": int(record.outcome == "abandoned"),
            "missed": int(record.outcome in ("missed", "voicemail")), "handle_seconds": record.handle_seconds,
            "wait_seconds": record.wait_seconds}
    agent = {"calls_offered": 1, "calls_answered": int(record.answered),
             "call_handle_seconds": record.handle_seconds} if record.agent else {}
    return hour, agent


def store_record(record: CallRecord, *, source: str) -> str:
    """``stored`` or ``duplicate`` (the call id was stored before: nothing changes). The caller
    checked that a linked ticket exists."""
    hour, agent = _counters(record)
    return "stored" if store.save(_stored(record, source), hour, agent) else "duplicate"


def ingest(batch: list[Any], *, source: str) -> dict[str, Any]:
    """Check every record of a batch first (400 naming each bad field, nothing stored), then store each."""
    if not isinstance(batch, list) or not 1 <= len(batch) <= MAX_BATCH:
        raise ValidationFailed("invalid calls", details={"calls": f"a list of 1 to {MAX_BATCH} records"})
    parsed: list[CallRecord] = []
    errors: dict[str, str] = {}
    for n, data in enumerate(batch):
        try:
            parsed.append(records.parse(data, prefix=f"calls[{n}]."))
        except ValidationFailed as exc:
            errors.update(exc.details or {f"calls[{n}]": exc.message})
    seen: set[str] = set()
    for n, record in enumerate(parsed):
        if record.call_id in seen:
            errors[f"calls[{n}].call_id"] = "repeated in this batch"
        seen.add(record.call_id)
    if errors:
        raise ValidationFailed("invalid call records", details=dict(list(errors.items())[:50]))
    return ingest_checked(parsed, source=source)


def import_csv(text: Any, *, actor: str) -> dict[str, Any]:
    """Import a CSV export of the call centre; rows numbered from 1 in the errors (row 1 = first data row)."""
    rows = records.csv_rows(text)
    parsed: list[CallRecord] = []
    errors: dict[str, str] = {}
    for n, row in enumerate(rows, start=1):
        try:
            parsed.append(records.parse(row, prefix=f"row {n}: "))
        except ValidationFailed as exc:
            errors.update(exc.details or {f"row {n}": exc.message})
    if errors:
        raise ValidationFailed("invalid rows in the CSV", details=dict(list(errors.items())[:50]))
    result = ingest_checked(parsed, source=f"csv:{actor}")
    return {**result, "rows": len(rows)}


def ingest_checked(parsed: list[CallRecord], *, source: str) -> dict[str, Any]:
    """Store records already checked (CSV import, simulator): unknown linked tickets are refused first."""
    bad = {f"{r.call_id}.ticket_id": "no such ticket"
           for r in {r.ticket_id: r for r in parsed if r.ticket_id}.values() if not _ticket_exists(str(r.ticket_id))}
    if bad:
        raise ValidationFailed("a linked ticket does not exist", details=dict(list(bad.items())[:50]))
    outcomes = Counter(store_record(r, source=source) for r in parsed)
    return {"received": len(parsed), "stored": outcomes["stored"], "duplicates": outcomes["duplicate"]}


def view(stored: dict[str, Any]) -> dict[str, Any]:
    """What every view shows of a call: the caller masked, no ciphertext, no blind index."""
    shown = {k: stored.get(k) for k in store.LIST_FIELDS}
    shown["outcome_label"] = records.OUTCOME_LABELS.get(str(stored.get("outcome")), stored.get("outcome"))
    return shown


def get(call_id: str) -> dict[str, Any]:
    if not isinstance(call_id, str) or not records.CALL_ID.match(call_id):
        raise ValidationFailed("invalid call id", details={"call_id": "1-64 letters, digits and _ . : -"})
    found = store.get(call_id)
    if found is None:
        raise NotFound(f"call {call_id} not found")
    return found


def link(call_id: str, ticket_id: str) -> dict[str, Any]:
    """Link a call to an existing ticket (a call is linked once)."""
    found = get(call_id)
    if not records.TICKET_ID.match(ticket_id) or not _ticket_exists(ticket_id):
        raise ValidationFailed("the ticket does not exist", details={"ticket_id": "no such ticket"})
    if found.get("ticket_id") == ticket_id:
        return view(found)
    if found.get("ticket_id"):
        raise store.CallLinked(f"call {call_id} is already linked to a ticket",
                               details={"ticket_id": "already linked"})
    return view(store.link_ticket(found, ticket_id))


def list_calls(*, day: date | None = None, agent: str | None = None, caller: str | None = None) -> list[dict[str, Any]]:
    """A day's calls (or one agent's day), or a caller's latest calls by number; masked."""
    if caller is not None:
        digits = "".join(ch for ch in caller if ch.isdigit())
        if not 4 <= len(digits) <= 20:
            raise ValidationFailed("invalid caller number", details={"caller": "a telephone number"})
        found = store.list_caller(caller_index(digits))
        if agent:
            found = [c for c in found if c.get("agent") == agent]
        return [view(c) for c in found]
    day = day or clock.now().date()
    return [view(c) for c in store.list_day(day.isoformat(), agent=agent)]


def calls_of_ticket(ticket_id: str) -> list[dict[str, Any]]:
    return [view(c) for c in store.list_ticket(ticket_id)]


def ticket_calls(ticket_id: str, actor: Actor) -> dict[str, Any]:
    """The calls linked to a ticket, for its detail page: whoever may see the ticket (the ticket door
    checks the scope: a department only its own tickets) sees its calls, masked, by start time.

    A report's calls identify the reporter (number, recorded voice), so the handling department's
    roles get them without the caller and the recording reference (Art. 37), as the ticket itself
    withholds the reporter from them. One GetItem for the ticket, one Query of its call partition.
    """
    from chalicelib.services import tickets as ticket_service

    ticket = ticket_service.default().load(ticket_id, actor)
    withheld = ticket.kind == Kind.REPORT and actor.role in REPORTER_HIDDEN_ROLES
    items = calls_of_ticket(ticket.id)
    if withheld:
        items = [{**c, "caller_masked": None, "recording": None} for c in items]
    return {"ticket_id": ticket.id, "items": items, "caller_withheld": withheld}


def _rates(counts: Counter) -> dict[str, Any]:
    offered, answered = counts["offered"], counts["answered"]
    return {"offered": offered, "answered": answered, "abandoned": counts["abandoned"], "missed": counts["missed"],
            "answer_rate": round(answered / offered, 4) if offered else None,
            "aht_seconds": round(counts["handle_seconds"] / answered, 1) if answered else None,
            "avg_wait_seconds": round(counts["wait_seconds"] / offered, 1) if offered else None,
            "handle_seconds": counts["handle_seconds"]}


def statistics(start: date, end: date, *, agent: str | None = None) -> dict[str, Any]:
    """Call volume, answer rate, average handling time by agent, hour of day and day (one Query a day).

    With ``agent``, only that agent's calls are counted (what an agent sees of the figures).
    """
    days = (end - start).days + 1
    if days > MAX_STAT_DAYS:
        raise ValidationFailed("the period is too long", details={"period": f"at most {MAX_STAT_DAYS} days"})
    total: Counter = Counter()
    by_agent: dict[str, Counter] = defaultdict(Counter)
    by_hour: dict[str, Counter] = defaultdict(Counter)
    by_day: dict[str, Counter] = defaultdict(Counter)
    for n in range(days):
        day = (start + timedelta(days=n)).isoformat()
        for hour, who, counts in store.hour_counters(day):
            if agent is not None and who != agent:
                continue
            total.update(counts)
            by_hour[hour].update(counts)
            by_day[day].update(counts)
            if who != store.NO_AGENT:
                by_agent[who].update(counts)
    return {
        "from": start.isoformat(), "to": end.isoformat(), "totals": _rates(total),
        "by_agent": sorted(({"agent": a, **_rates(c)} for a, c in by_agent.items()), key=lambda r: -r["offered"]),
        "by_hour": [{"hour": f"{h:02d}", **_rates(by_hour.get(f"{h:02d}", Counter()))} for h in range(24)],
        "by_day": [{"day": d, **_rates(c)} for d, c in sorted(by_day.items())],
    }
