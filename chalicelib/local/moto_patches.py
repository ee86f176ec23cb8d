"""Make moto's DynamoDB behave like DynamoDB where the platform depends on it.

Four gaps matter to a multi-threaded local runtime, to its speed and to concurrency tests:
1. moto checks a write's condition and then writes, with nothing in between to stop another thread:
   two concurrent conditional writes can both succeed. DynamoDB serialises them. Every mutating
   call is therefore run under one lock.
2. moto's TransactWriteItems deep-copies every table it touches to roll back on failure: cost grows
   with the table (seconds per call with a few hundred thousand items) and a rollback restores
   stale copies over other threads' writes. Here the transaction checks every condition first and
   writes only when all hold, undoing item by item if a write still fails.
3. moto's Query reads every item of the table and filters: with the demo's few thousand tickets a
   queue or a dashboard query takes over a second. DynamoDB reads one partition. Here each table
   keeps a map from (GSI hash attribute, value) to primary keys, updated after every write under the
   writers' lock, and a Query hands moto's own implementation only that partition's items.
4. moto's UpdateItem spends milliseconds parsing and validating each expression; the analytics
   counter updates (``ADD``/``SET`` with placeholders) take a fast path (:mod:`moto_update`).
Each write also records its item's key for the incremental snapshot (:mod:`changes`).
Besides, moto's stream keeps every record forever (:mod:`moto_streams` gives it DynamoDB's retention)
and its answers to reads are serialised slowly (:mod:`moto_responses`); every request is routed by
trying all of moto's service URL patterns (:func:`_cheaper_dispatch`). And moto keeps a reference to
every model object it ever made, for its dashboard (``instances_tracked``): every item version
written, every stream record and shard iterator, every SQS message stay in memory for good - a
month of analytics counting (a few million writes) grew one process past 20 GB. The high-volume
classes are not tracked here (:func:`untrack_high_volume_models`).
"""
from __future__ import annotations

import bisect
import copy
import threading
import time
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

    from chalicelib.local import moto_responses, moto_sfn, moto_streams, moto_update

    untrack_high_volume_models()
    moto_update.install(DynamoDBBackend)
    moto_streams.install()
    moto_responses.install()
    for name in ("put_item", "update_item", "delete_item"):
        setattr(DynamoDBBackend, name, _indexed(getattr(DynamoDBBackend, name)))
    DynamoDBBackend.batch_write_item = _locked(DynamoDBBackend.batch_write_item)  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    _index_queries()
    _stop_started_executions()
    moto_sfn.install()
    _cheaper_dispatch()
    _applied = True


def _cheaper_dispatch() -> None:
    """Two costs moto pays on every request, whatever it asks, kept once instead (the event pump's
    idle round of six calls spends about a tenth of its CPU on them):

    * the routing of a request's URL to its service: moto tries the URL patterns of all its
      services in turn (about 130 regular expressions) - here the patterns matching a URL are
      remembered (they are constants), and moto's routing runs as before over those alone;
    * the list of a response class's method names, rebuilt with ``inspect.getmembers`` for every
      request to check that the action exists - here kept per class (the names are fixed once the
      patches of this module are in; wrapping a method keeps its name).
    """
    from moto.core import botocore_stubber, responses

    names_of = responses.method_names_from_class
    names: dict[type, frozenset[str]] = {}

    def method_names_from_class(clazz: Any) -> frozenset[str]:
        found = names.get(clazz)
        if found is None:
            found = names[clazz] = frozenset(names_of(clazz))
        return found

    responses.method_names_from_class = method_names_from_class  # type: ignore[assignment]

    index = botocore_stubber.backend_index
    routes: dict[str, list[tuple[str, Any]]] = {}

    class _Patterns:
        """``backend_url_patterns`` as ``process_request`` iterates it: for the URL being routed on
        this thread, only the patterns that match it, in moto's order (found once per URL)."""

        def __iter__(self) -> Any:
            url = getattr(_routing, "url", None)
            known = routes.get(url) if url is not None else None
            return iter(known if known is not None else _ALL_PATTERNS)

    _ALL_PATTERNS = list(index.backend_url_patterns)
    original = botocore_stubber.BotocoreStubber.process_request

    @wraps(original)
    def process_request(self: Any, request: Any) -> Any:
        parsed_url, _ = botocore_stubber.get_equivalent_url_in_aws_domain(request.url)
        url = f"{parsed_url.scheme}://{parsed_url.netloc}{parsed_url.path}"
        if url not in routes:
            if len(routes) > 10_000:  # S3 object URLs differ by key: keep the cache bounded
                routes.clear()
            routes[url] = [(service, pattern) for service, pattern in _ALL_PATTERNS if pattern.match(url)]
        _routing.url = url
        try:
            return original(self, request)
        finally:
            _routing.url = None

    _routing = threading.local()
    index.backend_url_patterns = _Patterns()  # type: ignore[assignment]
    botocore_stubber.BotocoreStubber.process_request = process_request  # type: ignore[method-assign]


