"""Lifecycle stage: closure review and the Art. 23 termination notice (DOMAIN.md lifecycle step 5;
docs/domain.md "Code map").
"""
from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.clocks import ClockName, clock_key
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.intake import MAX_FACTS
from chalicelib.domain.lifecycle.action import Action, row
from chalicelib.domain.lifecycle.context import Context, termination_pending
from chalicelib.domain.ticket import (
    Assignment,
    AssignmentRole as AR,
    AssignmentStatus as AS,
    Channel,
    DispatchMode,
    Status as S,
)
from chalicelib.domain.vocabulary import DEPARTMENT_ROLES, DISPATCHER, NOTICE_DUE


def _review_closure(ctx: Context) -> str:
    t = ctx.ticket
    decision = ctx.choice("decision", {"approve", "rework", "transfer"})
    text = ctx.text("text", required=decision != "approve")
    for name, only in (("reply", "approve"), ("assignment_ids", "rework"), ("department", "transfer"),
                       ("district", "transfer")):
        if name in ctx.params and decision != only:
            raise ValidationFailed(f"{name} only with decision {only}", details={name: f"only with {only}"})
    submitted = [a for a in t.active_assignments if a.status == AS.SUBMITTED]
    ctx.data.update(decision=decision, text=text)
    if decision == "approve":
        reply = ctx.text("reply", required=False, max_len=MAX_FACTS)
        ctx.stop(ClockName.CLOSURE_REVIEW.value, primary=True)
        for a in submitted:
            t.set_assignment(replace(a, status=AS.COMPLETED, ended_at=ctx.now))
        ctx.reply(reply, "review")
        if not reply:  # the citizen waits for the centre's reply on the result (待答复)
            ctx.start(ClockName.REPLY)
        if t.channel == Channel.WEB:
            t.status = S.PENDING_EVALUATION
            ctx.start(ClockName.EVALUATION)
        else:
            t.status = S.PENDING_CALLBACK
            ctx.start(ClockName.CALLBACK)
        ctx.data["assignment_ids"] = [a.id for a in submitted]
        return "closure_reviewed"
    if decision == "rework":
        chosen = _rework_selection(ctx, submitted)
        ctx.stop(ClockName.CLOSURE_REVIEW.value, primary=True)
        for a in chosen:
            ctx.rework(a)
        ctx.reopen_ticket_clocks()
        t.rework_count += 1
        t.status = S.IN_HANDLING
        ctx.data["assignment_ids"] = [a.id for a in chosen]
        return "closure_reviewed"
    department = ctx.code("department")
    if department in t.departments:
        raise ValidationFailed("transfer to another department", details={"department": "already handling it"})
    district = ctx.code("district", required=False)
    ctx.stop(ClockName.CLOSURE_REVIEW.value, primary=True)
    for a in t.active_assignments:
        ctx.end_assignment(a, AS.TRANSFERRED)
    new = ctx.add_assignment(department, AR.SINGLE)
    if district is not None:
        t.district = district
    t.dispatch_mode = DispatchMode.SINGLE
    t.status = S.IN_HANDLING
    ctx.data.update(to_department=department, district=t.district,
                  assignments=[{"id": new.id, "department": new.department, "role": new.role}])
    return "closure_reviewed"


def _rework_selection(ctx: Context, submitted: list[Assignment]) -> list[Assignment]:
    """Which shares go back: those named (default all); reworking an assist reworks the lead too,
    since the lead's closure summarises the assists' parts."""
    raw = ctx.params.get("assignment_ids")
    if raw is None:
        return submitted
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
        raise ValidationFailed("invalid assignment_ids", details={"assignment_ids": "a non-empty list of ids"})
    by_id = {a.id: a for a in submitted}
    unknown = [x for x in raw if x not in by_id]
    if unknown:
        raise ValidationFailed("not submitted assignments",
                               details={"assignment_ids": "not submitted: " + ", ".join(unknown)})
    chosen = [by_id[x] for x in dict.fromkeys(raw)]
    if any(a.role == AR.ASSIST for a in chosen):
        chosen += [a for a in submitted if a.role == AR.LEAD and a not in chosen]
    return chosen


def _record_termination_notice(ctx: Context) -> str:
    text = ctx.text("text", required=False)
    a = ctx.resolve(termination_pending)
    ctx.stop(clock_key(ClockName.TERMINATION_NOTICE, a.id), primary=True)
    ctx.data.update(assignment_id=a.id, department=a.department, text=text)
    return "termination_notice_recorded"


ROWS: tuple[Action, ...] = (
    # row(action, from statuses, roles, parameters, to statuses ("=": may stay), handler, guard/share)
    row("review_closure", {S.CLOSURE_REVIEW}, DISPATCHER,
        "decision text reply assignment_ids department district", "pending_callback pending_evaluation in_handling",
        _review_closure),
    row("record_termination_notice", NOTICE_DUE, DEPARTMENT_ROLES, "assignment_id text", "=",
        _record_termination_notice, share=termination_pending),
)
