"""Status queries (状态查询) from the platform a ticket came from: a 12345 (or upper-level) platform
asks, by its own case numbers, where our tickets stand.

``POST /partners/{partner_id}/status-query`` with ``{"external_ids": ["SZ12345-...", ...]}``
(at most 50), signed like every webhook (Standard Webhooks over the raw bytes, the partner's
active keys, a timestamp within 5 minutes). Each number is looked up in the partner's own id
mapping (one GetItem), so a partner only ever learns about the tickets it assigned; the answer
gives, per number, our status and the 12345 status (:func:`hotline12345.answer`), or
``found: false``. A query changes nothing and writes nothing, so a repeated one is harmless.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import fastjsonschema

from chalicelib.domain.errors import Forbidden, NotFound, ValidationFailed
from chalicelib.domain.jsonbody import parse_json
from chalicelib.integration import hotline12345, records, registry
from chalicelib.integration import keys as partner_keys
from chalicelib.integration.keys import SignatureRejected

MAX_IDS = 50
_QUERY = fastjsonschema.compile({
    "type": "object", "additionalProperties": False, "required": ["external_ids"],
    "properties": {"external_ids": {"type": "array", "minItems": 1, "maxItems": MAX_IDS, "items": {
        "type": "string", "minLength": 1, "maxLength": 128, "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]*$"}}}})


def answer(partner_id: str, headers: dict[str, str], raw: bytes, now: datetime) -> dict[str, Any]:
    """The signed query's answer; SignatureRejected (401), Forbidden (403) or ValidationFailed (400)."""
    from chalicelib.services import tickets

    entry = registry.find(partner_id, cached=True)
    if entry is None or not entry.get("enabled", True):
        raise SignatureRejected("unknown or disabled partner")
    partner_keys.verify_signed(partner_id, headers, raw, now)
    if entry.get("kind") not in registry.ORIGIN_KINDS:
        raise Forbidden("only the platform a ticket came from asks for its status",
                        details={"kind": entry.get("kind")})
    body = parse_json(raw)
    try:
        _QUERY(body)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise ValidationFailed("invalid status query", details={"external_ids": exc.message.replace("data.", "")[:200]}) \
            from None
    items: list[dict[str, Any]] = []
    for external_id in dict.fromkeys(body["external_ids"]):
        ticket_id = records.find_mapping(partner_id, external_id)
        if ticket_id is None:
            items.append({"case_no": external_id, "found": False})
            continue
        try:
            ticket = tickets.repository().get(ticket_id)
        except NotFound:
            items.append({"case_no": external_id, "found": False})
            continue
        items.append(hotline12345.answer(ticket, external_id, now))
    return {"partner_id": partner_id, "items": items}
