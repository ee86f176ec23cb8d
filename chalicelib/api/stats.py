"""Statistics, templates, drill-down, assessment, hotspots and alerts (the managers' figures).

Every figure comes from the analytics counters. Department roles (handler, dept_lead) see their
own department's figures only; agents and the centre see the city.
"""
from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.analytics import alerts, assessment, drilldown, hotspots, measures, statistics, templates
from chalicelib.analytics import category_breakdown, wall_refresh
from chalicelib.analytics import period as periods
from chalicelib.analytics.measures import DIMENSION_LABELS, MEASURES, RATES
from chalicelib.api.auth import DEPARTMENT_ROLES
from chalicelib.api.routing import RequestContext, route
from chalicelib.domain.errors import Forbidden, ValidationFailed
from chalicelib.services import clock

stats_bp = Blueprint(__name__)

STATS_ROLES = ("agent", "dispatcher", "handler", "dept_lead", "manager")
CENTRE_ROLES = ("dispatcher", "manager")
MANAGER = ("manager",)
CODE = {"type": "string", "minLength": 1, "maxLength": 100}
PERIOD_QUERY_PROPS = {"period": {"type": "string", "maxLength": 40}, "from": {"type": "string", "format": "date"},
                      "to": {"type": "string", "format": "date"}}
PERIOD_QUERY = {"type": "object", "properties": PERIOD_QUERY_PROPS}
BY_QUERY = {"type": "object", "properties": {**PERIOD_QUERY_PROPS, "by": {"type": "string", "maxLength": 20},
                                             "top": {"type": "string", "pattern": "^[1-9][0-9]{0,2}$"}}}
PERIOD_SPEC = {"anyOf": [{"type": "string", "maxLength": 40},
                         {"type": "object", "properties": {"from": {"type": "string"}, "to": {"type": "string"},
                                                           "relative": {"type": "string"}},
                          "additionalProperties": False}]}
SPEC_PROPS = {
    "dimensions": {"type": "array", "maxItems": 2, "items": {"type": "string", "maxLength": 20}},
    "measures": {"type": "array", "minItems": 1, "maxItems": 30, "items": {"type": "string", "maxLength": 40}},
    "filters": {"type": "object", "maxProperties": 7,
                "additionalProperties": {"type": "array", "maxItems": 50, "items": CODE}},
    "top": {"type": "integer", "minimum": 1, "maximum": 2000},
    "period": PERIOD_SPEC,
}
QUERY_BODY = {"type": "object", "properties": SPEC_PROPS, "required": ["measures"], "additionalProperties": False}
TEMPLATE_BODY = {"type": "object", "properties": {
    **SPEC_PROPS, "name": {"type": "string", "minLength": 1, "maxLength": 60},
    "description": {"type": "string", "maxLength": 500}, "expected_version": {"type": "integer", "minimum": 0}},
    "required": ["name", "measures"], "additionalProperties": False}
RUN_BODY = {"type": "object", "properties": {"period": PERIOD_SPEC}, "additionalProperties": False}
DRILL_QUERY = {"type": "object", "properties": {
    **PERIOD_QUERY_PROPS, "measure": {"type": "string", "maxLength": 40},
    **{d: CODE for d in ("department", "district", "category", "kind", "channel", "agent", "respondent",
                         "category_l1", "category_l2", "category_l3")},
    "limit": {"type": "string", "pattern": "^[1-9][0-9]{0,2}$"}, "cursor": {"type": "string", "maxLength": 2000}},
    "required": ["measure"]}
RULE = {"type": "object", "properties": {"type": {"type": "string", "maxLength": 20}, "floor": {"type": "number"},
                                         "per_unit": {"type": "number"}},
        "required": ["type"], "additionalProperties": False}
INDICATOR_BODY = {"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 40}, "audience": {"type": "string", "maxLength": 20},
    "formula": {"type": "string", "maxLength": 300}, "weight": {"type": "number", "minimum": 0, "maximum": 100},
    "rule": RULE, "target": {"type": "number"}, "direction": {"type": "string", "maxLength": 10},
    "unit": {"type": "string", "maxLength": 8}, "description": {"type": "string", "maxLength": 300},
    "active": {"type": "boolean"}, "expected_version": {"type": "integer", "minimum": 0}},
    "required": ["name", "audience", "formula", "weight", "rule", "target"], "additionalProperties": False}
AUDIENCE_QUERY = {"type": "object", "properties": {"audience": {"type": "string", "maxLength": 20}}}
RUN_SCORES_BODY = {"type": "object", "properties": {"period": PERIOD_SPEC, "audience": {"type": "string"}},
                   "required": ["period", "audience"], "additionalProperties": False}
SCORES_QUERY = {"type": "object", "properties": {"period": {"type": "string", "maxLength": 40},
                                                 "audience": {"type": "string", "maxLength": 20}},
                "required": ["period", "audience"]}
