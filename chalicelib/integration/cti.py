"""The call-centre system's webhook (CTI): who sent it, and is it authentic.

``POST /cti/{partner}/calls`` carries call records from a partner of kind ``call_center``, signed
like every partner webhook (Standard Webhooks, :mod:`signing`) with the partner's active keys from
the registry (several during a rotation; a rotated key is looked up once more). Nothing is read
from the body before the signature checks out; nothing about the body is logged.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.domain.errors import DomainError, NotFound, ValidationFailed
from chalicelib.domain.jsonbody import parse_json
from chalicelib.integration import keys as partner_keys
from chalicelib.integration import registry, signing
from chalicelib.observability import logger

KIND = "call_center"
EVENT_TYPE = "call.completed"


class CtiSignatureRejected(DomainError):
    """Not an authentic, fresh webhook of an enabled call-centre partner (HTTP 401)."""

    code = "invalid_signature"
    http_status = 401


def verify(partner_id: str, headers: dict[str, str], raw: bytes, now: datetime) -> None:
    """Raise :class:`CtiSignatureRejected` unless a call-centre partner signed exactly these bytes."""
    entry = registry.find(partner_id, cached=True)
    if entry is None or not entry.get("enabled", True) or entry.get("kind") != KIND:
        raise CtiSignatureRejected("unknown or disabled call-centre partner")

    def check(force: bool) -> None:
        bundle = partner_keys.store.load(partner_id, force=force)
        signing.verify(headers, raw, now=now.timestamp(),
                       hmac_secrets=partner_keys.active(bundle, "hmac", now),
                       public_keys=partner_keys.active(bundle, "ed25519_public", now))
    try:
        try:
            check(False)
        except signing.SignatureError as exc:
            if exc.reason != "no_matching_signature" or not partner_keys.store.may_refresh(partner_id):
                raise
            check(True)
    except signing.SignatureError as exc:
        logger.info("cti webhook signature rejected", extra={"partner": partner_id, "reason": exc.reason})
        raise CtiSignatureRejected("the webhook signature could not be verified",
                                   details={"reason": exc.reason}) from None
    except NotFound:
        raise CtiSignatureRejected("the partner has no keys") from None


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
