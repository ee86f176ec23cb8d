"""Lifecycle stage: reply, callback and the end of life (DOMAIN.md lifecycle step 6;
docs/domain.md "Code map"): the reply owed when the closure was approved without one (待答复),
callback, the citizen's evaluation, reopen, close, archive.

A recorded callback or evaluation closes the ticket (issue 19 item 4): nobody has to close it by
hand. Only a ticket whose Art. 23 termination notice is still owed stays ``replied`` until the
notice is recorded and someone closes it. A dissatisfied citizen's ticket closes too and is
reopened from ``closed`` while it is not archived; closing starts the archive clock, and the daily
archive job (services/archiving.py) archives it when that clock is due.
"""
from __future__ import annotations

from chalicelib.domain.clocks import ClockName
from chalicelib.domain.errors import IllegalTransition
from chalicelib.domain.intake import MAX_FACTS
from chalicelib.domain.lifecycle.action import Action, row
from chalicelib.domain.lifecycle.context import Context, termination_pending
from chalicelib.domain.ticket import (
    Actor,
    AssignmentStatus as AS,
    Feedback,
    Resolution,
    Role,
    Satisfaction,
    Status as S,
    Ticket,
)
from chalicelib.domain.vocabulary import ADMIN, AGENT, CALLING_BACK, CENTRE_ROLES, CITIZEN, MANAGER, SYSTEM


def _feedback(ctx: Context, via: str) -> Feedback:
    satisfaction = ctx.choice("satisfaction", set(Satisfaction))
    solved = ctx.flag("solved")
    comment = ctx.text("comment", required=False)
    ctx.data.update(satisfaction=satisfaction, solved=solved, comment=comment)
    return Feedback(satisfaction=satisfaction, solved=solved, at=ctx.now, by=ctx.actor.username, via=via,
                    comment=comment)


def _close_after_feedback(ctx: Context) -> None:
    """The feedback is in: close the ticket, unless an Art. 23 termination notice is still owed
    (then it waits as ``replied`` for the notice and a manual close)."""
    if any(termination_pending(ctx.ticket, a) for a in ctx.ticket.assignments):
        ctx.ticket.status = S.REPLIED
        ctx.data["closed"] = False
        return
    ctx.close(Resolution.COMPLETED)
    ctx.data["closed"] = True


def _record_callback(ctx: Context) -> str:
    feedback = _feedback(ctx, "callback")
    reply = ctx.text("reply", required=False, max_len=MAX_FACTS)
    ctx.stop(ClockName.CALLBACK.value, primary=True)
    ctx.stop(ClockName.EVALUATION.value)  # a web citizen who did not evaluate was called back
    ctx.stop(ClockName.REPLY.value)  # the call told the citizen the result
    ctx.ticket.feedback.append(feedback)
    ctx.reply(reply, "callback")
    _close_after_feedback(ctx)
    return "callback_recorded"


def _evaluate(ctx: Context) -> str:
    ctx.ticket.feedback.append(_feedback(ctx, "evaluation"))
    ctx.stop(ClockName.EVALUATION.value, primary=True)
    ctx.stop(ClockName.REPLY.value)  # the citizen read the result and answered: no reply is owed any more
    _close_after_feedback(ctx)
    return "evaluated"


def reply_owed(t: Ticket, actor: Actor) -> bool:
    """The closure was approved without a reply and the citizen has not been replied to (待答复)."""
    state = t.clocks.get(ClockName.REPLY.value)
    return state is not None and state.status != "stopped"


def _reply(ctx: Context) -> str:
    """An agent gives the citizen the centre's reply on the result (shown on the citizen's tracking
    page); the callback or evaluation follows as before."""
    reply = ctx.text("reply", max_len=MAX_FACTS)
    if not reply_owed(ctx.ticket, ctx.actor):
        raise IllegalTransition("no reply is owed: the citizen was replied to, called back or has evaluated",
                                details={"clock": ClockName.REPLY.value})
    ctx.reply(reply, "reply")
    ctx.stop(ClockName.REPLY.value, primary=True)
    ctx.data["reply"] = reply
    return "reply_recorded"


def _may_reopen(t: Ticket, actor: Actor) -> bool:
    if t.resolution not in (None, Resolution.COMPLETED):
        return False
    if not any(a.status == AS.COMPLETED for a in t.assignments):
        return False
    last = t.last_feedback
    return actor.role == Role.MANAGER or (last is not None and last.satisfaction == Satisfaction.DISSATISFIED)


def _reopen(ctx: Context) -> str:
    t = ctx.ticket
    reason = ctx.text("reason")
    if not _may_reopen(t, ctx.actor):
        raise IllegalTransition("only a handled ticket the citizen is dissatisfied with is reopened "
                                "(a manager may reopen any handled ticket)",
                                details={"resolution": t.resolution,
                                         "satisfaction": t.last_feedback.satisfaction if t.last_feedback else None})
    done = [a for a in t.assignments if a.status == AS.COMPLETED]
    for a in done:
        ctx.rework(a)
    ctx.reopen_ticket_clocks()
    ctx.stop(ClockName.CALLBACK.value)
    ctx.stop(ClockName.EVALUATION.value)
    ctx.stop(ClockName.REPLY.value)
    ctx.withdraw(ClockName.ARCHIVE.value)  # reopened before it was archived: nothing to archive now
    t.resolution = None
    t.closed_at = None
    t.reopen_count += 1
    t.status = S.IN_HANDLING
    ctx.data.update(reason=reason, assignment_ids=[a.id for a in done])
    return "reopened"


def _close(ctx: Context) -> str:
    text = ctx.text("text", required=False)
    pending = [a.id for a in ctx.ticket.assignments if termination_pending(ctx.ticket, a)]
    if pending:
        raise IllegalTransition("a termination notice (Art. 23) is still to be recorded",
                                details={"assignment_ids": pending})
    ctx.close(Resolution.COMPLETED)
    ctx.data["text"] = text
    return "closed"


def _archive(ctx: Context) -> str:
    ctx.withdraw(ClockName.ARCHIVE.value)  # a waiting period, not a deadline: no late mark once archived
    ctx.ticket.status = S.ARCHIVED
    ctx.ticket.archived_at = ctx.now
    return "archived"


def _no_notice_pending(t: Ticket, actor: Actor) -> bool:
    return not any(termination_pending(t, a) for a in t.assignments)


ROWS: tuple[Action, ...] = (
    # row(action, from statuses, roles, parameters, to statuses ("=": may stay), handler, guard/share)
    row("record_callback", CALLING_BACK, AGENT, "satisfaction solved comment reply", "closed replied",
        _record_callback),
    row("evaluate", {S.PENDING_EVALUATION}, CITIZEN, "satisfaction solved comment", "closed replied",
        _evaluate),
    row("reply", CALLING_BACK, AGENT, "reply", "=",
        _reply, guard=reply_owed),
    row("reopen", {S.REPLIED, S.CLOSED}, CENTRE_ROLES | MANAGER, "reason", "in_handling",
        _reopen, guard=_may_reopen),
    row("close", {S.REPLIED}, CENTRE_ROLES | SYSTEM, "text", "closed",
        _close, guard=_no_notice_pending),
    row("archive", {S.CLOSED}, SYSTEM | ADMIN | MANAGER, "", "archived",
        _archive),
)
