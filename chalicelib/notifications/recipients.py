"""Who an :class:`Audience` is, from the user directory (one Query of the ``USER`` partition,
cached for a minute per container)."""
from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

from chalicelib.notifications.model import Audience
from chalicelib.store import directory

CACHE_SECONDS = 60.0
DEPARTMENT_ROLES = ("handler", "dept_lead")

_lock = threading.Lock()
_cache: tuple[float, list[dict[str, Any]]] | None = None


def _users() -> list[dict[str, Any]]:
    global _cache
    now = time.monotonic()
    with _lock:
        if _cache is not None and now - _cache[0] < CACHE_SECONDS:
            return _cache[1]
    users = directory.list_entries(directory.USERS)
    with _lock:
        _cache = (now, users)
    return users


def forget_cache() -> None:
    global _cache
    with _lock:
        _cache = None


def resolve(audience: Audience, *, on_duty_at: datetime | None = None) -> list[dict[str, Any]]:
    """The active users the audience names, each once, in directory order.

    ``on_duty_at`` (red warnings, urgent tickets): also whoever is on call at that moment (duty
    roster, :mod:`chalicelib.services.roster`) for the audience's departments and for the centre.
    """
    on_call = _on_call(audience, on_duty_at) if on_duty_at is not None else set()
    chosen = []
    for user in _users():
        if user.get("active") is False or not user.get("username"):
            continue
        role = user.get("role")
        if (user["username"] in audience.usernames or role in audience.roles or user["username"] in on_call
                or (role in DEPARTMENT_ROLES and user.get("department") in audience.departments)
                or (role == "dept_lead" and user.get("department") in audience.leads)):
            chosen.append(user)
    return chosen


def _on_call(audience: Audience, at: datetime) -> set[str]:
    """User names on call at ``at`` in the audience's departments or at the centre."""
    from chalicelib.domain.ticket import CENTER
    from chalicelib.services import roster

    wanted = {*audience.departments, CENTER}
    return {name for entry in roster.on_call_now(at) if entry.get("department") in wanted
            for name in entry.get("usernames", [])}


def contacts(user: dict[str, Any]) -> list[tuple[str, str]]:
    """(channel, address) pairs the user can be reached on besides the inbox."""
    found = []
    if isinstance(user.get("email"), str) and "@" in user["email"]:
        found.append(("email", user["email"]))
    if isinstance(user.get("mobile"), str) and user["mobile"].strip():
        found.append(("sms", user["mobile"].strip()))
    return found
