"""Call records (CTI) in the single table: the record, its list entries and its counters.

| item | PK | SK | what |
| --- | --- | --- | --- |
| call | ``CALL#<call id>`` | ``CALL`` | the record (caller encrypted, blind index, masked) |
| day list entry | ``CALLD#<yyyy-mm-dd>`` | ``<start>#<call id>`` | what a list shows (caller masked) |
| agent-day entry | ``CALLA#<agent>#<yyyy-mm-dd>`` | ``<start>#<call id>`` | the same, one agent's day |
| caller entry | ``CALLP#<blind index>`` | ``<start>#<call id>`` | the same, by caller number |
| ticket entry | ``CALLT#<ticket id>`` | ``<start>#<call id>`` | the calls linked to a ticket |
| hour counter | ``CALLS#<yyyy-mm-dd>`` | ``<hh>#<agent or ->`` | ``offered``, ``answered``, ``abandoned``, ``missed``, ``handle_seconds``, ``wait_seconds`` (ADD) |
| agent counter | ``AGG#<yyyy-mm>#agent`` | ``<agent>#<dd>`` | ``calls_offered``, ``calls_answered``, ``call_handle_seconds`` beside the ticket measures (assessment) |

Storing a call is one transaction: the record on condition that it does not exist, its list
entries, and ``ADD`` on its counters. A second delivery of the same call id is cancelled by the
condition, so nothing is counted twice (idempotent on the call id). Every read is a Query of a
day, agent-day, caller or ticket partition, or a GetItem: nothing scans. A period's statistics
read one hour-counter partition per day (at most 24 x agents items each).
"""
from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.aws import client
from chalicelib.config import get_settings
from chalicelib.domain.errors import Conflict

COUNTER_FIELDS = ("offered", "answered", "abandoned", "missed", "handle_seconds", "wait_seconds")
LIST_FIELDS = ("call_id", "agent", "caller_masked", "start", "answer", "end", "queue", "outcome", "recording",
               "ticket_id", "wait_seconds", "handle_seconds")
MAX_PAGES = 50
NO_AGENT = "-"


class CallLinked(Conflict):
    """The call is already linked to another ticket (HTTP 409)."""

    code = "call_linked"


def _ddb() -> Any:
    return client("dynamodb")


def _table() -> str:
    return get_settings().table_name


def _av(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float)):
        return {"N": str(value)}
    return {"S": str(value)}


def _plain(av: dict[str, Any]) -> Any:
    if "S" in av:
        return av["S"]
    if "N" in av:
        number = float(av["N"])
        return int(number) if number.is_integer() else number
    if "BOOL" in av:
        return av["BOOL"]
    return None


def _item(pk: str, sk: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}, **{k: _av(v) for k, v in data.items()}}


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in item.items() if k not in ("PK", "SK")}


def _entry_keys(record: dict[str, Any]) -> list[tuple[str, str]]:
    """The list entries of a stored record (day, agent-day, caller, ticket)."""
    sk = f"{record['start']}#{record['call_id']}"
    keys = [(f"CALLD#{record['day']}", sk), (f"CALLP#{record['caller_index']}", sk)]
    if record.get("agent"):
        keys.append((f"CALLA#{record['agent']}#{record['day']}", sk))
    if record.get("ticket_id"):
        keys.append((f"CALLT#{record['ticket_id']}", sk))
    return keys


