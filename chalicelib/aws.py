"""boto3 clients, created once per process with the standard retry mode.

The endpoint comes from botocore's own ``AWS_ENDPOINT_URL`` variable, which the local runtime sets
to moto's server, so production code never knows whether it talks to AWS or to moto.
"""
from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 4}, connect_timeout=2, read_timeout=10)
_LOCK = threading.Lock()


@lru_cache(maxsize=None)
def _client(service: str) -> Any:
    with _LOCK:  # boto3's default session is not safe to create clients from concurrently
        return boto3.session.Session().client(service, config=_CONFIG)


def client(service: str) -> Any:
    """A shared, thread-safe boto3 client for ``service``."""
    return _client(service)


def reset_clients() -> None:
    """Drop cached clients (tests and the local runtime switch endpoints)."""
    _client.cache_clear()
