"""Work queues: which lists a ticket is in, for whom, by when."""
from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from chalicelib.domain.calendar import TZ, WorkingCalendar
from chalicelib.domain.clocks import DEFAULT_SLA_RULES
from chalicelib.domain.intake import register
from chalicelib.domain.lifecycle import apply
from chalicelib.domain.queues import QUEUES, QUEUES_BY_ROLE, QueueEntry, queue_entries
from chalicelib.domain.ticket import Actor, Policy, Ticket

POLICY = Policy(sla=DEFAULT_SLA_RULES, calendar=WorkingCalendar())
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
AGENT, DISPATCHER, SYSTEM = Actor("a", "agent"), Actor("d", "dispatcher"), Actor("s", "system")
_ids = count(1)


def h(dept: str) -> Actor:
    return Actor(f"h-{dept}", "handler", department=dept)


class Q:
    def __init__(self, channel="phone", actor=AGENT, kind="complaint"):
        payload = {"kind": kind, "channel": channel,
                   "complainant": {"name": "张三", "phone": "13812345678", "address": "杭州市"},
                   "respondent": {"name": "某店", "address": "杭州市"}, "request": "退款", "facts": "过期"}
        [out] = register(payload, actor=actor, now=T0, policy=POLICY, new_id=lambda: f"Q{next(_ids)}",
                         new_tracking_code=lambda: "C")
        self.t: Ticket = out.ticket
        self.now = T0

    def do(self, action, actor, **params):
        self.now += timedelta(hours=1)
        self.t = apply(self.t, action, params, actor=actor, now=self.now, policy=POLICY).ticket
        return self

    def entries(self) -> list[tuple[str, str, str]]:
        return [(e.queue, e.owner, e.key) for e in queue_entries(self.t)]


def test_new_tickets_wait_in_the_agent_queue_of_their_channel():
    phone, web, upper = Q(), Q("web", Actor("c", "citizen")), Q("upper_level", Actor("p", "partner"))
    assert phone.entries() == [("pending_acceptance", "center", phone.t.id)]
    assert web.entries() == [("internet_inbox", "center", web.t.id)]
    assert upper.entries() == [("upper_assignments", "center", upper.t.id)]
    [entry] = queue_entries(phone.t)
    assert entry.due == phone.t.clocks["acceptance"].due


def test_dispatcher_queues_follow_the_ticket():
    q = Q().do("accept", AGENT)
    assert q.entries() == [("to_dispatch", "center", q.t.id)]
    assert queue_entries(q.t)[0].due == q.t.clocks["dispatch"].due  # sorted by the dispatch clock
    upper = Q("upper_level", Actor("p", "partner")).do("decline", AGENT, reason_code="not_our_duty")
    assert upper.entries() == [("non_acceptance_reviews", "center", upper.t.id)]
    assert queue_entries(upper.t)[0].due == upper.t.clocks["non_acceptance_review"].due


def test_department_queues_hold_one_entry_per_assignment():
    q = Q().do("accept", AGENT).do("dispatch", DISPATCHER, mode="parallel", departments=["D1", "D2"])
    tid = q.t.id
    assert q.entries() == [("to_sign", "D1", f"{tid}#A1"), ("to_sign", "D2", f"{tid}#A2")]
    assert queue_entries(q.t)[0].due == q.t.clocks["sign:A1"].due
    q.do("sign", h("D1"))
    assert q.entries() == [("in_progress", "D1", f"{tid}#A1"), ("to_sign", "D2", f"{tid}#A2")]
    assert queue_entries(q.t)[0].due == q.t.clocks["handling:A1"].due
    q.do("pause", h("D1"), reason="appraisal_testing")
    [paused, _] = queue_entries(q.t)
    assert paused.queue == "in_progress" and paused.due is None  # a paused clock has no deadline


def test_requests_show_in_the_dispatcher_queues_until_decided():
    q = Q().do("accept", AGENT).do("dispatch", DISPATCHER, mode="single", department="D1").do("sign", h("D1"))
    q.do("request_extension", h("D1"), reason="送检", new_due="2026-06-30")
    assert ("extension_requests", "center", f"{q.t.id}#A1") in q.entries()
    q.do("decide_extension", DISPATCHER, decision="approve")
    q.do("request_return", h("D1"), reason="非本辖区", basis="地址在滨江")
    assert ("return_requests", "center", f"{q.t.id}#A1") in q.entries()
    q.do("decide_return", DISPATCHER, decision="approve")
    assert q.entries() == [("to_dispatch", "center", q.t.id)]


def test_closure_review_callback_and_nothing_once_closed():
    q = Q().do("accept", AGENT).do("dispatch", DISPATCHER, mode="single", department="D1").do("sign", h("D1"))
    q.do("submit_closure", h("D1"), facts="已调解", result="settled")
    assert q.entries() == [("closure_reviews", "center", q.t.id)]
    assert queue_entries(q.t)[0].due == q.t.clocks["closure_review"].due
    q.do("review_closure", DISPATCHER, decision="approve", reply="已为您协调退款")  # replied at approval: no 待答复
    assert q.entries() == [("pending_callback", "center", q.t.id)]
    [row] = queue_entries(q.t)
    assert row.clock == "callback" and row.due == q.t.clocks["callback"].due
    q.do("record_callback", AGENT, satisfaction="satisfied", solved=True)
    assert q.t.status == "closed"  # closed and waiting for the archive job, in no one's work queue
    [row] = queue_entries(q.t)
    assert (row.queue, row.owner, row.key, row.clock) == ("to_archive", "center", q.t.id, "archive")
    assert row.due == q.t.clocks["archive"].due == datetime(2026, 3, 17, 23, 59, 59, tzinfo=TZ)
    q.do("archive", SYSTEM)
    assert queue_entries(q.t) == []


