"""Make moto's DynamoDB behave like DynamoDB where the platform depends on it.

Two gaps matter to a multi-threaded local runtime and to concurrency tests:
1. moto checks a write's condition and then writes, with nothing in between to stop another thread:
   two concurrent conditional writes can both succeed. DynamoDB serialises them. Every mutating
   call is therefore run under one lock.
2. moto's TransactWriteItems deep-copies every table it touches to roll back on failure: cost grows
   with the table (seconds per call with a few hundred thousand items) and a rollback restores
   stale copies over other threads' writes. Here the transaction checks every condition first and
   writes only when all hold, undoing item by item if a write still fails.
"""
from __future__ import annotations

import copy
import threading
from functools import wraps
from typing import Any

_LOCK = threading.RLock()
_applied = False


def apply() -> None:
    """Patch moto's DynamoDB backend once per process."""
    global _applied
    if _applied:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name in ("put_item", "update_item", "delete_item", "batch_write_item"):
        setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    _applied = True


def _locked(method: Any) -> Any:
    @wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)
    return run


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    with _LOCK:
        seen: set[tuple[str, str]] = set()
        plan: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        errors: list[tuple[Any, Any, Any]] = []
        for entry in transact_items:
            if len(entry) > 1:
                raise TransactWriteSingleOpException
            op_type, op = next(iter(entry.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table_name = op["TableName"]
            if op_type == "Put":
                table = self.get_table(table_name)
                key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = op["Item"][table.range_key_attr]
            else:
                key = op["Key"]
            marker = (str(table_name), str(dict(sorted(key.items()))))
            if marker in seen:
                raise MultipleTransactionsException()
            seen.add(marker)
            current = self.get_item(table_name, key)
            condition = op.get("ConditionExpression")
            if condition is not None:
                check = get_filter_expression(condition, op.get("ExpressionAttributeNames"),
                                              op.get("ExpressionAttributeValues"))
                if not check.expr(current):
                    old = current.to_json()["Attributes"] if (
                        op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current) else None
                    errors.append(("ConditionalCheckFailed", str(ConditionalCheckFailed().message), old))
                    continue
            errors.append((None, None, None))
            plan.append((op_type, op, key))
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        undo: list[tuple[str, dict[str, Any], Any]] = []
        try:
            for op_type, op, key in plan:
                table_name = op["TableName"]
                if op_type == "ConditionCheck":
                    continue
                before = self.get_item(table_name, key)
                undo.append((table_name, key, copy.deepcopy(before.to_json()["Attributes"]) if before else None))
                names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                if op_type == "Put":
                    self.put_item(table_name, op["Item"])
                elif op_type == "Delete":
                    self.delete_item(table_name, key)
                else:
                    self.update_item(table_name, key, update_expression=op["UpdateExpression"],
                                     expression_attribute_names=names, expression_attribute_values=values)
        except Exception:
            for table_name, key, attributes in reversed(undo):
                if attributes is None:
                    self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, attributes)
            raise
