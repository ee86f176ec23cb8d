"""Pre-aggregated counters in the single table: written exactly once per ticket change, read per period.

Key layout. A counter item holds one day's measures for one dimension value (``received``,
``signed``... updated with ``ADD``); its partition is the month, so a month's breakdown by a
dimension is one Query and one value's month is one ranged Query. Items stay small (about 1 KB),
which keeps every write at one write unit.

| item | PK | SK | attributes |
| --- | --- | --- | --- |
| counter | ``AGG#<yyyy-mm>#<dim>`` | ``<value>#<dd>`` | ``received``, ``signed``... |
| cube cell | ``AGG#<yyyy-mm>#cube`` | ``dept|district|category|kind|channel#<dd>`` | same |
| cube cell, month | ``AGG#<yyyy-mm>#cube_month`` | ``dept|district|category|kind|channel`` | same, for the month |
| respondent | ``AGG#<yyyy-mm>#respondent`` | respondent key | ``received_<dd>``, ``received_total``, ``name``; GSI1 ``RA#<last day>`` |
| respondent, year | ``AGG#<yyyy>#respondent_year`` | respondent key | ``m01``..``m12``, ``total`` |
| top respondent | ``AGG#<yyyy>#respondent_top`` | respondent key | copy of the year item once ``total`` >= 3 |
| fact (drill-down) | ``AGGF#<yyyy-mm>#<measure>`` | ``<dd>#<dept>#<ticket>#<version>#<n>`` | other dims, value |
| claim | ``AGGC#<ticket>`` | ``<version>`` | this change was counted (TTL) |
| data-report claim | ``AGGC#<ticket>`` | ``<version>#dr#<partner>`` | this record's timeliness was counted (TTL 400 days) |

``<dim>`` is ``total`` (value ``all``), a cube dimension, or ``agent``. A month's breakdown by a
dimension is one Query; a year is twelve. Nothing read grows with the number of tickets, only
with the number of distinct dimension values.

The cube is kept twice. Its day cells answer crossed questions by day or over part of a month;
they are many (a cell is active on many days: at the density of a 1,000,000-ticket year, a few
hundred thousand items a month). Whole months without a daily breakdown read the month cells,
about a tenth as many, bounded by the combinations of departments, districts, categories, kinds
and channels that occur. The second copy costs one more update per ticket change.

Exactly once (stream delivery is at least once, and a batch may be retried after a partial
failure): the changes of a stream batch are cut into chunks, and each chunk is one
TransactWriteItems holding

* a *claim* per ticket change - a put of ``AGGC#<ticket>/<version>`` on condition that it does
  not exist -,
* the chunk's counter updates, merged in memory (``ADD``: one update per counter item), and
* the drill-down fact items of those changes.

Either all of it commits or none. A redelivered change fails its claim: the transaction is
cancelled, the cancellation reasons name the claims that failed, those changes are dropped (they
were counted) and the rest is committed. (A ticket item written again at a version already
counted - a restore, a repair - is the same: its claim exists, nothing is counted twice.) Claims
expire (TTL) after a week; the stream keeps records for 24 hours. Two workers updating one hot counter at once make one transaction fail
with ``TransactionConflict``: it is retried with jittered backoff.
"""
from __future__ import annotations

import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.analytics import ddb
from chalicelib.analytics.ddb import N, S
from chalicelib.analytics.facts import Change
from chalicelib.analytics.measures import DURATION_MEASURES, NONE, RESPONDENT_MEASURES
from chalicelib.analytics.period import Period
from chalicelib.observability import logger

TOTAL = "all"
MONTH_CUBE = "cube_month"  # the cube's month cells (no day)
TOP_RESPONDENT_MIN = 3  # a respondent joins the year's top list from its 3rd ticket: 1-2 is no pattern
MARKER_TTL_SECONDS = 7 * 86400  # stream records live 24 h; redelivery after a week is impossible
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit per TransactWriteItems
MAX_ATTRS_PER_UPDATE = 80  # keeps an update expression well inside its 4 KB
MAX_ATTEMPTS = 8
_COUNT_ATTR = re.compile(r"^([a-z_]+)_(\d\d)$")
_META = frozenset({"PK", "SK", "name", "GSI1PK", "GSI1SK", "expires_at"})  # not measures


