"""A copy of moto's whole in-process state, restored into a fresh ``mock_aws`` in milliseconds.

Creating every resource of ``infra/template.yaml`` (and seeding the demo directory) costs a few
seconds per test: the KMS keys generate RSA keys, the state machine's definition is parsed, dozens
of IAM and SQS calls go through botocore. The state this leaves behind is the same every time, so
the suite builds it once per process, pickles moto's backends, and gives each test its own
unpickled copy: a test still starts from exactly the resources a fresh bootstrap makes, and what it
changes is thrown away with its copy (moto's reset at ``mock_aws`` start empties every backend
before the copy is put in).

Two kinds of object in moto's backends cannot be pickled: locks (each copy gets new ones) and
cryptography keys (immutable, so every copy shares the snapshot's key objects).
"""
from __future__ import annotations

import io
import pickle
import threading
from dataclasses import dataclass
from typing import Any

from moto.core.base_backend import BackendDict, backend_lock

_LOCK_TYPES: dict[type, str] = {type(threading.Lock()): "lock", type(threading.RLock()): "rlock"}
_NEW_LOCK = {"lock": threading.Lock, "rlock": threading.RLock}


def _is_crypto_key(obj: Any) -> bool:
    return type(obj).__module__.startswith("cryptography.hazmat.")


class _StatePickler(pickle.Pickler):
    """Pickles moto's backends, leaving locks and cryptography keys out of the byte stream."""

    def __init__(self, stream: io.BytesIO, shared: list[Any]) -> None:
        super().__init__(stream, protocol=pickle.HIGHEST_PROTOCOL)
        self.shared = shared  # by index: the key itself, or None for a lock
        self._shared_ids: dict[int, int] = {}

    def persistent_id(self, obj: Any) -> Any:
        kind = _LOCK_TYPES.get(type(obj))
        if kind is None and not _is_crypto_key(obj):
            return None
        # Numbered by object: a Condition refers to its lock several times (``_lock``, the bound
        # ``acquire`` and ``release``), and every reference must load as the same new lock.
        index = self._shared_ids.get(id(obj))
        if index is None:
            index = self._shared_ids[id(obj)] = len(self.shared)
            self.shared.append(None if kind else obj)
        return (kind or "shared", index)


class _StateUnpickler(pickle.Unpickler):
    """Loads a copy: the snapshot's cryptography keys themselves, one new lock per snapshot lock."""

    def __init__(self, stream: io.BytesIO, shared: list[Any]) -> None:
        super().__init__(stream)
        self.shared = shared
        self._locks: dict[int, Any] = {}

    def persistent_load(self, pid: Any) -> Any:
        kind, index = pid
        if kind == "shared":
            return self.shared[index]
        lock = self._locks.get(index)
        if lock is None:
            lock = self._locks[index] = _NEW_LOCK[kind]()
        return lock


@dataclass(frozen=True)
class MotoState:
    """Every non-empty moto backend at one instant: the service's ``BackendDict`` (moto's module
    global, kept by reference) and its accounts, pickled."""

    backends: tuple[BackendDict, ...]
    data: bytes
    shared: tuple[Any, ...]

    @classmethod
    def capture(cls) -> "MotoState":
        """The state of every loaded backend of the running mock (call with no request in flight)."""
        with backend_lock:
            backends = tuple(backend for backend in BackendDict._instances if len(backend))
            stream, shared = io.BytesIO(), []
            _StatePickler(stream, shared).dump([dict(backend) for backend in backends])
        return cls(backends, stream.getvalue(), tuple(shared))

    def restore(self) -> None:
        """Put a fresh copy of the captured state into the backends, just after ``mock_aws`` started
        (its reset emptied them); each is listed again in ``BackendDict._instances`` so that the
        mock's reset at its end empties it."""
        copies = _StateUnpickler(io.BytesIO(self.data), list(self.shared)).load()
        with backend_lock:
            for backend, accounts in zip(self.backends, copies):
                backend.clear()
                dict.update(backend, accounts)
                if backend not in BackendDict._instances:
                    BackendDict._instances.append(backend)
