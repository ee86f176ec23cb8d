"""The table's change stream, fanned out to the consumers that need it.

One Lambda reads the DynamoDB stream (AWS recommends at most two readers per stream) and hands each
batch to every registered consumer: the outbox relay, the workflow starter, the analytics
aggregator. Delivery is at least once and in order per item; a consumer that raises makes the
whole batch retry, so every consumer must be idempotent (the record's ``event_id`` helps).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from boto3.dynamodb.types import TypeDeserializer

_deserializer = TypeDeserializer()


@dataclass(frozen=True)
class TableChange:
    """One changed item: what happened, its keys, and its images before and after."""

    event_id: str
    event_name: str  # INSERT | MODIFY | REMOVE
    sequence_number: str
    pk: str
    sk: str
    new: dict[str, Any] | None
    old: dict[str, Any] | None

    @property
    def item(self) -> dict[str, Any]:
        """The newest image there is."""
        return self.new if self.new is not None else (self.old or {})


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [_plain(v) for v in value]
    return value


def _image(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    return _plain({k: _deserializer.deserialize(v) for k, v in raw.items()})


def parse(event: dict[str, Any]) -> list[TableChange]:
    """The stream event's records as :class:`TableChange` values."""
    changes = []
    for record in event.get("Records", []):
        ddb = record.get("dynamodb", {})
        keys = _image(ddb.get("Keys")) or {}
        changes.append(TableChange(
            event_id=record.get("eventID", ""), event_name=record.get("eventName", ""),
            sequence_number=str(ddb.get("SequenceNumber", "")), pk=str(keys.get("PK", "")), sk=str(keys.get("SK", "")),
            new=_image(ddb.get("NewImage")), old=_image(ddb.get("OldImage"))))
    return changes


Consumer = Callable[[list[TableChange]], None]
_CONSUMERS: list[tuple[str, Callable[[TableChange], bool], Consumer]] = []


def consumer(name: str, *, accepts: Callable[[TableChange], bool]) -> Callable[[Consumer], Consumer]:
    """Register a stream consumer for the changes ``accepts`` picks (decorator)."""
    def register(fn: Consumer) -> Consumer:
        if any(existing == name for existing, _, _ in _CONSUMERS):
            raise ValueError(f"stream consumer registered twice: {name}")
        _CONSUMERS.append((name, accepts, fn))
        return fn
    return register


def consumers() -> list[str]:
    """Names of the registered consumers (for operators and tests)."""
    return [name for name, _, _ in _CONSUMERS]


def dispatch(event: dict[str, Any]) -> dict[str, int]:
    """Hand one stream batch to every consumer; returns how many changes each took."""
    changes = parse(event)
    taken: dict[str, int] = {}
    for name, accepts, fn in _CONSUMERS:
        mine = [c for c in changes if accepts(c)]
        if mine:
            fn(mine)
        taken[name] = len(mine)
    return taken


def is_ticket(change: TableChange) -> bool:
    """The ticket item itself changed."""
    return change.pk.startswith("T#") and change.sk == "TICKET"


def is_outbox_insert(change: TableChange) -> bool:
    """A new outbox message was written."""
    return change.pk.startswith("T#") and change.sk.startswith("O#") and change.event_name == "INSERT"