def counter_pk(month: str, dimension: str) -> str:
    return f"AGG#{month}#{dimension}"


def fact_pk(month: str, measure: str) -> str:
    return f"AGGF#{month}#{measure}"


def cube_key(department: str, district: str, category: str, kind: str, channel: str) -> str:
    return "|".join((department, district, category, kind, channel))


# --------------------------------------------------------------------------- writing


@dataclass
class ApplyReport:
    """What one :func:`apply` did (for logs, metrics and tests)."""

    changes: int = 0
    counted: int = 0
    already_counted: int = 0
    transactions: int = 0
    conflicts: int = 0
    updates: int = 0
    facts: int = 0


def build_updates(changes: Sequence[Change]) -> list[dict[str, Any]]:
    """The merged counter updates of some changes: one per counter item (JSON-safe)."""
    adds: dict[tuple[str, str], Counter] = defaultdict(Counter)
    sets: dict[tuple[str, str], dict[str, str]] = {}
    kinds: dict[tuple[str, str], str] = {}
    activity: dict[tuple[str, str], str] = {}  # respondent item -> RA#<latest day> (its GSI1 key)
    for change in changes:
        d = change.dims
        for f in change.facts:
            month, dd = f.day[:7], f.day[8:10]
            targets = [("total", TOTAL), ("department", f.department), ("district", d.district),
                       ("category", d.category), ("kind", d.kind), ("channel", d.channel)]
            if f.agent:
                targets.append(("agent", f.agent))
            for dimension, value in targets:
                adds[(counter_pk(month, dimension), f"{value}#{dd}")][f.measure] += f.value
            cube = cube_key(f.department, d.district, d.category, d.kind, d.channel)
            adds[(counter_pk(month, "cube"), f"{cube}#{dd}")][f.measure] += f.value
            adds[(counter_pk(month, MONTH_CUBE), cube)][f.measure] += f.value
            if f.measure in RESPONDENT_MEASURES and d.respondent != NONE:
                key = (counter_pk(month, "respondent"), d.respondent)
                adds[key][f"{f.measure}_{dd}"] += f.value
                adds[key][f"{f.measure}_total"] += f.value
                extra = sets.setdefault(key, {"GSI1SK": f"{month}#{d.respondent}"})
                activity[key] = max(activity.get(key, ""), f"RA#{f.day}")
                if d.respondent_name:
                    extra["name"] = d.respondent_name[:100]
                if f.measure == "received":
                    year_key = (counter_pk(f.day[:4], "respondent_year"), d.respondent)
                    adds[year_key][f"m{month[5:7]}"] += f.value
                    adds[year_key]["total"] += f.value
                    kinds[year_key] = "respondent_year"
                    if d.respondent_name:
                        sets.setdefault(year_key, {})["name"] = d.respondent_name[:100]
    return [{"pk": key[0], "sk": key[1], "add": dict(sorted(adds[key].items())),
             **({"set": sets[key]} if key in sets else {}), **({"kind": kinds[key]} if key in kinds else {}),
             **({"activity": activity[key]} if key in activity else {})}
            for key in sorted(adds)]


def fact_items(changes: Sequence[Change]) -> list[dict[str, Any]]:
    """The drill-down items (one per counted fact; durations have none)."""
    items = []
    for change in changes:
        d = change.dims
        for n, f in enumerate(change.facts):
            if f.measure in DURATION_MEASURES:
                continue
            item = {"PK": S(fact_pk(f.day[:7], f.measure)),
                    "SK": S(f"{f.day[8:10]}#{f.department}#{change.ticket_id}#{change.version:010d}#{n:03d}"),
                    "dp": S(f.department), "ds": S(d.district), "cat": S(d.category), "kind": S(d.kind),
                    "ch": S(d.channel), "rk": S(d.respondent), "v": N(f.value)}
            if f.agent:
                item["ag"] = S(f.agent)
            items.append(item)
    return items


def _expires(ttl_seconds: int = 0) -> int:
    return int(time.time()) + (ttl_seconds or MARKER_TTL_SECONDS)


