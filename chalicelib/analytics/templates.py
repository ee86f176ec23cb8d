"""Statistics templates (统计模板): saved questions managers run again and again.

A template names dimensions, measures (and rates), filters and a period - usually relative
("last_month") so that the same template answers every month. Stored in the directory partition
``STATS_TEMPLATE``; listing is one Query.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from chalicelib.analytics import period as periods
from chalicelib.analytics import statistics
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import NotFound, ValidationFailed
from chalicelib.store import directory

KIND = "STATS_TEMPLATE"
MAX_TEMPLATES = 500
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
FIELDS = ("name", "description", "dimensions", "measures", "filters", "period", "top")


def validate(data: dict[str, Any]) -> dict[str, Any]:
    """A template's fields, checked (the query must build and the period parse)."""
    name = data.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 60:
        raise ValidationFailed("invalid template", details={"name": "1 to 60 characters"})
    description = data.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 500):
        raise ValidationFailed("invalid template", details={"description": "at most 500 characters"})
    spec_period = data.get("period", "last_month")
    period = periods.parse(spec_period)
    statistics.Query.build(period, data)
    return {"name": name.strip(), "description": description, "dimensions": list(data.get("dimensions") or []),
            "measures": list(data.get("measures") or []), "filters": dict(data.get("filters") or {}),
            "period": spec_period, "top": data.get("top")}


def _id(template_id: str) -> str:
    if not isinstance(template_id, str) or not _ID.match(template_id):
        raise NotFound("no such template")
    return template_id


def list_templates() -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "_version"} | {"version": e["_version"]}
            for e in directory.list_entries(KIND)]


def get(template_id: str) -> dict[str, Any]:
    entry = directory.get_entry(KIND, _id(template_id))
    return {k: v for k, v in entry.items() if k != "_version"} | {"version": entry["_version"]}


def create(data: dict[str, Any], *, actor: str, now: datetime) -> dict[str, Any]:
    clean = validate(data)
    if len(directory.list_entries(KIND)) >= MAX_TEMPLATES:
        raise ValidationFailed("too many templates", details={"templates": f"at most {MAX_TEMPLATES}"})
    template_id = uuid.uuid4().hex[:12]
    record = {**clean, "id": template_id, "created_by": actor, "updated_by": actor,
              "updated_at": now.astimezone(TZ).isoformat()}
    directory.put_entry(KIND, template_id, record, expected_version=0)
    return get(template_id)


def update(template_id: str, data: dict[str, Any], *, expected_version: int, actor: str,
           now: datetime) -> dict[str, Any]:
    current = get(template_id)
    clean = validate(data)
    record = {**clean, "id": current["id"], "created_by": current.get("created_by"), "updated_by": actor,
              "updated_at": now.astimezone(TZ).isoformat()}
    directory.put_entry(KIND, current["id"], record, expected_version=expected_version)
    return get(template_id)


def run(template_id: str, *, period_spec: Any = None, department: str | None = None) -> dict[str, Any]:
    """Run a saved template (optionally for another period), scoped to a department if given."""
    template = get(template_id)
    period = periods.parse(period_spec if period_spec is not None else template.get("period", "last_month"))
    query = statistics.Query.build(period, template).scoped(department)
    return {"template": {"id": template["id"], "name": template["name"]}, **statistics.run(query)}
