"""A fast path in moto's UpdateItem for the platform's counter updates (``ADD``/``SET``, no condition).

moto parses every UpdateExpression into an AST, validates it by walking the tree several times and
deep-copies it: 3-6 ms per update of a counter item with twenty measures, which makes the analytics
aggregator (about 7 updates per ticket change) the slowest thing in the local runtime. DynamoDB
itself answers such an update in a few milliseconds whatever its shape.

This module answers the one narrow shape the aggregator writes - and only that shape - directly::

    ADD #a0 :a0, #a1 :a1 ...  [SET #s0 = :s0, ..., #r = if_not_exists(#r, :r)]

with placeholders only, numeric ``ADD`` values, string or number ``SET`` values, no condition and
no legacy parameters. Anything else - another clause, a nested path, an unused placeholder, a key
attribute, a non-number in the way of an ``ADD``, an index key of the wrong type - goes to moto's
own implementation unchanged, so that every validation error stays moto's. The result (item,
stream records, size limit) is the same as moto's; ``tests/local/test_moto_update.py`` checks it
against moto on random updates.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

MAX_ITEM_BYTES = 405_000  # moto's LimitedSizeDict limit (DynamoDB's 400 KB, as moto measures it)

_NAME = r"#[A-Za-z0-9_]+"
_VALUE = r":[A-Za-z0-9_]+"
_ADD_ACTION = re.compile(rf"^({_NAME})\s+({_VALUE})$")
_SET_ACTION = re.compile(rf"^({_NAME})\s*=\s*(?:({_VALUE})|if_not_exists\(\s*({_NAME})\s*,\s*({_VALUE})\s*\))$")
_CLAUSE = re.compile(r"\b(ADD|SET|REMOVE|DELETE)\b", re.IGNORECASE)
_ACTIONS_SEPARATOR = re.compile(r",(?![^()]*\))")  # commas outside if_not_exists(...)
_NUMBER = re.compile(r"^-?(\d+)(\.\d+)?$")

# (clause, name placeholder, value placeholder, only if absent)
Action = tuple[str, str, str, bool]

moto_update_item: Any = None  # moto's own UpdateItem, once installed (tests compare the two)


@lru_cache(maxsize=512)
def parse(expression: str) -> tuple[Action, ...] | None:
    """The actions of a counter-shaped update expression, or None for any other expression."""
    parts = _CLAUSE.split(expression.strip())
    if not parts or parts[0].strip():
        return None
    actions: list[Action] = []
    seen: set[str] = set()
    for clause, body in zip(parts[1::2], parts[2::2]):
        clause = clause.upper()
        if clause not in ("ADD", "SET") or clause in seen:
            return None
        seen.add(clause)
        for text in _ACTIONS_SEPARATOR.split(body):
            text = text.strip()
            if clause == "ADD":
                match = _ADD_ACTION.match(text)
                if not match:
                    return None
                actions.append(("ADD", match.group(1), match.group(2), False))
                continue
            match = _SET_ACTION.match(text)
            if not match:
                return None
            if match.group(2):
                actions.append(("SET", match.group(1), match.group(2), False))
            elif match.group(3) == match.group(1):
                actions.append(("SET", match.group(1), match.group(4), True))
            else:
                return None
    return tuple(actions) if actions else None


def _plan(table: Any, actions: tuple[Action, ...], names: dict[str, str] | None,
          values: dict[str, Any] | None) -> list[tuple[str, str, dict[str, Any], bool]] | None:
    """The actions with placeholders resolved, or None when moto must judge them (see module doc)."""
    names, values = names or {}, values or {}
    if {a[1] for a in actions} != set(names) or {a[2] for a in actions} != set(values):
        return None  # an unused or missing placeholder: moto's error
    keys = {table.hash_key_attr, table.range_key_attr}
    typed = {d["AttributeName"]: d["AttributeType"] for d in table.attr}
    plan, targets = [], set()
    for clause, name, value, only_if_absent in actions:
        attribute, av = names[name], values[value]
        if attribute in keys or attribute in targets or not isinstance(av, dict) or len(av) != 1:
            return None
        targets.add(attribute)
        (kind, raw), = av.items()
        if clause == "ADD" and (kind != "N" or not isinstance(raw, str) or not _NUMBER.match(raw)):
            return None
        if clause == "SET" and (kind not in ("S", "N") or not isinstance(raw, str) or not raw
                                or (kind == "N" and not _NUMBER.match(raw))
                                or typed.get(attribute, kind) != kind):
            return None
        plan.append((clause, attribute, av, only_if_absent))
    return plan


def _cache_update_parsing() -> None:
    """Parse each distinct UpdateExpression once: moto parses it again in every call (twice in a
    transaction). Safe because moto only reads the parsed tree: its validator works on a deep copy."""
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    make = UpdateExpressionParser.make.__func__
    UpdateExpressionParser.make = classmethod(lru_cache(maxsize=2048)(make))


def install(backend_class: Any) -> None:
    """Put the fast path in front of ``backend_class.update_item`` (moto's DynamoDBBackend)."""
    from moto.dynamodb.exceptions import ItemSizeToUpdateTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    _cache_update_parsing()

    global moto_update_item
    original = moto_update_item = backend_class.update_item

    def update_item(self: Any, table_name: str, key: dict[str, Any], update_expression: str | None,
                    expression_attribute_names: dict[str, Any] | None,
                    expression_attribute_values: dict[str, Any] | None, attribute_updates: Any = None,
                    expected: Any = None, condition_expression: str | None = None,
                    return_values_on_condition_check_failure: str | None = None) -> Any:
        def moto() -> Any:
            return moto_update_item(self, table_name, key, update_expression, expression_attribute_names,
                            expression_attribute_values, attribute_updates, expected, condition_expression,
                            return_values_on_condition_check_failure)

        if attribute_updates or expected or condition_expression or not update_expression:
            return moto()
        actions = parse(update_expression)
        table = self.get_table(table_name)
        plan = _plan(table, actions, expression_attribute_names, expression_attribute_values) if actions else None
        if plan is None or table.hash_key_attr not in key or (table.range_key_attr and table.range_key_attr not in key):
            return moto()
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        item = table.get_item(hash_value, range_value)
        if item is not None and any(clause == "ADD" and attribute in item.attrs and item.attrs[attribute].type != "N"
                                    for clause, attribute, _, _ in plan):
            return moto()  # moto's IncorrectDataType
        updated = dict(item.attrs) if item is not None else {}
        for clause, attribute, av, only_if_absent in plan:
            if clause == "ADD":
                current = updated.get(attribute)
                updated[attribute] = DynamoType(av) if current is None else current + DynamoType(av)
            elif not (only_if_absent and attribute in updated):
                updated[attribute] = DynamoType(av)
        key_attrs = {table.hash_key_attr: hash_value, **({table.range_key_attr: range_value} if range_value else {})}
        size = sum(len(k.encode()) + v.size() for k, v in {**updated, **key_attrs}.items())
        if size > MAX_ITEM_BYTES:
            raise ItemSizeToUpdateTooLarge()
        before = None
        if item is None:  # as moto: the key-only item is put (an INSERT record), then an INSERT of the whole
            table.put_item({k: {v.type: v.value} for k, v in key_attrs.items()})
            item = table.get_item(hash_value, range_value)
        else:  # values are replaced, never changed in place: a shallow copy is a snapshot
            before = Item.__new__(Item)
            before.hash_key, before.range_key = item.hash_key, item.range_key
            before.attrs = LimitedSizeDict.__new__(LimitedSizeDict)
            dict.update(before.attrs, item.attrs)
        dict.update(item.attrs, updated)
        if table.stream_shard is not None:
            table.stream_shard.add(before, item)
        return item

    update_item.__wrapped__ = original  # type: ignore[attr-defined]
    update_item.__doc__ = original.__doc__
    backend_class.update_item = update_item
