"""The call-centre system's webhook (CTI): who sent it, and is it authentic.

``POST /cti/{partner}/calls`` carries call records from a partner of kind ``call_center``, signed
like every partner webhook (Standard Webhooks, :mod:`signing`) with the partner's active keys from
the registry (several during a rotation; a rotated key is looked up once more). Nothing is read
from the body before the signature checks out; nothing about the body is logged.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.jsonbody import parse_json
from chalicelib.integration import keys as partner_keys
from chalicelib.integration import registry
from chalicelib.integration.keys import SignatureRejected

KIND = "call_center"
EVENT_TYPE = "call.completed"


def verify(partner_id: str, headers: dict[str, str], raw: bytes, now: datetime) -> None:
    """Raise :class:`SignatureRejected` unless a call-centre partner signed exactly these bytes."""
    entry = registry.find(partner_id, cached=True)
    if entry is None or not entry.get("enabled", True) or entry.get("kind") != KIND:
        raise SignatureRejected("unknown or disabled call-centre partner")
    partner_keys.verify_signed(partner_id, headers, raw, now)


def calls_of(raw: bytes) -> list[Any]:
    """The call records of a verified body ``{"type": "call.completed", "data": {"calls": [...]}}``."""
    body = parse_json(raw)
    if not isinstance(body, dict) or body.get("type") != EVENT_TYPE or not isinstance(body.get("data"), dict):
        raise ValidationFailed("invalid webhook body",
                               details={"type": f"must be {EVENT_TYPE}", "data": "an object with calls"})
    unknown = sorted(set(body) - {"type", "timestamp", "data"}) + sorted(set(body["data"]) - {"calls"})
    if unknown:
        raise ValidationFailed("invalid webhook body", details={str(k)[:40]: "unknown field" for k in unknown[:10]})
    return body["data"].get("calls")  # type: ignore[no-any-return]