def _add(pk: str, sk: str, amounts: dict[str, int]) -> dict[str, Any]:
    names = {f"#a{i}": k for i, k in enumerate(amounts)}
    values = {f":a{i}": {"N": str(v)} for i, v in enumerate(amounts.values())}
    return {"Update": {"TableName": _table(), "Key": {"PK": {"S": pk}, "SK": {"S": sk}},
                       "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(amounts))),
                       "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}}


def save(record: dict[str, Any], counters: dict[str, int], agent_counters: dict[str, int]) -> bool:
    """Store a new call with its entries and counters in one transaction; False if the call id exists.

    ``record`` holds ``call_id``, ``day``, ``hour``, ``start``, ``agent``, ``caller_index`` and the
    rest of the stored fields; ``counters`` go to the hour counter, ``agent_counters`` to the
    agent's assessment counter (when the call has an agent).
    """
    table = _table()
    listed = {k: record.get(k) for k in LIST_FIELDS}
    items: list[dict[str, Any]] = [{"Put": {"TableName": table, "Item": _item(f"CALL#{record['call_id']}", "CALL", record),
                                            "ConditionExpression": "attribute_not_exists(PK)"}}]
    items += [{"Put": {"TableName": table, "Item": _item(pk, sk, listed)}} for pk, sk in _entry_keys(record)]
    items.append(_add(f"CALLS#{record['day']}", f"{record['hour']}#{record.get('agent') or NO_AGENT}", counters))
    if record.get("agent") and agent_counters:
        month, dd = record["day"][:7], record["day"][8:]
        items.append(_add(f"AGG#{month}#agent", f"{record['agent']}#{dd}", agent_counters))
    try:
        _ddb().transact_write_items(TransactItems=items)
    except ClientError as exc:
        reasons = exc.response.get("CancellationReasons") or []
        if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
            return False
        raise
    return True


def get(call_id: str) -> dict[str, Any] | None:
    """The stored record, or None (one GetItem)."""
    answer = _ddb().get_item(TableName=_table(), Key={"PK": {"S": f"CALL#{call_id}"}, "SK": {"S": "CALL"}},
                             ConsistentRead=True)
    return _from_item(answer["Item"]) if answer.get("Item") else None


def link_ticket(record: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    """Link a stored call to a ticket: the record, its list entries and a ticket entry, in one
    transaction, on condition that the call is still unlinked (409 otherwise)."""
    table = _table()
    linked = {**record, "ticket_id": ticket_id}
    listed = {k: linked.get(k) for k in LIST_FIELDS}
    key = {"PK": {"S": f"CALL#{record['call_id']}"}, "SK": {"S": "CALL"}}
    items: list[dict[str, Any]] = [{"Update": {
        "TableName": table, "Key": key, "UpdateExpression": "SET ticket_id = :t",
        "ConditionExpression": "attribute_exists(PK) AND (attribute_not_exists(ticket_id) OR attribute_type(ticket_id, :null))",
        "ExpressionAttributeValues": {":t": {"S": ticket_id}, ":null": {"S": "NULL"}}}}]
    items += [{"Put": {"TableName": table, "Item": _item(pk, sk, listed)}} for pk, sk in _entry_keys(linked)]
    try:
        _ddb().transact_write_items(TransactItems=items)
    except ClientError as exc:
        reasons = exc.response.get("CancellationReasons") or []
        if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
            raise CallLinked(f"call {record['call_id']} is already linked to a ticket") from None
        raise
    return linked


def _query_raw(pk: str, *, newest_first: bool = False, limit: int | None = None) -> list[dict[str, Any]]:
    """Low-level items of one partition, page after page (at most ``MAX_PAGES``; ``limit`` items)."""
    kwargs: dict[str, Any] = {"TableName": _table(), "KeyConditionExpression": "PK = :p",
                              "ExpressionAttributeValues": {":p": {"S": pk}}, "ScanIndexForward": not newest_first}
    found: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        if limit is not None:
            kwargs["Limit"] = limit - len(found)
        answer = _ddb().query(**kwargs)
        found += answer.get("Items", [])
        last = answer.get("LastEvaluatedKey")
        if not last or (limit is not None and len(found) >= limit):
            return found
        kwargs["ExclusiveStartKey"] = last
    raise RuntimeError(f"query of a call partition exceeded {MAX_PAGES} pages")


def list_day(day: str, *, agent: str | None = None) -> list[dict[str, Any]]:
    """The calls of a day (one agent's, with ``agent``), by start time."""
    return [_from_item(i) for i in _query_raw(f"CALLA#{agent}#{day}" if agent else f"CALLD#{day}")]


def list_caller(caller_index: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """A caller's latest calls, newest first."""
    return [_from_item(i) for i in _query_raw(f"CALLP#{caller_index}", newest_first=True, limit=limit)]


def list_ticket(ticket_id: str) -> list[dict[str, Any]]:
    """The calls linked to a ticket, by start time."""
    return [_from_item(i) for i in _query_raw(f"CALLT#{ticket_id}")]


def hour_counters(day: str) -> list[tuple[str, str, dict[str, int]]]:
    """(hour, agent or ``-``, counts) of one day (one Query)."""
    out = []
    for item in _query_raw(f"CALLS#{day}"):
        hour, _, agent = item["SK"]["S"].partition("#")
        out.append((hour, agent, {k: int(float(item[k]["N"])) for k in COUNTER_FIELDS if k in item}))
    return out


__all__ = ["CallLinked", "get", "hour_counters", "link_ticket", "list_caller", "list_day",
           "list_ticket", "save"]