def _claim_item(change: Change) -> dict[str, Any]:
    return {"Put": {"TableName": ddb.table(), "ConditionExpression": "attribute_not_exists(PK)", "Item": {
        "PK": S(f"AGGC#{change.ticket_id}"), "SK": S(change.claim_key),
        "expires_at": N(_expires(change.claim_ttl_seconds))}}}


def _update_item(update: dict[str, Any]) -> dict[str, Any]:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    adds = []
    for i, (attr, amount) in enumerate(update["add"].items()):
        names[f"#a{i}"] = attr
        values[f":a{i}"] = N(amount)
        adds.append(f"#a{i} :a{i}")
    expression = "ADD " + ", ".join(adds)
    sets = update.get("set") or {}
    if sets:
        parts = []
        for i, (attr, value) in enumerate(sets.items()):
            names[f"#s{i}"] = attr
            values[f":s{i}"] = S(value)
            parts.append(f"#s{i} = :s{i}")
        expression += " SET " + ", ".join(parts)
    if update.get("activity"):  # present from the first ticket on; moved forward after the commit
        names["#ra"] = "GSI1PK"
        values[":ra"] = S(update["activity"])
        expression += (", " if sets else " SET ") + "#ra = if_not_exists(#ra, :ra)"
    return {"Update": {"TableName": ddb.table(), "Key": {"PK": S(update["pk"]), "SK": S(update["sk"])},
                       "UpdateExpression": expression, "ExpressionAttributeNames": names,
                       "ExpressionAttributeValues": values}}


def _footprint(changes: Sequence[Change]) -> tuple[int, dict[tuple[str, str], set[str]]]:
    """What some changes put in a transaction: their fact items, and the attributes of each counter item."""
    attributes = {(u["pk"], u["sk"]): {*u["add"], *(u.get("set") or {})} for u in build_updates(changes)}
    return len(fact_items(changes)), attributes


def _fits(claims: int, facts: int, attributes: dict[tuple[str, str], set[str]]) -> bool:
    """One transaction can hold these claims, facts and merged counter updates."""
    return claims + facts + len(attributes) <= MAX_TRANSACTION_ITEMS and \
        all(len(names) <= MAX_ATTRS_PER_UPDATE for names in attributes.values())


def _parts(change: Change) -> list[Change]:
    """A change too big for one transaction, split into parts that are claimed one by one."""
    if _fits(1, *_footprint([change])):
        return [change]
    middle = len(change.facts) // 2
    if middle == 0:
        raise ValueError(f"a single fact does not fit in a transaction: {change.id}")
    halves = [replace(change, facts=change.facts[:middle], part=f"{change.part}a"),
              replace(change, facts=change.facts[middle:], part=f"{change.part}b")]
    return [p for half in halves for p in _parts(half)]


def chunks(changes: Sequence[Change]) -> Iterator[list[Change]]:
    """Consecutive changes grouped so that each group fits in one transaction.

    The group's footprint grows change by change (the union of counter attributes), so cutting a
    batch costs one footprint per change, not one per change and group member.
    """
    current: list[Change] = []
    facts, attributes = 0, {}
    for change in changes:
        for part in _parts(change):
            part_facts, part_attributes = _footprint([part])
            merged = {**attributes, **{key: attributes.get(key, set()) | names for key, names in part_attributes.items()}}
            if current and not _fits(len(current) + 1, facts + part_facts, merged):
                yield current
                current, facts, merged = [], 0, part_attributes
            current.append(part)
            facts += part_facts
            attributes = merged
    if current:
        yield current


def _transact(items: list[dict[str, Any]]) -> None:
    ddb.ddb().transact_write_items(TransactItems=items)


