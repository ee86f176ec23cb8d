"""Automatic dispatch (自动派单): the platform dispatches a ticket by itself when the model is sure.

A stream consumer watches tickets reach ``to_dispatch`` through acceptance. When the model's
first department (stored on the ticket at registration) clears the threshold in force (the
model's own for that department, or the admin's override), the text is familiar to the model,
auto-dispatch is on, the live guard has not stopped the department nor raised its threshold above
the probability (:mod:`chalicelib.dispatch.guard`) and the channel is not excluded, the SYSTEM actor dispatches the ticket to that one department in the located district; the timeline
event names the model version and the probability. Otherwise the ticket waits in the
dispatcher's queue with the model's top 3.

The consumer re-reads the ticket before acting, and a ticket a dispatcher already took, or that
comes back to ``to_dispatch`` after a return (Art. 41: the centre decides again), is left alone,
so replays of the stream are harmless.

A ticket use case, so it lives in the services layer and changes the ticket through the one door
(:class:`chalicelib.services.tickets.TicketService`); :mod:`chalicelib.dispatch` keeps the model
side (predictor, guard, taxonomy) and never imports services (the layers of docs/architecture.md).
"""
from __future__ import annotations

from typing import Any

from chalicelib import streams
from chalicelib.dispatch import guard
from chalicelib.domain.errors import ConcurrentModification, IllegalTransition, NotFound, ValidationFailed
from chalicelib.domain.ticket import BASIS_POINTS, SYSTEM_ACTOR, DispatchRecommendation, Status, Ticket
from chalicelib.domain.vocabulary import ACCEPTING  # the statuses before the acceptance decision
from chalicelib.observability import count, logger
from chalicelib.services import recommend
from chalicelib.services import tickets as service


def _percent(bp: int) -> str:
    return f"{bp / (BASIS_POINTS / 100):.1f}%"


def department_name(code: str) -> str:
    """The department's name in the demo taxonomy (the code when it is not there)."""
    from chalicelib.dispatch.taxonomy import departments

    return next((d.name for d in departments() if d.code == code), code)


def why_not(ticket: Ticket, settings: recommend.DispatchSettings, guarded: "guard.GuardState | None" = None
            ) -> str | None:
    """Why the platform leaves ``ticket`` to a dispatcher (None: it may dispatch it itself).

    ``guarded`` is the live guard of the top department (:mod:`chalicelib.dispatch.guard`): a
    stopped department is never dispatched automatically, a raised threshold adds to the others.
    """
    if not settings.auto_dispatch:
        return "disabled"
    if ticket.status != Status.TO_DISPATCH:
        return "not_to_dispatch"
    if ticket.assignments:
        return "dispatched_before"  # back from a return: the centre decides again
    rec = ticket.recommendation
    if rec is None or rec.top is None:
        return "no_recommendation"
    if ticket.channel in settings.exclude_channels:
        return "channel_excluded"
    if any(m.at > rec.at for m in ticket.merged_facts):
        return "facts_changed"  # the model has not read the merged facts
    if rec.abstain == "unfamiliar":
        return "unfamiliar"  # far from anything the model knows: no override makes it sure
    if guarded is not None and guarded.state == guard.PAUSED:
        return "department_paused"
    if settings.min_probability_bp is not None:
        if rec.top.probability_bp < settings.min_probability_bp:
            return "below_threshold"
    elif not rec.auto:  # the model's own judgement, made on the unrounded probability
        return "below_threshold"
    if guarded is not None and guarded.threshold_bp is not None and rec.top.probability_bp < guarded.threshold_bp:
        return "below_guard_threshold"
    return None


def dispatch_params(ticket: Ticket, rec: DispatchRecommendation, threshold_bp: int) -> dict[str, Any]:
    """The ``dispatch`` action the platform takes: one department, the located district, the model."""
    top = rec.top
    assert top is not None
    params: dict[str, Any] = {
        "mode": "single", "department": top.department,
        "auto": {"model_version": rec.model_version, "probability_bp": top.probability_bp},
        "text": (f"系统自动分拨：智能分拨模型 {rec.model_version} 推荐“{department_name(top.department)}”，"
                 f"概率 {_percent(top.probability_bp)}（自动分拨阈值 {_percent(threshold_bp)}）"),
    }
    located = rec.jurisdiction
    if (ticket.district is None and located is not None and located.district
            and (located.confidence_bp or 0) >= recommend.CONFIDENT_DISTRICT_BP):
        params["district"] = located.district
    return params


def auto_dispatch(ticket_id: str) -> str:
    """Dispatch one accepted ticket by itself if the model is sure; returns what happened."""
    settings = recommend.dispatch_settings()
    if not settings.auto_dispatch:
        return "disabled"
    door = service.default()
    try:
        ticket = door.repository.get(ticket_id)
    except NotFound:
        return "not_found"
    rec = ticket.recommendation
    guarded = guard.state_of(rec.top.department) if rec is not None and rec.top is not None else None
    reason = why_not(ticket, settings, guarded)
    if reason is not None:
        return reason
    assert rec is not None
    threshold_bp = settings.threshold_bp(rec.threshold_bp)
    if guarded is not None and guarded.threshold_bp is not None:
        threshold_bp = max(threshold_bp, guarded.threshold_bp)
    params = dispatch_params(ticket, rec, threshold_bp)
    try:
        door.act(ticket_id, "dispatch", params, SYSTEM_ACTOR)
    except (ConcurrentModification, IllegalTransition):
        return "taken"  # a dispatcher was quicker: theirs stands
    except ValidationFailed as exc:  # e.g. the model knows a department the directory no longer has
        logger.warning("automatic dispatch refused", extra={"ticket_id": ticket_id, "details": exc.details})
        return "refused"
    count("AutoDispatched")
    logger.info("ticket dispatched automatically",
                extra={"ticket_id": ticket_id, "model_version": rec.model_version, "department": params["department"]})
    return "dispatched"


def _accepted_with_recommendation(change: streams.TableChange) -> bool:
    """A ticket just accepted (to ``to_dispatch``) that carries a recommendation."""
    if not streams.is_ticket(change) or change.new is None or change.old is None:
        return False
    if change.new.get("status") != Status.TO_DISPATCH or change.old.get("status") not in ACCEPTING:
        return False
    data = change.new.get("data")
    return isinstance(data, dict) and bool(data.get("recommendation"))


@streams.consumer("auto_dispatch", accepts=_accepted_with_recommendation)
def on_accepted(changes: list[streams.TableChange]) -> dict[str, str]:
    """Try each newly accepted ticket once (storage errors raise: the batch is retried)."""
    results: dict[str, str] = {}
    for change in changes:
        ticket_id = change.pk.removeprefix("T#")
        results[ticket_id] = auto_dispatch(ticket_id)
    return results