TRACE_QUERY = {"type": "object", "properties": {
    "period": {"type": "string", "maxLength": 40}, "audience": {"type": "string", "maxLength": 20},
    "subject": CODE, "indicator": {"type": "string", "maxLength": 64}},
    "required": ["period", "audience", "subject", "indicator"]}
HOTSPOT_QUERY = {"type": "object", "properties": {"date": {"type": "string", "format": "date"}}}
ALERTS_QUERY = {"type": "object", "properties": {
    "kind": {"type": "string", "maxLength": 20}, "month": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
    "open": {"type": "string", "enum": ["true", "false"]}, "limit": {"type": "string", "pattern": "^[1-9][0-9]{0,2}$"}}}
ACK_BODY = {"type": "object", "properties": {"note": {"type": "string", "maxLength": 500}}, "additionalProperties": False}


def department_scope(ctx: RequestContext) -> str | None:
    """The department a caller is limited to (department roles), else None."""
    principal = ctx.principal
    assert principal is not None
    if principal.role in DEPARTMENT_ROLES:
        if not principal.department:
            raise Forbidden("a department role without a department sees no figures")
        return principal.department
    return None


def _period(ctx: RequestContext) -> periods.Period:
    return periods.from_query(ctx.query, now=clock.now())


def _username(ctx: RequestContext) -> str:
    assert ctx.principal is not None
    return ctx.principal.username


@route(stats_bp, "/stats/measures", roles=STATS_ROLES, summary="The measures, rates and dimensions statistics offer",
       tags=("statistics",))
def get_measures(ctx: RequestContext) -> dict[str, Any]:
    return {"measures": [{"name": n, "label": label, "drillable": n in measures.COUNT_MEASURES}
                         for n, label in MEASURES.items()],
            "rates": [{"name": n, "label": r[1], "unit": r[2], "formula": r[0]} for n, r in RATES.items()],
            "dimensions": [{"name": n, "label": label} for n, label in DIMENSION_LABELS.items()],
            "periods": list(periods.RELATIVE)}


@route(stats_bp, "/stats/overview", roles=STATS_ROLES, query=PERIOD_QUERY,
       summary="Overview: totals, handling, warnings, staff; change on the previous period and last year",
       tags=("statistics",))
def get_overview(ctx: RequestContext) -> dict[str, Any]:
    return statistics.overview(_period(ctx), department_scope(ctx))


@route(stats_bp, "/stats/wall", roles=CENTRE_ROLES, query=PERIOD_QUERY,
       summary="The monitoring wall in one answer: figures, daily trend, breakdowns, repeated respondents, "
               "satisfaction (counters), the current backlog per work queue, and when they were read (as_of); "
               "the last 7/30/90 days come from the answer the schedule stores every minute", tags=("statistics",))
def get_wall(ctx: RequestContext) -> dict[str, Any]:
    return wall_refresh.serve(_period(ctx))


@route(stats_bp, "/stats/events", roles=STATS_ROLES, query=BY_QUERY,
       summary="Event analysis by source, kind, category (or its level: category_l1 领域, category_l2 事项, "
               "category_l3 具体问题), "
               "district, department or respondent", tags=("statistics",))
def get_events(ctx: RequestContext) -> dict[str, Any]:
    top = int(ctx.query["top"]) if ctx.query.get("top") else None
    by = ctx.query.get("by") or "channel"
    answer = statistics.events(_period(ctx), by, department_scope(ctx), top=top)
    return category_breakdown.labelled(answer) if by == "category" else answer


@route(stats_bp, "/stats/efficiency", roles=STATS_ROLES, query=BY_QUERY,
       summary="Efficiency by department or district: timeliness, warnings, urgings, mediation results",
       tags=("statistics",))
def get_efficiency(ctx: RequestContext) -> dict[str, Any]:
    return statistics.efficiency(_period(ctx), ctx.query.get("by") or "department", department_scope(ctx))


@route(stats_bp, "/stats/integration", roles=STATS_ROLES, query=PERIOD_QUERY,
       summary="Integration: received from upper levels, reported upward, sent down, reconciled",
       tags=("statistics",))
def get_integration(ctx: RequestContext) -> dict[str, Any]:
    return statistics.integration(_period(ctx), department_scope(ctx))


@route(stats_bp, "/stats/query", method="POST", roles=STATS_ROLES, body=QUERY_BODY,
       summary="Run an ad-hoc statistics query (dimensions, measures, filters, period)", tags=("statistics",))
def post_query(ctx: RequestContext) -> dict[str, Any]:
    period = periods.parse(ctx.body.get("period", "this_month"), now=clock.now())
    return statistics.run(statistics.Query.build(period, ctx.body).scoped(department_scope(ctx)))


