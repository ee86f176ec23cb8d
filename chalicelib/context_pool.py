"""A thread pool whose tasks run in a copy of the submitter's context.

``concurrent.futures`` threads start with an empty ``contextvars`` context, so work handed to them
loses what the calling invocation set there: the function's identity under the IAM test harness,
request-scoped logging keys, a tracing segment. Reads that a handler fans out side by side (the
manager's wall, the health checks) use this pool instead, so each task runs as its invocation.
"""
from __future__ import annotations

import contextvars
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable


class ContextPool(ThreadPoolExecutor):
    """``ThreadPoolExecutor`` whose ``submit`` (and so ``map``) copies the caller's context per task."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
