"""Reference data kept in the table: users, departments, districts, offices, categories, configuration documents.

Each kind lives in one small partition (``PK = USER`` and so on), so listing is one Query and
reading one entry is one GetItem: nothing here scans.
"""
from __future__ import annotations

from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.domain.errors import ConcurrentModification, NotFound
from chalicelib.store.models import DirectoryItem

USERS = "USER"
DEPARTMENTS = "DEPT"
DISTRICTS = "DISTRICT"
OFFICES = "OFFICE"  # grassroots offices (基层所): dispatch targets under a department
CATEGORIES = "CATEGORY"  # the problem classification (领域 → 事项 → 具体问题)
CONFIG = "CONFIG"
TEMPLATES = "TEMPLATE"


def get_entry(kind: str, key: str) -> dict[str, Any]:
    """One entry's data; NotFound if absent (an empty key too: DynamoDB refuses it as invalid)."""
    if not key:
        raise NotFound(f"{kind.lower()} with an empty key not found")
    try:
        item = DirectoryItem.get(kind, key, consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"{kind.lower()} {key} not found") from None
    return {**item.data.as_dict(), "_version": int(item.version)}


def find_entry(kind: str, key: str) -> dict[str, Any] | None:
    """One entry's data, or None."""
    try:
        return get_entry(kind, key)
    except NotFound:
        return None


def list_entries(kind: str) -> list[dict[str, Any]]:
    """Every entry of a kind, in key order (one paginated Query)."""
    return [{**item.data.as_dict(), "_version": int(item.version)} for item in DirectoryItem.query(kind)]


def put_entry(kind: str, key: str, data: dict[str, Any], *, expected_version: int | None = None) -> int:
    """Create or replace an entry; with ``expected_version`` only if nobody changed it meanwhile.

    Returns the new version.
    """
    clean = {k: v for k, v in data.items() if k != "_version"}
    new_version = (expected_version or 0) + 1
    item = DirectoryItem(kind, key, data=clean, version=new_version)
    condition = None
    if expected_version is not None:
        condition = (DirectoryItem.version == expected_version) if expected_version > 0 \
            else DirectoryItem.PK.does_not_exist()
    try:
        item.save(condition=condition)
    except PutError as exc:
        if exc.cause_response_code == "ConditionalCheckFailedException":
            raise ConcurrentModification(f"{kind.lower()} {key} was changed by someone else") from None
        raise
    return new_version
