"""Issue 16's task runtime errors under load, on the real definition in moto's interpreter.

Cause: an execution that reaches a share's stage after the share's deadline (the flow started or was
answered late, as on a loaded runtime) was given a waiting task with a one-second
``TimeoutSecondsPath``. moto runs the task in a frame thread; when the parent's one second ran out
before the frame thread had even sent its token, the frame thread read the state's input as the
timeout (``'>' not supported between instances of 'dict' and 'int'``), the iteration failed with
States.Runtime and moto's Map failed on its own error path (``'str' object has no attribute
'get'``), sending the ticket's flow to its 60 s back-off. Now a due position goes straight to its
checkpoint (``stages.is_due``), and a frame whose parent already timed out times out
(``chalicelib.local.moto_sfn``).
"""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from chalicelib.services import clock
from chalicelib.services import tickets as service
from chalicelib.workflow import stages
from tests.workflow.conftest import AGENT, DISPATCHER, HANDLER, submission, ticket_in_handling
from tests.workflow.flowhistory import entered, history, waiting_in
from tests.workflow.test_stages_flow import WATER, manual_dispatch  # noqa: F401  (fixture)

FAILURES = {"TaskFailed", "MapIterationFailed", "MapStateFailed", "ExecutionFailed", "ExecutionAborted"}
SIGN_YELLOW = 1.5  # seconds (tests/workflow/conftest.py FAST_RULES)


def _share_states(ticket_id: str) -> list[str]:
    return [n for n in entered(ticket_id) if n in ("Sign", "HandleShare", "ShareCheckpoint")]


def _sign_timeouts(ticket_id: str) -> list[int]:
    """The ``TimeoutSecondsPath`` value each Sign task was entered with."""
    return [json.loads(e["stateEnteredEventDetails"]["input"])["share"]["timeout"] for e in history(ticket_id)
            if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == "Sign"]


def _yellow(ticket_id: str, clock_key: str) -> bool:
    return service.repository().get(ticket_id).clocks[clock_key].warning in ("yellow", "red")


def test_a_position_whose_wake_passed_is_due_but_never_right_after_a_checkpoint(flow):
    ticket = ticket_in_handling()
    policy = service.current_policy()
    later = ticket.clocks["sign:A1"].yellow_at + timedelta(seconds=1)
    share = stages.share_position(ticket, "A1", policy, later)
    assert share["due"] is True and share["timeout"] == 1
    assert stages.position(ticket, policy, later)["shares"][0]["due"] is True
    retry = stages.share_position(ticket, "A1", policy, later, after_checkpoint=True)
    assert retry["due"] is False and retry["timeout"] == stages.RETRY_SECONDS  # waits: no spinning
    assert stages.share_position(ticket, "A1", policy, clock.now())["due"] is False


def test_a_share_reached_after_its_deadline_goes_straight_to_its_checkpoint(flow):
    ticket = ticket_in_handling()  # the stream is not pumped yet: the flow starts after the yellow point
    time.sleep(SIGN_YELLOW + 0.5)
    flow.until(lambda: _yellow(ticket.id, "sign:A1"), what="the yellow warning")
    flow.until(lambda: waiting_in(ticket.id) == "Sign", what="the sign stage with the next deadline")
    assert _share_states(ticket.id)[0] == "ShareCheckpoint"  # no waiting task with a deadline already past
    assert all(timeout > 1 for timeout in _sign_timeouts(ticket.id))
    assert not FAILURES & {e["type"] for e in history(ticket.id)}


def test_late_parallel_flows_with_concurrent_answers_run_without_runtime_errors(flow, manual_dispatch):
    """Several tickets with two shares each, their flows started after the sign deadlines' yellow
    points, one share of each signed from parallel threads while the checkpoints run."""
    ids = []
    for _ in range(4):
        ticket = service.register(submission(), AGENT).tickets[0]
        service.act(ticket.id, "accept", {}, AGENT)
        ids.append(service.act(ticket.id, "dispatch", {"mode": "parallel", "departments": ["MARKET", "WATER"]},
                               DISPATCHER).id)
    time.sleep(SIGN_YELLOW + 0.5)
    flow.pump.pump_once()  # the flows start, every share already due

    def sign(ticket_id: str) -> None:
        share = next(a.id for a in service.repository().get(ticket_id).assignments if a.department == "MARKET")
        service.act(ticket_id, "sign", {"assignment_id": share}, HANDLER)

    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        signing = [pool.submit(sign, ticket_id) for ticket_id in ids]
        flow.until(lambda: all(f.done() for f in signing), what="the signatures")
    for future in signing:
        future.result()

    seen: set[str] = set()  # the fast clocks keep the shares cycling: each ticket is seen settled once

    def settled() -> bool:
        seen.update(t for t in ids if waiting_in(t) == "HandleShare,Sign" and _yellow(t, "sign:A2"))
        return seen == set(ids)

    flow.until(settled, timeout=20, what="each ticket: one share handled, the other back in Sign after yellow")
    for ticket_id in ids:
        assert not FAILURES & {e["type"] for e in history(ticket_id)}, ticket_id
        assert all(timeout > 1 for timeout in _sign_timeouts(ticket_id))
        assert "Checkpoint" not in entered(ticket_id)  # never the ticket-level back-off path
        assert "BackOff" not in entered(ticket_id) and "ShareBackOff" not in entered(ticket_id)


def test_a_wake_that_passes_while_the_checkpoint_runs_is_waited_for_not_retried_later(flow, monkeypatch):
    """Red falls due while the yellow checkpoint runs (a slow runtime): the answer still waits for
    red (seconds), not ``RETRY_SECONDS`` as if red had been due and refused."""
    from freezegun import freeze_time

    from chalicelib.workflow import executions, handlers, timers

    ticket = ticket_in_handling()
    state = ticket.clocks["sign:A1"]
    sent: list[dict] = []
    monkeypatch.setattr(executions, "send_success", lambda token, output: sent.append(output) or True)
    original = timers.run_checkpoint
    with freeze_time(state.yellow_at + timedelta(seconds=0.2)) as frozen:
        def slow_checkpoint(ticket_id: str, **kwargs):  # type: ignore[no-untyped-def]
            result = original(ticket_id, **kwargs)
            frozen.move_to(state.due + timedelta(seconds=0.5))  # red passed meanwhile
            return result

        monkeypatch.setattr(timers, "run_checkpoint", slow_checkpoint)
        handlers.handle_checkpoint({"kind": "checkpoint", "ticket_id": ticket.id, "token": "t", "scope": "A1",
                                    "stage": "sign"})
    assert service.repository().get(ticket.id).clocks["sign:A1"].warning == "yellow"
    assert sent[-1]["stage"] == "sign" and sent[-1]["timeout"] < stages.RETRY_SECONDS
