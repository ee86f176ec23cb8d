"""The ticket repository: one GetItem to load, one TransactWriteItems to save a transition.

A save writes, atomically: the ticket item (conditional on the version that was read, so of two
concurrent actions exactly one wins), the queue items that changed (put new, delete stale),
the timeline events and the outbox messages. Nothing is half-written.
"""
from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import secrets
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator, Sequence

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.config import blind_index_key
from chalicelib.cursors import decode_cursor, encode_cursor
from chalicelib.domain.calendar import TZ
from chalicelib.domain.deadlines import clock_checkpoint
from chalicelib.domain.errors import ConcurrentModification, NotFound, ValidationFailed
from chalicelib.domain.intake import normalize_phone
from chalicelib.domain.privacy import mask_name, mask_text
from chalicelib.domain.queues import MINE, QueueEntry, mine_entries, queue_entries
from chalicelib.domain.ticket import STATUS_LABELS, Outcome, Ticket, TimelineEvent, encode
from chalicelib.store import fieldcrypt
from chalicelib.store.models import LookupItem, EventItem, OutboxItem, QueueItem, TicketItem, TrackingItem

TICKET_SK = "TICKET"
TRACK_SK = "TRACK"
CHECKPOINT_SHARDS = 8
# GSI2 (tickets by received time): GSI2PK = "D#<yyyy-mm>#<shard>" (the received month in
# Asia/Shanghai, and a shard of the ticket id), GSI2SK = "<received iso>#<id>".
# - Write heat: every write of a ticket item re-writes its index entry, and the tickets written all
#   day are mostly the day's own, so one unsharded key would take nearly every ticket write into one
#   index partition. Sharding by ticket id spreads them over RECEIVED_SHARDS partitions. Keying by
#   month instead of day changes nothing there: today's writes go to today's partitions either way
#   (8 of them), older months' partitions only see updates of their older tickets.
# - Size: a GSI without local secondary indexes has no item-collection size limit (the 10 GB limit
#   applies to tables with LSIs), so a month's collection may grow as large as it likes; DynamoDB
#   splits a partition by sort-key range when it has to.
# - Reads: a range of days is (months touched) x RECEIVED_SHARDS Queries, each bounded by
#   "GSI2SK BETWEEN <from> AND <to>~" and merged by GSI2SK; months are read one after the other
#   (lazily), so a page that fills from the first month costs RECEIVED_SHARDS Queries. Day keys
#   cost days x shards: 720 Queries for a 90-day search.
RECEIVED_SHARDS = 8
OUTBOX_TTL_DAYS = 30
_FAR_FUTURE = "9999-12-31T23:59:59+08:00"
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O/1/I: read out over the phone


def ticket_pk(ticket_id: str) -> str:
    return f"T#{ticket_id}"


def new_ticket_id(now: datetime) -> str:
    """A readable, unique-enough id: date + 8 random characters (collisions fail the put)."""
    return now.astimezone(TZ).strftime("%Y%m%d") + "-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))


