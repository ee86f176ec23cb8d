"""Deadlines in the domain: who answers for a clock, whether a stopped clock met its deadline
(on the ticket and on its stored form alike), the checkpoint the store indexes, and the lifecycle's
rows keeping to the statuses they declare."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain import deadlines, lifecycle
from chalicelib.domain.clocks import met_deadline
from chalicelib.domain.lifecycle import SAME, UndeclaredTarget, action_shares
from chalicelib.domain.ticket import CENTER
from tests.domain.test_lifecycle import AGENT, DISPATCHER, accepted, dispatched, handler, in_review, signed


def test_the_centre_answers_until_dispatch_then_the_working_departments():
    flow = accepted()
    assert deadlines.working_departments(flow.ticket) == [CENTER]
    assert deadlines.responsible_departments(flow.ticket, "mediation") == [CENTER]
    flow = signed("lead_assist")
    assert deadlines.working_departments(flow.ticket) == ["D1"]  # the lead, not its assists
    assert deadlines.responsible_departments(flow.ticket, "mediation") == ["D1"]
    assert deadlines.responsible_departments(flow.ticket, "handling:A2") == ["D2"]
    assert deadlines.responsible_departments(flow.ticket, "acceptance") == [CENTER]
    assert deadlines.responsible_departments(flow.ticket, "handling:A9") == [CENTER]
    parallel = signed("parallel")
    assert deadlines.working_departments(parallel.ticket) == ["D1", "D2"]
    assert deadlines.working_departments(in_review().ticket) == [CENTER]


def test_met_deadline_is_one_rule_for_tickets_and_their_stored_form():
    flow = dispatched()
    flow.do("sign", handler("D1"), assignment_id="A1")  # an hour after dispatch: in time
    late = dispatched()
    late.do("sign", handler("D1"), assignment_id="A1", after=timedelta(days=10))
    for f, expected in ((flow, True), (late, False)):
        state = f.clock("sign:A1")
        assert met_deadline(state) is expected
        assert deadlines.met_deadline_data(state.to_dict()) is expected
    running = flow.clock("handling:A1")
    assert met_deadline(running) is None and deadlines.met_deadline_data(running.to_dict()) is None


def test_the_checkpoint_is_the_first_warning_still_due_and_none_once_finished():
    flow = dispatched()
    points = [s.yellow_at for s in flow.ticket.clocks.values() if s.status == "running"]
    assert deadlines.clock_checkpoint(flow.ticket) == min(points)
    flow.ticket.status = "closed"
    assert deadlines.clock_checkpoint(flow.ticket) is None


def test_a_row_names_every_status_its_handler_may_lead_to():
    row = lifecycle.BY_ACTION["accept"]
    row.check_target("pending_acceptance", "to_dispatch")
    with pytest.raises(UndeclaredTarget):
        row.check_target("pending_acceptance", "closed")
    with pytest.raises(UndeclaredTarget):
        lifecycle.BY_ACTION["archive"].check_target("closed", "closed")  # archive never leaves it as it was
    lifecycle.BY_ACTION["decide_return"].check_target("in_handling", "in_handling")
    assert SAME in lifecycle.BY_ACTION["decide_return"].targets


def test_action_shares_offer_only_the_callers_qualifying_shares():
    flow = dispatched("parallel")
    assert action_shares(flow.ticket, handler("D2")) == {"sign": ["A2"], "request_return": ["A2"]}
    assert action_shares(flow.ticket, handler("D9")) == {}
    assert action_shares(flow.ticket, DISPATCHER) == {} and action_shares(flow.ticket, AGENT) == {}
