"""What goes into a report: figures from the analytics counters, charts, rankings and alerts.

:func:`periodic` builds a monthly, quarterly or annual report; :func:`special` a special analysis
of a hotspot or a sensitive event (or of all of a period's hot and sensitive issues). Everything
periodic is read from counters (its cost does not grow with the number of tickets); a special
report also lists the tickets behind its subject (bounded).
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.analytics import alerts, assessment, counters, drilldown, statistics
from chalicelib.analytics.measures import label
from chalicelib.analytics.period import Period
from chalicelib.analytics.statistics import EVENT_MEASURES, Query
from chalicelib.domain.calendar import TZ
from chalicelib.reports import charts

MAX_SPECIAL_TICKETS = 200
ALERT_LIMIT = 200


def _pairs(result: dict[str, Any], measure: str, dimension: str, *, top: int | None = None) -> list[tuple[str, float]]:
    rows = [(r["labels"][dimension], r["values"][measure] or 0) for r in result["rows"]]
    rows.sort(key=lambda kv: -kv[1])
    return rows[:top] if top else rows


def _alerts_in(period: Period, *, kinds: tuple[str, ...] = ("sensitive", "hotspot", "abuse")) -> list[dict[str, Any]]:
    found = [a for a in alerts.list_alerts(period.months(), limit=ALERT_LIMIT)
             if a["kind"] in kinds and period.contains(datetime.fromisoformat(a["at"]).astimezone(TZ).date())]
    return sorted(found, key=lambda a: a["at"])


def _scores(period: Period, audience: str, *, now: datetime) -> dict[str, Any]:
    return assessment.stored(period, audience) or assessment.run(period, audience, actor="system", now=now)


def periodic(period: Period, *, now: datetime) -> dict[str, Any]:
    """The figures, tables and charts of a monthly, quarterly or annual report."""
    overview = statistics.overview(period)
    time_dim = "day" if period.days <= 62 else "month"
    trend = statistics.run(Query(period, ("received", "closed", "warned_red"), (time_dim,)))
    by_channel = statistics.events(period, "channel")
    by_kind = statistics.events(period, "kind")
    by_category = statistics.run(Query(period, EVENT_MEASURES, ("category",), top=15))
    by_district = statistics.events(period, "district")
    by_department = statistics.events(period, "department")
    respondents = statistics.events(period, "respondent", top=10)
    efficiency_department = statistics.efficiency(period, "department")
    efficiency_district = statistics.efficiency(period, "district")
    integration = statistics.integration(period)
    departments = _scores(period, "department", now=now)
    agents = _scores(period, "agent", now=now)
    x = [r["keys"][time_dim][5:] if time_dim == "day" else r["keys"][time_dim] for r in trend["rows"]]
    figures = {f["name"]: f for f in overview["figures"]}
    warnings = [(r["labels"]["department"], (r["values"]["warned_yellow"] or 0) + (r["values"]["warned_red"] or 0))
                for r in efficiency_department["rows"]]
    warnings.sort(key=lambda kv: -kv[1])
    return {
        "overview": overview, "figures": figures, "trend": trend, "time_dim": time_dim,
        "by_channel": by_channel, "by_kind": by_kind, "by_category": by_category, "by_district": by_district,
        "by_department": by_department, "respondents": respondents,
        "efficiency_department": efficiency_department, "efficiency_district": efficiency_district,
        "integration": integration, "scores_department": departments, "scores_agent": agents,
        "alerts": _alerts_in(period),
        "charts": {
            "trend": charts.line_chart(x, {"登记量": [r["values"]["received"] for r in trend["rows"]],
                                           "办结量": [r["values"]["closed"] for r in trend["rows"]],
                                           "红牌预警": [r["values"]["warned_red"] for r in trend["rows"]]},
                                       "诉求量走势"),
            "channel": charts.donut_chart(_pairs(by_channel, "received", "channel"), "来源渠道分布"),
            "kind": charts.donut_chart(_pairs(by_kind, "received", "kind"), "诉求类型分布"),
            "category": charts.bar_chart(_pairs(by_category, "received", "category", top=15), "诉求类别（前15）"),
            "district": charts.bar_chart(_pairs(by_district, "received", "district"), "属地分布", colour="#2e9e5b"),
            "warnings": charts.bar_chart(warnings[:15], "各部门预警数（黄牌+红牌）", colour="#c23b3b"),
            "satisfaction": charts.bar_chart(
                [(r["labels"]["department"], r["values"]["satisfaction_rate"] or 0)
                 for r in efficiency_department["rows"] if r["values"]["satisfaction_rate"] is not None][:15],
                "各部门满意率", unit="%", colour="#e07b24"),
        },
        "label": label,
    }


def _series_of(alert: dict[str, Any], end: date, days: int) -> tuple[list[str], list[int]]:
    data = alert.get("data") or {}
    dimension, value = data.get("dimension"), data.get("value")
    span = Period(end - timedelta(days=days - 1), end)
    per_day: Counter = Counter()
    if dimension in ("district", "category"):
        for v, by_day in counters.read(dimension, span, values=[value], by_day=True).items():
            for day, counts in by_day.items():
                per_day[day] += counts.get("received", 0)
    elif dimension == "respondent":
        for month in span.months():
            entry = counters.respondents_month(month, span).get(value)
            if entry:
                per_day.update(entry[1])
    days_list = [d.isoformat() for d in span.each_day()]
    return [d[5:] for d in days_list], [per_day.get(d, 0) for d in days_list]


def _breakdown(tickets: list[dict[str, Any]], key: str, top: int = 10) -> list[tuple[str, int]]:
    counts = Counter((t.get(key) or "未指定") if not isinstance(t.get(key), list)
                     else ("、".join(t[key]) or "未分派") for t in tickets)
    return counts.most_common(top)


def special(period: Period, *, alert_id: str | None, now: datetime) -> dict[str, Any]:
    """A special analysis: one alert's subject in depth, or every hot and sensitive issue of a period."""
    subject = alerts.get(alert_id) if alert_id else None
    ticket_ids: list[str] = []
    series_chart = None
    if subject is not None and subject["kind"] == "hotspot":
        data = subject["data"]
        window = Period(date.fromisoformat(data["from"]), date.fromisoformat(data["to"]))
        found, _ = drilldown.facts("received", window, {data["dimension"]: data["value"]}, limit=MAX_SPECIAL_TICKETS)
        ticket_ids = list(dict.fromkeys(f["ticket_id"] for f in found))
        x, y = _series_of(subject, window.end, window.days * 9)
        series_chart = charts.line_chart(x, {f"{data['label']} 每日登记量": y}, "热点对象诉求量走势（含基线期）")
    elif subject is not None:
        ticket_ids = list(subject.get("ticket_ids") or [])[:MAX_SPECIAL_TICKETS]
    period_alerts = _alerts_in(period, kinds=("sensitive", "hotspot"))
    if subject is None:
        for a in period_alerts:
            ticket_ids.extend(a.get("ticket_ids") or [])
        ticket_ids = list(dict.fromkeys(ticket_ids))[:MAX_SPECIAL_TICKETS]
    summaries = drilldown.ticket_summaries(ticket_ids)
    tickets = [summaries[t] for t in ticket_ids if t in summaries]
    by_category = statistics.run(Query(period, ("received",), ("category",), top=10))
    return {
        "subject": subject, "tickets": tickets, "alerts": period_alerts,
        "breakdowns": {"status_label": _breakdown(tickets, "status_label"), "category": _breakdown(tickets, "category"),
                       "district": _breakdown(tickets, "district"), "respondent": _breakdown(tickets, "respondent"),
                       "departments": _breakdown(tickets, "departments")},
        "charts": {
            "series": series_chart,
            "category": charts.bar_chart(_breakdown(tickets, "category"), "涉及诉求类别"),
            "district": charts.bar_chart(_breakdown(tickets, "district"), "涉及属地", colour="#2e9e5b"),
            "status": charts.donut_chart(_breakdown(tickets, "status_label"), "办理状态"),
            "period_category": charts.bar_chart(_pairs(by_category, "received", "category"), "同期全市诉求类别（前10）",
                                                colour="#5f7b8c"),
        },
        "label": label,
    }