def new_tracking_code() -> str:
    """The citizen's tracking code (查询码): 12 characters, grouped for reading aloud."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def canonical_tracking_code(raw: str) -> str | None:
    """A tracking code as stored (``ABCD-EFGH-JKLM``), however the citizen typed it: with or without
    dashes or spaces, in any case. None when it cannot be one (wrong length or characters)."""
    compact = "".join(ch for ch in raw if ch not in "- \t").upper()
    if len(compact) != 12 or any(ch not in _ALPHABET for ch in compact):
        return None
    return f"{compact[:4]}-{compact[4:8]}-{compact[8:]}"


def blind_index(value: str) -> str:
    """A keyed hash of a normalised phone or ID number, for lookups without storing it in a key."""
    normalised = "".join(ch for ch in value if ch.isalnum()).upper()
    key = blind_index_key().encode("utf-8")
    return hmac.new(key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _iso(dt: datetime | None) -> str:
    return dt.astimezone(TZ).isoformat() if dt else _FAR_FUTURE


def _shard(ticket_id: str, shards: int = CHECKPOINT_SHARDS) -> str:
    return str(int(hashlib.sha1(ticket_id.encode()).hexdigest(), 16) % shards)


def received_key(received: datetime, ticket_id: str) -> str:
    """The GSI2 partition key of a ticket received at ``received``: its month (Asia/Shanghai) and shard."""
    return f"D#{received.astimezone(TZ).strftime('%Y-%m')}#{_shard(ticket_id, RECEIVED_SHARDS)}"


def received_sort_key(ticket: Ticket) -> str:
    """The GSI2 sort key of a ticket: its received time (Asia/Shanghai, ISO) and id."""
    return f"{ticket.created_at.astimezone(TZ).isoformat()}#{ticket.id}"


def received_cursor(ticket: Ticket) -> str:
    """The cursor of the page that continues after ``ticket`` in a received-time listing."""
    return encode_cursor({"GSI2SK": {"S": received_sort_key(ticket)}}) or ""


def month_keys(month: str) -> list[str]:
    """Every GSI2 partition key of ``month`` (YYYY-MM): reading the month reads them all."""
    return [f"D#{month}#{shard}" for shard in range(RECEIVED_SHARDS)]


def months_between(start: date, end: date) -> list[str]:
    """The months (YYYY-MM) a range of days touches, oldest first."""
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def items_received_between(start: date, end: date, *, after: str | None = None, limit: int | None = None,
                           newest_first: bool = False) -> Iterator[TicketItem]:
    """Ticket items received from ``start`` to ``end`` (days in Asia/Shanghai, inclusive) in received
    order (GSI2SK; newest first if asked), strictly after the sort key ``after`` in that order.

    Each month touched is RECEIVED_SHARDS Queries on "GSI2SK BETWEEN" the range's bounds (at most
    ``limit`` items each), merged; months are read one after the other, lazily, so an iterator that
    is not read to the end does not query the months it did not reach.
    """
    low, high = start.isoformat(), end.isoformat() + "T~"  # "~" sorts after every character of a time
    if after is not None:
        if newest_first:
            high = min(high, after)
        else:
            low = max(low, after)
    if low > high:
        return iter(())
    per_shard = None if limit is None else limit + (1 if after is not None else 0)  # the cursor's own item

    def shard(key: str) -> Iterator[TicketItem]:
        items = TicketItem.by_day.query(key, TicketItem.GSI2SK.between(low, high), limit=per_shard,
                                        scan_index_forward=not newest_first)
        return (item for item in items if item.GSI2SK != after)

    def month(name: str) -> Iterator[TicketItem]:
        return heapq.merge(*(shard(key) for key in month_keys(name)), key=lambda item: item.GSI2SK,
                           reverse=newest_first)

    months = months_between(start, end)
    return itertools.chain.from_iterable(month(name) for name in (reversed(months) if newest_first else months))


def load_ticket(item: TicketItem) -> Ticket:
    """The domain ticket of a stored item (ID numbers decrypted)."""
    return Ticket.from_dict(fieldcrypt.open_ticket(item.data.as_dict()))


def _id_lookups(ticket: Ticket) -> list[LookupItem]:
    """Blind-index entries that find a ticket by a party's ID number without storing the number."""
    created = ticket.created_at.astimezone(TZ).isoformat()
    parties = [ticket.complainant, *(j.party for j in ticket.co_complainants)]
    numbers = {p.id_number for p in parties if p is not None and p.id_number}
    return [LookupItem(f"PID#{blind_index(n)}", f"{created}#{ticket.id}", ticket_id=ticket.id) for n in sorted(numbers)]


def ticket_item(ticket: Ticket) -> TicketItem:
    """The stored form of a ticket, with its index keys."""
    created = ticket.created_at.astimezone(TZ)
    item = TicketItem(ticket_pk(ticket.id), TICKET_SK, version=ticket.version, status=ticket.status,
                      data=fieldcrypt.seal_ticket(ticket.to_dict()))
    item.GSI2PK = received_key(created, ticket.id)
    item.GSI2SK = received_sort_key(ticket)
    if ticket.complainant and ticket.complainant.phone:
        item.GSI3PK = "C#" + blind_index(normalize_phone(ticket.complainant.phone))  # 0138... = 138...
        item.GSI3SK = f"{created.isoformat()}#{ticket.id}"
    checkpoint = clock_checkpoint(ticket)  # the domain's rule (domain/deadlines.py)
    if checkpoint is not None and ticket.is_open:
        item.GSI4PK = f"CK#{_shard(ticket.id)}"
        item.GSI4SK = f"{_iso(checkpoint)}#{ticket.id}"
        item.checkpoint_at = timer_timestamp(checkpoint)
    elif ticket.is_open:
        item.checkpoint_at = NEVER_TIMESTAMP  # nothing to wait for (the flow idles until a change)
    return item