def _stop_started_executions() -> None:
    """moto's Step Functions crash (AttributeError on ``None.set_stop``) when an execution is stopped
    before its worker thread has built its environment - an operator restarting a flow twice in a
    row does exactly that. Step Functions stops such an execution; here the stop waits for the
    environment (at most 2 s), and an execution that never got one has nothing left to stop."""
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    def stop(self: Any, stop_date: Any, error: Any, cause: Any) -> None:
        deadline = time.monotonic() + 2.0
        while self.env is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if self.env is not None:
            self.env.set_stop(stop_date=stop_date, cause=cause, error=error)

    ExecutionWorker.stop = stop  # type: ignore[method-assign]


def _untracked_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


def untrack_high_volume_models() -> list[type]:
    """Stop moto from keeping every item version, stream record, shard iterator and SQS message
    alive in ``instances_tracked`` (a list only moto's dashboard reads); returns the classes.

    ``BaseModel.__new__`` appends each new instance to its class's list; a ``__new__`` of the
    class's own bypasses it (and survives moto's resets, which only empty the lists). S3's models
    stay tracked: S3's reset walks its keys' list to close their buffers."""
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import StreamRecord
    from moto.dynamodbstreams.models import ShardIterator
    from moto.sqs.models import Message

    classes: list[type] = [Item, StreamRecord, ShardIterator, Message]
    for cls in classes:
        cls.__new__ = _untracked_new  # type: ignore[method-assign,assignment]
        del cls.instances_tracked[:]  # type: ignore[attr-defined]
    return classes


def _locked(method: Any) -> Any:
    @wraps(method)
    def run(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)
    return run


# ----------------------------------------------------------------------------- partition index
_current = threading.local()  # the Query in progress on this thread: its table and candidate items


def _item_at(table: Any, hash_key: Any, range_key: Any) -> Any:
    bucket = table.items.get(hash_key)
    if bucket is None:
        return None
    return bucket.get(range_key) if table.range_key_attr else bucket


def _reindex(table: Any, hash_key: Any, range_key: Any) -> None:
    """Bring the partition index of one item up to date (call under the lock)."""
    index, reverse = table.__dict__.get("_query_index"), table.__dict__.get("_query_reverse")
    if index is None:
        return
    for attr, value in reverse.pop((hash_key, range_key), {}).items():
        index.get(attr, {}).get(value, set()).discard((hash_key, range_key))
    item = _item_at(table, hash_key, range_key)
    if item is None:
        return
    entry = {}
    for attr in table.__dict__["_query_attrs"]:
        value = item.attrs.get(attr)
        if value is not None:
            index.setdefault(attr, {}).setdefault(value, set()).add((hash_key, range_key))
            entry[attr] = value
    reverse[(hash_key, range_key)] = entry


def _partition_index(table: Any, all_items: Any) -> dict[str, dict[Any, set[tuple[Any, Any]]]]:
    """The table's index, built on its first GSI query (call under the lock)."""
    if "_query_index" not in table.__dict__:
        table._query_attrs = [k["AttributeName"] for i in table.all_indexes() for k in i.schema
                              if k["KeyType"] == "HASH"]
        table._query_index, table._query_reverse = {}, {}
        for item in all_items(table):
            _reindex(table, item.hash_key, item.range_key if table.range_key_attr else None)
    return table._query_index


