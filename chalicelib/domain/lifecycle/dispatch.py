"""Lifecycle stage: dispatch (DOMAIN.md lifecycle step 3; docs/domain.md "Code map").

One department, lead + assists, several in parallel, or down to a lower-level platform; the
system dispatches by itself on the model's first choice.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.domain.clocks import ClockName
from chalicelib.domain.errors import Forbidden, ValidationFailed
from chalicelib.domain.intake import check_code, check_text
from chalicelib.domain.lifecycle.action import Action, row
from chalicelib.domain.lifecycle.context import Context
from chalicelib.domain.ticket import (
    BASIS_POINTS,
    AssignmentRole as AR,
    DispatchMode,
    Role,
    Status as S,
)
from chalicelib.domain.vocabulary import DISPATCHER, SYSTEM


def _dispatch_plan(ctx: Context) -> list[tuple[str, str]]:
    """(department, assignment role) pairs for the requested dispatch mode."""
    mode = ctx.choice("mode", set(DispatchMode))
    mode_keys = {"single": {"department"}, "lead_assist": {"lead", "assists"},
                 "parallel": {"departments"}, "lower_platform": {"platform"}}
    stray = {"department", "lead", "assists", "departments", "platform"} & set(ctx.params) - mode_keys[mode]
    if stray:
        raise ValidationFailed(f"not used by mode {mode}", details={k: "not used by this mode" for k in stray})
    if mode == DispatchMode.SINGLE:
        return [(ctx.code("department"), AR.SINGLE)]
    if mode == DispatchMode.LOWER_PLATFORM:
        return [(ctx.code("platform"), AR.LOWER_PLATFORM)]
    name = "departments" if mode == DispatchMode.PARALLEL else "assists"
    raw = ctx.params.get(name)
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed(f"invalid {name}", details={name: "a non-empty list of department codes"})
    codes = [check_code(v, f"{name}[{i}]") for i, v in enumerate(raw)]
    if mode == DispatchMode.PARALLEL:
        if len(codes) < 2:
            raise ValidationFailed("parallel needs two departments", details={name: "at least two departments"})
        plan = [(code, AR.PARALLEL) for code in codes]
    else:
        plan = [(ctx.code("lead"), AR.LEAD)] + [(code, AR.ASSIST) for code in codes]
    departments = [d for d, _ in plan]
    if len(set(departments)) != len(departments):
        raise ValidationFailed("a department appears twice", details={name: "departments must differ"})
    return plan


def _dispatch(ctx: Context) -> str:
    t = ctx.ticket
    plan = _dispatch_plan(ctx)
    auto = _auto_dispatch(ctx, plan) if "auto" in ctx.params else None
    if "district" in ctx.params:
        t.district = ctx.code("district", required=False)
    text = ctx.text("text", required=False)
    created = [ctx.add_assignment(dept, role) for dept, role in plan]
    ctx.stop(ClockName.DISPATCH.value, primary=True)
    t.dispatch_mode = ctx.params["mode"]
    t.status = S.IN_HANDLING
    ctx.data.update(mode=t.dispatch_mode, district=t.district, text=text,
                  assignments=[{"id": a.id, "department": a.department, "role": a.role} for a in created])
    if auto is not None:
        ctx.data["auto_dispatch"] = auto
    return "dispatched"


def _auto_dispatch(ctx: Context, plan: list[tuple[str, str]]) -> dict[str, Any]:
    """The model behind a dispatch the platform made by itself: ``{"model_version", "probability_bp"}``.

    Only the system dispatches by itself, to one department (the model's first choice).
    """
    if ctx.actor.role != Role.SYSTEM:
        raise Forbidden("only the system dispatches on the model's recommendation", details={"auto": "system only"})
    raw = ctx.params.get("auto")
    if not isinstance(raw, Mapping) or set(raw) != {"model_version", "probability_bp"}:
        raise ValidationFailed("invalid auto", details={"auto": "an object with model_version and probability_bp"})
    version = check_text(raw.get("model_version"), "auto.model_version", max_len=64)
    probability = raw.get("probability_bp")
    if isinstance(probability, bool) or not isinstance(probability, int) or not 0 <= probability <= BASIS_POINTS:
        raise ValidationFailed("invalid auto.probability_bp", details={"auto.probability_bp": "an integer 0..10000"})
    if len(plan) != 1 or plan[0][1] != AR.SINGLE:
        raise ValidationFailed("an automatic dispatch goes to one department", details={"mode": "must be single"})
    return {"model_version": version, "probability_bp": probability}


ROWS: tuple[Action, ...] = (
    # row(action, from statuses, roles, parameters, to statuses ("=": may stay), handler, guard/share)
    row("dispatch", {S.TO_DISPATCH}, DISPATCHER | SYSTEM,
        "mode department lead assists departments platform district text auto", "in_handling", _dispatch),
)
