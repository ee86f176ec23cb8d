"""A 12345 platform's handling units (承办单位) -> our departments: the admin-kept mapping per partner.

A 12345 platform assigns each case to a handling unit of ITS directory (``unit_code`` and/or
``unit_name`` in the case, :data:`hotline12345.CASE_FIELDS`), not ours. An administrator maps each
of that platform's units to one of our departments, optionally a grassroots office (基层所) under it
(``GET``/``PUT /partners/{id}/unit-mappings``). A case whose unit is mapped to a unit of ours that
can still take work arrives accepted and dispatched to it (:mod:`chalicelib.integration.inbound`,
through the ticket door); an unmapped or missing unit leaves it waiting for the centre as before,
and the ticket-by-ticket reconciliation of the partner lists the units it named that have no
mapping (:func:`unmapped`), so the admin can add them.

One directory entry per partner (``PK = UNITMAP``, ``SK = <partner id>``): one GetItem reads it,
and saving is conditional on the version the admin loaded (a stale one is a 409). Each registered
case that named a unit leaves an arrival note (``PK = UNITSEEN#<partner>``, ``SK = <day>#<case
no>``: the unit, the ticket, where it was dispatched, if anywhere), written in the ticket's creation
transaction; the reconciliation of a period reads that day range with one Query.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable

from chalicelib.domain.errors import ValidationFailed
from chalicelib.integration import registry
from chalicelib.integration.records import day_of, iso
from chalicelib.services import policy
from chalicelib.store import directory
from chalicelib.store.models import DirectoryItem

UNIT_MAPS = "UNITMAP"
ARRIVALS = "UNITSEEN#"
MAX_ARRIVALS = 5000  # read per reconciliation (a month of one platform's cases naming a unit)
KIND = "hotline_12345"  # only a 12345 platform names its own units
MAX_MAPPINGS = 500
MAX_TEXT = 100


@dataclass(frozen=True)
class Route:
    """Where a case naming one 12345 unit goes: our department, or an office under it."""

    unit_code: str | None
    unit_name: str | None
    department: str
    office: str | None = None

    @property
    def target(self) -> str:
        """The dispatch target (an office is named like a department, docs/domain.md)."""
        return self.office or self.department


def _entry(partner_id: str) -> dict[str, Any]:
    return directory.find_entry(UNIT_MAPS, partner_id) or {"items": [], "_version": 0}


def _hotline(partner_id: str) -> dict[str, Any]:
    entry = registry.get(partner_id)
    if entry.get("kind") != KIND:
        raise ValidationFailed("only a 12345 platform has a unit mapping",
                               details={"partner_id": f"a partner of kind {KIND}"})
    return entry


def _names() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Our departments and offices by code (retired ones too, marked)."""
    departments = {d["code"]: d for d in directory.list_entries(directory.DEPARTMENTS)}
    offices = {o["code"]: o for o in directory.list_entries(directory.OFFICES)}
    return departments, offices


def view(partner_id: str) -> dict[str, Any]:
    """The partner's mapping as the admin API shows it: each row with our units' names and whether
    they can still take work (a retired one sends the case to the centre instead)."""
    _hotline(partner_id)
    entry = _entry(partner_id)
    departments, offices = _names()
    items = []
    for item in entry.get("items") or []:
        dept = departments.get(item["department"]) or {}
        office = offices.get(item["office"]) or {} if item.get("office") else None
        items.append({**item, "department_name": dept.get("name", item["department"]),
                      "office_name": office.get("name", item["office"]) if office is not None else None,
                      "usable": bool(dept) and dept.get("active", True) is not False
                      and (office is None or (bool(office) and office.get("active", True) is not False))})
    return {"partner_id": partner_id, "version": int(entry["_version"]), "items": items,
            "updated_at": entry.get("updated_at"), "updated_by": entry.get("updated_by")}


def _text(raw: Any, where: str) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_TEXT:
        raise ValidationFailed("invalid unit", details={where: f"text of 1-{MAX_TEXT} characters"})
    return raw.strip()


