"""The manager's wall in one request from the counters (issue 14): any period up to years, 近90日
included, and no ticket is read to draw it."""
from __future__ import annotations

from datetime import date

import pytest

from chalicelib.analytics import wall
from chalicelib.analytics.period import Period, month_period
from chalicelib.analytics import statistics


def test_the_wall_over_ninety_days_comes_from_the_counters(march, api, monkeypatch):
    from chalicelib.store import models

    def no_tickets(*args, **kwargs):
        raise AssertionError("the wall must not read tickets")

    monkeypatch.setattr(models.TicketItem, "query", no_tickets)
    monkeypatch.setattr(models.TicketItem, "get", no_tickets)
    monkeypatch.setattr(models.TicketItem.by_day, "query", no_tickets)
    answer = api.get("/stats/wall?from=2030-01-16&to=2030-04-15", user="manager")  # 近90日
    assert answer.status == 200, answer.body
    data = answer.json
    assert data["period"]["from"] == "2030-01-16" and data["period"]["to"] == "2030-04-15"
    figures = data["figures"]
    assert figures["received"] == 5 and figures["warned_red"] == 1 and figures["supervised"] == 1
    assert figures["satisfaction_rate"] == 50.0
    assert data["satisfaction"] == {"satisfied": 1, "basically_satisfied": 0, "dissatisfied": 1}
    assert len(data["daily"]) == 90
    assert {d["day"]: d["received"] for d in data["daily"] if d["received"]} == \
        {"2030-03-04": 1, "2030-03-05": 1, "2030-03-06": 2, "2030-03-10": 1}
    assert {r["code"]: r["received"] for r in data["by_kind"]} == {"complaint": 3, "report": 1, "inquiry": 1}
    assert {r["code"]: r["label"] for r in data["by_kind"]}["complaint"] == "投诉"
    assert {r["code"]: r["received"] for r in data["by_channel"]} == \
        {"phone": 2, "web": 1, "hotline_12345": 1, "upper_level": 1}
    assert {r["code"]: r["received"] for r in data["by_category"]} == \
        {"食品安全": 2, "商品质量": 1, "政策咨询": 1, "价格": 1}
    departments = {r["code"]: r for r in data["by_department"]}
    assert departments["MARKET"]["dispatched"] == 3 and departments["MARKET"]["warned_red"] == 1
    assert departments["MARKET"]["label"] == statistics.Labels().of("department", "MARKET")
    # beyond 62 days repeated respondents come from the year top lists, which start at the 3rd ticket
    assert data["hot_respondents_by_month"] is True and data["hot_respondents"] == []
    assert set(data["queues"]) >= {"pending_acceptance", "to_dispatch", "closure_reviews", "warnings", "to_sign",
                                   "in_progress", "urgings"}
    assert all(isinstance(n, int) and n >= 0 for n in data["queues"].values())


def test_seven_days_and_the_whole_month(march):
    week = wall.wall(Period(date(2030, 3, 4), date(2030, 3, 10)))
    assert week["figures"]["received"] == 5 and len(week["daily"]) == 7
    assert week["hot_respondents_by_month"] is False
    assert [(r["label"], r["received"]) for r in week["hot_respondents"]] == [("甲超市", 2)]
    assert "queues" not in week
    month = wall.wall(month_period(2030, 3))
    assert month["figures"] == {name: statistics.value_of(name, statistics.sums(month_period(2030, 3)))
                                for name in wall.FIGURES}
    assert month["figures"]["accepted"] > week["figures"]["accepted"]  # T5 was accepted after the week
    empty = wall.wall(month_period(2030, 2))
    assert empty["figures"]["received"] == 0 and empty["figures"]["satisfaction_rate"] is None
    assert all(d["received"] == 0 for d in empty["daily"]) and empty["hot_respondents"] == []


def test_the_wall_is_the_centre_s(march, api):
    assert api.get("/stats/wall?from=2030-03-01&to=2030-03-31", user="dispatcher").status == 200
    for user in ("handler", "dept_lead", "agent", "admin"):
        assert api.get("/stats/wall?from=2030-03-01&to=2030-03-31", user=user).status == 403, user
    assert api.get("/stats/wall?from=2030-03-31&to=2030-03-01", user="manager").status == 400
