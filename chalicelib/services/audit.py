"""The audit log: who did what, when, from where — append-only, queryable by admins.

Recorded: every admin action (any non-GET call by an admin), every reveal of personal data, every
export and download of ledgers and reports, every sign-in. Records carry no personal data (targets
are ids, never phone numbers or names). One partition per day (``AUDIT#<yyyy-mm-dd>``).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from chalicelib.domain.calendar import TZ
from chalicelib.store.models import AuditItem


def record(*, action: str, actor: dict[str, Any], target: dict[str, Any], source_ip: str, status: int,
           at: datetime | None = None, details: dict[str, Any] | None = None) -> str:
    """Append one audit record; returns its id. Never overwrites (conditional put)."""
    at = (at or datetime.now(TZ)).astimezone(TZ)
    record_id = uuid.uuid4().hex
    item = AuditItem(f"AUDIT#{at.date().isoformat()}", f"{at.isoformat()}#{record_id}", data={
        "id": record_id, "at": at.isoformat(), "action": action, "actor": actor, "target": target,
        "source_ip": source_ip, "status": status, "details": details or {}})
    item.save(condition=AuditItem.PK.does_not_exist())
    return record_id


def query(day: date, *, actor: str | None = None, action: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """One day's records in time order, optionally filtered by actor username or action."""
    items = [i.data.as_dict() for i in AuditItem.query(f"AUDIT#{day.isoformat()}", limit=limit)]
    if actor:
        items = [i for i in items if i.get("actor", {}).get("username") == actor]
    if action:
        items = [i for i in items if i.get("action") == action]
    return items
