"""The user accounts, and the display names of the people and platforms that act on tickets (登记人 and
the like).

Tickets and events store the actor's username, which is stable; the name a colleague knows them by
lives in the user directory and may change, so it is looked up when a ticket is shown.
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain.ticket import Role
from chalicelib.store import directory

WEB_SUBMISSION = "公众（网上提交）"


def display_name(username: str | None, role: str | None = None) -> str | None:
    """The name to show for ``username``: the directory's name of a staff user, a fixed label for a
    citizen's web submission, else None (the caller shows the username)."""
    if not username:
        return None
    if role == Role.CITIZEN:
        return WEB_SUBMISSION
    entry = directory.find_entry(directory.USERS, username)
    name = entry.get("name") if entry else None
    return name if isinstance(name, str) and name else None


def users() -> list[dict[str, Any]]:
    """Every user account with its ``_version`` (one Query)."""
    return directory.list_entries(directory.USERS)


def find_user(username: str) -> dict[str, Any] | None:
    """One user account with its ``_version``, or None."""
    return directory.find_entry(directory.USERS, username)


def save_user(user: dict[str, Any], *, expected_version: int | None) -> int:
    """Create or replace the account ``user["username"]``; with ``expected_version`` only if nobody changed
    it meanwhile (ConcurrentModification otherwise). Returns the new version."""
    return directory.put_entry(directory.USERS, user["username"], user, expected_version=expected_version)


def department_handlers(*units: str) -> list[dict[str, Any]]:
    """The active handlers of the departments or offices ``units`` (username, name and unit, one Query):
    whom their lead can assign a share to."""
    return [{"username": u["username"], "name": u.get("name"), "department": u.get("department")} for u in users()
            if u.get("role") == Role.HANDLER and u.get("department") in units and u.get("active", True)]