TIMER_SLACK = timedelta(seconds=1)
NEVER_TIMESTAMP = "9999-12-31T23:59:59Z"


def timer_timestamp(moment: datetime) -> str:
    """``moment`` as a Step Functions Wait reads it: UTC, whole seconds, ``Z``.

    Rounded up to the whole second, plus :data:`TIMER_SLACK`: a timer that truncates its wait to
    whole seconds (moto does) must never wake before the checkpoint, or the flow would find nothing
    due yet and have to wait again.
    """
    utc = moment.astimezone(timezone.utc)
    whole = utc.replace(microsecond=0)
    if whole < utc:
        whole += timedelta(seconds=1)
    return (whole + TIMER_SLACK).strftime("%Y-%m-%dT%H:%M:%SZ")


def summary(ticket: Ticket, entry: QueueEntry | None = None) -> dict[str, Any]:
    """What a list shows of a ticket: masked, no free text beyond a short masked title."""
    names = [p.name for p in (ticket.complainant, *(j.party for j in ticket.co_complainants)) if p and p.name]
    title = (mask_text(ticket.request or ticket.facts or "", names=names, hide_names=True) or "")[:60]
    warning = "none"
    for state in ticket.clocks.values():
        if state.status == "running" and state.warning in ("yellow", "red"):
            warning = "red" if state.warning == "red" or warning == "red" else "yellow"
    data: dict[str, Any] = {
        "id": ticket.id, "kind": ticket.kind, "channel": ticket.channel, "status": ticket.status,
        "status_label": STATUS_LABELS.get(ticket.status, ticket.status), "category": ticket.category,
        "district": ticket.district, "priority": ticket.priority, "title": title,
        "complainant": mask_name(ticket.complainant.name) if ticket.complainant else None,
        "respondent": ticket.respondent.name if ticket.respondent else None,
        "created_at": ticket.created_at.astimezone(TZ).isoformat(), "version": ticket.version,
        "departments": ticket.departments, "warning": warning,
    }
    if ticket.recommendation is not None:  # the model's top 3 for the dispatcher's list (issue 5)
        rec = ticket.recommendation
        data["recommendation"] = {
            "model_version": rec.model_version, "auto": rec.auto, "threshold_bp": rec.threshold_bp,
            "departments": rec.departments,
            "district": rec.jurisdiction.district if rec.jurisdiction is not None else None,
        }
    if entry is not None:
        data["queue"] = entry.queue
        data["owner"] = entry.owner
        data["due"] = entry.due.astimezone(TZ).isoformat() if entry.due else None
        clock_state = ticket.clocks.get(entry.clock) if entry.clock else None
        if clock_state is not None:  # the row's own clock, with the warning recorded on it
            data["clock"] = entry.clock
            data["clock_warning"] = clock_state.warning
        if "#" in entry.key:
            data["ref"] = entry.key.split("#", 1)[1]
    return encode(data)


def stored_entries(ticket: Ticket) -> list[QueueEntry]:
    """The work-queue entries of ``ticket`` and its "my tickets" entries (kept after closure too)."""
    return [*queue_entries(ticket), *mine_entries(ticket)]


def _queue_sk(entry: QueueEntry) -> str:
    if entry.queue == MINE:  # not a work queue: its own prefix, so a ticket's Q# items stay its work queues
        return f"M#{entry.owner}#{entry.key}"
    return f"Q#{entry.queue}#{entry.owner}#{entry.key}"


def _queue_item(ticket: Ticket, entry: QueueEntry) -> QueueItem:
    return QueueItem(ticket_pk(ticket.id), _queue_sk(entry), GSI1PK=f"Q#{entry.queue}#{entry.owner}",
                     GSI1SK=f"{_iso(entry.due)}#{entry.key}", summary=summary(ticket, entry))


