"""Which DynamoDB items changed since the last save: the dirty-key set behind the incremental snapshot.

Every write of the embedded DynamoDB (put, update, delete; batches and transactions go through those)
runs under the writers' lock of :mod:`chalicelib.local.moto_patches`, which calls :func:`record` with
the written item's key. :func:`capture` takes that set and copies the current value of each of its
items - a dictionary walk per changed item, not a scan of the table.

The copy is a point in time that no write straddles (a transaction is wholly in it or wholly out of
it), yet the writers wait only for short steps, as a live migration copies memory: the items are
copied in chunks of :data:`CHUNK` under the lock, released in between; keys written meanwhile are
recorded again and copied in another round; the last round, under the lock throughout, copies what
the previous one saw written. Every item then holds its value at that last instant. Nothing is
recorded until :func:`enable` (the test suite never pays for it).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

_state_lock = threading.Lock()  # guards the fields below; writers already hold moto_patches._LOCK
_enabled = False
_tables: dict[str, Any] = {}  # table name -> the moto Table object whose keys are recorded
_dirty: dict[str, set[tuple[Any, Any]]] = {}
_since: dict[str, set[tuple[Any, Any]]] = {}  # keys written while a capture of that table runs
CHUNK = 500  # items copied per hold of the writers' lock
ROUNDS = 4  # chunked rounds before the last one, which holds the lock throughout


@dataclass
class Capture:
    """The changed items of one table at one instant: key -> item (DynamoDB JSON), None when deleted."""

    table: str
    key_names: tuple[str, ...]
    items: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    held_seconds: float = 0.0  # how long the writers' lock was held for the copy


def enable() -> None:
    """Start recording changed keys (the local runtime calls this before it writes anything)."""
    global _enabled
    _enabled = True


def disable() -> None:
    """Stop recording and forget what was recorded (tests)."""
    global _enabled
    with _state_lock:
        _enabled = False
        _tables.clear()
        _dirty.clear()


def record(table: Any, hash_key: Any, range_key: Any) -> None:
    """Note that one item of ``table`` (a moto Table) changed; called under the writers' lock."""
    if not _enabled:
        return
    with _state_lock:
        if _tables.get(table.name) is not table:  # a new table object under that name: start over
            _tables[table.name] = table
            _dirty[table.name] = set()
        _dirty[table.name].add((hash_key, range_key))
        since = _since.get(table.name)
        if since is not None:
            since.add((hash_key, range_key))


def pending(table_name: str) -> int:
    """How many changed items wait for the next capture."""
    with _state_lock:
        return len(_dirty.get(table_name, ()))


def forget(table_name: str) -> int:
    """Drop the recorded changes of a table (what a restore just wrote is already on disk)."""
    with _state_lock:
        dropped = len(_dirty.get(table_name, ()))
        _dirty[table_name] = set()
        return dropped


def key_text(key: dict[str, Any]) -> str:
    """A stable text for an item's key (DynamoDB JSON): the identity used on disk."""
    return "\x1f".join(f"{name}={kind}:{value}" for name in sorted(key) for kind, value in key[name].items())


def wire(value: Any) -> dict[str, Any]:
    """A moto attribute value (``DynamoType``) as DynamoDB JSON, binary values base64 text, copied."""
    kind, inner = value.type, value.value
    if kind == "M":
        return {"M": {name: wire(v) for name, v in inner.items()}}
    if kind == "L":
        return {"L": [wire(v) for v in inner]}
    if kind == "B":
        return {"B": _b64(inner)}
    if kind == "BS":
        return {"BS": [_b64(v) for v in inner]}
    if isinstance(inner, list):  # SS, NS: copied, moto's ADD/DELETE change them in place
        return {kind: list(inner)}
    return {kind: inner}


def _b64(value: Any) -> str:
    if isinstance(value, bytes):
        import base64

        return base64.b64encode(value).decode("ascii")
    return str(value)  # moto keeps binary values as the base64 text the request carried


def item_json(item: Any) -> dict[str, Any]:
    """A moto Item as DynamoDB JSON."""
    return {name: wire(value) for name, value in item.attrs.items()}


def capture(table_name: str) -> Capture:
    """Take the table's changed keys and copy their items, consistent as of one instant (module doc).

    ``held_seconds`` is the longest single hold of the writers' lock."""
    from chalicelib.local.moto_patches import _LOCK

    with _LOCK:
        with _state_lock:
            table = _tables.get(table_name)
            keys = _dirty.get(table_name, set())
            _dirty[table_name] = set()
            _since[table_name] = set()
    if table is None:
        with _state_lock:
            _since.pop(table_name, None)
        return Capture(table=table_name, key_names=())
    names = (table.hash_key_attr,) + ((table.range_key_attr,) if table.range_key_attr else ())
    result = Capture(table=table_name, key_names=names)
    try:
        pending = list(keys)
        for _ in range(ROUNDS):
            for start in range(0, len(pending), CHUNK):
                with _LOCK:
                    held = time.perf_counter()
                    _copy(table, pending[start:start + CHUNK], result)
                    result.held_seconds = max(result.held_seconds, time.perf_counter() - held)
                time.sleep(0)  # let a waiting writer in
            with _LOCK, _state_lock:
                pending = list(_since[table_name])
                _since[table_name] = set()
            if len(pending) <= CHUNK:
                break
        with _LOCK:
            held = time.perf_counter()
            with _state_lock:
                pending = list(set(pending) | _since[table_name])
            _copy(table, pending, result)
            result.held_seconds = max(result.held_seconds, time.perf_counter() - held)
    except BaseException:
        with _state_lock:  # nothing was taken: the next capture copies these keys again
            _dirty.setdefault(table_name, set()).update(keys)
        raise
    finally:
        with _state_lock:
            _since.pop(table_name, None)
    return result


def mark_all(table_name: str) -> int:
    """Record every item of a tracked table as changed (the next capture is a full copy); returns
    how many. Walks keys only, under the writers' lock."""
    from chalicelib.local.moto_patches import _LOCK

    with _LOCK:
        with _state_lock:
            table = _tables.get(table_name)
        if table is None:
            return 0
        keys = {(item.hash_key, item.range_key if table.range_key_attr else None) for item in table.all_items()}
        with _state_lock:
            _dirty.setdefault(table_name, set()).update(keys)
    return len(keys)


def _copy(table: Any, keys: list[tuple[Any, Any]], into: Capture) -> None:
    """Copy the current value of each key's item (None: deleted); call under the writers' lock."""
    from chalicelib.local.moto_patches import _item_at

    for hash_key, range_key in keys:
        key = {table.hash_key_attr: wire(hash_key)}
        if table.range_key_attr:
            key[table.range_key_attr] = wire(range_key)
        text = key_text(key)
        item = _item_at(table, hash_key, range_key)
        into.keys[text] = key
        into.items[text] = None if item is None else item_json(item)


def capture_all(table_name: str) -> Capture:
    """Every item of a tracked table (a full copy, e.g. to check the incremental one); under the lock."""
    from chalicelib.local.moto_patches import _LOCK

    with _LOCK:
        with _state_lock:
            table = _tables.get(table_name)
        if table is None:
            return Capture(table=table_name, key_names=())
        started = time.perf_counter()
        names = (table.hash_key_attr,) + ((table.range_key_attr,) if table.range_key_attr else ())
        result = Capture(table=table_name, key_names=names)
        for item in table.all_items():
            data = item_json(item)
            key = {name: data[name] for name in names}
            text = key_text(key)
            result.keys[text] = key
            result.items[text] = data
        result.held_seconds = time.perf_counter() - started
    return result