def test_pending_evaluation_waits_in_the_agents_queue_on_its_clock():
    q = Q(channel="web", actor=Actor("c", "citizen")).do("accept", AGENT).do("dispatch", DISPATCHER, mode="single", department="D1")
    q.do("sign", h("D1")).do("submit_closure", h("D1"), facts="已调解", result="settled")
    q.do("review_closure", DISPATCHER, decision="approve", reply="商家已同意退款")
    [row] = queue_entries(q.t)
    assert (row.queue, row.owner, row.key, row.clock) == ("pending_evaluation", "center", q.t.id, "evaluation")
    assert row.due == q.t.clocks["evaluation"].due
    assert "pending_evaluation" in QUEUES_BY_ROLE["agent"]
    q.do("evaluate", Actor("c", "citizen"), satisfaction="dissatisfied", solved=False)
    assert [e[0] for e in q.entries()] == ["to_archive"]
    q.do("reopen", AGENT, reason="商家未退款")
    assert not any(e[0] in ("to_archive", "pending_evaluation") for e in q.entries())


def test_urgings_wait_for_the_department_and_warnings_for_managers():
    q = Q().do("accept", AGENT).do("dispatch", DISPATCHER, mode="single", department="D1").do("sign", h("D1"))
    q.do("urge", SYSTEM, text="即将超期", clock="handling:A1")
    assert ("urgings", "D1", f"{q.t.id}#U1") in q.entries()
    urging = next(e for e in queue_entries(q.t) if e.queue == "urgings")
    assert urging.due == q.t.clocks["handling:A1"].due
    q.do("record_warning", SYSTEM, clock="handling:A1", level="yellow")
    assert ("warnings", "center", f"{q.t.id}#handling:A1") in q.entries()
    q.do("answer_urging", h("D1"), urging_id="U1", text="本周办结")
    assert not any(e[0] == "urgings" for e in q.entries())
    q.do("submit_closure", h("D1"), facts="已调解", result="settled")
    assert not any(e[0] == "warnings" for e in q.entries())  # the warned clock stopped


def test_every_queue_belongs_to_a_role():
    assert QUEUES == {
        "internet_inbox", "upper_assignments", "pending_acceptance", "pending_callback", "to_dispatch",
        "extension_requests", "return_requests", "closure_reviews", "non_acceptance_reviews", "to_sign",
        "in_progress", "urgings", "warnings", "pending_evaluation", "to_archive", "pending_reply",
        "assigned_to_me", "closure_approvals",  # a handler's own shares, a lead's approvals (issue 19 item 5)
    }
    assert QUEUES_BY_ROLE["manager"] == ("warnings", "to_archive")
    assert QueueEntry("to_sign", "D1", None, "k") == QueueEntry("to_sign", "D1", None, "k")


def test_pending_reply_waits_on_its_own_clock_until_an_agent_replies():
    """待答复 (issue 19 item 4): a closure approved without a reply owes the citizen one; the row runs
    on the reply clock (1 working day by default, yellow/red like every clock), apart from 待评价."""
    q = Q(channel="web", actor=Actor("c", "citizen")).do("accept", AGENT).do("dispatch", DISPATCHER, mode="single", department="D1")
    q.do("sign", h("D1")).do("submit_closure", h("D1"), facts="已调解", result="settled")
    q.do("review_closure", DISPATCHER, decision="approve")
    rows = {e.queue: e for e in queue_entries(q.t)}
    assert set(rows) == {"pending_reply", "pending_evaluation"}
    reply, evaluation = q.t.clocks["reply"], q.t.clocks["evaluation"]
    assert (rows["pending_reply"].clock, rows["pending_reply"].due) == ("reply", reply.due)
    assert reply.due == datetime(2026, 3, 3, 23, 59, 59, tzinfo=TZ) < evaluation.due  # the next working day
    assert reply.yellow_at is not None and reply.yellow_at < reply.due
    assert "pending_reply" in QUEUES_BY_ROLE["agent"]
    q.do("reply", AGENT, reply="经调解，商家同意退款")
    assert [e.queue for e in queue_entries(q.t)] == ["pending_evaluation"]
    assert q.t.clocks["reply"].status == "stopped" and q.t.replies[-1].text == "经调解，商家同意退款"


def test_a_callback_answers_the_pending_reply_too():
    q = Q().do("accept", AGENT).do("dispatch", DISPATCHER, mode="single", department="D1").do("sign", h("D1"))
    q.do("submit_closure", h("D1"), facts="已调解", result="settled").do("review_closure", DISPATCHER, decision="approve")
    assert [e[0] for e in q.entries()] == ["pending_callback", "pending_reply"]
    q.do("record_callback", AGENT, satisfaction="satisfied", solved=True)
    assert q.t.clocks["reply"].status == "stopped" and [e[0] for e in q.entries()] == ["to_archive"]
