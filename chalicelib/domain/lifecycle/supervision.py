"""Lifecycle stage: urging, warnings and supervision (DOMAIN.md lifecycle step 7;
docs/domain.md "Code map"). When the system takes them is decided in ``domain/deadlines.py``.
"""
from __future__ import annotations

from dataclasses import replace

from chalicelib.domain.deadlines import working_departments
from chalicelib.domain.clocks import with_warning
from chalicelib.domain.errors import Conflict, Forbidden, IllegalTransition, ValidationFailed
from chalicelib.domain.intake import check_code
from chalicelib.domain.lifecycle.action import Action, row
from chalicelib.domain.lifecycle.context import Context, in_scope
from chalicelib.domain.ticket import CENTER, Actor, Role, Supervision, Ticket, Urging
from chalicelib.domain.vocabulary import CENTRE_ROLES, DEPARTMENT_ROLES, MANAGER, OPEN, SYSTEM, URGERS


_URGING_SOURCE = {Role.SYSTEM: "system", Role.PARTNER: "upper_level"}


def _urging_in_scope(actor: Actor, urging: Urging, t: Ticket) -> bool:
    if urging.department == CENTER:
        return actor.role in CENTRE_ROLES
    return any(in_scope(actor, a) for a in t.assignments if a.department == urging.department)


def _urge(ctx: Context) -> str:
    t = ctx.ticket
    text = ctx.text("text")
    clock = ctx.params.get("clock")
    if clock is not None and (not isinstance(clock, str) or clock not in t.clocks):
        raise ValidationFailed("no such clock on this ticket", details={"clock": "no such clock"})
    department = ctx.params.get("department")
    if department is None:
        candidates = working_departments(t)
        if len(candidates) > 1:
            raise ValidationFailed("several departments are responsible",
                                   details={"department": "required: one of " + ", ".join(candidates)})
        department = candidates[0]
    elif department != CENTER:
        check_code(department, "department")
        if department not in t.departments:
            raise ValidationFailed("that department holds no active share",
                                   details={"department": "not handling this ticket"})
    urging = Urging(id=f"U{len(t.urgings) + 1}", at=ctx.now, by=ctx.actor.username, department=department, text=text,
                    source=_URGING_SOURCE.get(ctx.actor.role, "manual"), clock=clock)
    t.urgings.append(urging)
    ctx.data.update(urging_id=urging.id, department=department, source=urging.source, clock=clock, text=text)
    return "urged"


def _answer_urging(ctx: Context) -> str:
    t = ctx.ticket
    text = ctx.text("text")
    uid = ctx.params.get("urging_id")
    urging = next((u for u in t.urgings if u.id == uid), None)
    if urging is None:
        raise ValidationFailed("no such urging", details={"urging_id": "no such urging"})
    if not _urging_in_scope(ctx.actor, urging, t):
        raise Forbidden("the urging is addressed to another department", details={"urging_id": urging.id})
    if urging.answered_at is not None:
        raise Conflict("the urging is already answered", details={"urging_id": urging.id})
    t.urgings = [replace(u, answered_at=ctx.now, answered_by=ctx.actor.username, answer=text)
                 if u.id == urging.id else u for u in t.urgings]
    ctx.data.update(urging_id=urging.id, department=urging.department, text=text)
    return "urging_answered"


def _record_warning(ctx: Context) -> str:
    key = ctx.params.get("clock")
    level = ctx.choice("level", {"yellow", "red"})
    state = ctx.ticket.clocks.get(key) if isinstance(key, str) else None
    if state is None:
        raise ValidationFailed("no such clock on this ticket", details={"clock": "no such clock"})
    if state.status != "running":
        raise IllegalTransition("the clock is not running", details={"clock": key, "clock_status": state.status})
    updated = with_warning(state, level)
    if updated is state:
        raise Conflict("that warning is already recorded", details={"clock": key, "warning": state.warning})
    ctx.ticket.clocks[key] = updated
    ctx.data.update(clock=key, level=level, due=state.due.isoformat())
    return "warning_recorded"


def _supervise(ctx: Context) -> str:
    t = ctx.ticket
    reason = ctx.text("reason")
    department = ctx.params.get("department")
    if department is not None and department != CENTER:
        check_code(department, "department")
    uid = ctx.params.get("urging_id")
    if uid is not None and not any(u.id == uid for u in t.urgings):
        raise ValidationFailed("no such urging", details={"urging_id": "no such urging"})
    if uid is not None and any(s.urging_id == uid for s in t.supervisions):
        raise Conflict("already supervised for this urging", details={"urging_id": uid})
    if department is None and uid is not None:
        department = next(u.department for u in t.urgings if u.id == uid)
    t.supervisions.append(Supervision(at=ctx.now, by=ctx.actor.username, reason=reason, department=department,
                                      urging_id=uid))
    ctx.data.update(reason=reason, department=department, urging_id=uid)
    return "supervised"


def _urging_open_to(t: Ticket, actor: Actor) -> bool:
    return any(u.answered_at is None and _urging_in_scope(actor, u, t) for u in t.urgings)


def _warning_possible(t: Ticket, actor: Actor) -> bool:
    return any(s.status == "running" and s.warning != "red" for s in t.clocks.values())


ROWS: tuple[Action, ...] = (
    # row(action, from statuses, roles, parameters, to statuses ("=": may stay), handler, guard/share)
    row("urge", OPEN, URGERS, "department text clock", "=",
        _urge),
    row("answer_urging", OPEN, DEPARTMENT_ROLES | CENTRE_ROLES, "urging_id text", "=",
        _answer_urging, guard=_urging_open_to),
    row("record_warning", OPEN, SYSTEM, "clock level", "=",
        _record_warning, guard=_warning_possible),
    row("supervise", OPEN, SYSTEM | MANAGER, "reason department urging_id", "=",
        _supervise),
)
