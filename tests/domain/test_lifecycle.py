"""Example tests: one or more for every rule of the ticket lifecycle (DOMAIN.md, issue 3)."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from itertools import count

import pytest

from chalicelib.domain.calendar import TZ, WorkingCalendar
from chalicelib.domain.clocks import DEFAULT_SLA_RULES
from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IllegalTransition,
    ValidationFailed,
)
from chalicelib.domain.intake import register
from chalicelib.domain.lifecycle import (
    ACTIONS,
    PARAMS,
    ROWS,
    allowed_actions,
    apply,
    can_apply,
    supervision_due,
)
from chalicelib.domain.ticket import (
    Actor,
    OutboxMessage,
    Policy,
    Ticket,
    TimelineEvent,
)

POLICY = Policy(sla=DEFAULT_SLA_RULES, calendar=WorkingCalendar())
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)  # a Monday, far from any holiday

AGENT = Actor("agent1", "agent")
DISPATCHER = Actor("disp1", "dispatcher")
MANAGER = Actor("boss", "manager")
SYSTEM = Actor("system", "system")
CITIZEN = Actor("citizen", "citizen")
ADMIN = Actor("root", "admin")


def handler(dept: str, name: str | None = None) -> Actor:
    return Actor(name or f"h-{dept}", "handler", department=dept)


def lead_of(dept: str) -> Actor:
    return Actor(f"lead-{dept}", "dept_lead", department=dept)


def submission(kind="complaint", channel="phone", **over) -> dict:
    data = {
        "kind": kind,
        "channel": channel,
        "complainant": {"name": "张三", "phone": "13812345678", "address": "杭州市西湖区文三路1号"},
        "respondent": {"name": "某某超市", "address": "杭州市西湖区文二路2号"},
        "request": "退还货款",
        "facts": "购买的牛奶已过期",
    }
    data.update(over)
    return data


_ids = count(1)


def registered(kind="complaint", channel="phone", at=T0, **over) -> Ticket:
    actor = {"web": CITIZEN, "upper_level": Actor("prov12315", "partner")}.get(channel, AGENT)
    [outcome] = register(submission(kind, channel, **over), actor=actor, now=at, policy=POLICY,
                         new_id=lambda: f"T{next(_ids)}", new_tracking_code=lambda: "TRACK")
    return outcome.ticket


class Flow:
    """A ticket and a clock that moves forward one hour per action (or as told)."""

    def __init__(self, ticket: Ticket, now: datetime = T0) -> None:
        self.ticket = ticket
        self.now = now
        self.outcomes = []

    def do(self, action: str, actor: Actor, *, after: timedelta = timedelta(hours=1), **params):
        self.now += after
        before = self.ticket.to_dict()
        outcome = apply(self.ticket, action, params, actor=actor, now=self.now, policy=POLICY)
        assert self.ticket.to_dict() == before  # never mutates its input
        assert outcome.ticket.version == self.ticket.version + 1
        assert outcome.events and outcome.outbox
        self.ticket = outcome.ticket
        self.outcomes.append(outcome)
        return outcome

    def fails(self, error: type[DomainError], action: str, actor: Actor, **params) -> DomainError:
        before = self.ticket.to_dict()
        with pytest.raises(error) as info:
            apply(self.ticket, action, params, actor=actor, now=self.now + timedelta(minutes=1), policy=POLICY)
        assert self.ticket.to_dict() == before
        return info.value

    @property
    def event(self) -> TimelineEvent:
        return self.outcomes[-1].events[0]

    def clock(self, key: str):
        return self.ticket.clocks[key]

    def assignment(self, aid: str):
        return self.ticket.assignment(aid)


def accepted(kind="complaint", channel="phone", **over) -> Flow:
    flow = Flow(registered(kind, channel, **over))
    flow.do("accept", AGENT)
    return flow


def dispatched(mode="single", kind="complaint", channel="phone", **params) -> Flow:
    flow = accepted(kind, channel)
    defaults = {"single": {"department": "D1"}, "lead_assist": {"lead": "D1", "assists": ["D2", "D3"]},
                "parallel": {"departments": ["D1", "D2"]}, "lower_platform": {"platform": "P1"}}
    flow.do("dispatch", DISPATCHER, mode=mode, **(params or defaults[mode]))
    return flow


def signed(mode="single", kind="complaint", channel="phone") -> Flow:
    flow = dispatched(mode, kind, channel)
    for a in list(flow.ticket.assignments):
        actor = Actor("p1-bot", "partner", department="P1") if a.department == "P1" else handler(a.department)
        flow.do("sign", actor, assignment_id=a.id)
    return flow


def in_review(mode="single", kind="complaint", channel="phone") -> Flow:
    flow = signed(mode, kind, channel)
    assists = [a for a in flow.ticket.assignments if a.role == "assist"]
    others = [a for a in flow.ticket.assignments if a.role != "assist"]
    for a in assists + others:
        params = {"facts": "已核实处理"}
        if a.role != "assist" and kind == "complaint":
            params["result"] = "settled"
        flow.do("submit_closure", handler(a.department), assignment_id=a.id, **params)
    assert flow.ticket.status == "closure_review"
    return flow


def replied(satisfaction="satisfied", channel="phone") -> Flow:
    flow = in_review(channel=channel)
    flow.do("review_closure", DISPATCHER, decision="approve", reply="已为您办理退款")
    flow.do("record_callback", AGENT, satisfaction=satisfaction, solved=satisfaction != "dissatisfied")
    return flow


# --- the table -----------------------------------------------------------------------------


def test_table_names_every_action_once_and_fits_one_screen():
    assert [r.name for r in ROWS] == sorted(ACTIONS, key=[r.name for r in ROWS].index)
    assert len(ROWS) == len(ACTIONS) <= 40
    assert set(PARAMS) == ACTIONS
    for required in ("accept", "decline", "answer_directly", "review_non_acceptance", "dispatch", "sign",
                     "add_note", "pause", "resume", "request_extension", "decide_extension", "request_return",
                     "decide_return", "submit_closure", "review_closure", "record_callback", "evaluate",
                     "reopen", "close", "archive", "merge_repeat", "join", "urge", "answer_urging",
                     "record_warning", "supervise"):
        assert required in ACTIONS


def test_unknown_action_unknown_parameter_and_naive_time_are_validation_errors():
    flow = Flow(registered())
    flow.fails(ValidationFailed, "teleport", AGENT)
    err = flow.fails(ValidationFailed, "accept", AGENT, colour="red")
    assert err.details == {"colour": "unknown parameter"}
    with pytest.raises(ValidationFailed):
        apply(flow.ticket, "accept", {}, actor=AGENT, now=datetime(2026, 3, 3, 9), policy=POLICY)


# --- acceptance ----------------------------------------------------------------------------


def test_accept_stops_acceptance_clock_in_time_and_starts_mediation_for_complaints():
    flow = Flow(registered())
    assert flow.ticket.status == "pending_acceptance"
    out = flow.do("accept", AGENT, category="food_safety")
    assert flow.ticket.status == "to_dispatch"
    assert flow.ticket.category == "food_safety"
    assert out.events[0].deadline_met is True
    assert out.events[0].type == "accepted"
    assert out.outbox[0].topic == "ticket.accepted"
    assert flow.clock("acceptance").status == "stopped"
    mediation = flow.clock("mediation")
    assert mediation.status == "running" and mediation.unit == "natural_days" and mediation.amount == 60
    assert "report_verification" not in flow.ticket.clocks


def test_late_acceptance_is_recorded_as_deadline_missed():
    flow = Flow(registered())
    out = flow.do("accept", AGENT, after=timedelta(days=20))
    assert out.events[0].deadline_met is False


def test_report_accept_starts_verification_clock_not_mediation():
    flow = accepted(kind="report")
    assert flow.clock("report_verification").amount == 15
    assert "mediation" not in flow.ticket.clocks


def test_only_centre_staff_accept():
    flow = Flow(registered())
    flow.fails(Forbidden, "accept", handler("D1"))
    flow.fails(Forbidden, "accept", CITIZEN)
    flow.fails(Forbidden, "dispatch", handler("D1"), mode="single", department="D2")


def test_decline_needs_an_art16_reason_and_text_for_other():
    flow = Flow(registered())
    flow.fails(ValidationFailed, "decline", AGENT)
    flow.fails(ValidationFailed, "decline", AGENT, reason_code="because")
    err = flow.fails(ValidationFailed, "decline", AGENT, reason_code="other")
    assert "text" in err.details
    out = flow.do("decline", AGENT, reason_code="over_three_years")
    assert flow.ticket.status == "closed" and flow.ticket.resolution == "declined"
    assert out.events[0].deadline_met is True
    assert flow.ticket.replies[-1].text.startswith("不予受理：")
    assert flow.ticket.clocks["acceptance"].status == "stopped"


def test_declining_an_upper_level_assignment_goes_to_non_acceptance_review():
    flow = Flow(registered(channel="upper_level", external_ref="SJ-2026-1"))
    assert flow.ticket.status == "upper_level_pending"
    flow.do("decline", AGENT, reason_code="not_our_duty")
    assert flow.ticket.status == "non_acceptance_review"
    flow.fails(Forbidden, "review_non_acceptance", AGENT, decision="return_upward")
    flow.fails(ValidationFailed, "review_non_acceptance", DISPATCHER, decision="hand_to_local")
    flow.fails(ValidationFailed, "review_non_acceptance", DISPATCHER, decision="maybe")
    flow.do("review_non_acceptance", DISPATCHER, decision="return_upward", text="不属本级管辖")
    assert flow.ticket.status == "closed" and flow.ticket.resolution == "returned_upward"


def test_non_acceptance_review_can_hand_the_ticket_to_a_local_department():
    flow = Flow(registered(channel="upper_level"))
    flow.do("decline", AGENT, reason_code="not_our_duty")
    flow.do("review_non_acceptance", DISPATCHER, decision="hand_to_local", department="XH-SCJ")
    t = flow.ticket
    assert t.status == "in_handling" and t.dispatch_mode == "single"
    [a] = t.assignments
    assert (a.department, a.role, a.status) == ("XH-SCJ", "single", "to_sign")
    assert t.clocks["sign:A1"].status == "running"
    assert t.clocks["mediation"].status == "running"


def test_answer_directly_is_for_inquiries_only():
    flow = Flow(registered())
    flow.fails(IllegalTransition, "answer_directly", AGENT, answer="请拨打12315")
    assert "answer_directly" not in allowed_actions(flow.ticket, AGENT)
    inquiry = Flow(registered(kind="inquiry"))
    assert "answer_directly" in allowed_actions(inquiry.ticket, AGENT)
    inquiry.fails(ValidationFailed, "answer_directly", AGENT)
    out = inquiry.do("answer_directly", AGENT, answer="营业执照可在政务服务网办理")
    assert inquiry.ticket.status == "closed" and inquiry.ticket.resolution == "answered"
    assert out.events[0].deadline_met is True
    assert inquiry.ticket.replies[-1].source == "answer"


# --- dispatch ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode, params, expected",
    [
        ("single", {"department": "D1"}, [("D1", "single")]),
        ("lead_assist", {"lead": "D1", "assists": ["D2", "D3"]}, [("D1", "lead"), ("D2", "assist"), ("D3", "assist")]),
        ("parallel", {"departments": ["D1", "D2", "D3"]}, [("D1", "parallel"), ("D2", "parallel"), ("D3", "parallel")]),
        ("lower_platform", {"platform": "GS-XH-01"}, [("GS-XH-01", "lower_platform")]),
    ],
)
def test_dispatch_modes_create_one_assignment_per_department_with_a_sign_clock(mode, params, expected):
    flow = dispatched(mode, **params)
    t = flow.ticket
    assert t.status == "in_handling" and t.dispatch_mode == mode
    assert [(a.department, a.role) for a in t.assignments] == expected
    for a in t.assignments:
        assert a.status == "to_sign" and a.owner is None
        sign = t.clocks[f"sign:{a.id}"]
        assert sign.unit == "working_days" and sign.amount == 1
    assert flow.event.data["mode"] == mode


@pytest.mark.parametrize(
    "params",
    [
        {"mode": "parallel", "departments": ["D1"]},
        {"mode": "parallel", "departments": ["D1", "D1"]},
        {"mode": "lead_assist", "lead": "D1", "assists": ["D1"]},
        {"mode": "lead_assist", "lead": "D1", "assists": []},
        {"mode": "single"},
        {"mode": "single", "department": "D1", "platform": "P1"},
        {"mode": "single", "department": "bad code!"},
        {"mode": "broadcast", "department": "D1"},
    ],
)
def test_bad_dispatch_requests_are_rejected(params):
    flow = accepted()
    flow.fails(ValidationFailed, "dispatch", DISPATCHER, **params)


def test_urgent_tickets_must_be_signed_within_two_hours():
    flow = Flow(registered(priority="urgent"))
    flow.do("accept", AGENT)
    flow.do("dispatch", DISPATCHER, mode="single", department="D1")
    sign = flow.clock("sign:A1")
    assert sign.unit == "hours" and sign.due - sign.started_at == timedelta(hours=2)


# --- department work -----------------------------------------------------------------------


def test_sign_is_per_assignment_and_only_for_the_own_department():
    flow = dispatched("lead_assist")
    flow.fails(Forbidden, "sign", handler("D9"))
    flow.fails(Forbidden, "sign", handler("D2"), assignment_id="A1")
    flow.fails(ValidationFailed, "sign", handler("D1"), assignment_id="A99")
    out = flow.do("sign", handler("D1", "wang"))
    a1 = flow.assignment("A1")
    assert (a1.status, a1.owner) == ("in_progress", "wang")
    assert out.events[0].deadline_met is True
    assert flow.clock("sign:A1").status == "stopped"
    handling = flow.clock("handling:A1")
    assert handling.amount == 13 and handling.status == "running"
    assert flow.assignment("A2").status == "to_sign"
    flow.fails(IllegalTransition, "sign", handler("D1"), assignment_id="A1")


@pytest.mark.parametrize("kind, days", [("complaint", 13), ("inquiry", 3), ("help_request", 5), ("report", 13)])
def test_handling_clock_length_depends_on_kind(kind, days):
    flow = signed(kind=kind)
    assert flow.clock("handling:A1").amount == days


def test_late_signing_is_recorded_as_missed():
    flow = dispatched()
    out = flow.do("sign", handler("D1"), after=timedelta(days=5))
    assert out.events[0].deadline_met is False


def test_dept_lead_and_lower_platform_partner_act_for_their_own_department():
    flow = dispatched("lower_platform")
    flow.fails(Forbidden, "sign", Actor("p2", "partner", department="P2"))
    flow.do("sign", Actor("p1-bot", "partner", department="P1"))
    assert flow.assignment("A1").owner == "p1-bot"
    other = dispatched()
    other.fails(Forbidden, "sign", Actor("p", "partner", department="D1"))  # partners only on lower platforms
    other.do("sign", lead_of("D1"))


def test_progress_notes_need_a_signed_assignment_of_the_department():
    flow = dispatched()
    flow.fails(IllegalTransition, "add_note", handler("D1"), text="已联系双方")
    flow.do("sign", handler("D1"))
    flow.fails(ValidationFailed, "add_note", handler("D1"))
    flow.fails(Forbidden, "add_note", handler("D2"), text="x")
    out = flow.do("add_note", handler("D1", "colleague"), text="已联系双方，约定周三现场调解")
    assert out.events[0].type == "note_added"
    assert out.events[0].data["text"].startswith("已联系双方")
    assert "text" not in out.outbox[0].payload  # free text never leaves in the outbox


def test_pause_and_resume_freeze_handling_and_mediation_clocks():
    flow = signed()
    due_before = flow.clock("handling:A1").due
    flow.fails(ValidationFailed, "pause", handler("D1"), reason="holiday")
    flow.do("pause", handler("D1"), reason="appraisal_testing", text="送检")
    assert flow.assignment("A1").status == "paused"
    assert flow.clock("handling:A1").status == "paused"
    assert flow.clock("mediation").status == "paused"
    flow.fails(IllegalTransition, "pause", handler("D1"), reason="recusal")
    flow.fails(IllegalTransition, "submit_closure", handler("D1"), facts="x", result="settled")
    flow.do("resume", handler("D1"), after=timedelta(days=14))
    assert flow.assignment("A1").status == "in_progress"
    assert flow.clock("handling:A1").status == "running"
    assert flow.clock("handling:A1").due > due_before
    assert flow.clock("mediation").status == "running"


def test_mediation_stays_paused_while_any_parallel_share_is_paused():
    flow = signed("parallel")
    flow.do("pause", handler("D1"), reason="recusal")
    flow.do("pause", handler("D2"), reason="awaiting_citizen")
    flow.do("resume", handler("D1"))
    assert flow.clock("mediation").status == "paused"
    flow.do("resume", handler("D2"))
    assert flow.clock("mediation").status == "running"


def test_extension_only_before_the_deadline_and_approval_moves_it():
    flow = signed()
    due = flow.clock("handling:A1").due
    flow.fails(ValidationFailed, "request_extension", handler("D1"), reason="需检测", new_due=due.date().isoformat())
    flow.fails(ValidationFailed, "request_extension", handler("D1"), reason="需检测", new_due="2026-13-01")
    flow.fails(ValidationFailed, "request_extension", handler("D1"), new_due="2026-05-29")
    flow.fails(IllegalTransition, "decide_extension", DISPATCHER, decision="approve")
    flow.do("request_extension", handler("D1"), reason="需检测", new_due="2026-05-29")
    assert flow.assignment("A1").extension_request is not None
    flow.fails(IllegalTransition, "request_extension", handler("D1"), reason="again", new_due="2026-06-30")
    flow.fails(Forbidden, "decide_extension", handler("D1"), decision="approve")
    flow.fails(ValidationFailed, "decide_extension", DISPATCHER, decision="refuse")
    flow.do("decide_extension", DISPATCHER, decision="approve")
    handling = flow.clock("handling:A1")
    assert handling.due == datetime(2026, 5, 29, 23, 59, 59, tzinfo=TZ) and handling.extended
    assert flow.assignment("A1").extension_request is None


def test_extension_after_the_deadline_is_refused_and_a_refusal_keeps_the_date():
    late = signed()
    late.now = late.clock("handling:A1").due + timedelta(hours=1)
    late.fails(IllegalTransition, "request_extension", handler("D1"), reason="r", new_due="2026-12-31")
    flow = signed()
    due = flow.clock("handling:A1").due
    flow.do("request_extension", handler("D1"), reason="r", new_due="2026-12-31")
    flow.do("decide_extension", DISPATCHER, decision="refuse", text="材料已齐全，请按期办结")
    assert flow.clock("handling:A1").due == due
    assert flow.assignment("A1").extension_request is None


def test_return_goes_back_to_the_centre_never_to_a_peer():
    flow = signed("lead_assist")
    flow.fails(ValidationFailed, "request_return", handler("D2"), reason="非本单位职责")
    flow.do("request_return", handler("D2"), reason="非本单位职责", basis="《市场监督管理投诉举报处理办法》第十四条")
    flow.fails(IllegalTransition, "request_return", handler("D2"), reason="again", basis="again")
    flow.fails(Forbidden, "decide_return", handler("D1"), decision="approve")
    flow.do("decide_return", DISPATCHER, decision="approve")
    t = flow.ticket
    assert t.status == "to_dispatch" and t.dispatch_mode is None
    assert [a.status for a in t.assignments] == ["withdrawn", "returned", "withdrawn"]
    assert all(t.clocks[f"handling:{a.id}"].status == "stopped" for a in t.assignments)
    assert t.clocks["mediation"].status == "running"
    flow.do("dispatch", DISPATCHER, mode="single", department="D4")
    assert flow.ticket.assignments[-1].id == "A4"


def test_a_refused_return_leaves_the_share_with_the_department():
    flow = dispatched()
    flow.do("request_return", handler("D1"), reason="辖区不符", basis="地址位于滨江区")
    flow.do("decide_return", DISPATCHER, decision="refuse", text="经核实属本辖区")
    a = flow.assignment("A1")
    assert a.status == "to_sign" and a.return_request is None
    assert flow.ticket.status == "in_handling"


def test_the_lead_submits_only_after_every_assist():
    flow = signed("lead_assist")
    err = flow.fails(IllegalTransition, "submit_closure", handler("D1"), facts="调解成功", result="settled")
    assert err.details["assists_pending"] == ["A2", "A3"]
    assert "submit_closure" not in allowed_actions(flow.ticket, handler("D1"))
    flow.do("submit_closure", handler("D2"), facts="协办：现场检查完毕")
    flow.fails(IllegalTransition, "submit_closure", handler("D1"), facts="调解成功", result="settled")
    flow.do("submit_closure", handler("D3"), facts="协办：价格已核实")
    assert flow.ticket.status == "in_handling"
    out = flow.do("submit_closure", handler("D1"), facts="调解成功", result="settled")
    assert flow.ticket.status == "closure_review"
    assert out.events[0].data["ready_for_review"] is True
    assert flow.clock("closure_review").status == "running"
    assert flow.clock("mediation").status == "stopped"


def test_parallel_shares_all_submit_before_review():
    flow = signed("parallel")
    flow.do("submit_closure", handler("D1"), facts="a", result="settled")
    assert flow.ticket.status == "in_handling"
    flow.do("submit_closure", handler("D2"), facts="b", result="not_settled")
    assert flow.ticket.status == "closure_review"


def test_closure_result_rules_per_kind():
    flow = signed()
    flow.fails(ValidationFailed, "submit_closure", handler("D1"), facts="x")
    flow.fails(ValidationFailed, "submit_closure", handler("D1"), facts="x", result="case_filed")
    flow.fails(ValidationFailed, "submit_closure", handler("D1"), facts="x", result="terminated")
    flow.fails(ValidationFailed, "submit_closure", handler("D1"), facts="x", result="settled",
               termination_reason="time_limit_expired")
    report = signed(kind="report")
    report.do("submit_closure", handler("D1"), facts="已立案调查", result="case_filed")
    assert report.ticket.clocks["report_verification"].status == "stopped"
    inquiry = signed(kind="inquiry")
    inquiry.do("submit_closure", handler("D1"), facts="已答复")
    assert inquiry.assignment("A1").closure.result == "handled"


def test_terminated_mediation_needs_a_notice_before_the_ticket_closes():
    flow = signed()
    flow.do("submit_closure", handler("D1"), facts="被投诉人拒绝调解", result="terminated",
            termination_reason="party_absent_or_refused")
    notice = flow.clock("termination_notice:A1")
    assert notice.status == "running" and notice.amount == 7
    flow.do("review_closure", DISPATCHER, decision="approve")
    flow.do("record_callback", AGENT, satisfaction="basically_satisfied", solved=False)
    flow.fails(IllegalTransition, "close", AGENT)
    assert "close" not in allowed_actions(flow.ticket, AGENT)
    flow.fails(Forbidden, "record_termination_notice", handler("D2"))
    out = flow.do("record_termination_notice", handler("D1"), text="已书面告知双方")
    assert out.events[0].deadline_met is True
    flow.do("close", AGENT)
    assert flow.ticket.status == "closed"


def test_rework_of_a_terminated_mediation_reopens_its_clocks():
    """Issue 14: after rework the termination-notice clock no longer ran on, and mediation showed done."""
    flow = signed()
    mediation_due = flow.clock("mediation").due
    flow.do("submit_closure", handler("D1"), facts="被投诉人拒绝调解", result="terminated",
            termination_reason="party_absent_or_refused")
    assert flow.clock("mediation").status == "stopped"
    assert flow.clock("termination_notice:A1").status == "running"
    out = flow.do("review_closure", DISPATCHER, decision="rework", text="请再联系被投诉人调解",
                  after=timedelta(days=3))
    t = flow.ticket
    assert "termination_notice:A1" not in t.clocks  # the withdrawn termination owes no notice
    assert "record_termination_notice" not in allowed_actions(t, handler("D1"))
    mediation = t.clocks["mediation"]
    assert mediation.status == "running" and mediation.stopped_at is None
    assert mediation.due > mediation_due  # the days in review are not the department's
    assert out.events[0].data["clocks_reopened"] == ["mediation"]
    assert out.events[0].data["clocks_withdrawn"] == ["termination_notice:A1"]
    assert t.clocks["handling:A1"].status == "running"
    flow.do("submit_closure", handler("D1"), facts="双方达成和解，退还货款", result="settled")
    assert flow.clock("mediation").status == "stopped" and "termination_notice:A1" not in flow.ticket.clocks
    flow.do("review_closure", DISPATCHER, decision="approve")
    flow.do("record_callback", AGENT, satisfaction="satisfied", solved=True)
    assert flow.ticket.status == "closed"  # the callback closes it: no notice pending from the withdrawn termination


def test_reopen_after_dissatisfaction_runs_the_mediation_clock_again():
    flow = in_review()
    flow.do("review_closure", DISPATCHER, decision="approve")
    flow.do("record_callback", AGENT, satisfaction="dissatisfied", solved=False)
    flow.do("reopen", AGENT, reason="商家未按约定退款")
    assert flow.clock("mediation").status == "running"
    assert flow.clock("handling:A1").status == "running"


# --- review, reply, end of life ------------------------------------------------------------


def test_review_approve_goes_to_callback_or_to_evaluation_for_web_tickets():
    flow = in_review()
    out = flow.do("review_closure", DISPATCHER, decision="approve", reply="已为您办理退款")
    assert flow.ticket.status == "pending_callback"
    assert out.events[0].deadline_met is True
    assert flow.clock("callback").status == "running"
    assert [a.status for a in flow.ticket.assignments] == ["completed"]
    assert flow.ticket.replies[-1].text == "已为您办理退款"
    web = in_review(channel="web")
    web.do("review_closure", DISPATCHER, decision="approve")
    assert web.ticket.status == "pending_evaluation"
    assert "callback" not in web.ticket.clocks
    assert web.clock("evaluation").status == "running" and web.clock("evaluation").amount == 3
    web.fails(Forbidden, "evaluate", AGENT, satisfaction="satisfied", solved=True)
    out = web.do("evaluate", CITIZEN, satisfaction="satisfied", solved=True, comment="很快")
    assert web.ticket.status == "closed" and web.ticket.feedback[-1].via == "evaluation"
    assert web.ticket.resolution == "completed" and out.events[0].deadline_met is True
    assert web.clock("evaluation").status == "stopped" and web.clock("archive").status == "running"


def test_an_agent_calls_back_a_web_citizen_who_did_not_evaluate():
    web = in_review(channel="web")
    web.do("review_closure", DISPATCHER, decision="approve")
    web.do("record_callback", AGENT, after=timedelta(days=6), satisfaction="basically_satisfied", solved=True)
    assert web.ticket.status == "closed" and web.ticket.feedback[-1].via == "callback"
    assert web.clock("evaluation").status == "stopped"


def test_review_rework_sends_shares_back_with_a_new_handling_clock():
    flow = in_review("lead_assist")
    flow.fails(ValidationFailed, "review_closure", DISPATCHER, decision="rework")  # needs a reason
    flow.fails(ValidationFailed, "review_closure", DISPATCHER, decision="rework", text="x", assignment_ids=["A9"])
    flow.do("review_closure", DISPATCHER, decision="rework", text="协办意见不完整", assignment_ids=["A2"])
    t = flow.ticket
    assert t.status == "in_handling" and t.rework_count == 1
    assert [a.status for a in t.assignments] == ["in_progress", "in_progress", "submitted"]
    assert t.clocks["handling:A2"].status == "running" and t.clocks["handling:A2"].started_at == flow.now
    assert t.assignment("A1").closure is None and t.assignment("A1").rework_count == 1
    flow.do("submit_closure", handler("D2"), facts="补充意见")
    flow.do("submit_closure", handler("D1"), facts="已调解", result="settled")
    assert flow.ticket.status == "closure_review"


def test_review_transfer_moves_the_ticket_to_another_department():
    flow = in_review()
    flow.fails(ValidationFailed, "review_closure", DISPATCHER, decision="transfer", text="x")
    flow.fails(ValidationFailed, "review_closure", DISPATCHER, decision="transfer", text="x", department="D1")
    flow.do("review_closure", DISPATCHER, decision="transfer", text="属滨江区管辖", department="BJ-SCJ",
            district="330108")
    t = flow.ticket
    assert [a.status for a in t.assignments] == ["transferred", "to_sign"]
    assert t.assignments[-1].department == "BJ-SCJ" and t.district == "330108"
    assert t.status == "in_handling"


def test_callback_records_satisfaction_then_close_and_archive():
    flow = in_review()
    flow.do("review_closure", DISPATCHER, decision="approve")
    flow.fails(ValidationFailed, "record_callback", AGENT, satisfaction="satisfied")
    flow.fails(ValidationFailed, "record_callback", AGENT, satisfaction="happy", solved=True)
    flow.fails(Forbidden, "record_callback", handler("D1"), satisfaction="satisfied", solved=True)
    out = flow.do("record_callback", AGENT, satisfaction="satisfied", solved=True)
    assert out.events[0].deadline_met is True and out.events[0].data["closed"] is True
    assert flow.ticket.status == "closed" and flow.ticket.resolution == "completed"
    archive = flow.clock("archive")  # the archive job archives it when this is due (15 natural days)
    assert archive.status == "running" and archive.amount == 15 and archive.unit == "natural_days"
    flow.fails(IllegalTransition, "close", AGENT)  # nobody closes it by hand any more
    out = flow.do("archive", SYSTEM)
    assert flow.ticket.status == "archived" and "archive" not in flow.ticket.clocks
    assert out.events[0].data["clocks_withdrawn"] == ["archive"]


def test_reopen_needs_a_dissatisfied_citizen_unless_a_manager_decides():
    satisfied = replied("satisfied")
    satisfied.fails(IllegalTransition, "reopen", AGENT, reason="再查")
    assert satisfied.ticket.status == "closed"
    satisfied.do("reopen", MANAGER, reason="上级督查发现未落实")
    assert satisfied.ticket.status == "in_handling" and satisfied.ticket.closed_at is None
    assert "archive" not in satisfied.ticket.clocks  # reopened: nothing to archive
    unhappy = replied("dissatisfied")
    unhappy.fails(ValidationFailed, "reopen", AGENT)
    unhappy.do("reopen", AGENT, reason="商家未按约定退款")
    t = unhappy.ticket
    assert t.reopen_count == 1 and t.resolution is None
    assert t.assignment("A1").status == "in_progress"
    assert t.clocks["handling:A1"].status == "running"


def test_declined_or_answered_tickets_are_not_reopened():
    flow = Flow(registered())
    flow.do("decline", AGENT, reason_code="not_consumption")
    flow.fails(IllegalTransition, "reopen", MANAGER, reason="x")


def test_closed_tickets_accept_only_reopen_and_archive_and_archived_nothing():
    flow = replied("dissatisfied")
    assert flow.ticket.status == "closed"
    everyone = [AGENT, DISPATCHER, MANAGER, SYSTEM, CITIZEN, ADMIN, handler("D1"), lead_of("D1")]
    allowed = {a for actor in everyone for a in allowed_actions(flow.ticket, actor)}
    assert allowed == {"reopen", "archive"}
    for action in sorted(ACTIONS - {"reopen", "archive"}):
        for actor in everyone:
            with pytest.raises((IllegalTransition, Forbidden)):
                apply(flow.ticket, action, {}, actor=actor, now=flow.now, policy=POLICY)
    flow.do("archive", ADMIN)
    for action in sorted(ACTIONS):
        for actor in everyone:
            assert not can_apply(flow.ticket, action, actor)
            with pytest.raises((IllegalTransition, Forbidden)):
                apply(flow.ticket, action, {}, actor=actor, now=flow.now, policy=POLICY)


# --- repeats and joint complaints ----------------------------------------------------------


def test_merge_repeat_appends_facts_and_restarts_the_acceptance_deadline():
    flow = Flow(registered())
    due = flow.clock("acceptance").due
    flow.do("merge_repeat", AGENT, after=timedelta(days=3), facts="商家又拒绝退款", channel="phone")
    assert flow.ticket.merged_facts[-1].facts == "商家又拒绝退款"
    assert flow.clock("acceptance").due > due
    assert flow.event.data["restarted"] == ["acceptance"]


def test_merge_repeat_during_handling_restarts_handling_and_mediation():
    flow = signed()
    handling, mediation = flow.clock("handling:A1").due, flow.clock("mediation").started_at
    flow.do("pause", handler("D1"), reason="appraisal_testing")
    flow.do("merge_repeat", SYSTEM, after=timedelta(days=2), facts="新增证据：购物小票")
    assert flow.clock("handling:A1").status == "paused"  # restarted, still paused
    flow.do("resume", handler("D1"))
    assert flow.clock("handling:A1").due > handling
    assert flow.clock("mediation").started_at > mediation  # its due falls in the May holiday either way
    assert set(flow.outcomes[-2].events[0].data["restarted"]) == {"handling:A1", "mediation"}


def test_merge_is_refused_once_closure_was_submitted():
    flow = in_review()
    flow.fails(IllegalTransition, "merge_repeat", AGENT, facts="x")


def test_join_adds_a_complainant_about_the_same_dispute():
    flow = accepted()
    flow.fails(ValidationFailed, "join", AGENT, complainant={"name": "李四"})
    flow.fails(Conflict, "join", AGENT, complainant={"name": "张三", "phone": "13812345678", "address": "x"})
    out = flow.do("join", AGENT, complainant={"name": "李四", "phone": "13900001111", "address": "杭州市"},
                  source_ticket_id="T77")
    assert flow.ticket.co_complainants[-1].party.name == "李四"
    assert out.events[0].data == {"complainants": 2, "source_ticket_id": "T77"}  # no personal data in events
    flow.fails(Conflict, "join", DISPATCHER, complainant={"name": "李四", "phone": "13900001111", "address": "y"})


# --- urging, warnings, supervision ---------------------------------------------------------


def test_urging_goes_to_the_responsible_department_which_answers_it():
    flow = signed()
    flow.fails(Forbidden, "urge", AGENT, text="请加快")
    out = flow.do("urge", MANAGER, text="请加快办理")
    assert out.events[0].data["department"] == "D1"
    flow.fails(Forbidden, "answer_urging", handler("D2"), urging_id="U1", text="x")
    flow.fails(ValidationFailed, "answer_urging", handler("D1"), urging_id="U9", text="x")
    flow.do("answer_urging", handler("D1"), urging_id="U1", text="已约谈商家，本周办结")
    assert flow.ticket.urgings[0].answered_by == "h-D1"
    flow.fails(Conflict, "answer_urging", handler("D1"), urging_id="U1", text="again")
    flow.do("urge", Actor("gov12315", "partner"), text="国家平台催办", department="D1")
    assert flow.ticket.urgings[-1].source == "upper_level"


def test_urging_parallel_shares_names_the_department_and_centre_urgings_go_to_agents():
    flow = signed("parallel")
    flow.fails(ValidationFailed, "urge", SYSTEM, text="超时")
    flow.fails(ValidationFailed, "urge", SYSTEM, text="超时", department="D7")
    flow.do("urge", SYSTEM, text="超时", department="D2", clock="handling:A2")
    assert flow.ticket.urgings[-1].source == "system"
    pending = Flow(registered())
    pending.do("urge", DISPATCHER, text="请尽快受理")
    assert pending.ticket.urgings[-1].department == "center"
    pending.fails(Forbidden, "answer_urging", handler("D1"), urging_id="U1", text="x")
    pending.do("answer_urging", AGENT, urging_id="U1", text="已受理")


def test_warnings_rise_yellow_then_red_and_never_repeat():
    flow = signed()
    flow.fails(Forbidden, "record_warning", MANAGER, clock="handling:A1", level="yellow")
    flow.fails(ValidationFailed, "record_warning", SYSTEM, clock="nope", level="yellow")
    flow.fails(ValidationFailed, "record_warning", SYSTEM, clock="handling:A1", level="orange")
    flow.fails(IllegalTransition, "record_warning", SYSTEM, clock="sign:A1", level="red")
    flow.do("record_warning", SYSTEM, clock="handling:A1", level="yellow")
    assert flow.clock("handling:A1").warning == "yellow"
    flow.fails(Conflict, "record_warning", SYSTEM, clock="handling:A1", level="yellow")
    flow.do("record_warning", SYSTEM, clock="handling:A1", level="red")
    flow.fails(Conflict, "record_warning", SYSTEM, clock="handling:A1", level="yellow")
    assert flow.outcomes[-1].outbox[0].topic == "ticket.warning_recorded"


def test_supervision_after_an_ignored_urging():
    flow = signed()
    due = flow.clock("handling:A1").due
    flow.now = due + timedelta(hours=1)
    flow.do("urge", SYSTEM, text="已超期", clock="handling:A1")
    assert supervision_due(flow.ticket, flow.now + timedelta(hours=2), POLICY) == []
    later = flow.now + timedelta(days=7)
    [urging] = supervision_due(flow.ticket, later, POLICY)
    assert urging.id == "U1"
    flow.do("supervise", SYSTEM, after=later - flow.now, reason="催办后仍超期", urging_id="U1")
    assert flow.ticket.supervisions[-1].department == "D1"
    assert supervision_due(flow.ticket, later, POLICY) == []
    flow.fails(Conflict, "supervise", SYSTEM, reason="again", urging_id="U1")
    flow.fails(Forbidden, "supervise", DISPATCHER, reason="x")
    flow.do("supervise", MANAGER, reason="领导督办")


# --- purity, serialisation, the UI's action list -------------------------------------------


def _no_floats(value) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and _no_floats(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_no_floats(v) for v in value)
    return value is None or isinstance(value, (str, int, bool))


def test_everything_serialises_to_json_safe_dicts_and_back():
    flow = in_review()
    flow.do("review_closure", DISPATCHER, decision="approve")
    flow.do("urge", MANAGER, text="x", department="center")
    flow.do("record_callback", AGENT, satisfaction="dissatisfied", solved=False)
    flow.do("reopen", AGENT, reason="未退款")
    d = flow.ticket.to_dict()
    assert _no_floats(d)
    assert Ticket.from_dict(json.loads(json.dumps(d))) == flow.ticket
    for outcome in flow.outcomes:
        ev = outcome.events[0].to_dict()
        assert _no_floats(ev) and _no_floats(outcome.outbox[0].to_dict())
        assert TimelineEvent.from_dict(json.loads(json.dumps(ev))) == outcome.events[0]
        assert OutboxMessage.from_dict(outcome.outbox[0].to_dict()) == outcome.outbox[0]
    assert d["created_at"].endswith("+08:00")


def test_from_dict_rejects_incomplete_data():
    with pytest.raises(ValidationFailed) as info:
        Ticket.from_dict({"id": "T1"})
    assert info.value.details["kind"] == "required"


def test_a_now_before_the_last_change_does_not_run_the_timeline_backwards():
    flow = dispatched()
    earlier = flow.ticket.updated_at - timedelta(seconds=3)
    out = apply(flow.ticket, "sign", {}, actor=handler("D1"), now=earlier, policy=POLICY)
    assert out.events[0].at == flow.ticket.updated_at


def test_allowed_actions_reflect_role_state_and_department():
    flow = signed("lead_assist")
    assert allowed_actions(flow.ticket, handler("D2")) == ["add_note", "pause", "request_extension",
                                                           "request_return", "submit_closure"]
    assert "submit_closure" not in allowed_actions(flow.ticket, handler("D1"))
    assert allowed_actions(flow.ticket, handler("D9")) == []
    assert allowed_actions(flow.ticket, DISPATCHER) == ["merge_repeat", "join", "urge"]
    assert allowed_actions(flow.ticket, MANAGER) == ["urge", "supervise"]
    assert "record_warning" in allowed_actions(flow.ticket, SYSTEM)
    fresh = Flow(registered())
    assert allowed_actions(fresh.ticket, AGENT) == ["accept", "decline", "merge_repeat", "join"]


def test_dates_given_as_date_objects_are_due_at_the_end_of_the_day():
    flow = signed()
    flow.do("request_extension", handler("D1"), reason="r", new_due=date(2026, 6, 1))
    assert flow.assignment("A1").extension_request.new_due == datetime(2026, 6, 1, 23, 59, 59, tzinfo=TZ)
    flow.do("decide_extension", DISPATCHER, decision="approve", assignment_id="A1")
    assert flow.clock("handling:A1").status == "running" and flow.clock("handling:A1").due.day == 1
