"""The opaque pagination cursor: a DynamoDB key as the client sees it, and back.

A list that pages hands the client ``next_cursor`` (an url-safe base64 of the last evaluated key)
and takes it back as ``cursor``. The store makes cursors from the keys its Queries return; the API
reads the cursors clients send. Both use this one codec, which sits below both of them (it imports
only the domain's errors), so the API reaches it without importing the store (.importlinter).
"""
from __future__ import annotations

import base64
import json
from typing import Any

from chalicelib.domain.errors import ValidationFailed


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    """An opaque pagination cursor for ``key`` (None when there is no next page)."""
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The key behind a cursor; ValidationFailed for a forged or broken one."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("invalid cursor", details={"cursor": "not a cursor this API gave out"}) from None
    if not isinstance(key, dict) or not all(isinstance(v, dict) for v in key.values()):
        raise ValidationFailed("invalid cursor", details={"cursor": "not a cursor this API gave out"})
    return key
