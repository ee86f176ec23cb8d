"""Performance assessment (绩效考核): indicators per audience, scores per period, ranked, traceable.

An indicator is a formula over the counters (``sign_on_time / (sign_on_time + sign_late)``), a
weight, a scoring rule (:mod:`scoring`) and a target, for an audience: ``department`` (the
department counters) or ``agent`` (the centre staff's own work: registrations, acceptance,
callbacks). Managers maintain them (directory partition ``INDICATOR``); the defaults below apply
until they do.

Scores are computed from the counters of the period (cost independent of the ticket count), by
the monthly schedule and on demand, and stored per audience and period (``ASSESS#<audience>`` /
``<period>``). Each score names, per indicator, the measures that made it and how to list the
tickets behind each (the drill-down filter).

A grassroots office's (基层所) work is its department's: a department is scored on its own counters
plus its offices' (the directory says whose an office is), and ranked among departments only; each
office is also scored on its own counters, as a row under its department (``offices``), so the
breakdown stays visible. An office's staff see their office's row.
"""
from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from chalicelib.analytics import counters, ddb, formula, scoring
from chalicelib.analytics.ddb import S
from chalicelib.analytics.measures import MEASURE_NAMES, NONE, label
from chalicelib.analytics.period import Period
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import ConcurrentModification, NotFound, ValidationFailed
from chalicelib.services import policy
from chalicelib.store import directory

KIND = "INDICATOR"
AUDIENCES = ("department", "agent")
MAX_INDICATORS = 50
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _d(id_: str, name: str, formula_: str, weight: int, rule: dict, target: float, direction: str = "higher",
       unit: str = "%", description: str = "") -> dict[str, Any]:
    return {"id": id_, "name": name, "audience": "department", "formula": formula_, "weight": weight, "rule": rule,
            "target": target, "direction": direction, "unit": unit, "description": description, "active": True}


# Defaults, from DOMAIN.md "Assessment": timeliness, returns, extensions, urgings, satisfaction, solved rate.
DEFAULT_INDICATORS: tuple[dict[str, Any], ...] = (
    _d("dept-sign-rate", "按时签收率", "sign_on_time / (sign_on_time + sign_late)", 15,
       {"type": "linear", "floor": 0.6}, 0.98),
    _d("dept-handle-rate", "按时办结率", "handle_on_time / (handle_on_time + handle_late)", 25,
       {"type": "linear", "floor": 0.6}, 0.95),
    _d("dept-satisfaction", "满意率", "(satisfied + basically_satisfied) / feedback", 25,
       {"type": "linear", "floor": 0.6}, 0.95),
    _d("dept-solved", "解决率", "solved / feedback", 10, {"type": "linear", "floor": 0.5}, 0.9),
    _d("dept-return-rate", "退单率", "returned / dispatched", 10, {"type": "linear", "floor": 0.3}, 0.05, "lower"),
    _d("dept-extension-rate", "延期率", "extended / dispatched", 5, {"type": "linear", "floor": 0.3}, 0.05, "lower"),
    _d("dept-urged", "被催办次数", "urged", 5, {"type": "deduct", "per_unit": 5}, 0, "lower", "次"),
    _d("dept-supervised", "被督办次数", "supervised", 5, {"type": "deduct", "per_unit": 10}, 0, "lower", "次"),
    {**_d("agent-accept-rate", "按时受理率", "accept_on_time / (accept_on_time + accept_late)", 30,
          {"type": "linear", "floor": 0.7}, 0.99), "audience": "agent"},
    {**_d("agent-callback-rate", "回访及时率", "callback_on_time / (callback_on_time + callback_late)", 30,
          {"type": "linear", "floor": 0.7}, 0.99), "audience": "agent"},
    {**_d("agent-satisfaction", "回访满意率", "(satisfied + basically_satisfied) / feedback", 20,
          {"type": "linear", "floor": 0.6}, 0.95), "audience": "agent"},
    {**_d("agent-accept-hours", "平均受理用时", "accept_seconds / accept_n / 3600", 20,
          {"type": "linear", "floor": 48}, 4, "lower", "小时"), "audience": "agent"},
    # The call centre's indicators (calls answered): an agent with no calls in the period has no
    # value for them, so the weights renormalise and their score is what it was without them.
    {**_d("agent-call-answer-rate", "接听率", "calls_answered / calls_offered", 20,
          {"type": "linear", "floor": 0.8}, 0.98), "audience": "agent"},
    {**_d("agent-call-handle-minutes", "平均通话处理时长", "call_handle_seconds / calls_answered / 60", 10,
          {"type": "linear", "floor": 15}, 5, "lower", "分钟"), "audience": "agent"},
)


