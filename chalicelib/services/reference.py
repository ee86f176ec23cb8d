"""Managing the directory: departments, districts and streets, grassroots offices (基层所), and the
problem classification (categories: 领域 → 事项 → 具体问题).

Admins create, change, retire and reinstate entries through the API; the local seed calls the very
same functions, so a deployed stack and a demo stack are filled the same way. Nothing is deleted:
retiring sets ``active = false`` with who, when and why, so old tickets keep showing the name and the
entry can be reinstated. A retired department or office is no longer a dispatch target
(:func:`chalicelib.services.policy.department_codes`).

A grassroots office is a dispatch target under one department: its code shares the departments'
namespace (an assignment names either), its handlers are users whose ``department`` is the office,
and the parent department's staff see the office's tickets too (see ``tickets.check_scope``).
"""
from __future__ import annotations

import re
from typing import Any

from chalicelib.domain.categories import MAX_LEVEL, CategoryTree
from chalicelib.domain.errors import ConcurrentModification, Conflict, NotFound, ValidationFailed
from chalicelib.services import clock, policy
from chalicelib.store import directory

CODE_RE = re.compile(r"^[A-Z][A-Z0-9_-]{1,31}$")
MAX_NAME = 60
MAX_DUTY = 60
MAX_DUTIES = 60
MAX_REASON = 200
#: District kinds: the city's districts and county-level cities, and the streets and towns within them.
TOP_KINDS = ("区", "县级市", "功能区")
STREET_KINDS = ("街道", "镇", "乡")
KINDS = {"department": directory.DEPARTMENTS, "district": directory.DISTRICTS, "office": directory.OFFICES,
         "category": directory.CATEGORIES}


def _code(code: str, name: str) -> str:
    if not isinstance(code, str) or not CODE_RE.match(code):
        raise ValidationFailed(f"invalid {name}", details={name: "2-32 upper-case letters, digits, _ and -, "
                                                                 "starting with a letter"})
    return code


def _name(value: Any, field: str = "name") -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_NAME:
        raise ValidationFailed(f"invalid {field}", details={field: f"1-{MAX_NAME} characters"})
    return text


