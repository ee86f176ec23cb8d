"""Lifecycle stage: department handling (DOMAIN.md lifecycle step 4; docs/domain.md "Code map").

Sign, progress notes, pause and resume (Art. 21/22), extension and return requests and the
dispatcher's decisions on them, and closure submission. ``share`` on a row says which of the
department's shares (assignments) the action can be about.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from chalicelib.domain.clocks import ClockName, check_extension_cap, clock_key, extend_clock
from chalicelib.domain.errors import IllegalTransition, ValidationFailed
from chalicelib.domain.intake import MAX_FACTS
from chalicelib.domain.lifecycle.action import Action, row
from chalicelib.domain.lifecycle.context import (
    TICKET_HANDLING_CLOCKS,
    Context,
    acts_on,
    assists_pending,
    handling_running,
)
from chalicelib.domain.ticket import (
    Actor,
    Assignment,
    AssignmentRole as AR,
    AssignmentStatus as AS,
    Closure,
    ExtensionRequest,
    MediationResult,
    PauseReason,
    PauseRecord,
    ReturnRequest,
    Status as S,
    TerminationReason,
    Ticket,
)
from chalicelib.domain.vocabulary import DEPARTMENT_ROLES, DISPATCHER, HANDLING, RESULTS_BY_KIND, Role

LEADS = frozenset({Role.DEPT_LEAD})
MAX_USERNAME = 64

# Ticket-level clocks a department's pause also pauses (while at least one share is paused).
PAUSED_WITH_DEPARTMENT = TICKET_HANDLING_CLOCKS


# --- which shares each department action can be about -----------------------------------------


def signable(t: Ticket, a: Assignment) -> bool:
    return a.status == AS.TO_SIGN


def noting(t: Ticket, a: Assignment) -> bool:
    return a.status in (AS.IN_PROGRESS, AS.PAUSED)


def pausable(t: Ticket, a: Assignment) -> bool:
    return a.status == AS.IN_PROGRESS and a.extension_request is None


def resumable(t: Ticket, a: Assignment) -> bool:
    return a.status == AS.PAUSED


def extendable(t: Ticket, a: Assignment) -> bool:
    return a.status == AS.IN_PROGRESS and a.extension_request is None and handling_running(t, a)


def returnable(t: Ticket, a: Assignment) -> bool:
    return a.status in (AS.TO_SIGN, AS.IN_PROGRESS, AS.PAUSED) and a.return_request is None


def closable(t: Ticket, a: Assignment) -> bool:
    return a.status == AS.IN_PROGRESS and a.return_request is None


def assignable(t: Ticket, a: Assignment) -> bool:
    """A signed share the department still works on: its lead may (re)assign it to a handler."""
    return a.status in (AS.IN_PROGRESS, AS.PAUSED)


def awaiting_approval(t: Ticket, a: Assignment) -> bool:
    """A closure a handler submitted that waits for the department lead's approval (呈批)."""
    return a.status == AS.PENDING_APPROVAL


def needs_approval(ctx: Context, a: Assignment) -> bool:
    """A handler's closure goes to the lead first where the department asks for that (directory
    setting ``closure_needs_approval``, carried in the policy); a lead's own closure does not."""
    return ctx.actor.role == Role.HANDLER and a.department in ctx.policy.approval_departments


def _may_submit(t: Ticket, actor: Actor) -> bool:
    """A closable share of the actor's; the lead also waits for its assists."""
    return any(acts_on(actor, a) and closable(t, a) and (a.role != AR.LEAD or not assists_pending(t))
               for a in t.assignments)


def _extension_pending(t: Ticket, actor: Actor) -> bool:
    return any(a.extension_request is not None for a in t.assignments)


def _return_pending(t: Ticket, actor: Actor) -> bool:
    return any(a.return_request is not None for a in t.assignments)


# --- handlers -----------------------------------------------------------------------------------


def _sign(ctx: Context) -> str:
    a = ctx.resolve(signable)
    ctx.ticket.set_assignment(replace(a, status=AS.IN_PROGRESS, owner=ctx.actor.username, signed_at=ctx.now))
    ctx.stop(clock_key(ClockName.SIGN, a.id), primary=True)
    state = ctx.start(ClockName.HANDLING, a.id)
    ctx.data.update(assignment_id=a.id, department=a.department, due=state.due.isoformat() if state else None)
    return "signed"


