"""Reply templates (答复模板): the texts managers keep and agents and handlers pick from.

Kept in the directory's ``TEMPLATE`` partition, one entry per template id; nothing is deleted (a
template is deactivated with ``active = false``). The API (``chalicelib.api.templates``) validates and
filters; this module reads and writes.
"""
from __future__ import annotations

from typing import Any

from chalicelib.store import directory


def all_templates() -> list[dict[str, Any]]:
    """Every reply template, inactive ones too, each with its ``_version`` (one Query)."""
    return directory.list_entries(directory.TEMPLATES)


def save(template_id: str, data: dict[str, Any], *, expected_version: int) -> int:
    """Create (``expected_version`` 0) or change a template if nobody changed it meanwhile
    (ConcurrentModification otherwise). Returns the new version."""
    return directory.put_entry(directory.TEMPLATES, template_id, data, expected_version=expected_version)