def _duties(value: Any) -> list[str]:
    """Duty phrases (权责清单), trimmed, blanks and repeats dropped, order kept."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_DUTIES:
        raise ValidationFailed("invalid duties", details={"duties": f"a list of at most {MAX_DUTIES} phrases"})
    out: list[str] = []
    for i, duty in enumerate(value):
        if not isinstance(duty, str) or len(duty.strip()) > MAX_DUTY:
            raise ValidationFailed("invalid duty", details={f"duties[{i}]": f"a phrase of at most {MAX_DUTY} characters"})
        if duty.strip() and duty.strip() not in out:
            out.append(duty.strip())
    return out


def _stamp(entry: dict[str, Any], actor: str) -> dict[str, Any]:
    return {**entry, "updated_by": actor, "updated_at": clock.now().isoformat()}


def _kept(existing: dict[str, Any] | None) -> dict[str, Any]:
    """What an edit keeps of the stored entry: its retirement (retire/reinstate change it)."""
    if existing is None:
        return {"active": True}
    return {k: existing[k] for k in ("active", "retired_at", "retired_by", "retire_reason") if k in existing}


def _save(kind: str, code: str, entry: dict[str, Any], expected_version: int | None) -> dict[str, Any]:
    version = directory.put_entry(kind, code, entry, expected_version=expected_version)
    policy.forget_cache()
    return {**entry, "_version": version}


def save_department(code: str, body: dict[str, Any], *, actor: str,
                    expected_version: int | None) -> dict[str, Any]:
    """Create (``expected_version`` 0) or change a department: name and duty list.

    ``expected_version=None`` replaces unconditionally (the seed only).
    """
    _code(code, "code")
    if directory.find_entry(directory.OFFICES, code) is not None:
        raise Conflict(f"{code} is already a grassroots office", details={"code": "taken by an office"})
    existing = directory.find_entry(directory.DEPARTMENTS, code)
    entry = {"code": code, "name": _name(body.get("name")), "duties": _duties(body.get("duties")), **_kept(existing),
             "closure_needs_approval": _approval_flag(body, existing)}
    return _save(directory.DEPARTMENTS, code, _stamp(entry, actor), expected_version)


def _approval_flag(body: dict[str, Any], existing: dict[str, Any] | None) -> bool:
    """``closure_needs_approval`` (呈批) as given, else as stored (an edit of the name keeps it), else off."""
    value = body.get("closure_needs_approval")
    if value is None:
        return bool(existing and existing.get("closure_needs_approval") is True)
    if not isinstance(value, bool):
        raise ValidationFailed("invalid closure_needs_approval", details={"closure_needs_approval": "true or false"})
    return value


def save_district(code: str, body: dict[str, Any], *, actor: str,
                  expected_version: int | None) -> dict[str, Any]:
    """Create or change a district (区/县级市/功能区) or a street or town under one (``parent``)."""
    _code(code, "code")
    kind = body.get("kind")
    if kind not in TOP_KINDS + STREET_KINDS:
        raise ValidationFailed("invalid kind", details={"kind": "one of " + "、".join(TOP_KINDS + STREET_KINDS)})
    parent = body.get("parent")
    if kind in STREET_KINDS:
        if not isinstance(parent, str) or not parent:
            raise ValidationFailed("a street needs its district", details={"parent": "required for 街道/镇/乡"})
        found = directory.find_entry(directory.DISTRICTS, parent)
        if found is None or not found.get("active", True) or found.get("kind") not in TOP_KINDS:
            raise ValidationFailed("unknown district", details={"parent": f"no active district {parent}"})
    elif parent is not None:
        raise ValidationFailed("a district has no parent", details={"parent": "only streets and towns have one"})
    existing = directory.find_entry(directory.DISTRICTS, code)
    entry = {"code": code, "name": _name(body.get("name")), "kind": kind, "parent": parent, **_kept(existing)}
    return _save(directory.DISTRICTS, code, _stamp(entry, actor), expected_version)


def save_office(code: str, body: dict[str, Any], *, actor: str,
                expected_version: int | None) -> dict[str, Any]:
    """Create or change a grassroots office: its department (active), district, duty list."""
    _code(code, "code")
    if directory.find_entry(directory.DEPARTMENTS, code) is not None:
        raise Conflict(f"{code} is already a department", details={"code": "taken by a department"})
    department = body.get("department")
    parent = directory.find_entry(directory.DEPARTMENTS, department) if isinstance(department, str) else None
    if parent is None or not parent.get("active", True):
        raise ValidationFailed("unknown department", details={"department": f"no active department {department}"})
    district = body.get("district")
    if district is not None:
        found = directory.find_entry(directory.DISTRICTS, district) if isinstance(district, str) else None
        if found is None or not found.get("active", True):
            raise ValidationFailed("unknown district", details={"district": f"no active district {district}"})
    existing = directory.find_entry(directory.OFFICES, code)
    entry = {"code": code, "name": _name(body.get("name")), "department": department, "district": district,
             "duties": _duties(body.get("duties")), **_kept(existing),
             "closure_needs_approval": _approval_flag(body, existing)}
    return _save(directory.OFFICES, code, _stamp(entry, actor), expected_version)


def save_category(code: str, body: dict[str, Any], *, actor: str,
                  expected_version: int | None) -> dict[str, Any]:
    """Create or change a category: its name and its parent (an active 领域 or 事项; none for a 领域).

    The level follows from the parent, at most three (具体问题 have no children). A category's
    parent never changes once created: tickets counted under it stay under the same 领域.
    """
    _code(code, "code")
    parent = body.get("parent")
    existing = directory.find_entry(directory.CATEGORIES, code)
    if existing is not None and existing.get("parent") != parent:
        raise Conflict("a category keeps its parent", details={"parent": f"stays {existing.get('parent')}"})
    level = 1
    if parent is not None:
        tree = CategoryTree(directory.list_entries(directory.CATEGORIES))
        if not isinstance(parent, str) or not tree.is_active(parent):
            raise ValidationFailed("unknown category", details={"parent": f"no active category {parent}"})
        level = tree.level(parent) + 1
        if level > MAX_LEVEL:
            raise ValidationFailed("too deep", details={"parent": f"{parent} is a 具体问题: at most {MAX_LEVEL} levels"})
    entry = {"code": code, "name": _name(body.get("name")), "parent": parent, "level": level, **_kept(existing)}
    return _save(directory.CATEGORIES, code, _stamp(entry, actor), expected_version)


def seed_categories(entries: list[dict[str, Any]], *, actor: str) -> int:
    """Create a whole tree at once (the default one, on a fresh directory); returns how many
    entries this call wrote.

    Each entry is checked as :func:`save_category` checks it, but its parent is looked up among the
    entries before it (parents come first) instead of read back from the directory: the default
    tree's 142 entries cost 142 conditional writes, not also 142 reads and 142 Queries. Each is
    created only if absent (``expected_version=0``), so two containers seeding at once write it once.
    """
    levels: dict[str, int] = {}
    written = 0
    for body in entries:
        code = _code(body.get("code"), "code")
        parent = body.get("parent")
        if parent is not None and parent not in levels:
            raise ValidationFailed("unknown category", details={"parent": f"{parent} must come before {code}"})
        level = 1 if parent is None else levels[parent] + 1
        if level > MAX_LEVEL:
            raise ValidationFailed("too deep", details={"parent": f"{parent} is a 具体问题: at most {MAX_LEVEL} levels"})
        levels[code] = level
        entry = {"code": code, "name": _name(body.get("name")), "parent": parent, "level": level, "active": True}
        try:
            directory.put_entry(directory.CATEGORIES, code, _stamp(entry, actor), expected_version=0)
        except ConcurrentModification:
            continue  # another container wrote it first
        written += 1
    policy.forget_cache()
    return written


def set_active(kind: str, code: str, *, active: bool, actor: str, expected_version: int,
               reason: str | None = None) -> dict[str, Any]:
    """Retire (``active=False``, with a reason) or reinstate an entry; history stays as it was.

    A department with active offices, or a district with active streets, is not retired: retire
    those first (409). An office is not reinstated under a retired department.
    """
    store_kind = KINDS[kind]
    existing = directory.find_entry(store_kind, code)
    if existing is None:
        raise NotFound(f"{kind} {code} not found")
    entry = {k: v for k, v in existing.items() if k != "_version"}
    if active:
        if kind == "office":
            parent = directory.find_entry(directory.DEPARTMENTS, entry["department"])
            if parent is None or not parent.get("active", True):
                raise Conflict("the office's department is retired", details={"department": entry["department"]})
        if kind == "category" and entry.get("parent"):
            parent = directory.find_entry(directory.CATEGORIES, entry["parent"])
            if parent is None or not parent.get("active", True):
                raise Conflict("the category's parent is retired", details={"parent": entry["parent"]})
        for key in ("retired_at", "retired_by", "retire_reason"):
            entry.pop(key, None)
        entry["active"] = True
    else:
        text = reason.strip() if isinstance(reason, str) else ""
        if not text or len(text) > MAX_REASON:
            raise ValidationFailed("a reason is required", details={"reason": f"1-{MAX_REASON} characters"})
        children = _active_children(kind, code)
        if children:
            raise Conflict(f"{kind} {code} still has active entries under it: retire them first",
                           details={"active_children": children})
        entry.update(active=False, retired_at=clock.now().isoformat(), retired_by=actor, retire_reason=text)
    return _save(store_kind, code, _stamp(entry, actor), expected_version)


def _active_children(kind: str, code: str) -> list[str]:
    if kind == "department":
        return [o["code"] for o in directory.list_entries(directory.OFFICES)
                if o.get("department") == code and o.get("active", True)]
    if kind in ("district", "category"):
        return [d["code"] for d in directory.list_entries(KINDS[kind])
                if d.get("parent") == code and d.get("active", True)]
    return []


def check_user_department(code: str) -> None:
    """A handler's or lead's department must be an active department or grassroots office."""
    entry = directory.find_entry(directory.DEPARTMENTS, code) or directory.find_entry(directory.OFFICES, code)
    if entry is None:
        raise ValidationFailed("unknown department", details={"department": "no such department or office"})
    if not entry.get("active", True):
        raise ValidationFailed("retired department", details={"department": f"{code} is retired"})


def entries(kind: str) -> list[dict[str, Any]]:
    """Every ``department``, ``district``, ``office`` or ``category`` entry, retired ones included (``active`` false),
    in code order: the directory's lists for staff screens (one Query)."""
    return directory.list_entries(KINDS[kind])
