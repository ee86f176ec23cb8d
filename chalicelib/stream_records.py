"""The table's change-stream records as plain values (:class:`TableChange`), and their parsing.

A module of its own, below both :mod:`chalicelib.streams` (the fan-out to consumers) and
:mod:`chalicelib.stream_failures` (giving a change up with its keys on the DLQ): both speak of
changes, and the fan-out calls the failure bookkeeping, so the record type cannot live in either
without an import cycle (the layers of docs/architecture.md, checked by ``lint-imports``).
:mod:`chalicelib.streams` re-exports :class:`TableChange` and :func:`parse` for its consumers.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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