def _add_note(ctx: Context) -> str:
    text = ctx.text("text")
    a = ctx.resolve(noting)
    ctx.data.update(assignment_id=a.id, department=a.department, text=text)
    return "note_added"


def _pause(ctx: Context) -> str:
    reason = ctx.choice("reason", set(PauseReason))
    text = ctx.text("text", required=False)
    a = ctx.resolve(pausable)
    record = PauseRecord(reason=reason, text=text, paused_at=ctx.now, paused_by=ctx.actor.username)
    ctx.ticket.set_assignment(replace(a, status=AS.PAUSED, pause=record))
    ctx.pause(clock_key(ClockName.HANDLING, a.id))
    for clock in PAUSED_WITH_DEPARTMENT:
        ctx.pause(clock)
    ctx.data.update(assignment_id=a.id, department=a.department, reason=reason, text=text)
    return "paused"


def _resume(ctx: Context) -> str:
    text = ctx.text("text", required=False)
    a = ctx.resolve(resumable)
    ctx.ticket.set_assignment(replace(a, status=AS.IN_PROGRESS, pause=None))
    ctx.resume(clock_key(ClockName.HANDLING, a.id))
    if not any(other.status == AS.PAUSED for other in ctx.ticket.assignments):
        for clock in PAUSED_WITH_DEPARTMENT:
            ctx.resume(clock)
    ctx.data.update(assignment_id=a.id, department=a.department, reason=a.pause.reason if a.pause else None,
                  text=text)
    return "resumed"


def _request_extension(ctx: Context) -> str:
    reason = ctx.text("reason")
    new_due = ctx.due_date("new_due")
    a = ctx.resolve(extendable)
    state = ctx.ticket.clocks[clock_key(ClockName.HANDLING, a.id)]
    if ctx.now > state.due:
        raise IllegalTransition("an extension must be requested before the deadline",
                                details={"due": state.due.isoformat()})
    if new_due <= state.due:
        raise ValidationFailed("the new deadline must be later", details={"new_due": f"after {state.due.isoformat()}"})
    _check_verification_cap(ctx, new_due)
    ctx.ticket.set_assignment(replace(a, extension_request=ExtensionRequest(
        reason=reason, new_due=new_due, requested_at=ctx.now, requested_by=ctx.actor.username)))
    ctx.start(ClockName.EXTENSION_DECISION, a.id)  # the dispatcher's decision is timed
    ctx.data.update(assignment_id=a.id, department=a.department, reason=reason, new_due=new_due.isoformat(),
                  due=state.due.isoformat())
    return "extension_requested"


def _decide_extension(ctx: Context) -> str:
    decision = ctx.choice("decision", {"approve", "refuse"})
    text = ctx.text("text", required=decision == "refuse")
    a = ctx.pending("extension_request")
    request = a.extension_request
    assert request is not None
    if decision == "approve":
        key = clock_key(ClockName.HANDLING, a.id)
        state = ctx.ticket.clocks.get(key)
        if state is None or state.status != "running":
            raise IllegalTransition("the handling clock is not running", details={"assignment_id": a.id})
        days = _check_verification_cap(ctx, request.new_due)  # again: another share's extension may have used it
        ctx.ticket.clocks[key] = extend_clock(state, request.new_due)
        verification = ctx.ticket.clocks.get(ClockName.REPORT_VERIFICATION.value)
        if verification is not None and verification.status == "running" and request.new_due > verification.due:
            ctx.ticket.clocks[ClockName.REPORT_VERIFICATION.value] = extend_clock(verification, request.new_due,
                                                                                  days=days)
    ctx.stop(clock_key(ClockName.EXTENSION_DECISION, a.id), primary=True)
    ctx.ticket.set_assignment(replace(ctx.ticket.assignment(a.id), extension_request=None))
    ctx.data.update(assignment_id=a.id, department=a.department, decision=decision, text=text,
                  new_due=request.new_due.isoformat())
    return "extension_decided"


