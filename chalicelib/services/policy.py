"""The rules in force: SLA clock rules and the working-day calendar with admin overrides.

Both are configuration documents in the table (``CONFIG/SLA``, ``CONFIG/CALENDAR``). A Lambda
container reads them at most once per ``CACHE_SECONDS`` so that a transition's request path stays
within its read budget; a change made here is seen by every container within that time.
"""
from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

from chalicelib.domain.calendar import WorkingCalendar
from chalicelib.domain.clocks import DEFAULT_SLA_RULES, SlaRules
from chalicelib.domain.errors import ValidationFailed
from chalicelib.store import directory

CACHE_SECONDS = 30.0
SLA_KEY = "SLA"
CALENDAR_KEY = "CALENDAR"

_lock = threading.Lock()
_cache: dict[str, tuple[float, Any]] = {}


def _cached(key: str, load: Any) -> Any:
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    value = load()
    with _lock:
        _cache[key] = (now, value)
    return value


def forget_cache() -> None:
    """Drop cached configuration (after a change, and in tests)."""
    with _lock:
        _cache.clear()


def sla_document() -> dict[str, Any]:
    """The SLA rules as stored (defaults when none were saved), with their version.

    ``missing_defaults``: the default rules of the clocks that have no rule at all in the stored
    document, and ``defaulted_clocks`` their names. Rules saved before a clock existed (issue 19's
    dispatch, decision and help-request clocks) lack them; such a clock runs by its default rules
    (:func:`sla_rules`), with no one acting and nothing rewritten, until a manager saves a rule for it."""
    entry = directory.find_entry(directory.CONFIG, SLA_KEY)
    if entry is None:
        return {"rules": DEFAULT_SLA_RULES.to_list(), "_version": 0, "default": True, "missing_defaults": [],
                "defaulted_clocks": []}
    return _document(entry["rules"], entry["_version"])


def _document(rules: list[dict[str, Any]], version: int) -> dict[str, Any]:
    missing = missing_defaults(rules)
    return {"rules": rules, "_version": version, "default": False, "missing_defaults": missing,
            "defaulted_clocks": sorted({r["clock"] for r in missing})}


def missing_defaults(rules: Any) -> list[dict[str, Any]]:
    """The default rules of every clock that ``rules`` (stored rule dicts) has no rule for."""
    present = {r.get("clock") for r in rules if isinstance(r, dict)}
    return [r for r in DEFAULT_SLA_RULES.to_list() if r["clock"] not in present]


def save_sla_rules(rules: Any, *, expected_version: int, actor: str) -> dict[str, Any]:
    """Validate and store new SLA rules (optimistic locking on the document)."""
    parsed = SlaRules.from_list(rules)
    version = directory.put_entry(directory.CONFIG, SLA_KEY, {"rules": parsed.to_list(), "updated_by": actor},
                                  expected_version=expected_version)
    forget_cache()
    return _document(parsed.to_list(), version)


def rules_in_force(document: dict[str, Any]) -> SlaRules:
    """The stored rules plus the defaults of every clock they have no rule for: every clock runs."""
    return SlaRules.from_list([*document["rules"], *document["missing_defaults"]])


def sla_rules() -> SlaRules:
    """The rules in force (cached): the saved rules, a clock without any saved rule by its defaults."""
    return _cached(SLA_KEY, lambda: rules_in_force(sla_document()))


def calendar_document() -> dict[str, Any]:
    """Admin overrides of the official calendar: ISO date -> is a working day."""
    entry = directory.find_entry(directory.CONFIG, CALENDAR_KEY)
    if entry is None:
        return {"overrides": {}, "_version": 0}
    return {"overrides": entry.get("overrides", {}), "_version": entry["_version"]}


def parse_overrides(raw: Any) -> dict[date, bool]:
    """``{"2026-12-31": false}`` -> ``{date(2026, 12, 31): False}``; ValidationFailed names bad keys."""
    if not isinstance(raw, dict):
        raise ValidationFailed("overrides must be an object", details={"overrides": "must be an object"})
    parsed: dict[date, bool] = {}
    problems: dict[str, str] = {}
    for key, value in raw.items():
        try:
            day = date.fromisoformat(str(key))
        except ValueError:
            problems[f"overrides.{key}"] = "not an ISO date (YYYY-MM-DD)"
            continue
        if not isinstance(value, bool):
            problems[f"overrides.{key}"] = "must be true (working day) or false (day off)"
            continue
        parsed[day] = value
    if problems:
        raise ValidationFailed("invalid calendar overrides", details=problems)
    return parsed


def save_calendar_overrides(raw: Any, *, expected_version: int, actor: str) -> dict[str, Any]:
    """Validate and store the admin overrides."""
    parsed = parse_overrides(raw)
    stored = {d.isoformat(): v for d, v in sorted(parsed.items())}
    version = directory.put_entry(directory.CONFIG, CALENDAR_KEY, {"overrides": stored, "updated_by": actor},
                                  expected_version=expected_version)
    forget_cache()
    return {"overrides": stored, "_version": version}


def _dispatch_targets() -> tuple[frozenset[str], dict[str, str], frozenset[str]]:
    """(active department and office codes, office -> department of every office, the departments and
    offices whose closures need their lead's approval), read together. An office asks for approval
    when it is set on the office itself or on its department (an office's work is its department's)."""
    departments = directory.list_entries(directory.DEPARTMENTS)
    offices = directory.list_entries(directory.OFFICES)
    approving = frozenset(d["code"] for d in departments + offices if d.get("closure_needs_approval") is True)
    return (frozenset(d["code"] for d in departments + offices if d.get("active", True)),
            {o["code"]: o["department"] for o in offices},
            approving | {o["code"] for o in offices if o.get("department") in approving})


def department_codes() -> frozenset[str]:
    """Codes of the active departments and grassroots offices (cached): dispatch targets must be among them."""
    return _cached("DEPARTMENTS", _dispatch_targets)[0]


def office_departments() -> dict[str, str]:
    """Grassroots office code -> its department (cached; retired offices too, for old tickets' scope)."""
    return _cached("DEPARTMENTS", _dispatch_targets)[1]


def offices_of(department: str) -> list[str]:
    """The grassroots offices under ``department``, sorted (retired ones too: their old work still counts)."""
    return sorted(code for code, parent in office_departments().items() if parent == department)


def approval_departments() -> frozenset[str]:
    """Departments and offices whose handlers' closures need their lead's approval (呈批) first: the
    directory entries with ``closure_needs_approval`` set (cached with the dispatch targets; off unless an
    admin turned it on)."""
    return _cached("DEPARTMENTS", _dispatch_targets)[2]


def district_codes() -> frozenset[str]:
    """Codes of the city's districts (cached): a ticket's district must be one of them."""
    return _cached("DISTRICTS", lambda: frozenset(
        d["code"] for d in directory.list_entries(directory.DISTRICTS) if d.get("active", True)))


def working_calendar() -> WorkingCalendar:
    """The official calendar with the admin overrides applied (cached)."""
    return _cached(CALENDAR_KEY, lambda: WorkingCalendar(parse_overrides(calendar_document()["overrides"])))
