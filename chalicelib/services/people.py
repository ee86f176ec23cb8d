"""Display names of the people and platforms that act on tickets (登记人 and the like).

Tickets and events store the actor's username, which is stable; the name a colleague knows them by
lives in the user directory and may change, so it is looked up when a ticket is shown.
"""
from __future__ import annotations

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
