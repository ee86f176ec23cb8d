"""Work fanned out to threads runs in the submitter's context (the IAM harness's function identity,
request-scoped log keys): a plain ThreadPoolExecutor would start each task with an empty context."""
from __future__ import annotations

import contextvars

from chalicelib.context_pool import ContextPool

invocation: contextvars.ContextVar[str | None] = contextvars.ContextVar("invocation", default=None)


def test_tasks_see_the_submitters_context() -> None:
    token = invocation.set("wall_refresh")
    try:
        with ContextPool(max_workers=3) as pool:
            seen = list(pool.map(lambda _: invocation.get(), range(6)))
            submitted = pool.submit(invocation.get).result()
    finally:
        invocation.reset(token)
    assert seen == ["wall_refresh"] * 6
    assert submitted == "wall_refresh"


def test_a_task_setting_a_variable_does_not_leak_into_the_caller_or_its_siblings() -> None:
    def set_and_read(value: str) -> str | None:
        invocation.set(value)
        return invocation.get()

    with ContextPool(max_workers=2) as pool:
        assert list(pool.map(set_and_read, ["a", "b", "c"])) == ["a", "b", "c"]
        assert pool.submit(invocation.get).result() is None
    assert invocation.get() is None
