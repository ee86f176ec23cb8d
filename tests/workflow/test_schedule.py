"""The flow's pure rules: which step is due, when to wake, quiet hours, timer timestamps, and what a
ticket change means for its flow. No AWS here: tickets are built with the domain itself."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from chalicelib.domain import deadlines as schedule
from chalicelib.domain import intake, lifecycle
from chalicelib.domain.calendar import TZ, WorkingCalendar
from chalicelib.domain.clocks import SlaRules
from chalicelib.domain.ticket import SYSTEM_ACTOR, Policy, Status
from chalicelib.notifications.quiet_hours import send_time
from chalicelib.store.tickets import timer_timestamp
from chalicelib.workflow import starter
from tests.workflow.conftest import AGENT, DISPATCHER, FAST_RULES, HANDLER, HELP_REQUEST, MANAGER

T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=TZ)  # a Tuesday
CAL = WorkingCalendar()
POLICY = Policy(sla=SlaRules.from_list(FAST_RULES), calendar=CAL)
DAY_RULES = [dict(rule, unit="working_days", amount=2, supervise_after_working_days=2) if rule["clock"] == "sign"
             else rule for rule in FAST_RULES]
DAY_POLICY = Policy(sla=SlaRules.from_list(DAY_RULES), calendar=CAL)


def _act(ticket, action, params, actor, at, policy=POLICY):
    return lifecycle.apply(ticket, action, params, actor=actor, now=at, policy=policy).ticket


def _dispatched(at: datetime = T0, policy: Policy = POLICY):
    outcome, = intake.register(HELP_REQUEST, actor=AGENT, now=at, policy=policy, new_id=lambda: "T1",
                               new_tracking_code=lambda: "AAAA-BBBB-CCCC")
    ticket = _act(outcome.ticket, "accept", {}, AGENT, at, policy)
    return _act(ticket, "dispatch", {"mode": "single", "department": "MARKET"}, DISPATCHER, at, policy)


def _run(ticket, at: datetime, policy: Policy = POLICY):
    """Apply every due step at ``at`` as the flow would; returns the ticket and the steps."""
    steps = []
    for _ in range(20):
        step = schedule.next_step(ticket, at, policy)
        if step is None:
            return ticket, steps
        ticket = _act(ticket, step.action, step.params, SYSTEM_ACTOR, at, policy)
        steps.append((step.action, step.level or step.department))
    raise AssertionError("steps never ran out")


def test_nothing_is_due_before_the_yellow_point():
    ticket = _dispatched()
    assert schedule.next_step(ticket, T0 + timedelta(seconds=1.4), POLICY) is None
    assert schedule.clock_checkpoint(ticket) == ticket.clocks["sign:A1"].yellow_at


def test_yellow_comes_before_red_even_when_both_are_late():
    ticket, steps = _run(_dispatched(), T0 + timedelta(seconds=10))
    assert steps == [("record_warning", "yellow"), ("record_warning", "red"), ("urge", "MARKET"),
                     ("supervise", "MARKET")]
    assert ticket.urgings[0].clock == "sign:A1" and ticket.urgings[0].text.startswith("系统自动催办")
    assert ticket.supervisions[0].urging_id == ticket.urgings[0].id
    assert schedule.next_step(ticket, T0 + timedelta(seconds=20), POLICY) is None  # nothing twice


def test_at_the_yellow_point_only_yellow():
    ticket, steps = _run(_dispatched(), T0 + timedelta(seconds=2))
    assert steps == [("record_warning", "yellow")]
    assert schedule.clock_checkpoint(ticket) == ticket.clocks["sign:A1"].due


def test_a_moved_deadline_is_not_warned_about():
    ticket = _act(_dispatched(), "sign", {}, HANDLER, T0)
    ticket = _act(ticket, "request_extension", {"reason": "检测", "new_due": (T0 + timedelta(seconds=60)).isoformat()},
                  HANDLER, T0 + timedelta(seconds=1))
    ticket = _act(ticket, "decide_extension", {"decision": "approve"}, DISPATCHER, T0 + timedelta(seconds=1))
    _, steps = _run(ticket, T0 + timedelta(seconds=5))  # past the old due (4 s), before the new yellow
    assert steps == []


def test_a_paused_clock_is_never_warned():
    ticket = _act(_dispatched(), "sign", {}, HANDLER, T0)
    paused = _act(ticket, "pause", {"reason": "recusal"}, HANDLER, T0 + timedelta(seconds=1))
    assert schedule.next_step(paused, T0 + timedelta(seconds=60), POLICY) is None
    assert schedule.next_wake(paused, POLICY) is None


def test_each_deadline_gets_its_own_automatic_urging():
    ticket = _act(_dispatched(), "sign", {}, HANDLER, T0)
    ticket = _act(ticket, "request_extension", {"reason": "检测", "new_due": (T0 + timedelta(seconds=60)).isoformat()},
                  HANDLER, T0 + timedelta(seconds=1))
    red, steps = _run(ticket, T0 + timedelta(seconds=5))  # the first deadline (4 s) passed
    assert [a for a, _ in steps] == ["record_warning", "record_warning", "urge", "supervise"]
    assert schedule.next_step(red, T0 + timedelta(seconds=6), POLICY) is None  # urged once per deadline

    extended = _act(red, "decide_extension", {"decision": "approve"}, DISPATCHER, T0 + timedelta(seconds=6))
    later, steps = _run(extended, T0 + timedelta(seconds=70))  # the new deadline passed too
    assert [a for a, _ in steps] == ["record_warning", "record_warning", "urge", "supervise"]
    assert [(u.id, u.source, u.clock) for u in later.urgings] == [("U1", "system", "handling:A1"),
                                                                  ("U2", "system", "handling:A1")]
    assert [s.urging_id for s in later.supervisions] == ["U1", "U2"]


def test_urgings_go_to_the_department_answering_for_the_clock_or_the_centre():
    ticket = _dispatched()
    assert schedule.responsible_departments(ticket, "sign:A1") == ["MARKET"]
    assert schedule.responsible_departments(ticket, "acceptance") == ["center"]
    assert schedule.responsible_departments(ticket, "callback") == ["center"]


def test_supervision_waits_the_configured_working_days_after_the_urging():
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
    ticket = _dispatched(monday, DAY_POLICY)  # sign: 2 working days -> due Wednesday 23:59:59
    due = ticket.clocks["sign:A1"].due
    assert due.date() == date(2026, 11, 25)
    late = due + timedelta(hours=10)  # Thursday morning: red, urged
    ticket, steps = _run(ticket, late, DAY_POLICY)
    assert steps == [("record_warning", "yellow"), ("record_warning", "red"), ("urge", "MARKET")]
    # two working days after Thursday: Friday, Monday -> from Monday 00:00
    expected = datetime(2026, 11, 30, 0, 0, tzinfo=TZ)
    assert schedule.supervision_at(ticket, DAY_POLICY) == expected
    assert schedule.next_wake(ticket, DAY_POLICY) == expected
    assert schedule.next_step(ticket, expected - timedelta(seconds=1), DAY_POLICY) is None
    step = schedule.next_step(ticket, expected, DAY_POLICY)
    assert step is not None and step.action == "supervise" and step.params["urging_id"] == "U1"
    assert "2个工作日" in step.params["reason"]


def test_supervision_respects_holidays():
    ticket = _dispatched(datetime(2026, 9, 24, 9, 0, tzinfo=TZ), DAY_POLICY)  # 25 Sep is Mid-Autumn Festival
    assert ticket.clocks["sign:A1"].due.date() == date(2026, 9, 29)
    ticket, _ = _run(ticket, datetime(2026, 9, 30, 12, 0, tzinfo=TZ), DAY_POLICY)
    assert ticket.urgings, "urged on 30 September"
    # 1-7 October are National Day holidays: the two working days are 8 and 9 October
    assert schedule.supervision_at(ticket, DAY_POLICY) == datetime(2026, 10, 9, 0, 0, tzinfo=TZ)


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(2026, 11, 24, 10, 0, tzinfo=TZ), datetime(2026, 11, 24, 10, 0, tzinfo=TZ)),  # Tuesday 10:00: now
    (datetime(2026, 11, 24, 3, 0, tzinfo=TZ), datetime(2026, 11, 24, 9, 0, tzinfo=TZ)),  # 3 a.m.: at nine
    (datetime(2026, 11, 24, 19, 30, tzinfo=TZ), datetime(2026, 11, 25, 9, 0, tzinfo=TZ)),  # evening: tomorrow
    (datetime(2026, 11, 29, 3, 0, tzinfo=TZ), datetime(2026, 11, 30, 9, 0, tzinfo=TZ)),  # Sunday 3 a.m.: Monday
    (datetime(2026, 10, 1, 10, 0, tzinfo=TZ), datetime(2026, 10, 8, 9, 0, tzinfo=TZ)),  # National Day
])
def test_quiet_hours_hold_non_urgent_messages_until_working_hours(moment, expected):
    assert send_time(moment, CAL, urgent=False) == expected
    assert send_time(moment, CAL, urgent=True) == moment


def test_timer_timestamps_never_wake_early():
    assert timer_timestamp(datetime(2026, 11, 24, 10, 0, 0, tzinfo=TZ)) == "2026-11-24T02:00:01Z"
    assert timer_timestamp(datetime(2026, 11, 24, 10, 0, 0, 1, tzinfo=TZ)) == "2026-11-24T02:00:02Z"


def test_a_ticket_change_starts_follows_or_ends_its_flow():
    registered, = intake.register(HELP_REQUEST, actor=AGENT, now=T0, policy=POLICY, new_id=lambda: "T2",
                                  new_tracking_code=lambda: "AAAA-BBBB-DDDD")
    accepted = _act(registered.ticket, "accept", {}, AGENT, T0)
    dispatched = _act(accepted, "dispatch", {"mode": "single", "department": "MARKET"}, DISPATCHER, T0)
    signed = _act(dispatched, "sign", {}, HANDLER, T0 + timedelta(seconds=1))
    assert starter.decide(None, registered.ticket, POLICY) == "start"  # registered: the flow starts in acceptance
    assert starter.decide(registered.ticket, accepted, POLICY) == "follow"  # acceptance -> dispatch
    assert starter.decide(None, accepted, POLICY) == "start"  # a restored snapshot
    assert starter.decide(accepted, dispatched, POLICY) == "follow"  # dispatch -> handling (sign)
    assert starter.decide(dispatched, signed, POLICY) == "follow"  # the share: sign -> handling
    noted = _act(signed, "add_note", {"text": "已联系双方"}, HANDLER, T0 + timedelta(seconds=2))
    assert starter.decide(signed, noted, POLICY) is None  # nothing the flow waits on moved
    closed = _act(_act(_act(signed, "submit_closure", {"facts": "已处理"}, HANDLER, T0), "review_closure",
                       {"decision": "approve"}, DISPATCHER, T0), "record_callback",
                  {"satisfaction": "satisfied", "solved": True}, AGENT, T0)  # the callback closes it
    assert closed.status == Status.CLOSED
    assert starter.decide(signed, closed, POLICY) == "end"
    assert starter.decide(None, closed, POLICY) is None
    reopened = _act(closed, "reopen", {"reason": "再次停运"}, MANAGER, T0 + timedelta(seconds=3))
    assert starter.decide(closed, reopened, POLICY) == "start"  # the flow may have ended: make sure it runs