def validate(data: dict[str, Any]) -> dict[str, Any]:
    """An indicator's fields, checked: formula over known measures, rule consistent with target."""
    errors: dict[str, str] = {}
    name = data.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 40:
        errors["name"] = "1 to 40 characters"
    if data.get("audience") not in AUDIENCES:
        errors["audience"] = "department or agent"
    weight = data.get("weight")
    if not isinstance(weight, (int, float)) or isinstance(weight, bool) or not 0 <= weight <= 100:
        errors["weight"] = "a number from 0 to 100"
    for key, limit in (("unit", 8), ("description", 300)):
        if data.get(key) is not None and (not isinstance(data[key], str) or len(data[key]) > limit):
            errors[key] = f"at most {limit} characters"
    if errors:
        raise ValidationFailed("invalid indicator", details=errors)
    parsed = formula.parse(data.get("formula"), MEASURE_NAMES)  # type: ignore[arg-type]
    rule = scoring.Rule.from_dict(data.get("rule"), data.get("target"), data.get("direction", "higher"))
    return {"name": name.strip(), "audience": data["audience"], "formula": parsed.text, "weight": weight,
            "rule": rule.to_dict(), "target": rule.target, "direction": rule.direction,
            "unit": data.get("unit") or "", "description": data.get("description") or "",
            "active": data.get("active", True) is not False}


def indicators(audience: str | None = None, *, include_inactive: bool = False) -> list[dict[str, Any]]:
    """The indicators in force (the defaults until a manager saved any)."""
    saved = [{k: v for k, v in e.items() if k != "_version"} | {"version": e["_version"]}
             for e in directory.list_entries(KIND)]
    found = saved if saved else [dict(d, version=0, default=True) for d in DEFAULT_INDICATORS]
    return [i for i in found if (audience is None or i["audience"] == audience)
            and (include_inactive or i.get("active", True))]


def _materialise_defaults(actor: str, now: datetime) -> None:
    """Saving the first indicator keeps the defaults: they become ordinary, editable indicators."""
    if directory.list_entries(KIND):
        return
    for d in DEFAULT_INDICATORS:
        directory.put_entry(KIND, d["id"], {**d, "updated_by": actor, "updated_at": now.astimezone(TZ).isoformat()},
                            expected_version=0)


def create(data: dict[str, Any], *, actor: str, now: datetime) -> dict[str, Any]:
    clean = validate(data)
    _materialise_defaults(actor, now)
    if len(directory.list_entries(KIND)) >= MAX_INDICATORS:
        raise ValidationFailed("too many indicators", details={"indicators": f"at most {MAX_INDICATORS}"})
    indicator_id = f"{clean['audience'][:4]}-{uuid.uuid4().hex[:10]}"
    directory.put_entry(KIND, indicator_id, {**clean, "id": indicator_id, "updated_by": actor,
                                             "updated_at": now.astimezone(TZ).isoformat()}, expected_version=0)
    return get(indicator_id)


def get(indicator_id: str) -> dict[str, Any]:
    if not isinstance(indicator_id, str) or not _ID.match(indicator_id):
        raise NotFound("no such indicator")
    entry = directory.find_entry(KIND, indicator_id)
    if entry is None:
        default = next((d for d in DEFAULT_INDICATORS if d["id"] == indicator_id), None)
        if default is None or directory.list_entries(KIND):
            raise NotFound("no such indicator")
        return dict(default, version=0, default=True)
    return {k: v for k, v in entry.items() if k != "_version"} | {"version": entry["_version"]}


def update(indicator_id: str, data: dict[str, Any], *, expected_version: int, actor: str,
           now: datetime) -> dict[str, Any]:
    current = get(indicator_id)
    clean = validate(data)
    if current.get("default"):  # still a built-in default: saving it stores the whole default set first
        if expected_version != 0:
            raise ConcurrentModification("the indicator changed: reload and try again",
                                         details={"expected_version": expected_version, "version": 0})
        _materialise_defaults(actor, now)
        expected_version = 1
    directory.put_entry(KIND, indicator_id, {**clean, "id": indicator_id, "updated_by": actor,
                                             "updated_at": now.astimezone(TZ).isoformat()},
                        expected_version=expected_version)
    return get(indicator_id)


def _subjects(audience: str, period: Period) -> tuple[dict[str, Counter], dict[str, dict[str, Counter]]]:
    """The subjects' summed counters, and per department its grassroots offices' own counters
    (the department's sums include them)."""
    dimension = "department" if audience == "department" else "agent"
    found = {k: v for k, v in counters.totals(dimension, period).items() if k != NONE}
    offices: dict[str, dict[str, Counter]] = {}
    if audience == "department":
        parents = policy.office_departments()
        for office, parent in parents.items():
            own = found.pop(office, None)
            if own is not None:  # an office with work in the period counts under its department
                offices.setdefault(parent, {})[office] = own
                found.setdefault(parent, Counter()).update(own)
        for entry in directory.list_entries(directory.DEPARTMENTS):
            if entry.get("code") and entry.get("active", True):
                found.setdefault(entry["code"], Counter())
    else:
        agents = {u["username"] for u in directory.list_entries(directory.USERS) if u.get("role") == "agent"}
        if agents:
            found = {k: v for k, v in found.items() if k in agents}
            for name in agents:
                found.setdefault(name, Counter())
    return found, offices


Parsed = list[tuple[dict[str, Any], Any, scoring.Rule]]


