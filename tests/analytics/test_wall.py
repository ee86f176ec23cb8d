"""The manager's wall in one request from the counters (issue 14): any period up to years, 近90日
included, no ticket is read to draw it, its reads are bounded by months and dimensions, and a
period's answer is reused for a minute."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.analytics import wall, wall_refresh
from chalicelib.analytics.period import Period, month_period
from chalicelib.analytics import statistics


@pytest.fixture(autouse=True)
def no_kept_walls():
    """Each test computes its walls afresh (the module's moto is shared, the cache is per process)."""
    wall.forget_cache()
    yield
    wall.forget_cache()


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


@pytest.mark.parametrize("start, end", [(date(2030, 3, 4), date(2030, 3, 10)), (date(2030, 3, 1), date(2030, 3, 31)),
                                        (date(2030, 1, 16), date(2030, 4, 15)), (date(2030, 2, 20), date(2030, 3, 31)),
                                        (date(2030, 3, 6), date(2030, 4, 30))])
def test_the_breakdowns_are_the_statistics_own(march, start, end):
    """Whole months from the cube's month cells, parts of months from the day items: the same rows,
    in the same order, as the statistics answer from the marginal day items."""
    period = Period(start, end)
    answer = wall.compute(period)
    for name, (dimension, names, top) in wall.BREAKDOWNS.items():
        expected = wall._rows(statistics.run(statistics.Query(period, names, (dimension,), top=top)), dimension)
        assert answer[name] == expected, name
    assert answer["by_department"], "the dataset has departments in the period"


def test_the_wall_is_the_centre_s(march, api):
    assert api.get("/stats/wall?from=2030-03-01&to=2030-03-31", user="dispatcher").status == 200
    for user in ("handler", "dept_lead", "agent", "admin"):
        assert api.get("/stats/wall?from=2030-03-01&to=2030-03-31", user=user).status == 403, user
    assert api.get("/stats/wall?from=2030-03-31&to=2030-03-01", user="manager").status == 400


def _figures(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer without ``as_of`` (when it was read), to compare the numbers of two readings."""
    return {k: v for k, v in answer.items() if k != "as_of"}


class _Reads:
    """Counts the DynamoDB operations made through the shared client (the counters' reads), and
    the partition keys each GetItem asked for."""

    def __init__(self) -> None:
        self.calls: Counter = Counter()
        self.items = 0
        self.got: list[str] = []

    def before(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def get_item(self, params: dict[str, Any], **_: Any) -> None:
        self.got.append(params["Key"]["PK"]["S"])

    def after(self, parsed: Any, model: Any, **_: Any) -> None:
        if model.name == "Query" and isinstance(parsed, dict):
            self.items += len(parsed.get("Items") or [])


@pytest.fixture
def reads():
    from chalicelib.aws import client

    counted = _Reads()
    events = client("dynamodb").meta.events
    events.register("before-call.dynamodb", counted.before)
    events.register("after-call.dynamodb", counted.after)
    events.register("before-parameter-build.dynamodb.GetItem", counted.get_item)
    yield counted
    events.unregister("before-parameter-build.dynamodb.GetItem", counted.get_item)
    events.unregister("before-call.dynamodb", counted.before)
    events.unregister("after-call.dynamodb", counted.after)


def test_the_wall_reads_by_months_and_dimensions_and_reuses_a_period_s_answer(march, reads, monkeypatch):
    """The cost cannot creep back: Queries are (1 total + 5 breakdowns) per month of the period plus
    the respondents' one(s), nothing else is read, and within the minute a period costs nothing."""
    now = [1000.0]
    monkeypatch.setattr(wall._WALLS, "clock", lambda: now[0])
    week = Period(date(2030, 3, 4), date(2030, 3, 10))  # one month; repeated respondents per day
    quarter = Period(date(2030, 1, 16), date(2030, 4, 15))  # four months; respondents from the year list

    first = wall.wall(week)
    assert dict(reads.calls) == {"Query": 6 + 1}
    assert wall.wall(quarter)["figures"]["received"] == 5
    # January and April in part: the total's and five dimensions' day items; February and March
    # whole: the total's day items and the cube's month cells; the year's top respondents
    assert dict(reads.calls) == {"Query": 7 + 2 * 6 + 2 * 2 + 1}

    reads.calls.clear()
    now[0] += wall.CACHE_SECONDS - 1
    again = wall.wall(week)
    assert again == first and not reads.calls, "a period asked again within the minute reads nothing"
    again["figures"]["received"] = -1
    assert wall.wall(week)["figures"]["received"] == first["figures"]["received"], "callers get copies"

    now[0] += 2  # the minute is over: read afresh, same numbers
    assert _figures(wall.wall(week)) == _figures(first) and dict(reads.calls) == {"Query": 7}


def test_the_backlog_is_counted_per_queue_and_reused_briefly(march, monkeypatch):
    from chalicelib.store import directory
    from chalicelib.workflow import monitoring

    asked: list[str] = []
    real = monitoring.queue_counts

    def counting(scope):
        asked.append(scope.owner)
        return real(scope)

    now = [50.0]
    monkeypatch.setattr(monitoring, "queue_counts", counting)
    monkeypatch.setattr(wall._BACKLOG, "clock", lambda: now[0])
    departments = [e for kind in (directory.DEPARTMENTS, directory.OFFICES)
                   for e in directory.list_entries(kind) if e.get("code")]
    first = wall.current_backlog()
    assert len(asked) == 1 + len(departments), "one scope for the centre, one per department or grassroots office"
    now[0] += wall.BACKLOG_CACHE_SECONDS - 1
    assert wall.current_backlog() == first and len(asked) == 1 + len(departments)
    now[0] += 2
    assert wall.current_backlog() == first and len(asked) == 2 * (1 + len(departments))


# ------------------------------------------------------------------ the wall refreshed off the request path

QUARTER = Period(date(2030, 1, 16), date(2030, 4, 15))  # 近90日 on 15 April 2030


@pytest.fixture
def april_15(monkeypatch):
    """The services' clock at 10:00 on 15 April 2030 (Asia/Shanghai); ``now[0]`` moves it."""
    from chalicelib.domain.calendar import TZ
    from chalicelib.services import clock

    now = [datetime(2030, 4, 15, 10, 0, tzinfo=TZ)]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    return now


def _fire_refresh() -> dict[str, Any]:
    """The scheduled function as EventBridge invokes it (chalice.test.Client)."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as client:
        event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=["arn:aws:events:cn-north-1:000000000000:rule/wall-refresh"])
        return client.lambda_.invoke("wall_refresh", event)


def test_the_schedule_stores_the_wall_of_every_period_the_page_offers(march, april_15, reads):
    assert [p.days for p in wall_refresh.standard_periods(april_15[0])] == [7, 30, 90]
    _fire_refresh()
    assert not reads.calls["Scan"]
    backlog = wall.count_backlog()
    for period in wall_refresh.standard_periods(april_15[0]):
        kept = wall_refresh.stored(period)
        assert kept is not None, period
        assert kept["as_of"] == "2030-04-15T10:00:00+08:00"
        assert _figures(kept) == {**_figures(wall.compute(period)), "queues": backlog}, period
    assert wall_refresh.stored(QUARTER)["figures"]["received"] == 5


def test_the_route_answers_a_fresh_period_with_one_get_item(march, april_15, api, reads, monkeypatch):
    wall_refresh.refresh()
    expected = wall_refresh.stored(QUARTER)
    api.token("manager")  # signed in before counting

    def no_computing(*args, **kwargs):
        raise AssertionError("a fresh period is not computed")

    monkeypatch.setattr(wall, "compute", no_computing)
    monkeypatch.setattr(wall, "count_backlog", no_computing)
    reads.calls.clear()
    reads.got.clear()
    april_15[0] += timedelta(seconds=wall_refresh.FRESH_SECONDS - 1)
    answer = api.get("/stats/wall?from=2030-01-16&to=2030-04-15", user="manager")
    assert answer.status == 200, answer.body
    assert answer.json == expected and answer.json["as_of"] == "2030-04-15T10:00:00+08:00"
    assert reads.got == ["WALL#city"] and dict(reads.calls) == {"GetItem": 1}
    by_name = api.get("/stats/wall?period=last_7_days", user="manager")
    assert by_name.status == 200 and by_name.json["period"]["from"] == "2030-04-09"


def test_a_stale_missing_or_custom_period_is_computed(march, april_15, api, reads, monkeypatch):
    wall_refresh.refresh()
    computed: list[Period] = []
    real = wall.compute

    def counting(period):
        computed.append(period)
        return real(period)

    monkeypatch.setattr(wall, "compute", counting)
    april_15[0] += timedelta(seconds=wall_refresh.FRESH_SECONDS)  # two runs missed: stale
    stale = api.get("/stats/wall?from=2030-01-16&to=2030-04-15", user="manager")
    assert stale.status == 200 and computed == [QUARTER]
    assert stale.json["as_of"] == "2030-04-15T10:02:00+08:00" and stale.json["figures"]["received"] == 5

    reads.calls.clear()
    reads.got.clear()
    custom = api.get("/stats/wall?from=2030-03-04&to=2030-03-10", user="manager")  # not a page period
    assert custom.status == 200 and computed[-1] == Period(date(2030, 3, 4), date(2030, 3, 10))
    assert "WALL#city" not in reads.got, "a custom period does not look for a stored wall"

    april_15[0] += timedelta(days=1)  # a new day: its periods were never stored
    assert wall_refresh.stored(wall_refresh.standard_periods(april_15[0])[0]) is None