def _indexed(method: Any) -> Any:
    """A backend write, under the lock, followed by the update of its item's partition index."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    from chalicelib.local import changes

    @wraps(method)
    def run(self: Any, table_name: str, key_or_item: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            try:
                return method(self, table_name, key_or_item, *args, **kwargs)
            finally:
                table = self.tables.get(table_name)
                if table is not None and table.hash_key_attr in key_or_item and (
                        not table.range_key_attr or table.range_key_attr in key_or_item):  # else moto refused it
                    hash_key = DynamoType(key_or_item[table.hash_key_attr])
                    range_key = DynamoType(key_or_item[table.range_key_attr]) if table.range_key_attr else None
                    if "_query_index" in table.__dict__:
                        _reindex(table, hash_key, range_key)
                    changes.record(table, hash_key, range_key)  # the incremental snapshot's dirty set
    return run


def _index_queries() -> None:
    from moto.dynamodb.models.table import Table

    original_all_items, original_query = Table.all_items, Table.query

    def all_items(self: Any) -> Any:
        if getattr(_current, "table", None) is self:
            return _current.candidates
        return original_all_items(self)

    @wraps(original_query)
    def query(self: Any, hash_key: Any, range_comparison: Any, range_objs: Any, limit: Any,
              exclusive_start_key: Any, scan_index_forward: Any, projection_expressions: Any,
              index_name: str | None = None, consistent_read: bool = False, filter_expression: Any = None,
              hash_key_conditions: Any = None, range_key_conditions: Any = None, **filter_kwargs: Any) -> Any:
        def original() -> Any:
            return original_query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
                                  scan_index_forward, projection_expressions, index_name, consistent_read,
                                  filter_expression, hash_key_conditions=hash_key_conditions,
                                  range_key_conditions=range_key_conditions, **filter_kwargs)

        with _LOCK:
            if index_name is None and hash_key is not None:
                bucket = self.items.get(hash_key)
                candidates = [] if bucket is None else list(bucket.values()) if self.range_key_attr else [bucket]
                if self.range_key_attr and len(candidates) > 1:
                    candidates, exclusive_start_key = _after_start(candidates, self.range_key_attr,
                                                                   exclusive_start_key, scan_index_forward)
            elif index_name and hash_key_conditions and len(hash_key_conditions) == 1:
                attr, value = hash_key_conditions[0]
                keys = _partition_index(self, original_all_items).get(attr, {}).get(value, set())
                candidates = [i for i in (_item_at(self, hk, rk) for hk, rk in keys) if i is not None]
            else:
                return original()
            _current.table, _current.candidates = self, candidates
            try:
                return original()
            finally:
                _current.table = _current.candidates = None

    Table.all_items, Table.query = all_items, query  # type: ignore[method-assign]


def _after_start(candidates: list[Any], range_attr: str, exclusive_start_key: Any,
                 forward: Any) -> tuple[list[Any], Any]:
    """One partition's items in sort-key order, cut after the page's start key.

    For every page, moto sorts the whole partition with a comparison that converts both sort keys
    at each step, then walks from the partition's start to where the last page stopped: a quarter
    of the time of reading a partition of tens of thousands of items (a month of analytics counter
    cells). Here each key is converted once and the start is found by bisection; moto's own sort
    then meets sorted input.
    """
    from moto.dynamodb.models.dynamo_type import DynamoType

    keyed = sorted(((item.range_key.cast_value, item) for item in candidates), key=lambda pair: pair[0])
    keys = [key for key, _ in keyed]
    items = [item for _, item in keyed]
    if not exclusive_start_key or range_attr not in exclusive_start_key:
        return items, exclusive_start_key
    start = DynamoType(exclusive_start_key[range_attr]).cast_value
    if forward is False:
        return items[:bisect.bisect_left(keys, start)], None
    return items[bisect.bisect_right(keys, start):], None


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
