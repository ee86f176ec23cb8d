"""The ticket flow's business stages for real: the definition in stepfunctions/ runs in moto's
interpreter, every token is answered by the platform from committed state (through the table
stream), and each path's execution history shows the stages of the ticket's timeline, in order."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.ticket import Actor
from chalicelib.services import tickets as service
from chalicelib.workflow import records
from tests.workflow.conftest import AGENT, DISPATCHER, HANDLER, MANAGER, SLOW, submission
from tests.workflow.flowhistory import (
    settled,
    share_entries,
    timeline_sequence,
    top_sequence,
    waiting_in,
)

SYSTEM = Actor(username="system", role="system")
WATER = Actor(username="handler-water", role="handler", department="WATER")
LEAD_ORDER = ("Acceptance", "Dispatch", "Handling", "ClosureReview", "Callback", "Archive")  # the callback closes


class Walk:
    """Acts on one ticket and waits, after each action, until the execution followed it."""

    def __init__(self, flow: Any, **overrides: Any) -> None:
        self.flow = flow
        self.ticket = service.register(submission(**overrides), AGENT).tickets[0]
        self.id = self.ticket.id
        self.wait()

    def wait(self) -> None:
        self.flow.until(lambda: settled(self.id), timeout=15,
                        what=f"the flow to follow the timeline {timeline_sequence(self.id)}")

    def act(self, action: str, params: dict[str, Any], actor: Actor) -> "Walk":
        self.ticket = service.act(self.id, action, params, actor)
        self.wait()
        return self

    def accept_and_dispatch(self, dispatch: dict[str, Any]) -> "Walk":
        service.act(self.id, "accept", {}, AGENT)
        self.flow.until(lambda: top_sequence(self.id)[-1] != "Acceptance", what="the dispatch stage")
        if service.repository().get(self.id).status == "to_dispatch":  # the model did not dispatch it
            self.act("dispatch", dispatch, DISPATCHER)
        else:
            self.wait()
        self.ticket = service.repository().get(self.id)
        return self

    def finish(self) -> "Walk":
        self.act("review_closure", {"decision": "approve", "reply": "已处理。"}, DISPATCHER)
        self.act("record_callback", {"satisfaction": "satisfied", "solved": True}, AGENT)  # closes it
        self.act("archive", {}, SYSTEM)
        self.flow.until(lambda: waiting_in(self.id) == "SUCCEEDED", what="the execution to end")
        return self


@pytest.fixture
def manual_dispatch(monkeypatch):
    """The model dispatches nothing by itself (these paths need a dispatcher's mode)."""
    from chalicelib.services import autodispatch

    monkeypatch.setattr(autodispatch, "auto_dispatch", lambda ticket_id: "disabled")


def _dispatch_single(department: str = "MARKET") -> dict[str, Any]:
    return {"mode": "single", "department": department}


def _closure(facts: str = "已协调完成维修。") -> dict[str, Any]:
    return {"facts": facts}


def test_simple(flow):
    walk = Walk(flow).accept_and_dispatch(_dispatch_single())
    walk.act("sign", {}, HANDLER).act("submit_closure", _closure(), HANDLER).finish()
    assert top_sequence(walk.id) == list(LEAD_ORDER) + ["Archived"] == timeline_sequence(walk.id)
    assert share_entries(walk.id) == ["Sign", "HandleShare"]
    assert records.get(walk.id).ended_reason == "completed"


def test_rework_goes_back_to_handling(flow):
    walk = Walk(flow).accept_and_dispatch(_dispatch_single())
    walk.act("sign", {}, HANDLER).act("submit_closure", _closure(), HANDLER)
    walk.act("review_closure", {"decision": "rework", "text": "请补充维修凭证。"}, DISPATCHER)
    walk.act("submit_closure", _closure("已补充维修凭证。"), HANDLER).finish()
    assert top_sequence(walk.id) == ["Acceptance", "Dispatch", "Handling", "ClosureReview", "Handling",
                                     "ClosureReview", "Callback", "Archive", "Archived"]
    assert top_sequence(walk.id) == timeline_sequence(walk.id)
    assert share_entries(walk.id) == ["Sign", "HandleShare", "HandleShare"]


def test_extension_rearms_the_same_stage_in_the_same_execution(flow):
    walk = Walk(flow, category=SLOW).accept_and_dispatch(_dispatch_single())
    walk.act("sign", {}, HANDLER)
    due = walk.ticket.clocks["handling:A1"].due
    new_due = (due + timedelta(seconds=30)).isoformat()
    walk.act("request_extension", {"reason": "需等待检测报告", "new_due": new_due}, HANDLER)
    before = share_entries(walk.id).count("HandleShare")
    walk.act("decide_extension", {"decision": "approve"}, DISPATCHER)
    flow.until(lambda: share_entries(walk.id).count("HandleShare") == before + 1, what="the re-armed wait")
    assert records.get(walk.id).generation == 1  # no new execution
    assert top_sequence(walk.id) == timeline_sequence(walk.id) == ["Acceptance", "Dispatch", "Handling"]


def test_pause_and_resume(flow):
    walk = Walk(flow, category=SLOW).accept_and_dispatch(_dispatch_single())
    walk.act("sign", {}, HANDLER)
    walk.act("pause", {"reason": "appraisal_testing", "text": "送检"}, HANDLER)
    flow.until(lambda: waiting_in(walk.id) == "Paused", what="the paused stage")
    walk.act("resume", {}, HANDLER)
    flow.until(lambda: waiting_in(walk.id) == "HandleShare", what="handling again")
    walk.act("submit_closure", _closure(), HANDLER).finish()
    assert share_entries(walk.id) == ["Sign", "HandleShare", "Paused", "HandleShare"]
    assert top_sequence(walk.id) == timeline_sequence(walk.id) == list(LEAD_ORDER) + ["Archived"]


def test_return_and_redispatch(flow):
    walk = Walk(flow).accept_and_dispatch(_dispatch_single())
    walk.act("sign", {}, HANDLER)
    walk.act("request_return", {"reason": "not_our_duty", "basis": "属供水管理范围"}, HANDLER)
    walk.act("decide_return", {"decision": "approve"}, DISPATCHER)
    assert waiting_in(walk.id) == "Dispatch"
    walk.act("dispatch", _dispatch_single("WATER"), DISPATCHER)
    walk.act("sign", {}, WATER).act("submit_closure", _closure(), WATER).finish()
    assert top_sequence(walk.id) == ["Acceptance", "Dispatch", "Handling", "Dispatch", "Handling", "ClosureReview",
                                     "Callback", "Archive", "Archived"] == timeline_sequence(walk.id)
    assert share_entries(walk.id) == ["Sign", "HandleShare", "Sign", "HandleShare"]


def test_lead_and_assist_each_have_their_share(flow, manual_dispatch):
    walk = Walk(flow).accept_and_dispatch({"mode": "lead_assist", "lead": "MARKET", "assists": ["WATER"]})
    assert waiting_in(walk.id) == "Sign"  # both shares wait to be signed
    shares = {a.department: a.id for a in walk.ticket.assignments}
    walk.act("sign", {"assignment_id": shares["MARKET"]}, HANDLER)
    walk.act("sign", {"assignment_id": shares["WATER"]}, WATER)
    walk.act("submit_closure", {**_closure("协办部分已完成。"), "assignment_id": shares["WATER"]}, WATER)
    assert waiting_in(walk.id) == "HandleShare"  # the lead still handles; the assist's iteration ended
    walk.act("submit_closure", {**_closure(), "assignment_id": shares["MARKET"]}, HANDLER).finish()
    entries = share_entries(walk.id)  # deadlines (seconds long here) may return a share to its stage
    assert set(entries) == {"Sign", "HandleShare"} and entries.count("HandleShare") >= 2 <= entries.count("Sign")
    assert top_sequence(walk.id) == timeline_sequence(walk.id) == list(LEAD_ORDER) + ["Archived"]


def test_parallel_departments(flow, manual_dispatch):
    walk = Walk(flow).accept_and_dispatch({"mode": "parallel", "departments": ["MARKET", "WATER"]})
    shares = {a.department: a.id for a in walk.ticket.assignments}
    assert len(shares) == 2
    walk.act("sign", {"assignment_id": shares["WATER"]}, WATER)
    flow.until(lambda: waiting_in(walk.id) == "HandleShare,Sign", what="one share handled, one to sign")
    walk.act("sign", {"assignment_id": shares["MARKET"]}, HANDLER)
    walk.act("submit_closure", {**_closure(), "assignment_id": shares["MARKET"]}, HANDLER)
    walk.act("submit_closure", {**_closure("供水部分已处理。"), "assignment_id": shares["WATER"]}, WATER).finish()
    entries = share_entries(walk.id)  # the sign deadline (3 s) may fire while one share waits: Sign again
    assert set(entries) == {"Sign", "HandleShare"} and entries.count("HandleShare") >= 2 <= entries.count("Sign")
    assert top_sequence(walk.id) == timeline_sequence(walk.id) == list(LEAD_ORDER) + ["Archived"]


def test_reopen_after_a_dissatisfied_callback(flow):
    walk = Walk(flow).accept_and_dispatch(_dispatch_single())
    walk.act("sign", {}, HANDLER).act("submit_closure", _closure(), HANDLER)
    walk.act("review_closure", {"decision": "approve", "reply": "已处理。"}, DISPATCHER)
    walk.act("record_callback", {"satisfaction": "dissatisfied", "solved": False}, AGENT)
    walk.act("reopen", {"reason": "电梯再次停运"}, MANAGER)
    walk.act("submit_closure", _closure("已更换电梯主板。"), HANDLER).finish()
    assert top_sequence(walk.id) == ["Acceptance", "Dispatch", "Handling", "ClosureReview", "Callback", "Archive",
                                     "Handling", "ClosureReview", "Callback", "Archive", "Archived"]
    assert top_sequence(walk.id) == timeline_sequence(walk.id)


def test_decline_ends_early(flow):
    walk = Walk(flow)
    walk.act("decline", {"reason_code": "not_our_duty", "text": "不属于本部门职责"}, AGENT)
    flow.until(lambda: waiting_in(walk.id) == "SUCCEEDED", what="the execution to end")
    assert top_sequence(walk.id) == ["Acceptance", "Declined"] == timeline_sequence(walk.id)


def test_direct_answer_ends_early(flow):
    walk = Walk(flow, kind="inquiry", category="C1101")  # 综合 / 政策咨询
    walk.act("answer_directly", {"answer": "电梯维保可咨询物业服务中心。"}, AGENT)
    flow.until(lambda: waiting_in(walk.id) == "SUCCEEDED", what="the execution to end")
    assert top_sequence(walk.id) == ["Acceptance", "DirectAnswer"] == timeline_sequence(walk.id)


def test_deadlines_fire_warnings_urging_supervision_and_return_to_the_same_stage(flow):
    walk = Walk(flow).accept_and_dispatch(_dispatch_single())  # sign: yellow 1.5 s, due 3 s; nobody signs
    flow.until(lambda: service.repository().get(walk.id).supervisions, timeout=15, what="supervision")
    flow.until(lambda: waiting_in(walk.id) == "Sign", what="back in the sign stage")
    from tests.workflow.flowhistory import entered

    names = [n for n in entered(walk.id) if n in ("Sign", "ShareCheckpoint")]
    assert names[:2] == ["Sign", "ShareCheckpoint"] and names[-1] == "Sign"
    assert all(a != b for a, b in zip(names, names[1:]))  # each deadline returns to Sign
    types = [e.type for e in service.repository().timeline(walk.id)
             if e.type in ("warning_recorded", "urged", "supervised")]
    assert types == ["warning_recorded", "warning_recorded", "urged", "supervised"]
    assert records.get(walk.id).generation == 1


def test_transfer_at_closure_review_hands_the_ticket_to_another_department(flow):
    walk = Walk(flow).accept_and_dispatch(_dispatch_single())
    walk.act("sign", {}, HANDLER).act("submit_closure", _closure(), HANDLER)
    walk.act("review_closure", {"decision": "transfer", "department": "WATER", "text": "属供水管理范围"}, DISPATCHER)
    assert waiting_in(walk.id) == "Sign"  # the new department's share waits to be signed
    walk.act("sign", {}, WATER).act("submit_closure", _closure("已修复供水管道。"), WATER).finish()
    assert top_sequence(walk.id) == ["Acceptance", "Dispatch", "Handling", "ClosureReview", "Handling",
                                     "ClosureReview", "Callback", "Archive", "Archived"]
    assert top_sequence(walk.id) == timeline_sequence(walk.id)
    assert records.get(walk.id).generation == 1


def test_a_deadline_moved_earlier_rearms_the_wait_in_the_same_execution(flow):
    walk = Walk(flow, category=SLOW).accept_and_dispatch(_dispatch_single())
    walk.act("sign", {}, HANDLER).act("pause", {"reason": "appraisal_testing", "text": "送检"}, HANDLER)
    flow.until(lambda: waiting_in(walk.id) == "Paused", what="the paused stage (no deadline)")
    walk.act("resume", {}, HANDLER)  # the handling deadline comes back: from never to seconds away
    flow.until(lambda: service.repository().get(walk.id).clocks["handling:A1"].warning == "yellow",
               what="the yellow warning of the re-armed deadline")
    assert records.get(walk.id).generation == 1
    from tests.workflow.flowhistory import entered

    names = [n for n in entered(walk.id) if n in ("Paused", "HandleShare", "ShareCheckpoint")]
    assert names[names.index("Paused"):][:3] == ["Paused", "HandleShare", "ShareCheckpoint"]
