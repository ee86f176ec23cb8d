"""The ticket flow waits for the new clocks (issue 19 item 1): in the dispatch and non-acceptance review
stages the execution's task times out at the clock's yellow point, then at its due time, and the
checkpoint then finds the warning due. Pure: the positions the state machine is answered with."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.domain import deadlines
from chalicelib.workflow import stages
from chalicelib.workflow.stages import TICKET_SCOPE
from tests.domain.test_every_step_timed import POLICY
from tests.domain.test_lifecycle import AGENT, SYSTEM, Flow, accepted, handler, registered, signed


def test_the_dispatch_stage_wakes_at_the_dispatch_clocks_yellow_point_then_its_due_time():
    flow = accepted()
    clock = flow.clock("dispatch")
    position = stages.position(flow.ticket, POLICY, flow.now)
    assert position["stage"] == "dispatch" and not position["due"]
    assert stages.scope_wake(flow.ticket, TICKET_SCOPE, POLICY) == clock.yellow_at
    assert stages.position(flow.ticket, POLICY, clock.yellow_at)["due"] is True
    step = deadlines.next_step(flow.ticket, clock.yellow_at, POLICY)
    assert (step.action, step.clock, step.level) == ("record_warning", "dispatch", "yellow")
    flow.now = clock.yellow_at - timedelta(hours=1)
    flow.do(step.action, SYSTEM, **step.params)
    assert stages.scope_wake(flow.ticket, TICKET_SCOPE, POLICY) == clock.due


def test_the_non_acceptance_review_stage_wakes_at_its_clock():
    flow = Flow(registered(channel="upper_level"))
    flow.do("decline", AGENT, reason_code="not_our_duty")
    review = flow.clock("non_acceptance_review")
    assert stages.position(flow.ticket, POLICY, flow.now)["stage"] == "non_acceptance_review"
    assert stages.scope_wake(flow.ticket, TICKET_SCOPE, POLICY) == review.yellow_at


def test_a_shares_iteration_also_waits_for_the_dispatchers_decision_on_its_request():
    flow = signed()
    flow.do("request_extension", handler("D1"), reason="需检测", new_due="2026-04-30")
    decision = flow.clock("extension_decision:A1")
    assert decision.yellow_at < flow.clock("handling:A1").yellow_at
    assert stages.scope_wake(flow.ticket, "A1", POLICY) == decision.yellow_at
