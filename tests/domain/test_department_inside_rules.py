"""Inside a department (issue 19 item 5), the pure rules: a lead assigns a share to a handler, a
closure that needs the lead's approval (呈批) waits for it, and who took part in a ticket ("my
tickets"). The API flows are in tests/flows/test_department_inside.py."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from chalicelib.domain.errors import Forbidden, IllegalTransition, ValidationFailed
from chalicelib.domain.lifecycle import allowed_actions, apply
from chalicelib.domain.queues import involvement, mine_entries, personal_owner, queue_entries
from chalicelib.domain.ticket import Actor
from tests.domain.test_lifecycle import AGENT, DISPATCHER, POLICY, accepted, handler, lead_of

APPROVING = replace(POLICY, approval_departments=frozenset({"D1"}))


class Steps:
    """A ticket taken through actions under a given policy, an hour apart."""

    def __init__(self, flow, policy=APPROVING) -> None:
        self.ticket, self.now, self.policy = flow.ticket, flow.now, policy

    def do(self, action, actor, **params):
        self.now += timedelta(hours=1)
        outcome = apply(self.ticket, action, params, actor=actor, now=self.now, policy=self.policy)
        self.ticket = outcome.ticket
        return outcome.events[0]

    def fails(self, error, action, actor, **params):
        with pytest.raises(error):
            apply(self.ticket, action, params, actor=actor, now=self.now, policy=self.policy)


def _lead_assist(policy=APPROVING) -> Steps:
    s = Steps(accepted(), policy)
    s.do("dispatch", DISPATCHER, mode="lead_assist", lead="D1", assists=["D2"])
    s.do("sign", handler("D1"), assignment_id="A1")
    s.do("sign", handler("D2"), assignment_id="A2")
    return s


def test_only_the_lead_assigns_a_signed_share_of_their_department():
    s = Steps(accepted())
    s.do("dispatch", DISPATCHER, mode="single", department="D1")
    s.fails(IllegalTransition, "assign_handler", lead_of("D1"), assignment_id="A1", handler="h2")  # not signed yet
    s.do("sign", handler("D1"), assignment_id="A1")
    assert "assign_handler" in allowed_actions(s.ticket, lead_of("D1"))
    s.fails(Forbidden, "assign_handler", handler("D1"), assignment_id="A1", handler="h2")
    s.fails(Forbidden, "assign_handler", lead_of("D2"), assignment_id="A1", handler="h2")
    s.fails(ValidationFailed, "assign_handler", lead_of("D1"), assignment_id="A1", handler="")
    event = s.do("assign_handler", lead_of("D1"), assignment_id="A1", handler="h2")
    assert (event.type, event.data["handler"], event.data["previous"]) == ("handler_assigned", "h2", None)
    s.fails(ValidationFailed, "assign_handler", lead_of("D1"), assignment_id="A1", handler="h2")  # already theirs
    assert [(e.queue, e.owner) for e in queue_entries(s.ticket) if e.queue == "assigned_to_me"] == [
        ("assigned_to_me", personal_owner("h2"))]


def test_an_assists_approval_is_waited_for_by_the_lead():
    s = _lead_assist(replace(POLICY, approval_departments=frozenset({"D2"})))  # the assisting department asks for it
    assert s.do("submit_closure", handler("D2"), assignment_id="A2", facts="协办部分。").type == "closure_proposed"
    assert s.ticket.assignment("A2").status == "pending_approval"
    s.fails(IllegalTransition, "submit_closure", handler("D1"), assignment_id="A1", result="settled", facts="主办。")
    approved = s.do("decide_closure_approval", lead_of("D2"), assignment_id="A2", decision="approve")
    assert approved.type == "closure_submitted" and approved.data["approved_by"] == "lead-D2"
    assert s.ticket.assignment("A2").closure.approved_by == "lead-D2"
    assert s.do("submit_closure", handler("D1"), assignment_id="A1", result="settled", facts="主办。").type \
        == "closure_submitted"
    assert s.ticket.status == "closure_review"


def test_send_back_needs_a_reason_and_only_the_departments_lead_decides():
    s = Steps(accepted())
    s.do("dispatch", DISPATCHER, mode="single", department="D1")
    s.do("sign", handler("D1"), assignment_id="A1")
    s.do("submit_closure", handler("D1"), assignment_id="A1", result="settled", facts="办结。")
    assert [e.queue for e in queue_entries(s.ticket) if e.owner == "D1"] == ["closure_approvals"]
    s.fails(ValidationFailed, "decide_closure_approval", lead_of("D1"), decision="send_back")
    s.fails(Forbidden, "decide_closure_approval", lead_of("D2"), assignment_id="A1", decision="approve")
    s.fails(Forbidden, "decide_closure_approval", handler("D1"), decision="approve")
    back = s.do("decide_closure_approval", lead_of("D1"), decision="send_back", text="请补充协议。")
    assert back.type == "closure_sent_back" and s.ticket.status == "in_handling"
    assert s.ticket.assignment("A1").status == "in_progress" and s.ticket.assignment("A1").closure is None
    assert s.ticket.clocks["handling:A1"].status == "running"


def test_involvement_names_who_registered_dispatched_handled_and_approved_and_outlives_closure():
    s = Steps(accepted())
    s.do("dispatch", DISPATCHER, mode="single", department="D1")
    s.do("sign", handler("D1"), assignment_id="A1")
    s.do("assign_handler", lead_of("D1"), assignment_id="A1", handler="h-other")
    s.do("submit_closure", handler("D1", "h-other"), assignment_id="A1", result="settled", facts="办结。")
    s.do("decide_closure_approval", lead_of("D1"), decision="approve")
    assert involvement(s.ticket) == {AGENT.username: ["registered"], DISPATCHER.username: ["dispatched"],
                                     "h-D1": ["handled"], "h-other": ["handled"], "lead-D1": ["approved"]}
    keys = {e.owner: e.key for e in mine_entries(s.ticket)}
    assert keys[personal_owner("lead-D1")] == f"{s.ticket.id}#approved"
    closed = replace(s.ticket, status="closed")
    assert queue_entries(closed) == [] or all(e.queue == "to_archive" for e in queue_entries(closed))
    assert len(mine_entries(closed)) == 5  # "my tickets" keeps closed ones


def test_an_assigned_share_is_its_handlers_alone_until_the_lead_reassigns_it():
    """Assignment exclusivity: once the lead assigns a share, a colleague gets a 403 naming it
    (code assigned_to_another_handler) and no buttons; the lead still acts and may reassign."""
    s = Steps(accepted())
    s.do("dispatch", DISPATCHER, mode="single", department="D1")
    s.do("sign", handler("D1"), assignment_id="A1")
    assert "add_note" in allowed_actions(s.ticket, handler("D1", "h2"))  # not assigned yet: any handler
    s.do("assign_handler", lead_of("D1"), assignment_id="A1", handler="h2")
    for actor in (handler("D1"), handler("D1", "h3")):  # the signer and any other colleague
        assert not {"add_note", "submit_closure", "pause", "request_extension"} & set(allowed_actions(s.ticket, actor))
        for params in ({"assignment_id": "A1"}, {}):
            with pytest.raises(Forbidden) as refused:
                apply(s.ticket, "add_note", {**params, "text": "已联系"}, actor=actor, now=s.now, policy=s.policy)
            assert refused.value.code == "assigned_to_another_handler"
            assert refused.value.details == {"assignment_id": "A1", "assigned_to": "h2"}
    s.do("add_note", handler("D1", "h2"), assignment_id="A1", text="已联系双方")
    s.do("add_note", lead_of("D1"), assignment_id="A1", text="负责人跟进")
    s.do("assign_handler", lead_of("D1"), assignment_id="A1", handler="h-D1")  # reassigned: h2 is out now
    s.fails(Forbidden, "add_note", handler("D1", "h2"), assignment_id="A1", text="再次联系")
    assert s.do("add_note", handler("D1"), text="改由我办理").type == "note_added"


def test_a_grassroots_offices_share_is_assigned_and_approved_by_its_departments_lead():
    """Offices (基层所): the department's lead (Actor.offices, from the directory) assigns an office's
    share to an office handler and approves its closure; the office's own lead may too; other leads not."""
    policy = replace(POLICY, approval_departments=frozenset({"O1"}))
    s = Steps(accepted(), policy)
    s.do("dispatch", DISPATCHER, mode="single", department="O1")
    s.do("sign", handler("O1"), assignment_id="A1")
    dept_lead = Actor("lead-D1", "dept_lead", department="D1", offices=["O1"])
    assert "assign_handler" not in allowed_actions(s.ticket, lead_of("D1"))  # without its offices: not its share
    assert "assign_handler" in allowed_actions(s.ticket, dept_lead)
    s.fails(Forbidden, "assign_handler", lead_of("D2"), assignment_id="A1", handler="h-O1b")
    s.do("assign_handler", dept_lead, assignment_id="A1", handler="h-O1b")
    assert s.ticket.assignment("A1").assigned_to == "h-O1b"
    s.fails(Forbidden, "submit_closure", handler("O1"), result="settled", facts="办结。")  # assigned to a colleague
    assert s.do("submit_closure", handler("O1", "h-O1b"), result="settled", facts="办结。").type == "closure_proposed"
    assert [(e.queue, e.owner) for e in queue_entries(s.ticket) if e.queue == "closure_approvals"] == [
        ("closure_approvals", "O1")]
    assert "decide_closure_approval" in allowed_actions(s.ticket, lead_of("O1"))  # the office's own lead
    event = s.do("decide_closure_approval", dept_lead, decision="approve")
    assert (event.type, event.data["approved_by"], s.ticket.status) == ("closure_submitted", "lead-D1",
                                                                          "closure_review")
    assert event.actor.to_dict() == {"username": "lead-D1", "role": "dept_lead", "department": "D1",
                                     "district": None}  # scope is not recorded