def _commit(chunk: list[Change], report: ApplyReport) -> None:
    remaining = list(chunk)
    for attempt in range(MAX_ATTEMPTS):
        if not remaining:
            return
        updates = build_updates(remaining)
        facts = fact_items(remaining)
        try:
            _transact([_claim_item(c) for c in remaining] + [_update_item(u) for u in updates]
                      + [{"Put": {"TableName": ddb.table(), "Item": f}} for f in facts])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            counted = {remaining[i].id for i, code in enumerate(reasons[:len(remaining)])
                       if code == "ConditionalCheckFailed"}
            if counted:  # delivered before: counted then, never again
                report.already_counted += len(counted)
                remaining = [c for c in remaining if c.id not in counted]
                continue
            if "TransactionConflict" in reasons or not reasons:
                report.conflicts += 1
                time.sleep(min(1.0, 0.02 * 2 ** attempt) * (0.5 + random.random()))
                continue
            raise
        report.transactions += 1
        report.counted += len(remaining)
        report.updates += len(updates)
        report.facts += len(facts)
        _promote_respondents([u for u in updates if u.get("kind") == "respondent_year"])
        _move_activity([u for u in updates if u.get("activity")])
        return
    raise RuntimeError(f"analytics: {len(remaining)} changes not committed after {MAX_ATTEMPTS} attempts")


def _move_activity(updates: list[dict[str, Any]]) -> None:
    """Move each respondent's GSI1 key to its latest active day (never back: chunks and batches may
    arrive out of day order). Outside the transaction: a crash here only delays the marker to the
    respondent's next ticket."""
    for update in updates:
        try:
            ddb.ddb().update_item(TableName=ddb.table(), Key={"PK": S(update["pk"]), "SK": S(update["sk"])},
                                  UpdateExpression="SET #ra = :ra", ConditionExpression="#ra < :ra",
                                  ExpressionAttributeNames={"#ra": "GSI1PK"},
                                  ExpressionAttributeValues={":ra": S(update["activity"])})
        except ClientError as exc:
            if not ddb.is_condition_failure(exc):
                raise


def _promote_respondents(updates: list[dict[str, Any]]) -> None:
    """Copy the year counts of respondents with enough tickets into the year's top list.

    ``total`` only grows, so it orders the copies: an older copy never overwrites a newer one.
    """
    if not updates:
        return
    for item in ddb.batch_get([(u["pk"], u["sk"]) for u in updates]):
        total = int(item.get("total", 0))
        if total < TOP_RESPONDENT_MIN:
            continue
        copy = {**item, "PK": item["PK"].replace("#respondent_year", "#respondent_top")}
        try:
            ddb.ddb().put_item(TableName=ddb.table(), Item=ddb.to_item(copy),
                               ConditionExpression="attribute_not_exists(#t) OR #t < :t",
                               ExpressionAttributeNames={"#t": "total"}, ExpressionAttributeValues={":t": N(total)})
        except ClientError as exc:
            if not ddb.is_condition_failure(exc):
                raise


def apply(changes: Iterable[Change], report: ApplyReport | None = None) -> ApplyReport:
    """Count ``changes`` exactly once (see the module docstring); safe to call again with any of them."""
    report = report or ApplyReport()
    unique = list({c.id: c for c in changes if c.facts}.values())
    report.changes += len(unique)
    for chunk in chunks(unique):
        _commit(chunk, report)
    logger.debug("analytics counted", extra={"changes": report.counted, "transactions": report.transactions})
    return report


# --------------------------------------------------------------------------- reading


def _measures(item: dict[str, Any]) -> Iterator[tuple[str, int]]:
    """(measure, count) of a low-level counter item."""
    for name, value in item.items():
        if name not in _META and "N" in value:
            yield name, int(value["N"])