def _check_verification_cap(ctx: Context, new_due: datetime) -> int:
    """Order 121 Art. 27: a report's verification is extended by at most 15 working days in total. The
    working days an extension to ``new_due`` would add to the verification clock, or ValidationFailed
    (400) naming the cap when the total would exceed it; 0 for tickets without that clock."""
    verification = ctx.ticket.clocks.get(ClockName.REPORT_VERIFICATION.value)
    if verification is None or verification.status == "stopped":
        return 0
    return check_extension_cap(verification, new_due, ctx.policy.calendar)


def _request_return(ctx: Context) -> str:
    reason = ctx.text("reason")
    basis = ctx.text("basis")
    a = ctx.resolve(returnable)
    ctx.ticket.set_assignment(replace(a, return_request=ReturnRequest(
        reason=reason, basis=basis, requested_at=ctx.now, requested_by=ctx.actor.username)))
    ctx.start(ClockName.RETURN_DECISION, a.id)  # the dispatcher's decision is timed
    ctx.data.update(assignment_id=a.id, department=a.department, reason=reason, basis=basis)
    return "return_requested"


def _decide_return(ctx: Context) -> str:
    """Approve: the whole ticket goes back to the centre, which re-dispatches it (Art. 41:
    a department never hands a ticket to a peer). Refuse: the department keeps it."""
    decision = ctx.choice("decision", {"approve", "refuse"})
    text = ctx.text("text", required=decision == "refuse")
    a = ctx.pending("return_request")
    ctx.data.update(assignment_id=a.id, department=a.department, decision=decision, text=text)
    ctx.stop(clock_key(ClockName.RETURN_DECISION, a.id), primary=True)
    if decision == "refuse":
        ctx.ticket.set_assignment(replace(a, return_request=None))
        return "return_decided"
    for other in ctx.ticket.active_assignments:
        ctx.end_assignment(other, AS.RETURNED if other.id == a.id else AS.WITHDRAWN)
    for clock in PAUSED_WITH_DEPARTMENT:
        ctx.resume(clock)  # nothing pauses them any more
    ctx.ticket.dispatch_mode = None
    ctx.ticket.status = S.TO_DISPATCH
    ctx.start(ClockName.DISPATCH)  # waiting for a dispatcher again
    return "return_decided"


def _ready_for_review(t: Ticket) -> bool:
    active = t.active_assignments
    return bool(active) and all(a.status == AS.SUBMITTED for a in active)


def _submit_closure(ctx: Context) -> str:
    t = ctx.ticket
    facts = ctx.text("facts", max_len=MAX_FACTS)
    a = ctx.resolve(closable)
    allowed = RESULTS_BY_KIND[t.kind]
    if a.role == AR.ASSIST:
        result = ctx.choice("result", allowed, required=False)
    elif len(allowed) == 1 and ctx.params.get("result") is None:
        result = next(iter(allowed))
    else:
        result = ctx.choice("result", allowed)
    reason = ctx.choice("termination_reason", set(TerminationReason), required=result == MediationResult.TERMINATED)
    if reason is not None and result != MediationResult.TERMINATED:
        raise ValidationFailed("a termination reason only with result terminated",
                               details={"termination_reason": "only when result is terminated"})
    if a.role == AR.LEAD and assists_pending(t):
        raise IllegalTransition("the lead submits only after every assisting department has",
                                details={"assists_pending": assists_pending(t)})
    closure = Closure(result=result, facts=facts, submitted_at=ctx.now, submitted_by=ctx.actor.username,
                      termination_reason=reason)
    ctx.stop(clock_key(ClockName.EXTENSION_DECISION, a.id))  # a pending extension request is withdrawn
    if needs_approval(ctx, a):  # 呈批: to the lead; the handling clock runs on until the lead decides
        t.set_assignment(replace(a, status=AS.PENDING_APPROVAL, closure=closure, extension_request=None))
        ctx.data.update(assignment_id=a.id, department=a.department, role=a.role, result=result,
                        termination_reason=reason, facts=facts, approval_required=True,
                        extension_request_withdrawn=a.extension_request is not None)
        return "closure_proposed"
    return _hand_in(ctx, a, closure)


