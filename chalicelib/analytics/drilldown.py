"""Drill-down: the tickets behind a figure.

Every counted fact (except durations) also has a small item ``AGGF#<yyyy-mm>#<measure>`` /
``<dd>#<dept>#<ticket>#<version>#<n>`` written with the counters, so a figure - "MARKET's late
signings in March in GUSU" - lists exactly the tickets that made it: one Query per month of the
period, the other dimensions filtered, paginated. A page costs what it shows, not what the
period holds. A department's figure includes its grassroots offices' facts (as the statistics
count them under it); an office's own code lists that office's alone.
"""
from __future__ import annotations

import base64
import json
from typing import Any

from chalicelib.analytics import ddb
from chalicelib.analytics.counters import fact_pk
from chalicelib.analytics.ddb import S
from chalicelib.analytics.measures import DURATION_MEASURES, MEASURES
from chalicelib.analytics.period import Period
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.ticket import Ticket
from chalicelib.services import policy
from chalicelib.store.tickets import summary

FILTER_ATTRS = {"department": "dp", "district": "ds", "category": "cat", "kind": "kind", "channel": "ch",
                "agent": "ag", "respondent": "rk", "category_l1": "cat", "category_l2": "cat", "category_l3": "cat"}
CATEGORY_LEVELS = ("category_l1", "category_l2", "category_l3")
MAX_IN_VALUES = 100  # DynamoDB's limit on the operands of IN
MAX_PAGES_PER_REQUEST = 20
MAX_LIMIT = 200


def _encode(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("invalid cursor", details={"cursor": "not a cursor this API gave out"}) from None
    if not isinstance(data, dict) or not isinstance(data.get("m", 0), int):
        raise ValidationFailed("invalid cursor", details={"cursor": "not a cursor this API gave out"})
    key = data.get("k")
    if key is not None and (not isinstance(key, dict) or not all(isinstance(v, dict) for v in key.values())):
        raise ValidationFailed("invalid cursor", details={"cursor": "not a cursor this API gave out"})
    return data


def _category_family(dim: str, value: str) -> list[str]:
    """The stored categories a level row (``category_l1`` = ``C02``) counts: its subtree's codes and
    the old free-text names that map into it. 未分类 (``-``) mixes free text and higher levels: it
    is listed by ``category`` instead."""
    from chalicelib.services import categories

    tree = categories.tree()
    level = CATEGORY_LEVELS.index(dim) + 1
    if value not in tree or tree.level(value) != level:
        raise ValidationFailed("not a category of this level",
                               details={dim: f"{value} is not a category of level {level}"})
    family = tree.stored_under(value)
    if len(family) > MAX_IN_VALUES:
        raise ValidationFailed("too many categories under this one to list its tickets",
                               details={dim: f"{len(family)} stored values, at most {MAX_IN_VALUES}"})
    return family


def facts(measure: str, period: Period, filters: dict[str, str], *, limit: int = 50,
          cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the facts behind ``measure`` in ``period`` matching ``filters`` (dimension -> value)."""
    if measure not in MEASURES or measure in DURATION_MEASURES:
        raise ValidationFailed("no drill-down for this measure",
                               details={"measure": "a counted measure (durations and rates have no tickets)"})
    unknown = set(filters) - set(FILTER_ATTRS)
    if unknown:
        raise ValidationFailed("unknown filter", details={k: "not a dimension" for k in unknown})
    limit = max(1, min(limit, MAX_LIMIT))
    months = period.months()
    position = _decode(cursor)
    index = position.get("m", 0)
    start_key = position.get("k")
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    conditions = []
    for n, (dim, value) in enumerate(sorted(filters.items())):
        names[f"#f{n}"] = FILTER_ATTRS[dim]
        if dim == "department":
            family = [value, *policy.offices_of(value)]
        elif dim in CATEGORY_LEVELS:
            family = _category_family(dim, value)
        else:
            family = [value]
        for m, code in enumerate(family):
            values[f":f{n}_{m}"] = S(code)
        conditions.append(f"#f{n} IN ({', '.join(f':f{n}_{m}' for m in range(len(family)))})")
    found: list[dict[str, Any]] = []
    pages = 0
    while index < len(months) and len(found) < limit and pages < MAX_PAGES_PER_REQUEST:
        month = months[index]
        days = sorted(period.days_of(month))
        request: dict[str, Any] = {
            "TableName": ddb.table(),
            "KeyConditionExpression": "PK = :p AND SK BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":p": S(fact_pk(month, measure)), ":lo": S(f"{days[0]}#"),
                                          ":hi": S(f"{days[-1]}#~"), **values},
            "Limit": limit - len(found),
        }
        if conditions:
            request["FilterExpression"] = " AND ".join(conditions)
            request["ExpressionAttributeNames"] = names
        if start_key:
            request["ExclusiveStartKey"] = start_key
        answer = ddb.ddb().query(**request)
        pages += 1
        for item in answer.get("Items", []):
            sk = item["SK"]["S"].split("#")
            found.append({"ticket_id": sk[2], "version": int(sk[3]), "day": f"{month}-{sk[0]}",
                          "department": sk[1], "district": item.get("ds", {}).get("S"),
                          "category": item.get("cat", {}).get("S"), "kind": item.get("kind", {}).get("S"),
                          "channel": item.get("ch", {}).get("S"), "agent": item.get("ag", {}).get("S"),
                          "value": int(item.get("v", {}).get("N", "1"))})
        start_key = answer.get("LastEvaluatedKey")
        if not start_key:
            index += 1
    more = index < len(months)
    next_cursor = _encode({"m": index, **({"k": start_key} if start_key else {})}) if more else None
    return found, next_cursor


def ticket_summaries(ticket_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Masked list summaries of tickets (one BatchGetItem per 100)."""
    keys = [(f"T#{tid}", "TICKET") for tid in dict.fromkeys(ticket_ids)]
    out = {}
    for item in ddb.batch_get(keys):
        data = item.get("data")
        if isinstance(data, dict):
            ticket = Ticket.from_dict(data)
            out[ticket.id] = summary(ticket)
    return out


def page(measure: str, period: Period, filters: dict[str, str], *, limit: int = 50,
         cursor: str | None = None) -> dict[str, Any]:
    """The drill-down page: facts with the masked summaries of their tickets."""
    found, next_cursor = facts(measure, period, filters, limit=limit, cursor=cursor)
    summaries = ticket_summaries([f["ticket_id"] for f in found])
    return {"measure": measure, "label": MEASURES[measure], "period": period.to_dict(), "filters": filters,
            "items": [{**f, "ticket": summaries.get(f["ticket_id"])} for f in found], "next_cursor": next_cursor}
