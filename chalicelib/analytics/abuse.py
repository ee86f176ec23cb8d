"""Advisory flags for abuse patterns (Art. 17): frequent complainants, shared phones and addresses.

Checked on every new ticket, from what the platform already indexes:

* *frequent complainant* - the same phone filed ``frequent_count`` or more submissions within
  ``frequent_days`` (GSI3, the complainant's blind index, one Query; an Art. 9 split counts once);
* *shared phone* - ``shared_names`` or more different complainant names used the same phone
  within ``shared_days`` (the same Query);
* *shared address* - ``shared_names`` or more different names gave the same address within
  ``shared_days`` (one item per address and name hash, holding when it was first seen).

Defaults (5 in 30 days; 3 names) sit above what one household normally produces (a family shares
a phone or an address between two people); managers change them in ``CONFIG/ABUSE_RULES``. A flag
asks a person to look: it never changes how a ticket is handled. Names and addresses are stored
only as keyed hashes.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.analytics import ddb
from chalicelib.analytics.ddb import S
from chalicelib.domain.calendar import TZ
from chalicelib.store import directory
from chalicelib.store.tickets import blind_index

RULES_KEY = "ABUSE_RULES"
MAX_LOOKBACK_ITEMS = 200


@dataclass(frozen=True)
class Rules:
    frequent_count: int = 5
    frequent_days: int = 30
    shared_names: int = 3
    shared_days: int = 90


@dataclass(frozen=True)
class AbuseFlag:
    code: str
    label: str
    evidence: dict[str, Any] = field(default_factory=dict)


LABELS = {"frequent_complainant": "同一投诉人短期内多次投诉", "shared_phone": "同一电话被多名投诉人使用",
          "shared_address": "同一地址被多名投诉人使用"}


def rules() -> Rules:
    entry = directory.find_entry(directory.CONFIG, RULES_KEY) or {}
    defaults = Rules()
    values = {}
    for name in ("frequent_count", "frequent_days", "shared_names", "shared_days"):
        value = entry.get(name)
        values[name] = int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 1 \
            else getattr(defaults, name)
    return Rules(**values)


def _normal(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def _history(gsi3pk: str, since: datetime, until: str) -> list[dict[str, Any]]:
    """The complainant's tickets from ``since`` up to this one (GSI3 sort key ``until``), newest first.

    Bounded above by the ticket being checked, so a redelivered record sees what it saw the first time.
    """
    rows = []
    for item in ddb.query(max_pages=4, IndexName="GSI3",
                          KeyConditionExpression="GSI3PK = :p AND GSI3SK BETWEEN :s AND :u",
                          ExpressionAttributeValues={":p": S(gsi3pk), ":s": S(since.astimezone(TZ).isoformat()),
                                                     ":u": S(until)},
                          ProjectionExpression="#d.id, #d.created_at, #d.complainant.#n",
                          ExpressionAttributeNames={"#d": "data", "#n": "name"}, ScanIndexForward=False,
                          Limit=MAX_LOOKBACK_ITEMS):
        data = ddb.from_item(item).get("data") or {}
        rows.append({"id": data.get("id"), "created_at": data.get("created_at"),
                     "name": (data.get("complainant") or {}).get("name")})
        if len(rows) >= MAX_LOOKBACK_ITEMS:
            break
    return rows


def _address_names(address: str, name: str, at: datetime, days: int) -> int:
    """Record when a name was first given with an address; distinct names in the ``days`` up to ``at``.

    One small item per address and name (keyed hashes), holding the earliest time seen: a
    redelivered record cannot change the answer.
    """
    key = f"ABUSE#ADDR#{blind_index(_normal(address))}"
    stamp = at.astimezone(TZ).isoformat()
    try:
        ddb.ddb().update_item(
            TableName=ddb.table(), Key={"PK": S(key), "SK": S(blind_index(_normal(name)))},
            UpdateExpression="SET first_at = :t", ConditionExpression="attribute_not_exists(first_at) OR first_at > :t",
            ExpressionAttributeValues={":t": S(stamp)})
    except ClientError as exc:
        if not ddb.is_condition_failure(exc):
            raise
    since = (at - timedelta(days=days)).astimezone(TZ).isoformat()
    return sum(1 for _ in ddb.query(max_pages=4, KeyConditionExpression="PK = :p",
                                    FilterExpression="first_at BETWEEN :s AND :t",
                                    ExpressionAttributeValues={":p": S(key), ":s": S(since), ":t": S(stamp)}))


def check(ticket: dict[str, Any], gsi3pk: str | None, *, rules_in_force: Rules | None = None) -> list[AbuseFlag]:
    """The advisory flags a newly registered ticket raises."""
    r = rules_in_force or rules()
    created = datetime.fromisoformat(ticket["created_at"]).astimezone(TZ)
    complainant = ticket.get("complainant") or {}
    flags: list[AbuseFlag] = []
    if gsi3pk:
        history = _history(gsi3pk, created - timedelta(days=max(r.frequent_days, r.shared_days)),
                           f"{created.isoformat()}#{ticket['id']}")
        recent = [h for h in history if h["created_at"] and
                  datetime.fromisoformat(h["created_at"]) >= created - timedelta(days=r.frequent_days)]
        submissions = {h["created_at"] for h in recent}  # an Art. 9 split shares one registration time
        if len(submissions) >= r.frequent_count:
            flags.append(AbuseFlag("frequent_complainant", LABELS["frequent_complainant"],
                                   {"submissions": len(submissions), "days": r.frequent_days,
                                    "ticket_ids": [h["id"] for h in recent][:20]}))
        names = {_normal(h["name"]) for h in history if isinstance(h.get("name"), str) and h["name"].strip()}
        if len(names) >= r.shared_names:
            flags.append(AbuseFlag("shared_phone", LABELS["shared_phone"],
                                   {"names": len(names), "days": r.shared_days,
                                    "ticket_ids": [h["id"] for h in history][:20]}))
    address, name = complainant.get("address"), complainant.get("name")
    if isinstance(address, str) and address.strip() and isinstance(name, str) and name.strip():
        count = _address_names(address, name, created, r.shared_days)
        if count >= r.shared_names:
            flags.append(AbuseFlag("shared_address", LABELS["shared_address"], {"names": count}))
    return flags
