"""Labelled examples from dispatchers' corrections: what the model should have said.

When a dispatcher sends a ticket to a department other than the model's first choice, that
decision is a labelled example for the next training: the ticket's text (phone and ID numbers
masked), the department chosen (the label), the district, the ticket, the model version that
was wrong, and when. Examples live in the table, one partition per month::

    PK = LABEL#<yyyy-mm>    SK = <at ISO 8601>#<ticket id>#<ticket version>

written in the same transaction as the decision itself (a store ``Companion``), and read back
month by month with one Query each (never a Scan).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterator

from pynamodb.attributes import MapAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.ticket import aware
from chalicelib.store.models import TableMeta

PARTITION_PREFIX = "LABEL#"


class LabelledExampleItem(Model):
    """One labelled example (``LABEL#<yyyy-mm>`` / ``<at>#<ticket id>#<version>``), written once."""

    class Meta(TableMeta):  # the single table, declared once in store/models.py
        pass

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    data = MapAttribute(default=dict)


@dataclass(frozen=True)
class LabelledExample:
    """A dispatcher's decision that differs from the model's first choice."""

    text: str  # request and facts, phone and ID numbers masked
    label: str  # the department the dispatcher chose
    district: str | None
    ticket_id: str
    ticket_version: int
    model_version: str
    predicted: str  # the model's first choice
    predicted_probability_bp: int
    decision: str  # dispatch | hand_to_local | transfer
    decided_by: str
    at: datetime
    kind: str | None = None
    channel: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text, "label": self.label, "district": self.district, "ticket_id": self.ticket_id,
            "ticket_version": self.ticket_version, "model_version": self.model_version,
            "predicted": self.predicted, "predicted_probability_bp": self.predicted_probability_bp,
            "decision": self.decision, "decided_by": self.decided_by,
            "at": self.at.astimezone(TZ).isoformat(), "kind": self.kind, "channel": self.channel,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LabelledExample":
        return cls(text=str(d["text"]), label=str(d["label"]), district=d.get("district"),
                   ticket_id=str(d["ticket_id"]), ticket_version=int(d.get("ticket_version") or 0),
                   model_version=str(d.get("model_version") or ""), predicted=str(d.get("predicted") or ""),
                   predicted_probability_bp=int(d.get("predicted_probability_bp") or 0),
                   decision=str(d.get("decision") or "dispatch"), decided_by=str(d.get("decided_by") or ""),
                   at=datetime.fromisoformat(str(d["at"])), kind=d.get("kind"), channel=d.get("channel"))


def month_of(at: datetime) -> str:
    """``yyyy-mm`` of a moment, in Asia/Shanghai."""
    return aware(at, "at").strftime("%Y-%m")


def check_month(month: Any) -> str:
    """A ``yyyy-mm`` string; ValidationFailed otherwise."""
    try:
        if isinstance(month, str) and len(month) == 7:
            date.fromisoformat(month + "-01")
            return month
    except ValueError:
        pass
    raise ValidationFailed("invalid month", details={"month": "YYYY-MM"})


def item_for(example: LabelledExample) -> LabelledExampleItem:
    """The stored form of an example (for a transaction; nothing is written here)."""
    at = example.at.astimezone(TZ)
    return LabelledExampleItem(f"{PARTITION_PREFIX}{month_of(at)}",
                               f"{at.isoformat()}#{example.ticket_id}#{example.ticket_version:010d}",
                               data=example.to_dict())


def page(month: str, *, limit: int = 50, cursor: dict[str, Any] | None = None
         ) -> tuple[list[LabelledExample], dict[str, Any] | None]:
    """One page of a month's examples, oldest first, and the key to continue from."""
    result = LabelledExampleItem.query(f"{PARTITION_PREFIX}{check_month(month)}", limit=limit,
                                       last_evaluated_key=cursor)
    examples = [LabelledExample.from_dict(item.data.as_dict()) for item in result]
    return examples, result.last_evaluated_key


def months_back(now: datetime, months: int) -> list[str]:
    """The ``months`` months up to and including the one of ``now``, oldest first."""
    current = aware(now, "now")
    year, month = current.year, current.month
    out: list[str] = []
    for _ in range(max(months, 1)):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def read_months(months: list[str]) -> Iterator[LabelledExample]:
    """Every example of the given months (one paginated Query per month)."""
    for month in months:
        for item in LabelledExampleItem.query(f"{PARTITION_PREFIX}{check_month(month)}"):
            yield LabelledExample.from_dict(item.data.as_dict())


def latest_per_ticket(examples: list[LabelledExample]) -> list[LabelledExample]:
    """The last decision on each ticket (a ticket re-dispatched twice teaches its final label)."""
    latest: dict[str, LabelledExample] = {}
    for example in sorted(examples, key=lambda e: (e.at, e.ticket_version)):
        latest[example.ticket_id] = example
    return sorted(latest.values(), key=lambda e: (e.at, e.ticket_id))