@route(stats_bp, "/stats/templates", roles=STATS_ROLES, summary="Saved statistics templates", tags=("statistics",))
def get_templates(ctx: RequestContext) -> dict[str, Any]:
    return {"templates": templates.list_templates()}


@route(stats_bp, "/stats/templates", method="POST", roles=MANAGER, body=TEMPLATE_BODY,
       summary="Save a statistics template", tags=("statistics",))
def post_template(ctx: RequestContext) -> tuple[int, dict[str, Any]]:
    return 201, templates.create(ctx.body, actor=_username(ctx), now=clock.now())


@route(stats_bp, "/stats/templates/{template_id}", roles=STATS_ROLES, summary="One statistics template",
       tags=("statistics",))
def get_template(ctx: RequestContext, template_id: str) -> dict[str, Any]:
    return templates.get(template_id)


@route(stats_bp, "/stats/templates/{template_id}", method="PUT", roles=MANAGER, body=TEMPLATE_BODY,
       summary="Change a statistics template (optimistic: expected_version)", tags=("statistics",))
def put_template(ctx: RequestContext, template_id: str) -> dict[str, Any]:
    if "expected_version" not in ctx.body:
        raise ValidationFailed("expected_version is required", details={"expected_version": "required"})
    data = {k: v for k, v in ctx.body.items() if k != "expected_version"}
    return templates.update(template_id, data, expected_version=ctx.body["expected_version"], actor=_username(ctx),
                            now=clock.now())


@route(stats_bp, "/stats/templates/{template_id}/run", method="POST", roles=STATS_ROLES, body=RUN_BODY,
       summary="Run a statistics template (optionally for another period)", tags=("statistics",))
def run_template(ctx: RequestContext, template_id: str) -> dict[str, Any]:
    return templates.run(template_id, period_spec=ctx.body.get("period"), department=department_scope(ctx))


@route(stats_bp, "/stats/drilldown", roles=STATS_ROLES, query=DRILL_QUERY,
       summary="The tickets behind a figure (measure, period, dimension filters), paginated", tags=("statistics",))
def get_drilldown(ctx: RequestContext) -> dict[str, Any]:
    filters = {d: ctx.query[d] for d in drilldown.FILTER_ATTRS if ctx.query.get(d)}
    department = department_scope(ctx)
    if department is not None:
        if filters.get("department", department) not in statistics.department_family(department):
            raise Forbidden("a department sees only its own figures", details={"department": department})
        if "agent" in filters or "respondent" in filters:
            raise Forbidden("this breakdown is for the centre only")
        filters.setdefault("department", department)  # its own, or one of its grassroots offices
    limit = int(ctx.query.get("limit") or 50)
    return drilldown.page(ctx.query["measure"], _period(ctx), filters, limit=limit, cursor=ctx.query.get("cursor"))


# --------------------------------------------------------------------------- assessment


@route(stats_bp, "/assessment/indicators", roles=STATS_ROLES, query=AUDIENCE_QUERY,
       summary="Assessment indicators (formula, weight, scoring rule, target) per audience", tags=("assessment",))
def get_indicators(ctx: RequestContext) -> dict[str, Any]:
    audience = ctx.query.get("audience")
    if audience is not None and audience not in assessment.AUDIENCES:
        raise ValidationFailed("invalid audience", details={"audience": "department or agent"})
    return {"indicators": assessment.indicators(audience, include_inactive=True),
            "measures": sorted(measures.MEASURE_NAMES)}


@route(stats_bp, "/assessment/indicators", method="POST", roles=MANAGER, body=INDICATOR_BODY,
       summary="Add an assessment indicator", tags=("assessment",))
def post_indicator(ctx: RequestContext) -> tuple[int, dict[str, Any]]:
    data = {k: v for k, v in ctx.body.items() if k != "expected_version"}
    return 201, assessment.create(data, actor=_username(ctx), now=clock.now())


@route(stats_bp, "/assessment/indicators/{indicator_id}", method="PUT", roles=MANAGER, body=INDICATOR_BODY,
       summary="Change an assessment indicator (optimistic: expected_version)", tags=("assessment",))
def put_indicator(ctx: RequestContext, indicator_id: str) -> dict[str, Any]:
    if "expected_version" not in ctx.body:
        raise ValidationFailed("expected_version is required", details={"expected_version": "required"})
    data = {k: v for k, v in ctx.body.items() if k != "expected_version"}
    return assessment.update(indicator_id, data, expected_version=ctx.body["expected_version"],
                             actor=_username(ctx), now=clock.now())


@route(stats_bp, "/assessment/runs", method="POST", roles=MANAGER, body=RUN_SCORES_BODY,
       summary="Compute and keep the scores of a period now (the monthly schedule also does)",
       tags=("assessment",))
