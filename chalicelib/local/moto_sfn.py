"""Make moto's Step Functions interpreter cheaper and race-free where the ticket flow depends on it.

Two gaps, both found by the workflow benchmark (issue 16):

1. moto parses the state machine's definition with its ANTLR parser for *every* execution it
   starts (0.3-0.6 s of CPU for ``ticket_flow.asl.json`` on the shared two-core machine), in the
   same process as the event pump: 500 tickets cost minutes of CPU before any deadline is waited
   on. The parsed program is immutable (moto already shares one parsed iteration program between
   the concurrent iterations of a Map), so it is parsed once per definition here.
2. A task with a timeout runs in a frame thread while its parent waits ``timeout`` seconds; when
   the parent gives up first it ends the frame, and the frame thread then *skips* evaluating
   ``TimeoutSecondsPath`` (ended environments evaluate nothing) but still pops the stack, reading
   the state's input as the timeout: ``'>' not supported between instances of 'dict' and 'int'``.
   If that exception reaches the parent before it records the timeout, the task fails with
   States.Runtime, which no ``States.ALL`` catcher catches, and moto's Map then fails on its own
   error path (``'str' object has no attribute 'get'``). Step Functions has no such window: a
   task whose parent already timed out is simply timed out. Here the frame thread does exactly
   that. (The ticket flow itself no longer enters a waiting task whose deadline already passed -
   ``stages.is_due`` - which is what opened this window under load.)
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

_installed = False


def install() -> None:
    """Patch moto's Step Functions interpreter once per process."""
    global _installed
    if _installed:
        return
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    ExecutionWorker._get_evaluation_entrypoint = _cached_entrypoint  # type: ignore[method-assign]
    _stop_timed_out_frames()
    _installed = True


@lru_cache(maxsize=16)
def parsed_program(definition: str) -> Any:
    """The evaluation program of ``definition`` (parsed once; moto's parser is slow)."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    return AmazonStateLanguageParser.parse(definition)[0]


def _cached_entrypoint(self: Any) -> Any:
    return parsed_program(self._evaluation_details.state_machine_details.definition)


def _stop_timed_out_frames() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackTimeoutError

    original = StateTaskServiceCallback._eval_integration_pattern

    def eval_integration_pattern(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        if not env.is_running():  # the parent already timed out this task (see the module docstring)
            raise CallbackTimeoutError()
        original(self, env, *args, **kwargs)

    StateTaskServiceCallback._eval_integration_pattern = eval_integration_pattern  # type: ignore[method-assign]