def _check(raw: Any) -> list[dict[str, Any]]:
    """The rows of a mapping, checked: each names a 12345 unit (code and/or name, each once) and an
    active department of ours, optionally an active office under it."""
    if not isinstance(raw, list) or len(raw) > MAX_MAPPINGS:
        raise ValidationFailed("invalid mapping", details={"items": f"a list of at most {MAX_MAPPINGS} rows"})
    departments, offices = _names()
    rows: list[dict[str, Any]] = []
    codes: set[str] = set()
    names: set[str] = set()
    errors: dict[str, str] = {}
    for i, item in enumerate(raw):
        where = f"items[{i}]"
        if not isinstance(item, dict):
            raise ValidationFailed("invalid mapping", details={where: "an object"})
        code = _text(item.get("unit_code"), f"{where}.unit_code")
        name = _text(item.get("unit_name"), f"{where}.unit_name")
        if code is None and name is None:
            errors[f"{where}.unit_code"] = "the 12345 unit's code or name is required"
        if code is not None and code in codes:
            errors[f"{where}.unit_code"] = f"unit {code} is mapped twice"
        if name is not None and name in names:
            errors[f"{where}.unit_name"] = f"unit {name} is mapped twice"
        codes.add(code or "")
        names.add(name or "")
        department = item.get("department")
        dept = departments.get(department) if isinstance(department, str) else None
        if dept is None:
            errors[f"{where}.department"] = f"no department {department}"
        elif not dept.get("active", True):
            errors[f"{where}.department"] = f"department {department} is retired"
        office_code = item.get("office")
        if office_code not in (None, ""):
            office = offices.get(office_code) if isinstance(office_code, str) else None
            if office is None or office.get("department") != department:
                errors[f"{where}.office"] = f"no office {office_code} under {department}"
            elif not office.get("active", True):
                errors[f"{where}.office"] = f"office {office_code} is retired"
        rows.append({"unit_code": code, "unit_name": name, "department": department,
                     "office": office_code if office_code not in (None, "") else None})
    if errors:
        raise ValidationFailed("invalid unit mapping", details=errors)
    return rows


def save(partner_id: str, items: Any, *, expected_version: int, actor: str, now: datetime) -> dict[str, Any]:
    """Replace the partner's mapping, if nobody changed it since ``expected_version`` (0: none yet);
    a concurrent change is a 409 (ConcurrentModification), bad rows a 400 naming each."""
    _hotline(partner_id)
    rows = _check(items)
    directory.put_entry(UNIT_MAPS, partner_id, {"partner_id": partner_id, "items": rows, "updated_at": now.isoformat(),
                                                "updated_by": actor}, expected_version=expected_version)
    return view(partner_id)


def _find(items: Iterable[dict[str, Any]], code: str | None, name: str | None) -> dict[str, Any] | None:
    """The row for a unit: by its code first (codes are stable), else by its name."""
    rows = list(items)
    if code:
        found = next((r for r in rows if r.get("unit_code") == code), None)
        if found is not None:
            return found
    if name:
        return next((r for r in rows if r.get("unit_name") == name), None)
    return None


def route(partner_id: str, unit: dict[str, Any] | None) -> Route | None:
    """Where a case naming ``unit`` (``{"code", "name"}``) goes, or None: no unit, no mapping for it,
    or the mapped department or office can no longer take work (the centre dispatches it)."""
    if not unit or not (unit.get("code") or unit.get("name")):
        return None
    row = _find(_entry(partner_id).get("items") or [], unit.get("code"), unit.get("name"))
    if row is None:
        return None
    targets = policy.department_codes()  # active departments and offices (cached)
    if row["department"] not in targets or (row.get("office") and row["office"] not in targets):
        return None
    return Route(unit.get("code"), unit.get("name"), row["department"], row.get("office"))


def unmapped(partner_id: str, named: Iterable[tuple[str | None, str | None, str | None]]) -> list[dict[str, Any]]:
    """The units cases named (``(code, name, external id)`` each) that the mapping does not cover now,
    each once with how many cases named it and a few of their numbers, most named first."""
    items = _entry(partner_id).get("items") or []
    found: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    for code, name, external_id in named:
        if not (code or name) or _find(items, code, name) is not None:
            continue
        key = (code, None) if code else (None, name)
        row = found.setdefault(key, {"unit_code": code, "unit_name": name, "cases": 0, "external_ids": []})
        row["unit_name"] = row["unit_name"] or name
        row["cases"] += 1
        if external_id and len(row["external_ids"]) < 5:
            row["external_ids"].append(external_id)
    return sorted(found.values(), key=lambda r: (-r["cases"], r["unit_code"] or "", r["unit_name"] or ""))


# --------------------------------------------------------------------------- arrivals
def arrival(partner_id: str, unit: dict[str, Any], external_id: str, ticket_id: str, routed_to: str | None,
            now: datetime) -> DirectoryItem:
    """The note that a case named ``unit`` and where it went (written with the ticket it made)."""
    return DirectoryItem(f"{ARRIVALS}{partner_id}", f"{day_of(now)}#{external_id}", version=1, data={
        "unit_code": unit.get("code"), "unit_name": unit.get("name"), "external_id": external_id,
        "ticket_id": ticket_id, "routed_to": routed_to, "at": iso(now)})


def arrivals(partner_id: str, start: date, end: date) -> list[dict[str, Any]]:
    """The arrival notes of the cases registered from ``start`` to ``end`` (days, both included)."""
    condition = DirectoryItem.SK.between(f"{start.isoformat()}#", f"{end.isoformat()}#\uffff")
    return [item.data.as_dict() for item in
            DirectoryItem.query(f"{ARRIVALS}{partner_id}", condition, limit=MAX_ARRIVALS)]


def unmapped_in(partner_id: str, start: date, end: date) -> list[dict[str, Any]]:
    """The units the period's cases named that the mapping does not cover now (:func:`unmapped`)."""
    return unmapped(partner_id, ((a.get("unit_code"), a.get("unit_name"), a.get("external_id"))
                                 for a in arrivals(partner_id, start, end)))
