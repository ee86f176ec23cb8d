"""Lifecycle stage: the acceptance decision (DOMAIN.md lifecycle step 2; docs/domain.md "Code map").

Accept, decline (Art. 16), answer an inquiry directly, and the dispatcher's review of a declined
upper-level assignment.
"""
from __future__ import annotations

from chalicelib.domain.clocks import ClockName
from chalicelib.domain.errors import IllegalTransition, ValidationFailed
from chalicelib.domain.intake import MAX_FACTS
from chalicelib.domain.lifecycle.action import Action, row
from chalicelib.domain.lifecycle.context import TICKET_HANDLING_CLOCKS, Context
from chalicelib.domain.ticket import (
    Actor,
    AssignmentRole as AR,
    Channel,
    Decision,
    DeclineReason,
    DispatchMode,
    Kind,
    Priority,
    Resolution,
    Status as S,
    Ticket,
)
from chalicelib.domain.vocabulary import ACCEPTING, AGENT, CENTRE_ROLES, DECLINE_REASON_LABELS, DISPATCHER, SYSTEM


def _accept(ctx: Context) -> str:
    t = ctx.ticket
    if "category" in ctx.params:
        t.category = ctx.text("category", required=False, max_len=64)
    if "district" in ctx.params:
        t.district = ctx.code("district", required=False)
    if "priority" in ctx.params:
        t.priority = ctx.choice("priority", set(Priority))
    text = ctx.text("text", required=False)
    ctx.stop(ClockName.ACCEPTANCE, primary=True)
    t.acceptance = Decision(outcome="accepted", at=ctx.now, by=ctx.actor.username, text=text)
    for clock in TICKET_HANDLING_CLOCKS:
        ctx.start(clock)
    ctx.start(ClockName.DISPATCH)  # the dispatcher's step: acceptance -> dispatch
    t.status = S.TO_DISPATCH
    ctx.data.update(category=t.category, district=t.district, priority=t.priority)
    return "accepted"


def _decline(ctx: Context) -> str:
    t = ctx.ticket
    reason = ctx.choice("reason_code", set(DeclineReason))
    text = ctx.text("text", required=reason == DeclineReason.OTHER)
    ctx.stop(ClockName.ACCEPTANCE, primary=True)
    t.acceptance = Decision(outcome="declined", at=ctx.now, by=ctx.actor.username, reason_code=reason, text=text)
    ctx.data.update(reason_code=reason, text=text)
    if t.channel == Channel.UPPER_LEVEL:
        t.status = S.NON_ACCEPTANCE_REVIEW  # a dispatcher decides: back up, or to a local department
        ctx.start(ClockName.NON_ACCEPTANCE_REVIEW)
        ctx.data["review_required"] = True
    else:
        ctx.reply("不予受理：" + DECLINE_REASON_LABELS[reason] + (f"。{text}" if text else ""), "decline")
        ctx.close(Resolution.DECLINED)
    return "declined"


def _answer_directly(ctx: Context) -> str:
    if ctx.ticket.kind != Kind.INQUIRY:
        raise IllegalTransition("only inquiries are answered directly", details={"kind": ctx.ticket.kind})
    answer = ctx.text("answer", max_len=MAX_FACTS)
    ctx.stop(ClockName.ACCEPTANCE, primary=True)
    ctx.ticket.acceptance = Decision(outcome="answered", at=ctx.now, by=ctx.actor.username, text=answer)
    ctx.reply(answer, "answer")
    ctx.close(Resolution.ANSWERED)
    ctx.data["answer"] = answer
    return "answered"


def _review_non_acceptance(ctx: Context) -> str:
    t = ctx.ticket
    decision = ctx.choice("decision", {"return_upward", "hand_to_local"})
    text = ctx.text("text", required=False)
    department = ctx.code("department") if decision == "hand_to_local" else None
    if decision == "return_upward" and "department" in ctx.params:
        raise ValidationFailed("no department when returning upward", details={"department": "not allowed"})
    t.non_acceptance_review = Decision(outcome=decision, at=ctx.now, by=ctx.actor.username, text=text,
                                       department=department)
    ctx.stop(ClockName.NON_ACCEPTANCE_REVIEW.value, primary=True)
    ctx.data.update(decision=decision, department=department, text=text)
    if decision == "return_upward":
        ctx.close(Resolution.RETURNED_UPWARD)
        return "non_acceptance_reviewed"
    t.acceptance = Decision(outcome="accepted", at=ctx.now, by=ctx.actor.username, text=text, department=department)
    for clock in TICKET_HANDLING_CLOCKS:
        ctx.start(clock)
    a = ctx.add_assignment(department, AR.SINGLE)
    t.dispatch_mode = DispatchMode.SINGLE
    t.status = S.IN_HANDLING
    ctx.data["assignments"] = [{"id": a.id, "department": a.department, "role": a.role}]
    return "non_acceptance_reviewed"


def _is_inquiry(t: Ticket, actor: Actor) -> bool:
    return t.kind == Kind.INQUIRY


ROWS: tuple[Action, ...] = (
    # row(action, from statuses, roles, parameters, to statuses ("=": may stay), handler, guard/share)
    # the system accepts a 12345 case whose handling unit the partner's unit mapping routes
    row("accept", ACCEPTING, CENTRE_ROLES | SYSTEM, "category district priority text", "to_dispatch",
        _accept),
    row("decline", ACCEPTING, CENTRE_ROLES, "reason_code text", "closed non_acceptance_review",
        _decline),
    row("answer_directly", ACCEPTING, AGENT, "answer", "closed",
        _answer_directly, guard=_is_inquiry),
    row("review_non_acceptance", {S.NON_ACCEPTANCE_REVIEW}, DISPATCHER, "decision department text",
        "closed in_handling", _review_non_acceptance),
)
