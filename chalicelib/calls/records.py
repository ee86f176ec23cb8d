"""One call record from the call-centre system (CTI), checked. Pure: no I/O, no logging.

A record arrives by signed webhook or in a CSV file and has the same fields either way:

| field | meaning |
| --- | --- |
| ``call_id`` | the call centre's id of the call: the idempotency key (a second record with it changes nothing) |
| ``agent`` | the agent's user name (empty for a call abandoned in the queue before any agent took it) |
| ``caller`` | the caller's number: kept encrypted, looked up by a keyed blind index, shown masked |
| ``start`` / ``answer`` / ``end`` | ISO 8601 times; a time without an offset is Asia/Shanghai; no ``answer`` if not answered |
| ``queue`` | the call queue (skill group), e.g. ``complaint`` |
| ``outcome`` | ``answered``, ``transferred``, ``abandoned`` (caller hung up waiting), ``missed`` (an agent rang, nobody took it), ``voicemail`` |
| ``recording`` | the recording's reference in the call-centre system (no audio is stored here) |
| ``ticket_id`` | optional: the ticket registered from this call (must exist) |
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import ValidationFailed

OUTCOMES = ("answered", "transferred", "abandoned", "missed", "voicemail")
OUTCOME_LABELS = {"answered": "已接听", "transferred": "已转接", "abandoned": "放弃", "missed": "未接",
                  "voicemail": "留言"}
ANSWERED = frozenset({"answered", "transferred"})
FIELDS = ("call_id", "agent", "caller", "start", "answer", "end", "queue", "outcome", "recording", "ticket_id")
REQUIRED = ("call_id", "caller", "start", "end", "outcome")
CALL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$")
AGENT = re.compile(r"^[a-z0-9][a-z0-9_.\-]{0,63}$")
QUEUE = re.compile(r"^[\w\-]{1,40}$")
TICKET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,63}$")
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{3,24}$")
MAX_CALL = timedelta(hours=12)
MAX_RECORDING = 300
MAX_CSV_ROWS = 2000


@dataclass(frozen=True)
class CallRecord:
    """A checked call record (``caller`` is the digits only; it never leaves the service unmasked)."""

    call_id: str
    agent: str | None
    caller: str
    start: datetime
    answer: datetime | None
    end: datetime
    queue: str
    outcome: str
    recording: str | None
    ticket_id: str | None

    @property
    def answered(self) -> bool:
        return self.outcome in ANSWERED

    @property
    def wait_seconds(self) -> int:
        """Seconds in the queue: to the answer, or to the hang-up when nobody answered."""
        return int(((self.answer or self.end) - self.start).total_seconds())

    @property
    def handle_seconds(self) -> int:
        """Talk time (answer to end) of an answered call, else 0."""
        return int((self.end - self.answer).total_seconds()) if self.answer else 0

    @property
    def day(self) -> str:
        return self.start.astimezone(TZ).strftime("%Y-%m-%d")

    @property
    def hour(self) -> str:
        return self.start.astimezone(TZ).strftime("%H")


def _time(value: Any, field: str, errors: dict[str, str]) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > 40:
        errors[field] = "an ISO 8601 time"
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        errors[field] = "an ISO 8601 time"
        return None
    if not 2000 <= parsed.year <= 2199:  # also keeps time-zone arithmetic far from datetime's limits
        errors[field] = "a time between the years 2000 and 2199"
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=TZ)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse(data: Any, *, prefix: str = "") -> CallRecord:
    """A :class:`CallRecord` from a dict, or ValidationFailed naming every bad field (``prefix`` + field)."""
    if not isinstance(data, dict):
        raise ValidationFailed("a call record is an object", details={prefix.rstrip(".") or "call": "an object"})
    errors: dict[str, str] = {}
    unknown = sorted(set(data) - set(FIELDS))
    for name in unknown[:10]:
        errors[str(name)[:40]] = "unknown field"
    for name in REQUIRED:
        if data.get(name) in (None, ""):
            errors[name] = "required"
    call_id = _text(data.get("call_id"))
    if call_id and not CALL_ID.match(call_id):
        errors["call_id"] = "1-64 letters, digits and _ . : -"
    agent = _text(data.get("agent")) or None
    if agent and not AGENT.match(agent):
        errors["agent"] = "a user name (lower-case letters, digits, _ . -)"
    caller = _text(data.get("caller"))
    if caller and not PHONE.match(caller):
        errors["caller"] = "a telephone number"
    digits = "".join(ch for ch in caller if ch.isdigit())
    queue = _text(data.get("queue")) or "default"
    if not QUEUE.match(queue):
        errors["queue"] = "1-40 letters, digits, _ or -"
    outcome = _text(data.get("outcome"))
    if outcome and outcome not in OUTCOMES:
        errors["outcome"] = "one of " + ", ".join(OUTCOMES)
    recording = _text(data.get("recording")) or None
    if recording and len(recording) > MAX_RECORDING:
        errors["recording"] = f"at most {MAX_RECORDING} characters"
    ticket_id = _text(data.get("ticket_id")) or None
    if ticket_id and not TICKET_ID.match(ticket_id):
        errors["ticket_id"] = "a ticket id"
    start = _time(data.get("start"), "start", errors)
    answer = _time(data.get("answer"), "answer", errors)
    end = _time(data.get("end"), "end", errors)
    if start and end and "start" not in errors and "end" not in errors:
        if end < start:
            errors["end"] = "not before start"
        elif end - start > MAX_CALL:
            errors["end"] = "a call lasts at most 12 hours"
        if answer and not start <= answer <= end:
            errors["answer"] = "between start and end"
    if outcome in ANSWERED and not answer and "answer" not in errors:
        errors["answer"] = f"required when the outcome is {outcome}"
    if outcome and outcome not in ANSWERED and answer:
        errors["answer"] = f"a call with outcome {outcome} was not answered"
    if outcome in ANSWERED and not agent and "agent" not in errors:
        errors["agent"] = "required for an answered call"
    if errors:
        raise ValidationFailed("invalid call record", details={prefix + k: v for k, v in errors.items()})
    assert start is not None and end is not None
    return CallRecord(call_id=call_id, agent=agent, caller=digits, start=start, answer=answer, end=end,
                      queue=queue, outcome=outcome, recording=recording, ticket_id=ticket_id)


def csv_rows(text: Any) -> list[dict[str, str]]:
    """The rows of a CSV text with a header line naming :data:`FIELDS` (a UTF-8 BOM is allowed)."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationFailed("empty CSV", details={"csv": "a header line and at least one row"})
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise ValidationFailed("the CSV cannot be read", details={"csv": str(exc)[:200]}) from None
    missing = [f for f in REQUIRED if f not in header]
    unknown = [h for h in header if h not in FIELDS]
    if missing or unknown:
        details = {f"header.{m}": "missing column" for m in missing}
        details.update({f"header.{u[:40]}": "unknown column" for u in unknown[:10]})
        raise ValidationFailed("the CSV header does not name the call fields", details=details)
    rows = []
    try:
        for n, row in enumerate(reader, start=1):
            if n > MAX_CSV_ROWS:
                raise ValidationFailed("too many rows", details={"csv": f"at most {MAX_CSV_ROWS} rows per file"})
            if None in row:
                raise ValidationFailed("a row has more cells than the header", details={f"row {n}": "extra cells"})
            clean = {k.strip(): (v or "").strip() for k, v in row.items()}
            if any(clean.values()):
                rows.append(clean)
    except csv.Error as exc:
        raise ValidationFailed("the CSV cannot be read", details={"csv": str(exc)[:200]}) from None
    if not rows:
        raise ValidationFailed("empty CSV", details={"csv": "at least one row"})
    return rows