def post_run(ctx: RequestContext) -> dict[str, Any]:
    period = periods.parse(ctx.body["period"], now=clock.now())
    return assessment.run(period, ctx.body["audience"], actor=_username(ctx), now=clock.now())


def _scores_for(ctx: RequestContext) -> tuple[dict[str, Any], str | None]:
    audience = ctx.query["audience"]
    if audience not in assessment.AUDIENCES:
        raise ValidationFailed("invalid audience", details={"audience": "department or agent"})
    period = periods.parse(ctx.query["period"], now=clock.now())
    principal = ctx.principal
    assert principal is not None
    own: str | None = None
    if principal.role in DEPARTMENT_ROLES:
        if audience != "department":
            raise Forbidden("departments see department scores")
        own = department_scope(ctx)
    elif principal.role == "agent":
        if audience != "agent":
            raise Forbidden("agents see agent scores")
        own = principal.username
    result = assessment.stored(period, audience) or assessment.compute(period, audience)
    return result, own


@route(stats_bp, "/assessment/scores", roles=STATS_ROLES, query=SCORES_QUERY,
       summary="Scores of a period, ranked (a department or an agent sees its own row)", tags=("assessment",))
def get_scores(ctx: RequestContext) -> dict[str, Any]:
    result, own = _scores_for(ctx)
    return assessment.scoped(result, own)


@route(stats_bp, "/assessment/trace", roles=STATS_ROLES, query=TRACE_QUERY,
       summary="How a score was made: the indicator's inputs and the tickets behind each", tags=("assessment",))
def get_trace(ctx: RequestContext) -> dict[str, Any]:
    result, own = _scores_for(ctx)
    subject = ctx.query["subject"]
    assert ctx.principal is not None
    mine = {own} | (statistics.department_family(own) if own and ctx.principal.role in DEPARTMENT_ROLES else set())
    if own is not None and subject not in mine:  # a department lead: its own and its grassroots offices'
        raise Forbidden("you may trace your own score only")
    traced = assessment.trace(result, subject, ctx.query["indicator"])
    period = periods.parse(ctx.query["period"], now=clock.now())
    for entry in traced["drilldown"]:
        entry["tickets"] = drilldown.page(entry["measure"], period, entry["filter"], limit=20)
    return traced


# --------------------------------------------------------------------------- hotspots and alerts


@route(stats_bp, "/hotspots", roles=CENTRE_ROLES, query=HOTSPOT_QUERY,
       summary="Hotspots of the 7 days ending on a date (default today), with the statistic used",
       tags=("hotspots",))
def get_hotspots(ctx: RequestContext) -> dict[str, Any]:
    end = periods.today(clock.now())
    if ctx.query.get("date"):
        end = periods.parse({"from": ctx.query["date"], "to": ctx.query["date"]}).start
    found, tested = hotspots.detect(end)
    return {"window_end": end.isoformat(), "tested": tested, "alpha": hotspots.ALPHA,
            "window_days": hotspots.WINDOW_DAYS, "baseline_windows": hotspots.BASELINE_WINDOWS,
            "hotspots": [h.to_dict() for h in found]}


@route(stats_bp, "/hotspots/scan", method="POST", roles=MANAGER,
       summary="Detect hotspots now and alert the managers of new ones (also runs hourly)", tags=("hotspots",))
def post_scan(ctx: RequestContext) -> dict[str, Any]:
    return hotspots.alert_new_hotspots(clock.now())


@route(stats_bp, "/alerts", roles=CENTRE_ROLES, query=ALERTS_QUERY,
       summary="Sensitive events, hotspots and abuse advisories, newest first", tags=("hotspots",))
def get_alerts(ctx: RequestContext) -> dict[str, Any]:
    today = periods.today(clock.now())
    if ctx.query.get("month"):
        months = [ctx.query["month"]]
    else:
        previous = periods.month_period(today.year, today.month).previous()
        months = [f"{today:%Y-%m}", previous.label]
    items = alerts.list_alerts(months, kind=ctx.query.get("kind"), open_only=ctx.query.get("open") == "true",
                               limit=int(ctx.query.get("limit") or 50))
    return {"alerts": items, "months": months}


@route(stats_bp, "/alerts/{alert_id}", roles=CENTRE_ROLES, summary="One alert", tags=("hotspots",))
def get_alert(ctx: RequestContext, alert_id: str) -> dict[str, Any]:
    return alerts.get(alert_id)


@route(stats_bp, "/alerts/{alert_id}/acknowledge", method="POST", roles=MANAGER, body=ACK_BODY,
       summary="Acknowledge an alert (a manager has taken it over)", tags=("hotspots",))
def post_acknowledge(ctx: RequestContext, alert_id: str) -> dict[str, Any]:
    return alerts.acknowledge(alert_id, actor=_username(ctx), note=ctx.body.get("note"), now=clock.now())
