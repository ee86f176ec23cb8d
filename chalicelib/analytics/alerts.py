"""Alerts for managers: sensitive events, hotspots, abuse-pattern advisories.

An alert is an item ``ALERTS#<yyyy-mm>`` / ``<id>`` (ids sort by time, so the list is one Query
per month, newest first) written once - its id is derived from what it reports, and the put is
conditional - and announced through the notification port (:mod:`chalicelib.notifications`) to
every manager: an in-app inbox item at once, and e-mail/SMS where they have addresses (urgent
alerts are not held for working hours).
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.analytics import ddb
from chalicelib.analytics.ddb import S
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed
from chalicelib.observability import logger

KINDS = ("sensitive", "hotspot", "abuse")
LEVELS = ("major", "sensitive", "hotspot", "advisory")
KIND_LABELS = {"sensitive": "敏感/重大事件", "hotspot": "热点", "abuse": "异常投诉提示"}
ID_PATTERN = re.compile(r"^\d{8}T\d{6}-[a-z]+-[0-9a-f]{10}$")
MAX_LIST = 200


def alert_id(kind: str, at: datetime, subject: str) -> str:
    """A deterministic id: the time it is about, the kind, and a hash of what it reports."""
    digest = hashlib.sha1(f"{kind}|{subject}".encode()).hexdigest()[:10]
    return f"{at.astimezone(TZ):%Y%m%dT%H%M%S}-{kind}-{digest}"


def _pk(alert: str) -> str:
    return f"ALERTS#{alert[:4]}-{alert[4:6]}"


def raise_alert(*, kind: str, level: str, at: datetime, subject: str, title: str, body: str,
                ticket_ids: list[str], data: dict[str, Any], now: datetime) -> tuple[str, bool]:
    """Record an alert once and tell the managers; returns (id, whether it is new)."""
    if kind not in KINDS or level not in LEVELS:
        raise ValueError(f"unknown alert kind/level {kind}/{level}")
    identifier = alert_id(kind, at, subject)
    record = {"id": identifier, "kind": kind, "level": level, "title": title, "body": body,
              "ticket_ids": ticket_ids[:100], "data": data, "at": at.astimezone(TZ).isoformat(),
              "created_at": now.astimezone(TZ).isoformat()}
    try:
        ddb.ddb().put_item(TableName=ddb.table(), ConditionExpression="attribute_not_exists(PK)", Item={
            "PK": S(_pk(identifier)), "SK": S(identifier), "kind": S(kind), "level": S(level),
            "doc": S(json.dumps(record, ensure_ascii=False, separators=(",", ":")))})
    except ClientError as exc:
        if ddb.is_condition_failure(exc):
            return identifier, False
        raise
    _notify(record)
    logger.info("alert raised", extra={"alert_id": identifier, "kind": kind, "level": level})
    return identifier, True


def _notify(record: dict[str, Any]) -> None:
    """Announce to every manager through the notification port (inbox always; urgent ones at once)."""
    from chalicelib.notifications.model import Audience, Notification
    from chalicelib.notifications.port import notify

    urgent = record["level"] in ("major", "sensitive")
    notify([Notification(id=f"alert:{record['id']}", kind="info", title=record["title"], body=record["body"],
                         audience=Audience(roles=("manager",)), created_at=record["created_at"],
                         ticket_id=record["ticket_ids"][0] if len(record["ticket_ids"]) == 1 else None,
                         urgent=urgent, data={"alert_id": record["id"], "alert_kind": record["kind"]})])


def _view(item: dict[str, Any]) -> dict[str, Any]:
    record = json.loads(item["doc"])
    record["acknowledged_by"] = item.get("acknowledged_by")
    record["acknowledged_at"] = item.get("acknowledged_at")
    record["note"] = item.get("note")
    record["kind_label"] = KIND_LABELS.get(record["kind"], record["kind"])
    return record


def list_alerts(months: list[str], *, kind: str | None = None, open_only: bool = False,
                limit: int = 50) -> list[dict[str, Any]]:
    """Alerts of the given months (``yyyy-mm``), newest first."""
    if kind is not None and kind not in KINDS:
        raise ValidationFailed("unknown alert kind", details={"kind": "one of " + ", ".join(KINDS)})
    limit = max(1, min(limit, MAX_LIST))
    found: list[dict[str, Any]] = []
    for month in sorted(set(months), reverse=True):
        request: dict[str, Any] = {"KeyConditionExpression": "PK = :p",
                                   "ExpressionAttributeValues": {":p": S(f"ALERTS#{month}")},
                                   "ScanIndexForward": False}
        conditions = []
        if kind is not None:
            conditions.append("kind = :k")
            request["ExpressionAttributeValues"][":k"] = S(kind)
        if open_only:
            conditions.append("attribute_not_exists(acknowledged_at)")
        if conditions:
            request["FilterExpression"] = " AND ".join(conditions)
        for item in ddb.query(max_pages=20, **request):
            found.append(_view(ddb.from_item(item)))
            if len(found) >= limit:
                return found
    return found


def get(identifier: str) -> dict[str, Any]:
    if not isinstance(identifier, str) or not ID_PATTERN.match(identifier):
        raise NotFound("no such alert")
    item = ddb.get(_pk(identifier), identifier)
    if item is None:
        raise NotFound("no such alert")
    return _view(item)


def acknowledge(identifier: str, *, actor: str, note: str | None, now: datetime) -> dict[str, Any]:
    """A manager confirms they have seen and taken over an alert (once)."""
    get(identifier)
    values: dict[str, Any] = {":a": S(actor), ":t": S(now.astimezone(TZ).isoformat())}
    expression = "SET acknowledged_by = :a, acknowledged_at = :t"
    if note:
        values[":n"] = S(note)
        expression += ", note = :n"
    try:
        ddb.ddb().update_item(TableName=ddb.table(), Key={"PK": S(_pk(identifier)), "SK": S(identifier)},
                              UpdateExpression=expression, ConditionExpression="attribute_not_exists(acknowledged_at)",
                              ExpressionAttributeValues=values)
    except ClientError as exc:
        if ddb.is_condition_failure(exc):
            raise Conflict("the alert is already acknowledged", details={"alert_id": identifier}) from None
        raise
    return get(identifier)
