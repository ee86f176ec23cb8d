"""The in-app inbox (站内消息): every notification lands here, whatever else is sent.

``INBOX#<username>`` / ``N#<id>``: one partition per person, newest last, so listing is one
Query. The public id is the sort key without its prefix (time first, so ids sort by time).
Items expire after :data:`RETENTION_DAYS`.
"""
from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime, timezone
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.cursors import decode_cursor, encode_cursor
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import NotFound
from chalicelib.notifications.model import Notification
from chalicelib.store.models import InboxItem

RETENTION_DAYS = 180
ID_PATTERN = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{12}$")
UNREAD_CAP = 99


def _pk(username: str) -> str:
    return f"INBOX#{username}"


def inbox_id(note: Notification) -> str:
    """The notification's id in a person's inbox: creation time (UTC, microseconds) + a hash of its id."""
    created = datetime.fromisoformat(note.created_at)
    created = (created if created.tzinfo else created.replace(tzinfo=TZ)).astimezone(timezone.utc)
    return f"{created:%Y%m%dT%H%M%S%f}Z-{hashlib.sha1(note.id.encode()).hexdigest()[:12]}"


def put(username: str, note: Notification) -> dict[str, str]:
    """Store the notification for ``username``; returns the channels it was already sent on
    (empty for a new notification, so a redelivered message does not e-mail twice)."""
    key = "N#" + inbox_id(note)
    data = {k: v for k, v in note.to_dict().items() if k != "audience"}
    data["sent"] = {}
    item = InboxItem(_pk(username), key, data=data, expires_at=int(time.time()) + RETENTION_DAYS * 86400)
    try:
        item.save(condition=InboxItem.PK.does_not_exist())
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            raise
        existing = InboxItem.get(_pk(username), key, consistent_read=True)
        return dict(existing.data.as_dict().get("sent") or {})
    return {}


def mark_sent(username: str, note: Notification, channel: str, at: datetime) -> None:
    """Remember that ``channel`` delivered the notification to ``username``."""
    item = InboxItem(_pk(username), "N#" + inbox_id(note))
    item.update(actions=[InboxItem.data["sent"][channel].set(at.astimezone(TZ).isoformat())])


def _view(item: InboxItem) -> dict[str, Any]:
    data = item.data.as_dict()
    return {"id": item.SK[2:], "kind": data.get("kind"), "title": data.get("title"), "body": data.get("body"),
            "ticket_id": data.get("ticket_id"), "urgent": bool(data.get("urgent")),
            "created_at": data.get("created_at"), "read": item.read_at is not None, "read_at": item.read_at}


def list_for(username: str, *, limit: int = 50, cursor: str | None = None,
             unread_only: bool = False) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the person's notifications, newest first."""
    result = InboxItem.query(_pk(username), InboxItem.SK.startswith("N#"), scan_index_forward=False, limit=limit,
                             last_evaluated_key=decode_cursor(cursor),
                             filter_condition=InboxItem.read_at.does_not_exist() if unread_only else None)
    items = [_view(i) for i in result]
    return items, encode_cursor(result.last_evaluated_key)


def unread_count(username: str) -> int:
    """Unread notifications, counted up to :data:`UNREAD_CAP` (a badge shows "99+")."""
    return InboxItem.count(_pk(username), InboxItem.SK.startswith("N#"),
                           filter_condition=InboxItem.read_at.does_not_exist(), limit=UNREAD_CAP + 1)


def mark_read(username: str, notification_id: str, *, now: datetime) -> dict[str, Any]:
    """Mark one of the person's notifications read (reading it again keeps the first time)."""
    if not isinstance(notification_id, str) or not ID_PATTERN.match(notification_id):
        raise NotFound("no such notification")
    item = InboxItem(_pk(username), "N#" + notification_id)
    try:
        item.update(actions=[InboxItem.read_at.set(InboxItem.read_at | now.astimezone(TZ).isoformat())],
                    condition=InboxItem.PK.exists())
    except UpdateError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise NotFound("no such notification") from None
        raise
    try:
        return _view(InboxItem.get(_pk(username), "N#" + notification_id, consistent_read=True))
    except DoesNotExist:
        raise NotFound("no such notification") from None


def mark_all_read(username: str, *, now: datetime, limit: int = 200) -> int:
    """Mark up to ``limit`` unread notifications read; returns how many."""
    done = 0
    stamp = now.astimezone(TZ).isoformat()
    for item in InboxItem.query(_pk(username), InboxItem.SK.startswith("N#"), limit=limit,
                                filter_condition=InboxItem.read_at.does_not_exist()):
        item.update(actions=[InboxItem.read_at.set(stamp)])
        done += 1
    return done