def _scored(subject: str, sums: Counter, parsed: Parsed) -> tuple[float | None, dict[str, Any]]:
    """One subject's weighted total and its row (every indicator's value, score and inputs)."""
    parts = []
    details = []
    busy = any(sums.values())  # no business at all in the period: nothing to score (not a perfect 100)
    for indicator, parsed_formula, rule in parsed:
        value = formula.evaluate(parsed_formula, sums) if busy else None
        points = scoring.score(rule, value)
        parts.append((float(indicator["weight"]), points))
        details.append({"indicator": indicator["id"], "name": indicator["name"], "weight": indicator["weight"],
                        "value": None if value is None else round(value, 4), "score": _r(points),
                        "unit": indicator.get("unit", ""), "target": indicator["target"],
                        "inputs": {m: int(sums.get(m, 0)) for m in sorted(parsed_formula.names)}})
    return scoring.weighted(parts), {"subject": subject, "indicators": details}


def compute(period: Period, audience: str) -> dict[str, Any]:
    """Scores of every subject of ``audience`` for ``period``, ranked, with their inputs (a
    department's row lists its grassroots offices' own scores under ``offices``, unranked)."""
    if audience not in AUDIENCES:
        raise ValidationFailed("invalid audience", details={"audience": "department or agent"})
    active = indicators(audience)
    parsed = [(i, formula.parse(i["formula"], MEASURE_NAMES),
               scoring.Rule.from_dict(i["rule"], i["target"], i.get("direction", "higher"))) for i in active]
    subjects, offices = _subjects(audience, period)
    rows: dict[str, dict[str, Any]] = {}
    totals: dict[str, float | None] = {}
    for subject, sums in subjects.items():
        totals[subject], rows[subject] = _scored(subject, sums, parsed)

    def traced(subject: str) -> dict[str, Any]:
        return {"filter": {audience if audience == "department" else "agent": subject},
                "from": period.start.isoformat(), "to": period.end.isoformat()}

    ranked = []
    for subject, total, position in scoring.rank(totals):
        row = {**rows[subject], "score": _r(total), "rank": position, "trace": traced(subject)}
        if subject in offices:
            row["offices"] = []
            for office, sums in sorted(offices[subject].items()):
                office_total, office_row = _scored(office, sums, parsed)
                row["offices"].append({**office_row, "score": _r(office_total), "rank": None,
                                       "department": subject, "trace": traced(office)})
        ranked.append(row)
    return {"period": period.to_dict(), "audience": audience,
            "indicators": [{"id": i["id"], "name": i["name"], "formula": i["formula"], "weight": i["weight"],
                            "target": i["target"], "direction": i.get("direction", "higher"), "rule": i["rule"],
                            "unit": i.get("unit", "")} for i in active],
            "scores": ranked}


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def store(result: dict[str, Any], *, actor: str, now: datetime) -> dict[str, Any]:
    """Keep a computed result (the last one per audience and period)."""
    stamped = {**result, "computed_at": now.astimezone(TZ).isoformat(), "computed_by": actor}
    ddb.ddb().put_item(TableName=ddb.table(), Item={
        "PK": S(f"ASSESS#{result['audience']}"), "SK": S(result["period"]["label"]),
        "data": S(json.dumps(stamped, ensure_ascii=False, separators=(",", ":")))})
    return stamped


def run(period: Period, audience: str, *, actor: str, now: datetime) -> dict[str, Any]:
    """Compute and keep the scores (the schedule and the on-demand route call this)."""
    return store(compute(period, audience), actor=actor, now=now)


def stored(period: Period, audience: str) -> dict[str, Any] | None:
    if audience not in AUDIENCES:
        raise ValidationFailed("invalid audience", details={"audience": "department or agent"})
    item = ddb.get(f"ASSESS#{audience}", period.label)
    return json.loads(item["data"]) if item else None


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every scored row: the ranked subjects and their grassroots offices."""
    return [row for r in result["scores"] for row in (r, *r.get("offices", ()))]


def scoped(result: dict[str, Any], department: str | None) -> dict[str, Any]:
    """A department sees its own row (with its rank and its offices') and the indicators, nothing of
    the others; a grassroots office sees its own row."""
    if department is None:
        return result
    return {**result, "scores": [r for r in _rows(result) if r["subject"] == department]}


def trace(result: dict[str, Any], subject: str, indicator_id: str) -> dict[str, Any]:
    """How one score was made: the inputs of the indicator and the drill-down of each."""
    row = next((r for r in _rows(result) if r["subject"] == subject), None)
    if row is None:
        raise NotFound("no score for this subject in this period")
    detail = next((d for d in row["indicators"] if d["indicator"] == indicator_id), None)
    if detail is None:
        raise NotFound("no such indicator in this result")
    return {"subject": subject, "indicator": detail, "period": result["period"],
            "drilldown": [{"measure": m, "label": label(m), "count": c, "filter": row["trace"]["filter"]}
                          for m, c in detail["inputs"].items() if not (m.endswith("_seconds") or m.endswith("_n"))]}