def _day_items(pk: str, month: str, days: frozenset[str], value: str | None) -> Iterator[tuple[str, str, dict]]:
    """(value, dd, item) of a month partition's counter items on the given days (one value, or all)."""
    if not days:
        return
    if value is not None:
        items: Iterable[dict[str, Any]] = ddb.query(
            KeyConditionExpression="PK = :p AND SK BETWEEN :lo AND :hi",
            ExpressionAttributeValues={":p": S(pk), ":lo": S(f"{value}#{min(days)}"), ":hi": S(f"{value}#{max(days)}")})
    else:
        items = ddb.query(KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": S(pk)})
    for item in items:
        found, _, dd = item["SK"]["S"].rpartition("#")
        if dd in days and (value is None or found == value):
            yield found, dd, item


def read(dimension: str, period: Period, *, values: Iterable[str] | None = None,
         by_day: bool = False) -> dict[str, dict[str, Counter]]:
    """Counters of one dimension over a period: value -> (day or ``""``) -> measure -> count.

    With ``values``, only those dimension values (one ranged Query each per month).
    """
    wanted: list[str | None] = sorted(set(values)) if values is not None else [None]
    out: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for month in period.months():
        days = period.days_of(month)
        pk = counter_pk(month, dimension)
        for one in wanted:
            for value, dd, item in _day_items(pk, month, days, one):
                bucket = out[value][f"{month}-{dd}" if by_day else ""]
                for measure, count in _measures(item):
                    bucket[measure] += count
    return out


def totals(dimension: str, period: Period, *, values: Iterable[str] | None = None) -> dict[str, Counter]:
    """value -> measure -> count summed over the period."""
    return {value: days[""] for value, days in read(dimension, period, values=values).items()}


def cube(period: Period, *, by_day: bool = False) -> Iterator[tuple[tuple[str, ...], str, Counter]]:
    """(department, district, category, kind, channel), day (or ``""``), counts - for every cell.

    Without ``by_day``, the months the period covers whole are read from the month cells."""
    for month in period.months():
        days = period.days_of(month)
        if not by_day and period.covers_month(month):
            for item in ddb.query(KeyConditionExpression="PK = :p",
                                  ExpressionAttributeValues={":p": S(counter_pk(month, MONTH_CUBE))}):
                yield tuple(item["SK"]["S"].split("|")), "", Counter(dict(_measures(item)))
            continue
        merged: dict[tuple[tuple[str, ...], str], Counter] = defaultdict(Counter)
        for value, dd, item in _day_items(counter_pk(month, "cube"), month, days, None):
            merged[(tuple(value.split("|")), f"{month}-{dd}" if by_day else "")].update(dict(_measures(item)))
        for (cell, day), counts in merged.items():
            yield cell, day, counts


def _counts(item: dict[str, Any], days: frozenset[str]) -> Iterator[tuple[str, str, int]]:
    """(measure, dd, count) of a respondent item's ``<measure>_<dd>`` attributes, for the days asked."""
    for name, value in item.items():
        if name in _META or "N" not in value:
            continue
        match = _COUNT_ATTR.match(name)
        if match and match.group(2) in days:
            yield match.group(1), match.group(2), int(value["N"])


def respondents_month(month: str, period: Period) -> dict[str, tuple[str | None, Counter]]:
    """Respondent key -> (name, day -> received) for one month, restricted to the period."""
    days = period.days_of(month)
    out: dict[str, tuple[str | None, Counter]] = {}
    for item in ddb.query(KeyConditionExpression="PK = :p",
                          ExpressionAttributeValues={":p": S(counter_pk(month, "respondent"))}):
        per_day: Counter = Counter()
        for measure, dd, count in _counts(item, days):
            if measure == "received":
                per_day[f"{month}-{dd}"] += count
        if per_day:
            out[item["SK"]["S"]] = ((item.get("name") or {}).get("S"), per_day)
    return out


def top_respondents(year: int) -> list[dict[str, Any]]:
    """The year's respondents with at least :data:`TOP_RESPONDENT_MIN` tickets: key, name, months."""
    out = []
    for item in ddb.query(KeyConditionExpression="PK = :p",
                          ExpressionAttributeValues={":p": S(counter_pk(f"{year:04d}", "respondent_top"))}):
        plain = ddb.from_item(item)
        out.append({"key": plain["SK"], "name": plain.get("name"),
                    "months": {k[1:]: int(v) for k, v in plain.items() if re.fullmatch(r"m\d\d", k)},
                    "total": int(plain.get("total", 0))})
    return out


def active_respondents(day: str) -> list[tuple[str, str]]:
    """(month, respondent key) of respondents whose last ticket was received on ``day`` (GSI1)."""
    out = []
    for item in ddb.query(IndexName="GSI1", KeyConditionExpression="GSI1PK = :p",
                          ExpressionAttributeValues={":p": S(f"RA#{day}")}):
        month, _, key = item["GSI1SK"]["S"].partition("#")
        out.append((month, key))
    return out
