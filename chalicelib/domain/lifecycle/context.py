"""What a lifecycle handler works with (docs/domain.md "Code map"): the ticket copy being built,
the parameters, the actor, the time and the policy, plus the conditions several stages share.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from chalicelib.domain.clocks import (
    ClockName,
    ClockRule,
    ClockState,
    clock_key,
    clock_name,
    met_deadline,
    pause_clock,
    reopen_clock,
    resume_clock,
    start_clock,
    stop_clock,
)
from chalicelib.domain.errors import Forbidden, IllegalTransition, NotFound, ValidationFailed
from chalicelib.domain.intake import MAX_REQUEST, check_code, check_text
from chalicelib.domain.ticket import (
    Actor,
    Assignment,
    AssignmentRole as AR,
    AssignmentStatus as AS,
    Kind,
    Policy,
    Priority,
    Reply,
    Role,
    Status as S,
    Ticket,
    aware,
    end_of_day,
)

# Clocks that only some kinds run: mediation for (market) complaints, verification for reports.
CLOCK_KINDS: dict[str, frozenset[str]] = {
    ClockName.MEDIATION: frozenset({Kind.COMPLAINT}),
    ClockName.REPORT_VERIFICATION: frozenset({Kind.REPORT}),
    ClockName.MATTER_HANDLING: frozenset({Kind.HELP_REQUEST, Kind.SUGGESTION}),
}
# Ticket-level clocks that run from acceptance until every share has submitted its closure (the
# department's pause pauses them, rework and reopening run them again, a merged repeat restarts them).
TICKET_HANDLING_CLOCKS = (ClockName.MEDIATION, ClockName.REPORT_VERIFICATION, ClockName.MATTER_HANDLING)


@dataclass
class Context:
    """What a handler works on: ``ticket`` (the copy being built), the action, its parameters,
    the actor, the time and the policy; it collects the event's ``data`` and the clocks stopped."""

    ticket: Ticket
    action: str
    params: Mapping[str, Any]
    actor: Actor
    now: datetime
    policy: Policy
    data: dict[str, Any] = field(default_factory=dict)
    deadline_met: bool | None = None
    clocks_stopped: dict[str, bool | None] = field(default_factory=dict)

    # parameters

    def text(self, name: str, *, required: bool = True, max_len: int = MAX_REQUEST) -> str | None:
        return check_text(self.params.get(name), name, required=required, max_len=max_len)

    def choice(self, name: str, choices: Any, *, required: bool = True) -> str | None:
        value = self.params.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or value not in choices:
            raise ValidationFailed(f"invalid {name}", details={name: "one of: " + ", ".join(sorted(choices))})
        return value

    def flag(self, name: str) -> bool:
        value = self.params.get(name)
        if not isinstance(value, bool):
            raise ValidationFailed(f"invalid {name}", details={name: "required: true or false"})
        return value

    def code(self, name: str, *, required: bool = True) -> str | None:
        return check_code(self.params.get(name), name, required=required)

    def due_date(self, name: str) -> datetime:
        """A date (due at its end, 23:59:59) or an aware ISO 8601 datetime."""
        raw = self.params.get(name)
        try:
            if isinstance(raw, datetime):
                return aware(raw, name)
            if isinstance(raw, date):
                return end_of_day(raw)
            if isinstance(raw, str) and len(raw) == 10:
                return end_of_day(date.fromisoformat(raw))
            if isinstance(raw, str):
                return aware(datetime.fromisoformat(raw), name)
        except ValueError:
            pass
        raise ValidationFailed(f"invalid {name}", details={name: "a date YYYY-MM-DD or ISO 8601 with offset"})

    # clocks

    def rule(self, clock: str) -> ClockRule | None:
        kinds = CLOCK_KINDS.get(clock)
        if kinds is not None and self.ticket.kind not in kinds:
            return None
        try:
            return self.policy.sla.rule_for(clock, kind=self.ticket.kind, category=self.ticket.category,
                                            priority=self.ticket.priority or Priority.NORMAL)
        except NotFound:
            return None  # no rule configured: this clock does not run for this ticket

    def start(self, clock: str, assignment_id: str | None = None) -> ClockState | None:
        rule = self.rule(clock)
        if rule is None:
            return None
        state = start_clock(rule, self.now, self.policy.calendar)
        self.ticket.clocks[clock_key(clock, assignment_id)] = state
        return state

    def stop(self, key: str, *, primary: bool = False) -> bool | None:
        key = str(key)
        state = self.ticket.clocks.get(key)
        if state is None or state.status == "stopped":
            return None
        stopped = stop_clock(state, self.now)
        self.ticket.clocks[key] = stopped
        met = met_deadline(stopped)
        self.clocks_stopped[key] = met
        if primary:
            self.deadline_met = met
        return met

    def pause(self, key: str) -> None:
        key = str(key)
        state = self.ticket.clocks.get(key)
        rule = self.rule(clock_name(key))
        if state is not None and state.status == "running" and rule is not None and rule.pausable:
            self.ticket.clocks[key] = pause_clock(state, self.now)

    def resume(self, key: str) -> None:
        key = str(key)
        state = self.ticket.clocks.get(key)
        if state is not None and state.status == "paused":
            self.ticket.clocks[key] = resume_clock(state, self.now, self.policy.calendar)

    def reopen(self, key: str) -> bool:
        """Run a stopped clock again with the time it had left (its stop event was withdrawn)."""
        key = str(key)
        state = self.ticket.clocks.get(key)
        if state is None or state.status != "stopped":
            return False
        self.ticket.clocks[key] = reopen_clock(state, self.now, self.policy.calendar)
        return True

    def withdraw(self, key: str) -> bool:
        """Remove a clock whose start event was withdrawn (a termination sent back for rework owes no
        notice); the event's ``clocks_withdrawn`` records it, and a new termination starts it again."""
        key = str(key)
        state = self.ticket.clocks.get(key)
        if state is None or state.status == "stopped":
            return False
        del self.ticket.clocks[key]
        self.data.setdefault("clocks_withdrawn", []).append(key)
        return True

    def reopen_ticket_clocks(self) -> list[str]:
        """After rework or reopen: the ticket-level clocks that closure submission stopped run again
        (mediation, report verification, a help request's or suggestion's handling). Returns the keys
        reopened."""
        reopened = [key for key in (clock.value for clock in TICKET_HANDLING_CLOCKS) if self.reopen(key)]
        if reopened:
            self.data["clocks_reopened"] = reopened
        return reopened

    def restart(self, key: str) -> bool:
        """Start a clock afresh from now (Art. 35 merge; rework), paused if it was paused."""
        key = str(key)
        old = self.ticket.clocks.get(key)
        rule = self.rule(clock_name(key))
        if rule is None:
            return False
        state = start_clock(rule, self.now, self.policy.calendar)
        if old is not None and old.status == "paused":
            state = pause_clock(state, self.now)
        self.ticket.clocks[key] = state
        return True

    # assignments

    def add_assignment(self, department: str, role: str) -> Assignment:
        assignment = Assignment(id=f"A{len(self.ticket.assignments) + 1}", department=department, role=role,
                                status=AS.TO_SIGN, dispatched_at=self.now,
                                dispatched_by=None if self.actor.role == Role.SYSTEM else self.actor.username)
        self.ticket.assignments.append(assignment)
        self.start(ClockName.SIGN, assignment.id)
        return assignment

    def end_assignment(self, a: Assignment, status: str) -> None:
        """End a share (returned, withdrawn, transferred): its sign/handling clocks stop, and so do the
        centre's clocks on its pending requests (the requests end with the share)."""
        self.stop(clock_key(ClockName.SIGN, a.id))
        self.stop(clock_key(ClockName.HANDLING, a.id))
        self.stop(clock_key(ClockName.EXTENSION_DECISION, a.id))
        self.stop(clock_key(ClockName.RETURN_DECISION, a.id))
        self.ticket.set_assignment(replace(a, status=status, ended_at=self.now, extension_request=None,
                                      return_request=None, pause=None))

    def rework(self, a: Assignment) -> None:
        """Send a share back to its department: in progress again, a new handling clock; a withdrawn
        termination owes no termination notice."""
        self.ticket.set_assignment(replace(a, status=AS.IN_PROGRESS, closure=None, ended_at=None,
                                      rework_count=a.rework_count + 1))
        self.restart(clock_key(ClockName.HANDLING, a.id))
        self.withdraw(clock_key(ClockName.TERMINATION_NOTICE, a.id))

    def resolve(self, can: Callable[[Ticket, Assignment], bool]) -> Assignment:
        """The actor's department's assignment this action is about.

        ``assignment_id`` may be omitted when exactly one assignment of the actor's scope
        qualifies. Another department's assignment is Forbidden; one in the wrong state
        is an IllegalTransition.
        """
        aid = self.params.get("assignment_id")
        if aid is not None:
            a = self.ticket.assignment(aid) if isinstance(aid, str) else None
            if a is None:
                raise ValidationFailed("no such assignment", details={"assignment_id": "no such assignment"})
            if not in_scope(self.actor, a):
                raise Forbidden("the assignment belongs to another department",
                                details={"assignment_id": aid})
            if assigned_to_other(self.actor, a):
                raise _assigned_elsewhere(a)
            if not can(self.ticket, a):
                raise IllegalTransition(f"assignment {a.id} ({a.status}) does not allow {self.action}",
                                        details={"assignment_id": a.id, "assignment_status": a.status})
            return a
        mine = [a for a in self.ticket.assignments if in_scope(self.actor, a)]
        if not mine:
            raise Forbidden("your department holds no assignment on this ticket",
                            details={"department": self.actor.department})
        ok = [a for a in mine if can(self.ticket, a) and not assigned_to_other(self.actor, a)]
        if len(ok) == 1:
            return ok[0]
        held = [a for a in mine if can(self.ticket, a) and assigned_to_other(self.actor, a)]
        if not ok and held:
            raise _assigned_elsewhere(held[0])
        if not ok:
            raise IllegalTransition(f"no assignment of your department allows {self.action} now",
                                    details={"assignments": {a.id: a.status for a in mine}})
        raise ValidationFailed("several assignments qualify", details={"assignment_id": "required"})

    def pending(self, attr: str) -> Assignment:
        """The assignment whose pending extension/return request a dispatcher decides."""
        aid = self.params.get("assignment_id")
        waiting = [a for a in self.ticket.assignments if getattr(a, attr) is not None]
        if aid is not None:
            a = self.ticket.assignment(aid) if isinstance(aid, str) else None
            if a is None:
                raise ValidationFailed("no such assignment", details={"assignment_id": "no such assignment"})
            if getattr(a, attr) is None:
                raise IllegalTransition(f"assignment {a.id} has no pending request",
                                        details={"assignment_id": a.id})
            return a
        if len(waiting) == 1:
            return waiting[0]
        if not waiting:
            raise IllegalTransition("no pending request on this ticket", details={"request": attr})
        raise ValidationFailed("several requests are pending", details={"assignment_id": "required"})

    def close(self, resolution: str) -> None:
        """Close the ticket; its archive clock starts (the daily archive job archives it when due)."""
        self.ticket.status = S.CLOSED
        self.ticket.resolution = resolution
        self.ticket.closed_at = self.now
        self.start(ClockName.ARCHIVE)

    def reply(self, text: str | None, source: str) -> None:
        if text:
            self.ticket.replies.append(Reply(at=self.now, text=text, source=source))


