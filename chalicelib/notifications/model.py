"""A notification: what a person is told, about which ticket, and who the audience is."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.domain.errors import ValidationFailed

KINDS = frozenset({"warning_yellow", "warning_red", "urged", "supervised", "dispatched", "info"})


@dataclass(frozen=True)
class Audience:
    """Who receives it: users of these departments (handlers and leads), users with these roles,
    these named users, and the leads (dept_lead) of the ``leads`` departments (a grassroots office's
    department lead assigns and approves its work). Resolved against the user directory when it is
    delivered, each person once."""

    departments: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    usernames: tuple[str, ...] = ()
    leads: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, list[str]]:
        return {"departments": list(self.departments), "roles": list(self.roles), "usernames": list(self.usernames),
                "leads": list(self.leads)}

    @classmethod
    def from_dict(cls, data: Any) -> "Audience":
        if not isinstance(data, dict):
            raise ValidationFailed("audience must be an object", details={"audience": "must be an object"})
        def names(key: str) -> tuple[str, ...]:
            value = data.get(key) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValidationFailed("invalid audience", details={f"audience.{key}": "a list of strings"})
            return tuple(value)
        return cls(departments=names("departments"), roles=names("roles"), usernames=names("usernames"),
                   leads=names("leads"))


@dataclass(frozen=True)
class Notification:
    """One notification. ``id`` is stable for the event it reports, so a redelivery overwrites
    rather than duplicates it. ``title`` and ``body`` are Simplified Chinese, without personal data."""

    id: str
    kind: str
    title: str
    body: str
    audience: Audience
    created_at: str  # ISO 8601 with offset
    ticket_id: str | None = None
    urgent: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "title": self.title, "body": self.body,
                "audience": self.audience.to_dict(), "created_at": self.created_at, "ticket_id": self.ticket_id,
                "urgent": self.urgent, "data": dict(self.data)}

    @classmethod
    def from_dict(cls, data: Any) -> "Notification":
        if not isinstance(data, dict):
            raise ValidationFailed("a notification must be an object", details={"notification": "object"})
        missing = [k for k in ("id", "kind", "title", "body", "audience", "created_at") if not data.get(k)]
        if missing:
            raise ValidationFailed("incomplete notification", details={k: "required" for k in missing})
        if data["kind"] not in KINDS:
            raise ValidationFailed("unknown notification kind", details={"kind": "unknown"})
        try:
            datetime.fromisoformat(str(data["created_at"]))
        except ValueError:
            raise ValidationFailed("created_at is not ISO 8601", details={"created_at": "ISO 8601"}) from None
        return cls(id=str(data["id"]), kind=str(data["kind"]), title=str(data["title"]), body=str(data["body"]),
                   audience=Audience.from_dict(data["audience"]), created_at=str(data["created_at"]),
                   ticket_id=data.get("ticket_id"), urgent=bool(data.get("urgent", False)),
                   data=dict(data.get("data") or {}))
