"""Every step timed (issue 19, item 1): the dispatch clock, the centre's decisions on a department's
requests, the non-acceptance review, the help request's and suggestion's handling clock, and the
15-working-day cap on a report's verification extensions (Order 121 Art. 27)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from chalicelib.domain import deadlines
from chalicelib.domain.calendar import TZ, WorkingCalendar
from chalicelib.domain.clocks import (
    DEFAULT_SLA_RULES,
    ClockName,
    ClockUnit,
    check_extension_cap,
    extend_clock,
    extension_days,
    start_clock,
)
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.ticket import CENTER, Actor, Policy
from tests.domain.test_lifecycle import (
    AGENT,
    DISPATCHER,
    SYSTEM,
    Flow,
    accepted,
    dispatched,
    handler,
    registered,
    signed,
)

CAL = WorkingCalendar()
POLICY = Policy(sla=DEFAULT_SLA_RULES, calendar=CAL)


def _steps(flow: Flow, at: datetime) -> list[tuple[str, str | None, str | None]]:
    """Apply every system step due at ``at`` (as the workflow's checkpoint does); return them."""
    done = []
    for _ in range(10):
        step = deadlines.next_step(flow.ticket, at, POLICY)
        if step is None:
            return done
        flow.now = at - timedelta(hours=1)
        flow.do(step.action, SYSTEM, **step.params)
        done.append((step.action, step.clock, step.level or step.department))
    raise AssertionError("too many steps")


# --- the dispatch clock ----------------------------------------------------------------------------


def test_acceptance_starts_the_dispatch_clock_and_dispatch_stops_it():
    flow = accepted()
    clock = flow.clock("dispatch")
    assert clock.status == "running" and (clock.amount, clock.unit) == (1, ClockUnit.WORKING_DAYS)
    assert clock.started_at == flow.now
    out = flow.do("dispatch", DISPATCHER, mode="single", department="D1")
    assert flow.clock("dispatch").status == "stopped"
    assert out.events[0].deadline_met is True
    assert out.events[0].data["clocks_stopped"]["dispatch"] is True


def test_urgent_tickets_are_dispatched_within_two_hours():
    flow = accepted(priority="urgent")
    clock = flow.clock("dispatch")
    assert (clock.amount, clock.unit) == (2, ClockUnit.HOURS)
    assert clock.due == flow.now + timedelta(hours=2)


def test_a_waiting_dispatch_is_warned_yellow_then_red_urged_at_the_centre_and_supervised():
    flow = accepted()
    clock = flow.clock("dispatch")
    assert _steps(flow, clock.yellow_at - timedelta(seconds=1)) == []
    assert _steps(flow, clock.yellow_at) == [("record_warning", "dispatch", "yellow")]
    late = clock.due + timedelta(minutes=1)
    assert _steps(flow, late) == [("record_warning", "dispatch", "red"), ("urge", "dispatch", CENTER)]
    urging = flow.ticket.urgings[-1]
    assert urging.department == CENTER and urging.clock == "dispatch" and urging.source == "system"
    assert deadlines.responsible_departments(flow.ticket, "dispatch") == [CENTER]
    assert deadlines.CENTRE_CLOCK_ROLES["dispatch"] == ("dispatcher",)
    # two working days after the urging, still not dispatched: supervised (督办)
    supervise_at = deadlines.supervision_at(flow.ticket, POLICY)
    assert supervise_at is not None and supervise_at > late
    assert _steps(flow, supervise_at) == [("supervise", "dispatch", CENTER)]
    # a dispatcher answers the centre's urging
    flow.do("answer_urging", DISPATCHER, urging_id=urging.id, text="已安排分拨")


def test_an_approved_return_restarts_the_dispatch_clock_and_old_urgings_do_not_supervise_it():
    flow = accepted()
    first = flow.clock("dispatch")
    _steps(flow, first.due + timedelta(minutes=1))  # yellow, red, urged
    flow.do("dispatch", DISPATCHER, mode="single", department="D1")
    flow.do("sign", handler("D1"))
    flow.do("request_return", handler("D1"), reason="非本辖区", basis="地址在滨江")
    flow.do("decide_return", DISPATCHER, decision="approve")
    again = flow.clock("dispatch")
    assert again.status == "running" and again.started_at == flow.now and again.warning == "none"
    # the urging about the first wait is not about this one: nothing supervises it before its own red
    assert deadlines.supervision_due(flow.ticket, again.due + timedelta(days=10), POLICY) == []


# --- the centre's decisions on a department's requests ----------------------------------------------


def test_extension_and_return_decisions_are_timed_and_answered_by_the_dispatcher():
    flow = signed()
    flow.do("request_extension", handler("D1"), reason="需检测", new_due="2026-04-30")
    decision = flow.clock("extension_decision:A1")
    assert decision.status == "running" and decision.amount == 1
    assert deadlines.responsible_departments(flow.ticket, "extension_decision:A1") == [CENTER]
    assert _steps(flow, decision.due + timedelta(minutes=1)) == [
        ("record_warning", "extension_decision:A1", "yellow"), ("record_warning", "extension_decision:A1", "red"),
        ("urge", "extension_decision:A1", CENTER)]
    out = flow.do("decide_extension", DISPATCHER, decision="approve")
    assert flow.clock("extension_decision:A1").status == "stopped"
    assert out.events[0].deadline_met is False  # decided after its due time
    flow.do("request_return", handler("D1"), reason="非本辖区", basis="地址在滨江")
    assert flow.clock("return_decision:A1").status == "running"
    flow.do("decide_return", DISPATCHER, decision="refuse", text="请继续办理")
    assert flow.clock("return_decision:A1").status == "stopped"


def test_a_closure_withdrawing_a_pending_extension_stops_its_decision_clock():
    flow = signed(kind="inquiry")
    flow.do("request_extension", handler("D1"), reason="需补充", new_due="2026-04-30")
    flow.do("submit_closure", handler("D1"), facts="已答复")
    assert flow.clock("extension_decision:A1").status == "stopped"


def test_the_non_acceptance_review_is_timed():
    flow = Flow(registered(channel="upper_level"))
    flow.do("decline", AGENT, reason_code="not_our_duty")
    review = flow.clock("non_acceptance_review")
    assert review.status == "running" and deadlines.CENTRE_CLOCK_ROLES["non_acceptance_review"] == ("dispatcher",)
    flow.do("review_non_acceptance", DISPATCHER, decision="hand_to_local", department="D1")
    assert flow.clock("non_acceptance_review").status == "stopped"
    assert flow.event.deadline_met is True


# --- help requests and suggestions --------------------------------------------------------------------


@pytest.mark.parametrize("kind, days", [("help_request", 7), ("suggestion", 15)])
def test_help_requests_and_suggestions_run_a_handling_clock_from_acceptance_to_closure(kind, days):
    flow = accepted(kind=kind)
    clock = flow.clock("matter_handling")
    assert clock.status == "running" and clock.amount == days and clock.started_at == flow.now
    assert deadlines.responsible_departments(flow.ticket, "matter_handling") == [CENTER]  # not dispatched yet
    flow.do("dispatch", DISPATCHER, mode="single", department="D1")
    flow.do("sign", handler("D1"))
    assert deadlines.responsible_departments(flow.ticket, "matter_handling") == ["D1"]
    flow.do("pause", handler("D1"), reason="awaiting_citizen")
    assert flow.clock("matter_handling").status == "paused"
    flow.do("resume", handler("D1"))
    assert flow.clock("matter_handling").status == "running"
    flow.do("submit_closure", handler("D1"), facts="已协调处理")
    assert flow.clock("matter_handling").status == "stopped"
    flow.do("review_closure", DISPATCHER, decision="rework", text="请补充处理结果")
    assert flow.clock("matter_handling").status == "running"  # rework runs it again


def test_complaints_reports_and_inquiries_have_no_matter_clock():
    for kind in ("complaint", "report", "inquiry"):
        assert "matter_handling" not in accepted(kind=kind).ticket.clocks


# --- the report verification extension cap (Order 121 Art. 27) ------------------------------------------


def test_extension_days_count_working_days_after_the_current_due():
    state = start_clock(DEFAULT_SLA_RULES.rule_for(ClockName.REPORT_VERIFICATION, kind="report"),
                        datetime(2026, 3, 2, 9, tzinfo=TZ), CAL)
    assert extension_days(state, state.due, CAL) == 0
    plus_five = CAL.deadline(state.due, 5, ClockUnit.WORKING_DAYS).due
    assert extension_days(state, plus_five, CAL) == 5
    extended = extend_clock(state, plus_five, days=5)
    assert extended.extended_days == 5
    assert check_extension_cap(extended, CAL.deadline(plus_five, 10, ClockUnit.WORKING_DAYS).due, CAL) == 10
    with pytest.raises(ValidationFailed) as info:
        check_extension_cap(extended, CAL.deadline(plus_five, 11, ClockUnit.WORKING_DAYS).due, CAL)
    assert "15 working days" in info.value.message and "Order 121" in info.value.details["new_due"]
    assert info.value.details["already_extended_working_days"] == "5"


def test_a_report_verification_is_extended_by_at_most_fifteen_working_days_in_total():
    flow = signed(kind="report")
    verification = flow.clock("report_verification")
    ninety = (verification.due + timedelta(days=90)).date().isoformat()
    err = flow.fails(ValidationFailed, "request_extension", handler("D1"), reason="需检测", new_due=ninety)
    assert "new_due" in err.details and "15" in err.details["new_due"]
    # ten working days past the verification deadline: allowed, and counted once approved
    ten = CAL.deadline(verification.due, 10, ClockUnit.WORKING_DAYS).due
    flow.do("request_extension", handler("D1"), reason="需检测", new_due=ten.date().isoformat())
    flow.do("decide_extension", DISPATCHER, decision="approve")
    assert flow.clock("report_verification").extended_days == 10
    # six more would make sixteen: refused, nothing changed; five more is the rest of the cap
    sixteen = CAL.deadline(ten, 6, ClockUnit.WORKING_DAYS).due
    err = flow.fails(ValidationFailed, "request_extension", handler("D1"), reason="再次检测",
                     new_due=sixteen.date().isoformat())
    assert err.details["latest_allowed"].startswith(CAL.deadline(ten, 5, ClockUnit.WORKING_DAYS).due.date().isoformat())
    fifteen = CAL.deadline(ten, 5, ClockUnit.WORKING_DAYS).due
    flow.do("request_extension", handler("D1"), reason="再次检测", new_due=fifteen.date().isoformat())
    flow.do("decide_extension", DISPATCHER, decision="approve")
    assert flow.clock("report_verification").extended_days == 15


def test_the_cap_is_checked_again_when_the_dispatcher_approves():
    flow = signed("parallel", kind="report")
    verification = flow.clock("report_verification")
    ten = CAL.deadline(verification.due, 10, ClockUnit.WORKING_DAYS).due.date().isoformat()
    flow.do("request_extension", handler("D1"), reason="需检测", new_due=ten, assignment_id="A1")
    flow.do("request_extension", handler("D2"), reason="需检测", new_due=ten, assignment_id="A2")
    flow.do("decide_extension", DISPATCHER, decision="approve", assignment_id="A1")
    assert flow.clock("report_verification").extended_days == 10
    # A2 asked for the same date: nothing more for the verification clock, so it is within the cap
    flow.do("decide_extension", DISPATCHER, decision="approve", assignment_id="A2")
    assert flow.clock("report_verification").extended_days == 10


def test_complaints_have_no_extension_cap():
    flow = signed()
    far = (flow.clock("handling:A1").due + timedelta(days=90)).date().isoformat()
    flow.do("request_extension", handler("D1"), reason="需检测", new_due=far)
    flow.do("decide_extension", DISPATCHER, decision="approve")
    flow.do("request_extension", handler("D1"), reason="再检测",
            new_due=(flow.clock("handling:A1").due + timedelta(days=90)).date().isoformat())
    flow.do("decide_extension", DISPATCHER, decision="approve")
