"""Who receives reports by e-mail (``CONFIG/REPORT_SUBSCRIBERS``), managed by managers."""
from __future__ import annotations

import re
from typing import Any

from chalicelib.domain.errors import ValidationFailed
from chalicelib.reports.jobs import TYPES
from chalicelib.store import directory

KEY = "REPORT_SUBSCRIBERS"
MAX_SUBSCRIBERS = 200
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")


def document() -> dict[str, Any]:
    entry = directory.find_entry(directory.CONFIG, KEY)
    if entry is None:
        return {"subscribers": [], "_version": 0}
    return {"subscribers": entry.get("subscribers") or [], "_version": entry["_version"]}


def validate(subscribers: Any) -> list[dict[str, Any]]:
    if not isinstance(subscribers, list) or len(subscribers) > MAX_SUBSCRIBERS:
        raise ValidationFailed("invalid subscribers", details={"subscribers": f"a list of at most {MAX_SUBSCRIBERS}"})
    clean, seen, errors = [], set(), {}
    for n, entry in enumerate(subscribers):
        if not isinstance(entry, dict):
            errors[f"subscribers[{n}]"] = "an object"
            continue
        email, name, types = entry.get("email"), entry.get("name"), entry.get("types", list(TYPES))
        if not isinstance(email, str) or not _EMAIL.match(email.strip()):
            errors[f"subscribers[{n}].email"] = "an e-mail address"
            continue
        if name is not None and (not isinstance(name, str) or len(name) > 40):
            errors[f"subscribers[{n}].name"] = "at most 40 characters"
        if not isinstance(types, list) or not types or any(t not in TYPES for t in types):
            errors[f"subscribers[{n}].types"] = "a list of: " + ", ".join(TYPES)
            continue
        address = email.strip().lower()
        if address in seen:
            errors[f"subscribers[{n}].email"] = "listed twice"
            continue
        seen.add(address)
        clean.append({"email": address, "name": name, "types": list(dict.fromkeys(types))})
    if errors:
        raise ValidationFailed("invalid subscribers", details=errors)
    return clean


def save(subscribers: Any, *, expected_version: int) -> dict[str, Any]:
    directory.put_entry(directory.CONFIG, KEY, {"subscribers": validate(subscribers)},
                        expected_version=expected_version)
    return document()


def for_type(report_type: str) -> list[dict[str, Any]]:
    return [s for s in document()["subscribers"] if report_type in (s.get("types") or TYPES)]
