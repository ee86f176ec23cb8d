"""E-mails and SMS held back by quiet hours until working hours.

``NOTIFY#<notification id>`` / ``<channel>#<username>``, indexed on GSI4 under ``ND#<shard>`` by the
time it may go, so the sweeper finds what is due with one Query per shard. Only the username is
kept: the address is looked up again when the message goes (it may have changed overnight).
Releasing deletes the item first (conditionally), so two sweepers never send it twice.
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from pynamodb.exceptions import DeleteError

from chalicelib.domain.calendar import TZ
from chalicelib.notifications.model import Notification
from chalicelib.observability import logger
from chalicelib.store.models import DeferredNotificationItem

SHARDS = 4
_PREFIX = "ND#"


def _shard(key: str) -> str:
    return str(int(hashlib.sha1(key.encode()).hexdigest(), 16) % SHARDS)


def hold(note: Notification, *, channel: str, username: str, send_at: datetime) -> None:
    """Keep the message until ``send_at`` (idempotent: the same message held twice is one item)."""
    stamp = send_at.astimezone(TZ).isoformat()
    item = DeferredNotificationItem(
        f"NOTIFY#{note.id}", f"{channel}#{username}",
        data={"notification": note.to_dict(), "channel": channel, "username": username},
        send_at=stamp, GSI4PK=_PREFIX + _shard(note.id), GSI4SK=f"{stamp}#{note.id}#{channel}#{username}")
    item.save()


def pending(now: datetime, *, limit: int = 200) -> list[DeferredNotificationItem]:
    """Held messages whose time has come (GSI4, per shard)."""
    bound = now.astimezone(TZ).isoformat() + "~"
    found: list[DeferredNotificationItem] = []
    for n in range(SHARDS):
        found.extend(DeferredNotificationItem.by_checkpoint.query(_PREFIX + str(n),
                                                                   DeferredNotificationItem.GSI4SK <= bound,
                                                                   limit=limit))
    return found


def release_due(now: datetime, *, limit: int = 200) -> int:
    """Send every held message whose time has come; returns how many went out."""
    from chalicelib.notifications import port

    sent = 0
    for item in pending(now, limit=limit):
        try:
            item.delete(condition=DeferredNotificationItem.PK.exists())
        except DeleteError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                continue  # another sweeper took it
            raise
        data = item.data.as_dict()
        note = Notification.from_dict(data["notification"])
        try:
            if port.send_held(note, channel=data["channel"], username=data["username"], now=now):
                sent += 1
        except Exception:
            logger.exception("held notification failed; kept for the next sweep",
                             extra={"notification_id": note.id, "channel": data["channel"]})
            item.save()
    return sent
