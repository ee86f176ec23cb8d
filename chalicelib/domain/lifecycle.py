"""The lifecycle of a ticket (DOMAIN.md "The lifecycle of a ticket"): every action, who may
take it, from which state, and what it does to the ticket and its clocks.

``apply`` is pure: it copies the ticket, runs the action's handler on the copy and returns the
new ticket (version + 1) with exactly one timeline event and one outbox message. A failed
action raises a DomainError and leaves nothing changed:

* ValidationFailed - bad or missing parameters (``details`` per field);
* Forbidden - the role may not take the action, or the assignment is another department's;
* IllegalTransition - the ticket (or assignment) is not in a state that allows it;
* Conflict - the action was already done (a warning already recorded, an urging answered).

The table below says where each action may start and who may take it; the handlers under it
hold the rules. ``=`` means the ticket status does not change (an assignment's may).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from chalicelib.domain.clocks import (
    ClockName,
    ClockState,
    ClockRule,
    extend_clock,
    met_deadline,
    pause_clock,
    reopen_clock,
    resume_clock,
    start_clock,
    stop_clock,
    with_warning,
)
from chalicelib.domain.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from chalicelib.domain.intake import (
    MAX_FACTS,
    MAX_REQUEST,
    check_code,
    check_text,
    normalize_phone,
    parse_joining_party,
)
from chalicelib.domain.ticket import (
    BASIS_POINTS,
    CENTER,
    DECLINE_REASON_LABELS,
    HANDLED,
    Actor,
    Assignment,
    AssignmentRole as AR,
    AssignmentStatus as AS,
    Channel,
    Closure,
    Decision,
    DeclineReason,
    DispatchMode,
    ExtensionRequest,
    Feedback,
    JoinedComplainant,
    Kind,
    MediationResult,
    MergedFacts,
    OutboxMessage,
    Outcome,
    PauseReason,
    PauseRecord,
    Policy,
    Priority,
    Reply,
    ReportResult,
    Resolution,
    ReturnRequest,
    Role,
    Satisfaction,
    Status as S,
    Supervision,
    TerminationReason,
    Ticket,
    TimelineEvent,
    Urging,
    aware,
    encode,
    end_of_day,
)

# --- the groups the table speaks of -----------------------------------------------------------

ACCEPTING = frozenset({S.PENDING_ACCEPTANCE, S.INTERNET_INBOX, S.UPPER_LEVEL_PENDING})
HANDLING = frozenset({S.IN_HANDLING})
MERGEABLE = ACCEPTING | {S.TO_DISPATCH, S.IN_HANDLING}  # before any closure was submitted
AFTER_CLOSURE = frozenset({S.CLOSURE_REVIEW, S.PENDING_CALLBACK, S.PENDING_EVALUATION, S.REPLIED})
NOTICE_DUE = AFTER_CLOSURE | {S.IN_HANDLING, S.TO_DISPATCH}  # where an Art. 23 notice may be pending
CALLING_BACK = frozenset({S.PENDING_CALLBACK, S.PENDING_EVALUATION})
OPEN = frozenset(S) - {S.CLOSED, S.ARCHIVED}

AGENT, DISPATCHER, MANAGER, ADMIN, CITIZEN, SYSTEM, PARTNER = (
    frozenset({r}) for r in (Role.AGENT, Role.DISPATCHER, Role.MANAGER, Role.ADMIN, Role.CITIZEN, Role.SYSTEM,
                             Role.PARTNER))
CENTRE = AGENT | DISPATCHER
DEPARTMENT = frozenset({Role.HANDLER, Role.DEPT_LEAD}) | PARTNER  # a partner: a lower-level platform
URGERS = MANAGER | DISPATCHER | SYSTEM | PARTNER


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    roles: frozenset[str]
    target: str  # where the ticket goes (the handler chooses among the alternatives)


def _t(action: str, sources: Any, roles: Any, target: str) -> Transition:
    return Transition(action, frozenset(sources), frozenset(roles), target)


# fmt: off
TRANSITIONS: tuple[Transition, ...] = (
    #  action                       from                        who                   to ("=": status unchanged)
    _t("accept",                    ACCEPTING,                  CENTRE,               "to_dispatch"),
    _t("decline",                   ACCEPTING,                  CENTRE,               "closed | non_acceptance_review"),
    _t("answer_directly",           ACCEPTING,                  AGENT,                "closed (inquiries)"),
    _t("review_non_acceptance",     {S.NON_ACCEPTANCE_REVIEW},  DISPATCHER,           "closed | in_handling"),
    _t("dispatch",                  {S.TO_DISPATCH},            DISPATCHER | SYSTEM,  "in_handling"),
    _t("sign",                      HANDLING,                   DEPARTMENT,           "="),
    _t("add_note",                  HANDLING,                   DEPARTMENT,           "="),
    _t("pause",                     HANDLING,                   DEPARTMENT,           "="),
    _t("resume",                    HANDLING,                   DEPARTMENT,           "="),
    _t("request_extension",         HANDLING,                   DEPARTMENT,           "="),
    _t("decide_extension",          HANDLING,                   DISPATCHER,           "="),
    _t("request_return",            HANDLING,                   DEPARTMENT,           "="),
    _t("decide_return",             HANDLING,                   DISPATCHER,           "to_dispatch | ="),
    _t("submit_closure",            HANDLING,                   DEPARTMENT,           "closure_review | ="),
    _t("review_closure",            {S.CLOSURE_REVIEW},         DISPATCHER,           "pending_callback | _evaluation | in_handling"),
    _t("record_termination_notice", NOTICE_DUE,                 DEPARTMENT,           "="),
    _t("record_callback",           CALLING_BACK,               AGENT,                "replied"),
    _t("evaluate",                  {S.PENDING_EVALUATION},     CITIZEN,              "replied"),
    _t("reopen",                    {S.REPLIED, S.CLOSED},      CENTRE | MANAGER,     "in_handling"),
    _t("close",                     {S.REPLIED},                CENTRE | SYSTEM,      "closed"),
    _t("archive",                   {S.CLOSED},                 SYSTEM | ADMIN | MANAGER, "archived"),
    _t("merge_repeat",              MERGEABLE,                  CENTRE | SYSTEM | PARTNER | CITIZEN, "="),
    _t("join",                      MERGEABLE,                  CENTRE,               "="),
    _t("urge",                      OPEN,                       URGERS,               "="),
    _t("answer_urging",             OPEN,                       DEPARTMENT | CENTRE,  "="),
    _t("record_warning",            OPEN,                       SYSTEM,               "="),
    _t("supervise",                 OPEN,                       SYSTEM | MANAGER,     "="),
)
# fmt: on

BY_ACTION: dict[str, Transition] = {t.action: t for t in TRANSITIONS}
ACTIONS: frozenset[str] = frozenset(BY_ACTION)

# The parameters each action takes (anything else is a ValidationFailed: typos do not pass).
PARAMS: dict[str, frozenset[str]] = {
    name: frozenset(keys.split())
    for name, keys in {
        "accept": "category district priority text",
        "decline": "reason_code text",
        "answer_directly": "answer",
        "review_non_acceptance": "decision department text",
        "dispatch": "mode department lead assists departments platform district text auto",
        "sign": "assignment_id",
        "add_note": "assignment_id text",
        "pause": "assignment_id reason text",
        "resume": "assignment_id text",
        "request_extension": "assignment_id reason new_due",
        "decide_extension": "assignment_id decision text",
        "request_return": "assignment_id reason basis",
        "decide_return": "assignment_id decision text",
        "submit_closure": "assignment_id result termination_reason facts",
        "review_closure": "decision text reply assignment_ids department district",
        "record_termination_notice": "assignment_id text",
        "record_callback": "satisfaction solved comment reply",
        "evaluate": "satisfaction solved comment",
        "reopen": "reason",
        "close": "text",
        "archive": "",
        "merge_repeat": "facts request channel",
        "join": "complainant source_ticket_id",
        "urge": "department text clock",
        "answer_urging": "urging_id text",
        "record_warning": "clock level",
        "supervise": "reason department urging_id",
    }.items()
}

# Clocks that only some kinds run: mediation for (market) complaints, verification for reports.
CLOCK_KINDS: dict[str, frozenset[str]] = {
    ClockName.MEDIATION: frozenset({Kind.COMPLAINT}),
    ClockName.REPORT_VERIFICATION: frozenset({Kind.REPORT}),
}
# Clocks that restart when a repeat with new facts is merged (Art. 35).
RESTART_ON_MERGE = frozenset({ClockName.ACCEPTANCE, ClockName.HANDLING, ClockName.MEDIATION,
                              ClockName.REPORT_VERIFICATION})
# Ticket-level clocks a department's pause also pauses (while at least one share is paused).
PAUSED_WITH_DEPARTMENT = (ClockName.MEDIATION, ClockName.REPORT_VERIFICATION)

RESULTS: dict[str, frozenset[str]] = {
    Kind.COMPLAINT: frozenset(MediationResult),
    Kind.REPORT: frozenset(ReportResult),
    Kind.INQUIRY: frozenset({HANDLED}),
    Kind.SUGGESTION: frozenset({HANDLED}),
    Kind.HELP_REQUEST: frozenset({HANDLED}),
}

# Keys of event data that are structured (no free text): these travel in outbox payloads.
_OUTBOX_KEYS = frozenset({
    "assignment_id", "assignment_ids", "assignments", "department", "departments", "mode", "decision",
    "reason_code", "result", "termination_reason", "satisfaction", "solved", "level", "clock",
    "due", "new_due", "urging_id", "source", "clocks_stopped", "ready_for_review", "restarted",
    "clocks_reopened", "clocks_withdrawn",
    "district", "category", "priority", "to_department",
})


def clock_key(clock: str, assignment_id: str | None = None) -> str:
    """Key of a clock in ``Ticket.clocks``: ``"acceptance"`` or ``"handling:A1"`` per assignment."""
    name = ClockName(clock).value
    return f"{name}:{assignment_id}" if assignment_id else name


def clock_name(key: str) -> str:
    """The clock name part of a clock key."""
    return key.split(":", 1)[0]


# --- the context a handler works in -----------------------------------------------------------


@dataclass
class _Ctx:
    """The copy being built and everything a handler needs; collects the event's data."""

    t: Ticket
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
        if kinds is not None and self.t.kind not in kinds:
            return None
        try:
            return self.policy.sla.rule_for(clock, kind=self.t.kind, category=self.t.category,
                                            priority=self.t.priority or Priority.NORMAL)
        except NotFound:
            return None  # no rule configured: this clock does not run for this ticket

    def start(self, clock: str, assignment_id: str | None = None) -> ClockState | None:
        rule = self.rule(clock)
        if rule is None:
            return None
        state = start_clock(rule, self.now, self.policy.calendar)
        self.t.clocks[clock_key(clock, assignment_id)] = state
        return state

    def stop(self, key: str, *, primary: bool = False) -> bool | None:
        key = str(key)
        state = self.t.clocks.get(key)
        if state is None or state.status == "stopped":
            return None
        stopped = stop_clock(state, self.now)
        self.t.clocks[key] = stopped
        met = met_deadline(stopped)
        self.clocks_stopped[key] = met
        if primary:
            self.deadline_met = met
        return met

    def pause(self, key: str) -> None:
        key = str(key)
        state = self.t.clocks.get(key)
        rule = self.rule(clock_name(key))
        if state is not None and state.status == "running" and rule is not None and rule.pausable:
            self.t.clocks[key] = pause_clock(state, self.now)

    def resume(self, key: str) -> None:
        key = str(key)
        state = self.t.clocks.get(key)
        if state is not None and state.status == "paused":
            self.t.clocks[key] = resume_clock(state, self.now, self.policy.calendar)

    def reopen(self, key: str) -> bool:
        """Run a stopped clock again with the time it had left (its stop event was withdrawn)."""
        key = str(key)
        state = self.t.clocks.get(key)
        if state is None or state.status != "stopped":
            return False
        self.t.clocks[key] = reopen_clock(state, self.now, self.policy.calendar)
        return True

    def withdraw(self, key: str) -> bool:
        """Remove a clock whose start event was withdrawn (a termination sent back for rework owes no
        notice); the event's ``clocks_withdrawn`` records it, and a new termination starts it again."""
        key = str(key)
        state = self.t.clocks.get(key)
        if state is None or state.status == "stopped":
            return False
        del self.t.clocks[key]
        self.data.setdefault("clocks_withdrawn", []).append(key)
        return True

    def reopen_ticket_clocks(self) -> list[str]:
        """After rework or reopen: the ticket-level clocks that closure submission stopped run again
        (mediation, report verification). Returns the keys reopened."""
        reopened = [key for key in (ClockName.MEDIATION.value, ClockName.REPORT_VERIFICATION.value)
                    if self.reopen(key)]
        if reopened:
            self.data["clocks_reopened"] = reopened
        return reopened

    def restart(self, key: str) -> bool:
        """Start a clock afresh from now (Art. 35 merge; rework), paused if it was paused."""
        key = str(key)
        old = self.t.clocks.get(key)
        rule = self.rule(clock_name(key))
        if rule is None:
            return False
        state = start_clock(rule, self.now, self.policy.calendar)
        if old is not None and old.status == "paused":
            state = pause_clock(state, self.now)
        self.t.clocks[key] = state
        return True

    # assignments

    def add_assignment(self, department: str, role: str) -> Assignment:
        assignment = Assignment(id=f"A{len(self.t.assignments) + 1}", department=department, role=role,
                                status=AS.TO_SIGN, dispatched_at=self.now)
        self.t.assignments.append(assignment)
        self.start(ClockName.SIGN, assignment.id)
        return assignment

    def end_assignment(self, a: Assignment, status: str) -> None:
        """End a share (returned, withdrawn, transferred): its sign/handling clocks stop."""
        self.stop(clock_key(ClockName.SIGN, a.id))
        self.stop(clock_key(ClockName.HANDLING, a.id))
        self.t.set_assignment(replace(a, status=status, ended_at=self.now, extension_request=None,
                                      return_request=None, pause=None))

    def rework(self, a: Assignment) -> None:
        """Send a share back to its department: in progress again, a new handling clock; a withdrawn
        termination owes no termination notice."""
        self.t.set_assignment(replace(a, status=AS.IN_PROGRESS, closure=None, ended_at=None,
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
            a = self.t.assignment(aid) if isinstance(aid, str) else None
            if a is None:
                raise ValidationFailed("no such assignment", details={"assignment_id": "no such assignment"})
            if not in_scope(self.actor, a):
                raise Forbidden("the assignment belongs to another department",
                                details={"assignment_id": aid})
            if not can(self.t, a):
                raise IllegalTransition(f"assignment {a.id} ({a.status}) does not allow {self.action}",
                                        details={"assignment_id": a.id, "assignment_status": a.status})
            return a
        mine = [a for a in self.t.assignments if in_scope(self.actor, a)]
        if not mine:
            raise Forbidden("your department holds no assignment on this ticket",
                            details={"department": self.actor.department})
        ok = [a for a in mine if can(self.t, a)]
        if len(ok) == 1:
            return ok[0]
        if not ok:
            raise IllegalTransition(f"no assignment of your department allows {self.action} now",
                                    details={"assignments": {a.id: a.status for a in mine}})
        raise ValidationFailed("several assignments qualify", details={"assignment_id": "required"})

    def pending(self, attr: str) -> Assignment:
        """The assignment whose pending extension/return request a dispatcher decides."""
        aid = self.params.get("assignment_id")
        waiting = [a for a in self.t.assignments if getattr(a, attr) is not None]
        if aid is not None:
            a = self.t.assignment(aid) if isinstance(aid, str) else None
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
        self.t.status = S.CLOSED
        self.t.resolution = resolution
        self.t.closed_at = self.now

    def reply(self, text: str | None, source: str) -> None:
        if text:
            self.t.replies.append(Reply(at=self.now, text=text, source=source))


def in_scope(actor: Actor, a: Assignment) -> bool:
    """True when ``actor`` works in the department holding assignment ``a``.

    Handlers and department leads act for their own department; a partner (a lower-level
    platform) only on the shares sent down to it.
    """
    if actor.department is None or actor.department != a.department:
        return False
    if actor.role == Role.PARTNER:
        return a.role == AR.LOWER_PLATFORM
    return actor.role in (Role.HANDLER, Role.DEPT_LEAD)


# --- conditions shared by the handlers and allowed_actions ------------------------------------


def _assists_pending(t: Ticket) -> list[str]:
    return [a.id for a in t.active_assignments if a.role == AR.ASSIST and a.status != AS.SUBMITTED]


def _handling_running(t: Ticket, a: Assignment) -> bool:
    state = t.clocks.get(clock_key(ClockName.HANDLING, a.id))
    return state is not None and state.status == "running"


def _termination_running(t: Ticket, a: Assignment) -> bool:
    state = t.clocks.get(clock_key(ClockName.TERMINATION_NOTICE, a.id))
    return state is not None and state.status != "stopped"


# What state an assignment must be in for each department action.
CAN: dict[str, Callable[[Ticket, Assignment], bool]] = {
    "sign": lambda t, a: a.status == AS.TO_SIGN,
    "add_note": lambda t, a: a.status in (AS.IN_PROGRESS, AS.PAUSED),
    "pause": lambda t, a: a.status == AS.IN_PROGRESS and a.extension_request is None,
    "resume": lambda t, a: a.status == AS.PAUSED,
    "request_extension": lambda t, a: a.status == AS.IN_PROGRESS and a.extension_request is None
    and _handling_running(t, a),
    "request_return": lambda t, a: a.status in (AS.TO_SIGN, AS.IN_PROGRESS, AS.PAUSED) and a.return_request is None,
    "submit_closure": lambda t, a: a.status == AS.IN_PROGRESS and a.return_request is None,
    "record_termination_notice": _termination_running,
}


def _responsible_departments(t: Ticket) -> list[str]:
    """Who an urging without an addressee goes to: the shares still working, else the centre."""
    if t.status != S.IN_HANDLING:
        return [CENTER]
    working = [a for a in t.active_assignments if a.status != AS.SUBMITTED]
    primary = [a.department for a in working if a.role != AR.ASSIST] or [a.department for a in working]
    return list(dict.fromkeys(primary)) or [CENTER]


def _urging_in_scope(actor: Actor, urging: Urging, t: Ticket) -> bool:
    if urging.department == CENTER:
        return actor.role in CENTRE
    return any(in_scope(actor, a) for a in t.assignments if a.department == urging.department)


def _may_reopen(t: Ticket, actor: Actor) -> bool:
    if t.resolution not in (None, Resolution.COMPLETED):
        return False
    if not any(a.status == AS.COMPLETED for a in t.assignments):
        return False
    last = t.last_feedback
    return actor.role == Role.MANAGER or (last is not None and last.satisfaction == Satisfaction.DISSATISFIED)


def _guard(t: Ticket, actor: Actor, action: str) -> bool:
    """Beyond status and role: could ``actor`` take ``action`` now (parameters aside)?"""
    if action == "submit_closure":  # the lead also waits for its assists
        return any(in_scope(actor, a) and CAN[action](t, a) and (a.role != AR.LEAD or not _assists_pending(t))
                   for a in t.assignments)
    if action in CAN:
        return any(in_scope(actor, a) and CAN[action](t, a) for a in t.assignments)
    if action == "decide_extension":
        return any(a.extension_request is not None for a in t.assignments)
    if action == "decide_return":
        return any(a.return_request is not None for a in t.assignments)
    if action == "answer_directly":
        return t.kind == Kind.INQUIRY
    if action == "reopen":
        return _may_reopen(t, actor)
    if action == "close":
        return not any(_termination_running(t, a) for a in t.assignments)
    if action == "answer_urging":
        return any(u.answered_at is None and _urging_in_scope(actor, u, t) for u in t.urgings)
    if action == "record_warning":
        return any(s.status == "running" and s.warning != "red" for s in t.clocks.values())
    return True


# --- the entry points -----------------------------------------------------------------------


def apply(ticket: Ticket, action: str, params: dict, *, actor: Actor, now: datetime, policy: Policy) -> Outcome:
    """Take ``action`` on ``ticket``: the new ticket (version + 1), one event, one outbox message.

    ``now`` must be timezone-aware; a ``now`` earlier than the ticket's last change (clock skew
    between functions) is taken as that moment, so a timeline never runs backwards.
    The input ticket is never changed; on any DomainError nothing is produced.
    """
    transition = BY_ACTION.get(action) if isinstance(action, str) else None
    if transition is None:
        raise ValidationFailed(f"unknown action {action!r}", details={"action": "unknown action"})
    now = max(aware(now, "now"), ticket.updated_at)
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ValidationFailed("parameters must be an object", details={"params": "must be an object"})
    unknown = sorted(set(params) - PARAMS[action])
    if unknown:
        raise ValidationFailed("unknown parameters", details={k: "unknown parameter" for k in unknown})
    if actor.role not in transition.roles:
        raise Forbidden(f"role {actor.role} may not {action}", details={"role": actor.role, "action": action})
    if ticket.status not in transition.sources:
        raise IllegalTransition(f"cannot {action} a ticket in status {ticket.status}",
                                details={"status": ticket.status, "action": action})
    ctx = _Ctx(t=ticket.copy(), action=action, params=params, actor=actor, now=now, policy=policy)
    event_type = HANDLERS[action](ctx)
    t = ctx.t
    t.version = ticket.version + 1
    t.updated_at = now
    data = encode(ctx.data)  # plain JSON-safe values from here on
    if ctx.clocks_stopped:
        data["clocks_stopped"] = dict(ctx.clocks_stopped)
    event = TimelineEvent(type=event_type, at=now, actor=actor, from_status=ticket.status,
                          to_status=t.status, data=data, deadline_met=ctx.deadline_met)
    payload = encode({
        "ticket_id": t.id, "event": event_type, "kind": t.kind, "channel": t.channel,
        "from_status": ticket.status, "status": t.status, "version": t.version, "at": now.isoformat(),
        "actor_role": actor.role, "external_ref": t.external_ref, "category": t.category,
        "district": t.district, "priority": t.priority, "departments": t.departments,
        "deadline_met": ctx.deadline_met,
        **{k: v for k, v in data.items() if k in _OUTBOX_KEYS},
    })
    return Outcome(ticket=t, events=[event], outbox=[OutboxMessage(topic=f"ticket.{event_type}", payload=payload)])


def allowed_actions(ticket: Ticket, actor: Actor) -> list[str]:
    """The actions ``actor`` could take on ``ticket`` now (for the UI's buttons), in table order.

    Parameters can still make an allowed action fail (a missing reason, a deadline passed).
    """
    return [
        tr.action for tr in TRANSITIONS
        if actor.role in tr.roles and ticket.status in tr.sources and _guard(ticket, actor, tr.action)
    ]


def can_apply(ticket: Ticket, action: str, actor: Actor) -> bool:
    """True when ``action`` is among :func:`allowed_actions` (cheap check for one button)."""
    tr = BY_ACTION.get(action)
    return tr is not None and actor.role in tr.roles and ticket.status in tr.sources and _guard(ticket, actor, action)


def supervision_due(ticket: Ticket, now: datetime, policy: Policy) -> list[Urging]:
    """Urgings after which the ticket should now be supervised (督办).

    An urging about a clock counts when that clock is still running past its due time and
    at least ``supervise_after_working_days`` working days (per the clock's rule) have passed
    since the urging, and no supervision names it yet. The timers call this, then ``supervise``.
    """
    now = aware(now, "now")
    done = {s.urging_id for s in ticket.supervisions if s.urging_id}
    due: list[Urging] = []
    for urging in ticket.urgings:
        if urging.id in done or urging.clock is None:
            continue
        state = ticket.clocks.get(urging.clock)
        if state is None or state.status != "running" or now <= state.due:
            continue
        try:
            rule = policy.sla.rule_for(clock_name(urging.clock), kind=ticket.kind, category=ticket.category,
                                       priority=ticket.priority)
        except NotFound:
            continue
        if policy.calendar.working_days_between(urging.at.date(), now.date()) >= rule.supervise_after_working_days:
            due.append(urging)
    return due


# --- handlers: acceptance -------------------------------------------------------------------


def _accept(c: _Ctx) -> str:
    t = c.t
    if "category" in c.params:
        t.category = c.text("category", required=False, max_len=64)
    if "district" in c.params:
        t.district = c.code("district", required=False)
    if "priority" in c.params:
        t.priority = c.choice("priority", set(Priority))
    text = c.text("text", required=False)
    c.stop(ClockName.ACCEPTANCE, primary=True)
    t.acceptance = Decision(outcome="accepted", at=c.now, by=c.actor.username, text=text)
    for clock in (ClockName.MEDIATION, ClockName.REPORT_VERIFICATION):
        c.start(clock)
    t.status = S.TO_DISPATCH
    c.data.update(category=t.category, district=t.district, priority=t.priority)
    return "accepted"


def _decline(c: _Ctx) -> str:
    t = c.t
    reason = c.choice("reason_code", set(DeclineReason))
    text = c.text("text", required=reason == DeclineReason.OTHER)
    c.stop(ClockName.ACCEPTANCE, primary=True)
    t.acceptance = Decision(outcome="declined", at=c.now, by=c.actor.username, reason_code=reason, text=text)
    c.data.update(reason_code=reason, text=text)
    if t.channel == Channel.UPPER_LEVEL:
        t.status = S.NON_ACCEPTANCE_REVIEW  # a dispatcher decides: back up, or to a local department
        c.data["review_required"] = True
    else:
        c.reply("不予受理：" + DECLINE_REASON_LABELS[reason] + (f"。{text}" if text else ""), "decline")
        c.close(Resolution.DECLINED)
    return "declined"


def _answer_directly(c: _Ctx) -> str:
    if c.t.kind != Kind.INQUIRY:
        raise IllegalTransition("only inquiries are answered directly", details={"kind": c.t.kind})
    answer = c.text("answer", max_len=MAX_FACTS)
    c.stop(ClockName.ACCEPTANCE, primary=True)
    c.t.acceptance = Decision(outcome="answered", at=c.now, by=c.actor.username, text=answer)
    c.reply(answer, "answer")
    c.close(Resolution.ANSWERED)
    c.data["answer"] = answer
    return "answered"


def _review_non_acceptance(c: _Ctx) -> str:
    t = c.t
    decision = c.choice("decision", {"return_upward", "hand_to_local"})
    text = c.text("text", required=False)
    department = c.code("department") if decision == "hand_to_local" else None
    if decision == "return_upward" and "department" in c.params:
        raise ValidationFailed("no department when returning upward", details={"department": "not allowed"})
    t.non_acceptance_review = Decision(outcome=decision, at=c.now, by=c.actor.username, text=text,
                                       department=department)
    c.data.update(decision=decision, department=department, text=text)
    if decision == "return_upward":
        c.close(Resolution.RETURNED_UPWARD)
        return "non_acceptance_reviewed"
    t.acceptance = Decision(outcome="accepted", at=c.now, by=c.actor.username, text=text, department=department)
    for clock in (ClockName.MEDIATION, ClockName.REPORT_VERIFICATION):
        c.start(clock)
    a = c.add_assignment(department, AR.SINGLE)
    t.dispatch_mode = DispatchMode.SINGLE
    t.status = S.IN_HANDLING
    c.data["assignments"] = [{"id": a.id, "department": a.department, "role": a.role}]
    return "non_acceptance_reviewed"


# --- handlers: dispatch and department work -------------------------------------------------


def _dispatch_plan(c: _Ctx) -> list[tuple[str, str]]:
    """(department, assignment role) pairs for the requested dispatch mode."""
    mode = c.choice("mode", set(DispatchMode))
    mode_keys = {"single": {"department"}, "lead_assist": {"lead", "assists"},
                 "parallel": {"departments"}, "lower_platform": {"platform"}}
    stray = {"department", "lead", "assists", "departments", "platform"} & set(c.params) - mode_keys[mode]
    if stray:
        raise ValidationFailed(f"not used by mode {mode}", details={k: "not used by this mode" for k in stray})
    if mode == DispatchMode.SINGLE:
        return [(c.code("department"), AR.SINGLE)]
    if mode == DispatchMode.LOWER_PLATFORM:
        return [(c.code("platform"), AR.LOWER_PLATFORM)]
    name = "departments" if mode == DispatchMode.PARALLEL else "assists"
    raw = c.params.get(name)
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed(f"invalid {name}", details={name: "a non-empty list of department codes"})
    codes = [check_code(v, f"{name}[{i}]") for i, v in enumerate(raw)]
    if mode == DispatchMode.PARALLEL:
        if len(codes) < 2:
            raise ValidationFailed("parallel needs two departments", details={name: "at least two departments"})
        plan = [(code, AR.PARALLEL) for code in codes]
    else:
        plan = [(c.code("lead"), AR.LEAD)] + [(code, AR.ASSIST) for code in codes]
    departments = [d for d, _ in plan]
    if len(set(departments)) != len(departments):
        raise ValidationFailed("a department appears twice", details={name: "departments must differ"})
    return plan


def _dispatch(c: _Ctx) -> str:
    t = c.t
    plan = _dispatch_plan(c)
    auto = _auto_dispatch(c, plan) if "auto" in c.params else None
    if "district" in c.params:
        t.district = c.code("district", required=False)
    text = c.text("text", required=False)
    created = [c.add_assignment(dept, role) for dept, role in plan]
    t.dispatch_mode = c.params["mode"]
    t.status = S.IN_HANDLING
    c.data.update(mode=t.dispatch_mode, district=t.district, text=text,
                  assignments=[{"id": a.id, "department": a.department, "role": a.role} for a in created])
    if auto is not None:
        c.data["auto_dispatch"] = auto
    return "dispatched"


def _auto_dispatch(c: _Ctx, plan: list[tuple[str, str]]) -> dict[str, Any]:
    """The model behind a dispatch the platform made by itself: ``{"model_version", "probability_bp"}``.

    Only the system dispatches by itself, to one department (the model's first choice).
    """
    if c.actor.role != Role.SYSTEM:
        raise Forbidden("only the system dispatches on the model's recommendation", details={"auto": "system only"})
    raw = c.params.get("auto")
    if not isinstance(raw, Mapping) or set(raw) != {"model_version", "probability_bp"}:
        raise ValidationFailed("invalid auto", details={"auto": "an object with model_version and probability_bp"})
    version = check_text(raw.get("model_version"), "auto.model_version", max_len=64)
    probability = raw.get("probability_bp")
    if isinstance(probability, bool) or not isinstance(probability, int) or not 0 <= probability <= BASIS_POINTS:
        raise ValidationFailed("invalid auto.probability_bp", details={"auto.probability_bp": "an integer 0..10000"})
    if len(plan) != 1 or plan[0][1] != AR.SINGLE:
        raise ValidationFailed("an automatic dispatch goes to one department", details={"mode": "must be single"})
    return {"model_version": version, "probability_bp": probability}


def _sign(c: _Ctx) -> str:
    a = c.resolve(CAN["sign"])
    c.t.set_assignment(replace(a, status=AS.IN_PROGRESS, owner=c.actor.username, signed_at=c.now))
    c.stop(clock_key(ClockName.SIGN, a.id), primary=True)
    state = c.start(ClockName.HANDLING, a.id)
    c.data.update(assignment_id=a.id, department=a.department, due=state.due.isoformat() if state else None)
    return "signed"


def _add_note(c: _Ctx) -> str:
    text = c.text("text")
    a = c.resolve(CAN["add_note"])
    c.data.update(assignment_id=a.id, department=a.department, text=text)
    return "note_added"


def _pause(c: _Ctx) -> str:
    reason = c.choice("reason", set(PauseReason))
    text = c.text("text", required=False)
    a = c.resolve(CAN["pause"])
    record = PauseRecord(reason=reason, text=text, paused_at=c.now, paused_by=c.actor.username)
    c.t.set_assignment(replace(a, status=AS.PAUSED, pause=record))
    c.pause(clock_key(ClockName.HANDLING, a.id))
    for clock in PAUSED_WITH_DEPARTMENT:
        c.pause(clock)
    c.data.update(assignment_id=a.id, department=a.department, reason=reason, text=text)
    return "paused"


def _resume(c: _Ctx) -> str:
    text = c.text("text", required=False)
    a = c.resolve(CAN["resume"])
    c.t.set_assignment(replace(a, status=AS.IN_PROGRESS, pause=None))
    c.resume(clock_key(ClockName.HANDLING, a.id))
    if not any(other.status == AS.PAUSED for other in c.t.assignments):
        for clock in PAUSED_WITH_DEPARTMENT:
            c.resume(clock)
    c.data.update(assignment_id=a.id, department=a.department, reason=a.pause.reason if a.pause else None,
                  text=text)
    return "resumed"


def _request_extension(c: _Ctx) -> str:
    reason = c.text("reason")
    new_due = c.due_date("new_due")
    a = c.resolve(CAN["request_extension"])
    state = c.t.clocks[clock_key(ClockName.HANDLING, a.id)]
    if c.now > state.due:
        raise IllegalTransition("an extension must be requested before the deadline",
                                details={"due": state.due.isoformat()})
    if new_due <= state.due:
        raise ValidationFailed("the new deadline must be later", details={"new_due": f"after {state.due.isoformat()}"})
    c.t.set_assignment(replace(a, extension_request=ExtensionRequest(
        reason=reason, new_due=new_due, requested_at=c.now, requested_by=c.actor.username)))
    c.data.update(assignment_id=a.id, department=a.department, reason=reason, new_due=new_due.isoformat(),
                  due=state.due.isoformat())
    return "extension_requested"


def _decide_extension(c: _Ctx) -> str:
    decision = c.choice("decision", {"approve", "refuse"})
    text = c.text("text", required=decision == "refuse")
    a = c.pending("extension_request")
    request = a.extension_request
    assert request is not None
    if decision == "approve":
        key = clock_key(ClockName.HANDLING, a.id)
        state = c.t.clocks.get(key)
        if state is None or state.status != "running":
            raise IllegalTransition("the handling clock is not running", details={"assignment_id": a.id})
        c.t.clocks[key] = extend_clock(state, request.new_due)
        verification = c.t.clocks.get(ClockName.REPORT_VERIFICATION.value)
        if verification is not None and verification.status == "running" and request.new_due > verification.due:
            c.t.clocks[ClockName.REPORT_VERIFICATION.value] = extend_clock(verification, request.new_due)
    c.t.set_assignment(replace(c.t.assignment(a.id), extension_request=None))
    c.data.update(assignment_id=a.id, department=a.department, decision=decision, text=text,
                  new_due=request.new_due.isoformat())
    return "extension_decided"


def _request_return(c: _Ctx) -> str:
    reason = c.text("reason")
    basis = c.text("basis")
    a = c.resolve(CAN["request_return"])
    c.t.set_assignment(replace(a, return_request=ReturnRequest(
        reason=reason, basis=basis, requested_at=c.now, requested_by=c.actor.username)))
    c.data.update(assignment_id=a.id, department=a.department, reason=reason, basis=basis)
    return "return_requested"


def _decide_return(c: _Ctx) -> str:
    """Approve: the whole ticket goes back to the centre, which re-dispatches it (Art. 41:
    a department never hands a ticket to a peer). Refuse: the department keeps it."""
    decision = c.choice("decision", {"approve", "refuse"})
    text = c.text("text", required=decision == "refuse")
    a = c.pending("return_request")
    c.data.update(assignment_id=a.id, department=a.department, decision=decision, text=text)
    if decision == "refuse":
        c.t.set_assignment(replace(a, return_request=None))
        return "return_decided"
    for other in c.t.active_assignments:
        c.end_assignment(other, AS.RETURNED if other.id == a.id else AS.WITHDRAWN)
    for clock in PAUSED_WITH_DEPARTMENT:
        c.resume(clock)  # nothing pauses them any more
    c.t.dispatch_mode = None
    c.t.status = S.TO_DISPATCH
    return "return_decided"


def _ready_for_review(t: Ticket) -> bool:
    active = t.active_assignments
    return bool(active) and all(a.status == AS.SUBMITTED for a in active)


def _submit_closure(c: _Ctx) -> str:
    t = c.t
    facts = c.text("facts", max_len=MAX_FACTS)
    a = c.resolve(CAN["submit_closure"])
    allowed = RESULTS[t.kind]
    if a.role == AR.ASSIST:
        result = c.choice("result", allowed, required=False)
    elif len(allowed) == 1 and c.params.get("result") is None:
        result = next(iter(allowed))
    else:
        result = c.choice("result", allowed)
    reason = c.choice("termination_reason", set(TerminationReason), required=result == MediationResult.TERMINATED)
    if reason is not None and result != MediationResult.TERMINATED:
        raise ValidationFailed("a termination reason only with result terminated",
                               details={"termination_reason": "only when result is terminated"})
    if a.role == AR.LEAD and _assists_pending(t):
        raise IllegalTransition("the lead submits only after every assisting department has",
                                details={"assists_pending": _assists_pending(t)})
    closure = Closure(result=result, facts=facts, submitted_at=c.now, submitted_by=c.actor.username,
                      termination_reason=reason)
    t.set_assignment(replace(a, status=AS.SUBMITTED, closure=closure, extension_request=None))
    c.stop(clock_key(ClockName.HANDLING, a.id), primary=True)
    if result == MediationResult.TERMINATED:
        c.start(ClockName.TERMINATION_NOTICE, a.id)
    ready = _ready_for_review(t)
    if ready:
        c.stop(ClockName.MEDIATION.value)
        c.stop(ClockName.REPORT_VERIFICATION.value)
        c.start(ClockName.CLOSURE_REVIEW)
        t.status = S.CLOSURE_REVIEW
    c.data.update(assignment_id=a.id, department=a.department, role=a.role, result=result,
                  termination_reason=reason, facts=facts, ready_for_review=ready,
                  extension_request_withdrawn=a.extension_request is not None)
    return "closure_submitted"


def _record_termination_notice(c: _Ctx) -> str:
    text = c.text("text", required=False)
    a = c.resolve(CAN["record_termination_notice"])
    c.stop(clock_key(ClockName.TERMINATION_NOTICE, a.id), primary=True)
    c.data.update(assignment_id=a.id, department=a.department, text=text)
    return "termination_notice_recorded"


# --- handlers: review, reply, end of life ---------------------------------------------------


def _review_closure(c: _Ctx) -> str:
    t = c.t
    decision = c.choice("decision", {"approve", "rework", "transfer"})
    text = c.text("text", required=decision != "approve")
    for name, only in (("reply", "approve"), ("assignment_ids", "rework"), ("department", "transfer"),
                       ("district", "transfer")):
        if name in c.params and decision != only:
            raise ValidationFailed(f"{name} only with decision {only}", details={name: f"only with {only}"})
    submitted = [a for a in t.active_assignments if a.status == AS.SUBMITTED]
    c.data.update(decision=decision, text=text)
    if decision == "approve":
        reply = c.text("reply", required=False, max_len=MAX_FACTS)
        c.stop(ClockName.CLOSURE_REVIEW.value, primary=True)
        for a in submitted:
            t.set_assignment(replace(a, status=AS.COMPLETED, ended_at=c.now))
        c.reply(reply, "review")
        if t.channel == Channel.WEB:
            t.status = S.PENDING_EVALUATION
        else:
            t.status = S.PENDING_CALLBACK
            c.start(ClockName.CALLBACK)
        c.data["assignment_ids"] = [a.id for a in submitted]
        return "closure_reviewed"
    if decision == "rework":
        chosen = _rework_selection(c, submitted)
        c.stop(ClockName.CLOSURE_REVIEW.value, primary=True)
        for a in chosen:
            c.rework(a)
        c.reopen_ticket_clocks()
        t.rework_count += 1
        t.status = S.IN_HANDLING
        c.data["assignment_ids"] = [a.id for a in chosen]
        return "closure_reviewed"
    department = c.code("department")
    if department in t.departments:
        raise ValidationFailed("transfer to another department", details={"department": "already handling it"})
    district = c.code("district", required=False)
    c.stop(ClockName.CLOSURE_REVIEW.value, primary=True)
    for a in t.active_assignments:
        c.end_assignment(a, AS.TRANSFERRED)
    new = c.add_assignment(department, AR.SINGLE)
    if district is not None:
        t.district = district
    t.dispatch_mode = DispatchMode.SINGLE
    t.status = S.IN_HANDLING
    c.data.update(to_department=department, district=t.district,
                  assignments=[{"id": new.id, "department": new.department, "role": new.role}])
    return "closure_reviewed"


def _rework_selection(c: _Ctx, submitted: list[Assignment]) -> list[Assignment]:
    """Which shares go back: those named (default all); reworking an assist reworks the lead too,
    since the lead's closure summarises the assists' parts."""
    raw = c.params.get("assignment_ids")
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


def _feedback(c: _Ctx, via: str) -> Feedback:
    satisfaction = c.choice("satisfaction", set(Satisfaction))
    solved = c.flag("solved")
    comment = c.text("comment", required=False)
    c.data.update(satisfaction=satisfaction, solved=solved, comment=comment)
    return Feedback(satisfaction=satisfaction, solved=solved, at=c.now, by=c.actor.username, via=via,
                    comment=comment)


def _record_callback(c: _Ctx) -> str:
    feedback = _feedback(c, "callback")
    reply = c.text("reply", required=False, max_len=MAX_FACTS)
    c.stop(ClockName.CALLBACK.value, primary=True)
    c.t.feedback.append(feedback)
    c.reply(reply, "callback")
    c.t.status = S.REPLIED
    return "callback_recorded"


def _evaluate(c: _Ctx) -> str:
    c.t.feedback.append(_feedback(c, "evaluation"))
    c.t.status = S.REPLIED
    return "evaluated"


def _reopen(c: _Ctx) -> str:
    t = c.t
    reason = c.text("reason")
    if not _may_reopen(t, c.actor):
        raise IllegalTransition("only a handled ticket the citizen is dissatisfied with is reopened "
                                "(a manager may reopen any handled ticket)",
                                details={"resolution": t.resolution,
                                         "satisfaction": t.last_feedback.satisfaction if t.last_feedback else None})
    done = [a for a in t.assignments if a.status == AS.COMPLETED]
    for a in done:
        c.rework(a)
    c.reopen_ticket_clocks()
    c.stop(ClockName.CALLBACK.value)
    t.resolution = None
    t.closed_at = None
    t.reopen_count += 1
    t.status = S.IN_HANDLING
    c.data.update(reason=reason, assignment_ids=[a.id for a in done])
    return "reopened"


def _close(c: _Ctx) -> str:
    text = c.text("text", required=False)
    pending = [a.id for a in c.t.assignments if _termination_running(c.t, a)]
    if pending:
        raise IllegalTransition("a termination notice (Art. 23) is still to be recorded",
                                details={"assignment_ids": pending})
    c.close(Resolution.COMPLETED)
    c.data["text"] = text
    return "closed"


def _archive(c: _Ctx) -> str:
    c.t.status = S.ARCHIVED
    c.t.archived_at = c.now
    return "archived"


# --- handlers: repeats, joint complaints, urging, warnings ----------------------------------


def _merge_repeat(c: _Ctx) -> str:
    t = c.t
    facts = c.text("facts", max_len=MAX_FACTS)
    request = c.text("request", required=False)
    channel = c.choice("channel", set(Channel), required=False)
    t.merged_facts.append(MergedFacts(at=c.now, by=c.actor.username, facts=facts, channel=channel, request=request))
    restarted = [key for key, state in t.clocks.items()
                 if clock_name(key) in RESTART_ON_MERGE and state.status != "stopped" and c.restart(key)]
    c.data.update(facts=facts, request=request, source=channel, restarted=sorted(restarted))
    return "repeat_merged"


def _join(c: _Ctx) -> str:
    t = c.t
    party = parse_joining_party(c.params.get("complainant"), t.kind)
    source = c.text("source_ticket_id", required=False, max_len=64)
    phones = {normalize_phone(p.phone) for p in [t.complainant, *(j.party for j in t.co_complainants)] if p.phone}
    if party.phone and normalize_phone(party.phone) in phones:
        raise Conflict("this complainant is already on the ticket", details={"complainant.phone": "already joined"})
    t.co_complainants.append(JoinedComplainant(at=c.now, by=c.actor.username, party=party, source_ticket_id=source))
    c.data.update(complainants=len(t.co_complainants) + 1, source_ticket_id=source)
    return "complainant_joined"


_URGING_SOURCE = {Role.SYSTEM: "system", Role.PARTNER: "upper_level"}


def _urge(c: _Ctx) -> str:
    t = c.t
    text = c.text("text")
    clock = c.params.get("clock")
    if clock is not None and (not isinstance(clock, str) or clock not in t.clocks):
        raise ValidationFailed("no such clock on this ticket", details={"clock": "no such clock"})
    department = c.params.get("department")
    if department is None:
        candidates = _responsible_departments(t)
        if len(candidates) > 1:
            raise ValidationFailed("several departments are responsible",
                                   details={"department": "required: one of " + ", ".join(candidates)})
        department = candidates[0]
    elif department != CENTER:
        check_code(department, "department")
        if department not in t.departments:
            raise ValidationFailed("that department holds no active share",
                                   details={"department": "not handling this ticket"})
    urging = Urging(id=f"U{len(t.urgings) + 1}", at=c.now, by=c.actor.username, department=department, text=text,
                    source=_URGING_SOURCE.get(c.actor.role, "manual"), clock=clock)
    t.urgings.append(urging)
    c.data.update(urging_id=urging.id, department=department, source=urging.source, clock=clock, text=text)
    return "urged"


def _answer_urging(c: _Ctx) -> str:
    t = c.t
    text = c.text("text")
    uid = c.params.get("urging_id")
    urging = next((u for u in t.urgings if u.id == uid), None)
    if urging is None:
        raise ValidationFailed("no such urging", details={"urging_id": "no such urging"})
    if not _urging_in_scope(c.actor, urging, t):
        raise Forbidden("the urging is addressed to another department", details={"urging_id": urging.id})
    if urging.answered_at is not None:
        raise Conflict("the urging is already answered", details={"urging_id": urging.id})
    t.urgings = [replace(u, answered_at=c.now, answered_by=c.actor.username, answer=text) if u.id == urging.id else u
                 for u in t.urgings]
    c.data.update(urging_id=urging.id, department=urging.department, text=text)
    return "urging_answered"


def _record_warning(c: _Ctx) -> str:
    key = c.params.get("clock")
    level = c.choice("level", {"yellow", "red"})
    state = c.t.clocks.get(key) if isinstance(key, str) else None
    if state is None:
        raise ValidationFailed("no such clock on this ticket", details={"clock": "no such clock"})
    if state.status != "running":
        raise IllegalTransition("the clock is not running", details={"clock": key, "clock_status": state.status})
    updated = with_warning(state, level)
    if updated is state:
        raise Conflict("that warning is already recorded", details={"clock": key, "warning": state.warning})
    c.t.clocks[key] = updated
    c.data.update(clock=key, level=level, due=state.due.isoformat())
    return "warning_recorded"


def _supervise(c: _Ctx) -> str:
    t = c.t
    reason = c.text("reason")
    department = c.params.get("department")
    if department is not None and department != CENTER:
        check_code(department, "department")
    uid = c.params.get("urging_id")
    if uid is not None and not any(u.id == uid for u in t.urgings):
        raise ValidationFailed("no such urging", details={"urging_id": "no such urging"})
    if uid is not None and any(s.urging_id == uid for s in t.supervisions):
        raise Conflict("already supervised for this urging", details={"urging_id": uid})
    if department is None and uid is not None:
        department = next(u.department for u in t.urgings if u.id == uid)
    t.supervisions.append(Supervision(at=c.now, by=c.actor.username, reason=reason, department=department,
                                      urging_id=uid))
    c.data.update(reason=reason, department=department, urging_id=uid)
    return "supervised"


HANDLERS: dict[str, Callable[[_Ctx], str]] = {
    "accept": _accept, "decline": _decline, "answer_directly": _answer_directly,
    "review_non_acceptance": _review_non_acceptance, "dispatch": _dispatch, "sign": _sign,
    "add_note": _add_note, "pause": _pause, "resume": _resume, "request_extension": _request_extension,
    "decide_extension": _decide_extension, "request_return": _request_return, "decide_return": _decide_return,
    "submit_closure": _submit_closure, "review_closure": _review_closure,
    "record_termination_notice": _record_termination_notice, "record_callback": _record_callback,
    "evaluate": _evaluate, "reopen": _reopen, "close": _close, "archive": _archive,
    "merge_repeat": _merge_repeat, "join": _join, "urge": _urge, "answer_urging": _answer_urging,
    "record_warning": _record_warning, "supervise": _supervise,
}

assert set(HANDLERS) == ACTIONS == set(PARAMS), "every action needs a row, a handler and its parameters"

__all__ = [
    "TRANSITIONS", "ACTIONS", "PARAMS", "Transition", "apply", "allowed_actions", "can_apply",
    "clock_key", "clock_name", "in_scope", "supervision_due",
]