def _hand_in(ctx: Context, a: Assignment, closure: Closure) -> str:
    """The share's closure reaches the centre: submitted, its handling clock stopped, and the
    ticket on to closure review once every active share has submitted."""
    t = ctx.ticket
    result, reason = closure.result, closure.termination_reason
    t.set_assignment(replace(a, status=AS.SUBMITTED, closure=closure, extension_request=None))
    ctx.stop(clock_key(ClockName.HANDLING, a.id), primary=True)
    if result == MediationResult.TERMINATED:
        ctx.start(ClockName.TERMINATION_NOTICE, a.id)
    ready = _ready_for_review(t)
    if ready:
        for clock in TICKET_HANDLING_CLOCKS:
            ctx.stop(clock.value)
        ctx.start(ClockName.CLOSURE_REVIEW)
        t.status = S.CLOSURE_REVIEW
    ctx.data.update(assignment_id=a.id, department=a.department, role=a.role, result=result,
                  termination_reason=reason, facts=closure.facts, ready_for_review=ready,
                  extension_request_withdrawn=a.extension_request is not None)
    if closure.approved_by is not None:
        ctx.data.update(approved_by=closure.approved_by, submitted_by=closure.submitted_by)
    return "closure_submitted"


def _decide_closure_approval(ctx: Context) -> str:
    """The lead approves a handler's closure (on to the centre exactly as a submission) or sends
    it back with a reason (the share is in progress again, its closure dropped)."""
    decision = ctx.choice("decision", {"approve", "send_back"})
    text = ctx.text("text", required=decision == "send_back")
    a = ctx.resolve(awaiting_approval)
    assert a.closure is not None
    if decision == "approve":
        closure = replace(a.closure, approved_by=ctx.actor.username, approved_at=ctx.now)
        ctx.data.update(decision=decision, text=text)
        return _hand_in(ctx, a, closure)
    ctx.ticket.set_assignment(replace(a, status=AS.IN_PROGRESS, closure=None))
    ctx.data.update(assignment_id=a.id, department=a.department, decision=decision, text=text,
                    submitted_by=a.closure.submitted_by)
    return "closure_sent_back"


def _assign_handler(ctx: Context) -> str:
    """The department lead gives a signed share to one of the department's handlers (the door
    checks the user directory); reassigning replaces the previous handler."""
    handler = ctx.params.get("handler")
    if not isinstance(handler, str) or not handler.strip() or len(handler) > MAX_USERNAME:
        raise ValidationFailed("invalid handler", details={"handler": "the username of a handler of your department"})
    a = ctx.resolve(assignable)
    if a.assigned_to == handler:
        raise ValidationFailed("already assigned to this handler", details={"handler": "already assigned"})
    ctx.ticket.set_assignment(replace(a, assigned_to=handler))
    ctx.data.update(assignment_id=a.id, department=a.department, handler=handler, previous=a.assigned_to)
    return "handler_assigned"


ROWS: tuple[Action, ...] = (
    # row(action, from statuses, roles, parameters, to statuses ("=": may stay), handler, guard/share)
    row("sign", HANDLING, DEPARTMENT_ROLES, "assignment_id", "=",
        _sign, share=signable),
    row("add_note", HANDLING, DEPARTMENT_ROLES, "assignment_id text", "=",
        _add_note, share=noting),
    row("pause", HANDLING, DEPARTMENT_ROLES, "assignment_id reason text", "=",
        _pause, share=pausable),
    row("resume", HANDLING, DEPARTMENT_ROLES, "assignment_id text", "=",
        _resume, share=resumable),
    row("request_extension", HANDLING, DEPARTMENT_ROLES, "assignment_id reason new_due", "=",
        _request_extension, share=extendable),
    row("decide_extension", HANDLING, DISPATCHER, "assignment_id decision text", "=",
        _decide_extension, guard=_extension_pending),
    row("request_return", HANDLING, DEPARTMENT_ROLES, "assignment_id reason basis", "=",
        _request_return, share=returnable),
    row("decide_return", HANDLING, DISPATCHER, "assignment_id decision text", "to_dispatch =",
        _decide_return, guard=_return_pending),
    row("submit_closure", HANDLING, DEPARTMENT_ROLES, "assignment_id result termination_reason facts",
        "closure_review =", _submit_closure, guard=_may_submit, share=closable),
    row("assign_handler", HANDLING, LEADS, "assignment_id handler", "=",
        _assign_handler, share=assignable),
    row("decide_closure_approval", HANDLING, LEADS, "assignment_id decision text", "closure_review =",
        _decide_closure_approval, share=awaiting_approval),
)