def _assigned_elsewhere(a: Assignment) -> Forbidden:
    """The 403 a handler gets for a share the lead assigned to a colleague."""
    return Forbidden(f"assignment {a.id} is assigned to another handler", code="assigned_to_another_handler",
                     details={"assignment_id": a.id, "assigned_to": a.assigned_to})


def in_scope(actor: Actor, a: Assignment) -> bool:
    """True when ``actor`` works in the department holding assignment ``a``.

    Handlers and department leads act for their own department (an office's lead for the office); a
    department lead also for the department's grassroots offices (``Actor.offices``); a partner (a
    lower-level platform) only on the shares sent down to it.
    """
    if actor.department is None:
        return False
    if actor.department != a.department:
        return actor.role == Role.DEPT_LEAD and a.department in actor.offices
    if actor.role == Role.PARTNER:
        return a.role == AR.LOWER_PLATFORM
    return actor.role in (Role.HANDLER, Role.DEPT_LEAD)


def assigned_to_other(actor: Actor, a: Assignment) -> bool:
    """Share ``a`` was assigned by the lead to another handler: only that handler (and the leads)
    act on it now; the lead may reassign it."""
    return actor.role == Role.HANDLER and a.assigned_to is not None and a.assigned_to != actor.username


def acts_on(actor: Actor, a: Assignment) -> bool:
    """``actor`` may take their department's actions on share ``a`` (in scope, not another's assignment)."""
    return in_scope(actor, a) and not assigned_to_other(actor, a)


# --- conditions several stages share -----------------------------------------------------------


def assists_pending(t: Ticket) -> list[str]:
    """The assisting shares that have not submitted their part yet (the lead waits for them)."""
    return [a.id for a in t.active_assignments if a.role == AR.ASSIST and a.status != AS.SUBMITTED]


def handling_running(t: Ticket, a: Assignment) -> bool:
    """The handling clock of share ``a`` is running (not paused, not stopped)."""
    state = t.clocks.get(clock_key(ClockName.HANDLING, a.id))
    return state is not None and state.status == "running"


def termination_pending(t: Ticket, a: Assignment) -> bool:
    """Share ``a`` terminated mediation and its Art. 23 notice is still to be recorded."""
    state = t.clocks.get(clock_key(ClockName.TERMINATION_NOTICE, a.id))
    return state is not None and state.status != "stopped"