def mine_items(ticket: Ticket, entries: Sequence[QueueEntry]) -> list[QueueItem]:
    """The stored items of ``ticket``'s "my tickets" ``entries``, exactly as a save writes them
    (for the one-off backfill of tickets stored before that index existed)."""
    return [_queue_item(ticket, entry) for entry in entries]


_QUEUE_KEY = ("PK", "SK", "GSI1PK", "GSI1SK")


def _merged_positions(queue: str, owners: Sequence[str], cursor: str | None) -> dict[str, dict]:
    """Each owner's position in a merged queue's cursor; ValidationFailed for a cursor this
    queue did not give out (another owner, another queue, a key of another shape)."""
    positions = decode_cursor(cursor) or {}
    for owner, key in positions.items():
        if owner not in owners or (key and (set(key) != set(_QUEUE_KEY)
                                            or not all(isinstance(key[k].get("S"), str) for k in _QUEUE_KEY)
                                            or key["GSI1PK"]["S"] != f"Q#{queue}#{owner}")):
            raise ValidationFailed("invalid cursor", details={"cursor": "not a cursor this API gave out"})
    return dict(positions)


def _event_items(ticket_id: str, version: int, events: Sequence[TimelineEvent]) -> list[EventItem]:
    return [EventItem(ticket_pk(ticket_id), f"E#{version:010d}#{n:03d}", data=e.to_dict())
            for n, e in enumerate(events)]


def _outbox_items(outcome: Outcome, now: datetime) -> list[OutboxItem]:
    expires = int(time.time()) + OUTBOX_TTL_DAYS * 86400
    return [OutboxItem(ticket_pk(outcome.ticket.id), f"O#{outcome.ticket.version:010d}#{n:03d}", topic=m.topic,
                       payload=encode(m.payload), created_at=now.astimezone(TZ).isoformat(), expires_at=expires)
            for n, m in enumerate(outcome.outbox)]


def _connection() -> Connection:
    return TicketItem._get_connection().connection


@dataclass(frozen=True)
class Companion:
    """An item another use case writes in the same transaction as a ticket change (put, with a condition)."""

    item: Any  # a PynamoDB model instance of the same table
    condition: Any = None


CompanionBuilder = Callable[[Sequence[Outcome]], Iterable[Companion]]
_COMPANIONS: ContextVar[tuple[CompanionBuilder, ...]] = ContextVar("ticket_companions", default=())


@contextmanager
def companions(build: CompanionBuilder) -> Iterator[None]:
    """Within this block, every ticket create/save also writes ``build(outcomes)``, atomically.

    Lets an adapter keep its own items consistent with a use case it calls unchanged (the partner
    integration writes its external-id mapping with the ticket that registering creates). A failed
    companion condition fails the whole transaction: nothing of the ticket change is written.
    """
    token = _COMPANIONS.set(_COMPANIONS.get() + (build,))
    try:
        yield
    finally:
        _COMPANIONS.reset(token)


def _companion_items(outcomes: Sequence[Outcome]) -> list[Companion]:
    return [c for build in _COMPANIONS.get() for c in build(outcomes)]


def _raise_conflict(exc: TransactWriteError, what: str) -> None:
    reasons = [r.code if r else None for r in (exc.cancellation_reasons or [])]
    if "ConditionalCheckFailed" in reasons:
        raise ConcurrentModification(f"{what} was changed by someone else: reload and try again",
                                     details={"reasons": [r for r in reasons if r]}) from None
    if "TransactionConflict" in reasons:
        raise ConcurrentModification(f"{what} is being changed right now: try again") from None
    raise exc


class TicketRepository:
    """Load and save tickets with their queue items, timeline and outbox."""

    def get(self, ticket_id: str) -> Ticket:
        """The ticket (strongly consistent); NotFound if there is none."""
        if not ticket_id or len(ticket_id) > 64:
            raise NotFound("ticket not found")
        try:
            item = TicketItem.get(ticket_pk(ticket_id), TICKET_SK, consistent_read=True)
        except DoesNotExist:
            raise NotFound(f"ticket {ticket_id} not found") from None
        return load_ticket(item)

    def create(self, outcomes: Sequence[Outcome], *, now: datetime, history: Sequence[Outcome] = ()) -> None:
        """Store newly registered tickets (one or two linked) in one transaction.

        ``history`` (with a single registration only): transitions already played on that ticket,
        stored in the same transaction, so the ticket first appears at its last state with every
        event. Demo seeding of back-dated tickets needs this: between a separate registration and
        save, the ticket's flow could act on it (a warning on a long-passed deadline) and the save
        would lose the race.
        """
        if history and len(outcomes) != 1:
            raise ValueError("a played history belongs to a single registered ticket")
        with TransactWrite(connection=_connection()) as tx:
            for outcome in outcomes:
                ticket = history[-1].ticket if history else outcome.ticket
                tx.save(ticket_item(ticket), condition=TicketItem.PK.does_not_exist())
                for lookup in _id_lookups(ticket):
                    tx.save(lookup)
                tx.save(TrackingItem(f"TRACK#{ticket.tracking_code}", TRACK_SK, ticket_id=ticket.id),
                        condition=TrackingItem.PK.does_not_exist())
                for entry in stored_entries(ticket):
                    tx.save(_queue_item(ticket, entry))
                for step in (outcome, *history):
                    for event in _event_items(ticket.id, step.ticket.version, step.events):
                        tx.save(event)
                    for message in _outbox_items(step, now):
                        tx.save(message)
            for companion in _companion_items([*outcomes, *history]):
                tx.save(companion.item, condition=companion.condition)

    def save(self, before: Ticket, outcomes: Sequence[Outcome], *, now: datetime,
             expected_version: int | None = None) -> None:
        """Store the result of transitions on one ticket, conditional on the stored version being
        ``expected_version`` (the version the caller saw; ``before.version`` if not given).

        ``outcomes`` are successive transitions (usually one); the last one's ticket is stored.
        A ticket at any other version fails the whole transaction (ConcurrentModification).
        """
        after = outcomes[-1].ticket
        expected = before.version if expected_version is None else expected_version
        old = {_queue_sk(e): e for e in stored_entries(before)}
        new = {_queue_sk(e): e for e in stored_entries(after)}
        try:
            with TransactWrite(connection=_connection()) as tx:
                tx.save(ticket_item(after), condition=TicketItem.version == expected)
                for sk in old.keys() - new.keys():
                    tx.delete(QueueItem(ticket_pk(after.id), sk))
                for sk, entry in new.items():
                    tx.save(_queue_item(after, entry))
                for outcome in outcomes:
                    for event in _event_items(after.id, outcome.ticket.version, outcome.events):
                        tx.save(event)
                    for message in _outbox_items(outcome, now):
                        tx.save(message)
                for companion in _companion_items(outcomes):
                    tx.save(companion.item, condition=companion.condition)
        except TransactWriteError as exc:
            _raise_conflict(exc, f"ticket {after.id}")

    def ticket_for_tracking_code(self, code: str) -> str:
        """The ticket id behind a citizen's tracking code."""
        try:
            return TrackingItem.get(f"TRACK#{code.strip().upper()}", TRACK_SK).ticket_id
        except DoesNotExist:
            raise NotFound("no ticket with this tracking code") from None

    def ids_for_id_number(self, id_number: str, *, limit: int = 50) -> list[str]:
        """Tickets whose complainant gave this ID number (newest first), through the blind index."""
        return [i.ticket_id for i in LookupItem.query(f"PID#{blind_index(id_number)}", scan_index_forward=False,
                                                       limit=limit)]

    def timeline(self, ticket_id: str) -> list[TimelineEvent]:
        """Every event of a ticket in order (one paginated Query on its partition)."""
        items = EventItem.query(ticket_pk(ticket_id), EventItem.SK.startswith("E#"), consistent_read=True)
        return [TimelineEvent.from_dict(i.data.as_dict()) for i in items]

    def queue(self, queue: str, owner: str, *, limit: int = 50, cursor: str | None = None,
              newest_first: bool = False) -> tuple[list[dict], str | None]:
        """One page of a work queue sorted by due time (latest first if asked), and the cursor of the next page."""
        start = decode_cursor(cursor)
        result = QueueItem.by_queue.query(f"Q#{queue}#{owner}", limit=limit, last_evaluated_key=start,
                                          scan_index_forward=not newest_first)
        items = [i.summary.as_dict() for i in result]
        return items, encode_cursor(result.last_evaluated_key)

    def queues(self, queue: str, owners: Sequence[str], *, limit: int = 50,
               cursor: str | None = None) -> tuple[list[dict], str | None]:
        """One page of several owners' partitions of a work queue (a department and its grassroots
        offices), merged by due time, and the cursor of the next page.

        One Query of at most ``limit`` items per owner not yet read to its end: the first ``limit``
        of the merge are then exact. The cursor holds each owner's position (its last item shown,
        ``{}`` once read to the end; an owner not named starts from its beginning).
        """
        positions = _merged_positions(queue, owners, cursor)
        fetched: list[tuple[str, str, QueueItem]] = []
        ended: dict[str, bool] = {}
        for owner in owners:
            start = positions.get(owner)
            if start == {}:
                continue
            result = QueueItem.by_queue.query(f"Q#{queue}#{owner}", limit=limit, last_evaluated_key=start)
            fetched.extend((item.GSI1SK, owner, item) for item in result)
            ended[owner] = result.last_evaluated_key is None
        fetched.sort(key=lambda row: (row[0], row[1]))
        page = fetched[:limit]
        for sort_key, owner, item in page:
            positions[owner] = {"PK": {"S": item.PK}, "SK": {"S": item.SK}, "GSI1PK": {"S": item.GSI1PK},
                                "GSI1SK": {"S": sort_key}}
        for owner, done in ended.items():
            if done and not any(o == owner for _, o, _ in fetched[limit:]):
                positions[owner] = {}
        more = any(positions.get(owner) != {} for owner in owners)
        return [item.summary.as_dict() for _, _, item in page], encode_cursor(positions) if more else None

    def due_in_queue(self, queue: str, owner: str, now: datetime, *, limit: int = 100) -> list[str]:
        """Ticket ids of a work queue's entries due at or before ``now``, earliest first (one Query
        on GSI1, no Scan): what a scheduled job such as the archive job works through."""
        bound = _iso(now) + "~"
        result = QueueItem.by_queue.query(f"Q#{queue}#{owner}", QueueItem.GSI1SK <= bound, limit=limit)
        return [item.PK[2:] for item in result]

    def recent_for_complainant(self, phone: str, *, limit: int = 20) -> list[Ticket]:
        """The complainant's most recent tickets (repeat detection, Art. 35)."""
        result = TicketItem.by_complainant.query("C#" + blind_index(phone), scan_index_forward=False, limit=limit)
        return [load_ticket(i) for i in result]

    def received_on(self, day: str, *, limit: int = 200, cursor: str | None = None) -> tuple[list[Ticket], str | None]:
        """Tickets received on one day (YYYY-MM-DD, Asia/Shanghai), in order."""
        one = date.fromisoformat(day)
        return self.received_between(one, one, limit=limit, cursor=cursor)

    def received_between(self, start: date, end: date, *, limit: int = 200, cursor: str | None = None,
                         newest_first: bool = False) -> tuple[list[Ticket], str | None]:
        """One page of the tickets received from ``start`` to ``end`` (inclusive, Asia/Shanghai), in
        received order (or newest first), and the cursor of the next page (the page's last GSI2SK)."""
        position = decode_cursor(cursor)
        after = position.get("GSI2SK", {}).get("S") if position else None
        if position is not None and not isinstance(after, str):
            raise ValidationFailed("invalid cursor", details={"cursor": "not a cursor this API gave out"})
        # limit + 1 from each shard: the first limit + 1 of the merge are then exact, and the extra
        # one tells whether there is a next page
        items = list(itertools.islice(items_received_between(start, end, after=after, limit=limit + 1,
                                                             newest_first=newest_first), limit + 1))
        page = items[:limit]
        more = len(items) > limit
        return [load_ticket(i) for i in page], encode_cursor({"GSI2SK": {"S": page[-1].GSI2SK}} if more else None)

    def due_checkpoints(self, now: datetime, *, limit: int = 500) -> Iterable[Ticket]:
        """Open tickets whose next timer checkpoint is at or before ``now`` (the sweeper's query)."""
        bound = _iso(now)
        for shard in range(CHECKPOINT_SHARDS):
            for item in TicketItem.by_checkpoint.query(f"CK#{shard}", TicketItem.GSI4SK <= bound + "~", limit=limit):
                yield load_ticket(item)
