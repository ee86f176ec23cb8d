"""Aggregates equal a recount from the tickets after random lifecycle runs, whatever the stream does.

Hypothesis drives random tickets through random legal actions by random actors, at random times
(so deadlines are met and missed). The ticket states go to the aggregator as stream records in
random batches; some batches are delivered again, some deliveries crash half-way - before any
transaction, after some transactions committed, or just after one committed but before the
worker could report success - and are then redelivered. Whatever happened, the counters must
equal the recount derived independently from the timeline events.
"""
from __future__ import annotations

import itertools
import os
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Iterator

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from chalicelib.analytics import counters, drilldown
from chalicelib.analytics.period import Period
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import DomainError
from chalicelib.domain.lifecycle import allowed_actions
from chalicelib.domain.ticket import Actor, Ticket
from tests.analytics import helpers
from tests.analytics.helpers import (
    AGENT,
    AGENT2,
    CITIZEN,
    DISPATCHER,
    MANAGER,
    SYSTEM,
    UPPER,
    Desk,
    by_agent,
    counted,
    handler,
    recount,
    submission,
    without_agent,
)

DEPTS = ["MARKET", "URBAN", "WATER"]
ACTORS = [AGENT, AGENT2, DISPATCHER, MANAGER, SYSTEM, CITIZEN, UPPER, *(handler(d) for d in DEPTS),
          Actor("lead-market", "dept_lead", "MARKET"), Actor("lower", "partner", "WATER")]
_years = itertools.count(2031)
CRASHES: list[str] = []
PROGRESS = ["accept", "review_non_acceptance", "dispatch", "sign", "resume", "submit_closure", "review_closure",
            "record_callback", "evaluate", "record_termination_notice", "close", "decide_extension", "decide_return"]


class Crash(Exception):
    """A simulated failure of the aggregator's process half-way through a batch."""


@contextmanager
def crash_after(name: str, calls: int, *, after_call: bool = False) -> Iterator[None]:
    """Make ``counters.<name>`` fail on its ``calls + 1``-th call (before it runs, or just after)."""
    original = getattr(counters, name)
    seen = {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> Any:
        if seen["n"] >= calls:
            if after_call:
                original(*args, **kwargs)
            raise Crash(name)
        seen["n"] += 1
        return original(*args, **kwargs)

    setattr(counters, name, failing)
    try:
        yield
    finally:
        setattr(counters, name, original)


def _params(draw: Any, action: str, ticket: Ticket, now: datetime, actor: Actor) -> dict[str, Any]:
    pick = lambda options: draw(st.sampled_from(options))  # noqa: E731
    others = [d for d in DEPTS if d not in ticket.departments] or DEPTS
    if action == "accept":
        return pick([{}, {"category": pick(["食品安全", "商品质量"]), "district": pick(["GUSU", "WUZHONG"])}])
    if action == "decline":
        return {"reason_code": pick(["not_our_duty", "over_three_years"])}
    if action == "answer_directly":
        return {"answer": "已电话答复"}
    if action == "review_non_acceptance":
        return pick([{"decision": "return_upward"}, {"decision": "hand_to_local", "department": pick(DEPTS)}])
    if action == "dispatch":
        order = draw(st.permutations(DEPTS))
        return pick([{"mode": "single", "department": order[0]},
                     {"mode": "lead_assist", "lead": order[0], "assists": [order[1]]},
                     {"mode": "parallel", "departments": [order[0], order[1]]},
                     {"mode": "lower_platform", "platform": "WATER"}])
    if action == "pause":
        return {"reason": "appraisal_testing"}
    if action == "add_note":
        return {"text": "已联系双方"}
    if action == "request_extension":
        return {"reason": "需要检测", "new_due": (now + timedelta(days=draw(st.integers(5, 30)))).date().isoformat()}
    if action in ("decide_extension", "decide_return"):
        return {"decision": pick(["approve", "refuse"]), "text": "审核意见"}
    if action == "request_return":
        return {"reason": "不属于本部门职责", "basis": "三定方案"}
    if action == "submit_closure":
        mine = [a for a in ticket.assignments if a.department == actor.department and a.status == "in_progress"]
        params: dict[str, Any] = {"facts": "已核实处理"}
        if mine and mine[0].role != "assist":
            if ticket.kind == "complaint":
                params["result"] = pick(["settled", "not_settled", "terminated"])
                if params["result"] == "terminated":
                    params["termination_reason"] = "party_absent_or_refused"
            elif ticket.kind == "report":
                params["result"] = pick(["case_filed", "not_filed"])
        return params
    if action == "review_closure":
        return pick([{"decision": "approve", "reply": "已办结"}, {"decision": "rework", "text": "请补充"},
                     {"decision": "transfer", "text": "转办", "department": pick(others)}])
    if action in ("record_callback", "evaluate"):
        return {"satisfaction": pick(["satisfied", "basically_satisfied", "dissatisfied"]), "solved": draw(st.booleans())}
    if action == "reopen":
        return {"reason": "群众不满意"}
    if action == "merge_repeat":
        return {"facts": "补充新的情况"}
    if action == "join":
        return {"complainant": {"name": "李四", "phone": f"1390000{draw(st.integers(1000, 9999))}", "address": "苏州市"}}
    if action == "urge":
        return {"text": "请加快办理"}
    if action == "answer_urging":
        open_urgings = [u.id for u in ticket.urgings if u.answered_at is None]
        return {"urging_id": pick(open_urgings or ["U1"]), "text": "已加快"}
    if action == "record_warning":
        running = sorted(k for k, s in ticket.clocks.items() if s.status == "running" and s.warning != "red")
        return {"clock": pick(running or ["acceptance"]), "level": pick(["yellow", "red"])}
    if action == "supervise":
        return {"reason": "超期未办结"}
    return {}


INTAKES = [("complaint", "phone", AGENT), ("report", "phone", AGENT2), ("inquiry", "hotline_12345", AGENT),
           ("complaint", "web", CITIZEN), ("complaint", "upper_level", UPPER), ("help_request", "walk_in", AGENT)]


def _run(draw: Any, year: int) -> Desk:
    desk = Desk(prefix=f"P{year}-")
    now = datetime(year, 1, 5, 9, 0, tzinfo=TZ)
    for n in range(draw(st.integers(1, 3))):
        kind, channel, actor = draw(st.sampled_from(INTAKES))
        desk.register(submission(kind=kind, channel=channel, respondent=draw(st.sampled_from(["甲商店", "乙公司"])),
                                 phone=f"1381234{n:04d}", district=draw(st.sampled_from(["GUSU", None]))),
                      now, actor)
    for _ in range(draw(st.integers(8, 30))):
        now += timedelta(hours=draw(st.sampled_from([1, 5, 20, 30, 70, 200])))
        ticket_id = draw(st.sampled_from(sorted(desk.tickets)))
        ticket = desk.tickets[ticket_id]
        choices = [(a, act) for a in ACTORS for act in allowed_actions(ticket, a)
                   if act not in ("add_note", "archive")]
        if not choices:
            continue
        forward = sorted((c for c in choices if c[1] in PROGRESS), key=lambda c: PROGRESS.index(c[1]))
        if forward and draw(st.integers(0, 9)) < 7:
            actor, action = forward[0]  # mostly move the ticket on, so runs reach closure and beyond
        else:
            actor, action = draw(st.sampled_from(choices))
        try:
            desk.act(ticket_id, action, now, actor, **_params(draw, action, ticket, now, actor))
        except DomainError:
            continue  # a parameter the generator got wrong: nothing happened
    return desk


def _deliver(draw: Any, stream: list[dict[str, Any]]) -> None:
    delivered: list[list[dict[str, Any]]] = []
    position = 0
    while position < len(stream):
        size = draw(st.integers(1, 20))
        batch = stream[position:position + size]
        fault = "after" if position == 0 else draw(st.sampled_from(["none", "none", "before", "after"]))
        position += size
        if fault != "none":
            target = "_transact"
            try:
                with crash_after(target, draw(st.integers(0, 1)), after_call=fault == "after"):
                    helpers.feed(batch)
            except Crash:
                CRASHES.append(fault)  # the batch is redelivered below, as the stream would
        helpers.feed(batch)  # the (re)delivery
        delivered.append(batch)
        if draw(st.integers(0, 4)) == 0:
            helpers.feed(draw(st.sampled_from(delivered)))  # an old batch arrives again


def test_counters_equal_a_recount_whatever_the_stream_does(scratch_table):
    # no shrinking: each example costs seconds on moto, and the failure message already shows the difference
    @settings(max_examples=int(os.environ.get("ANALYTICS_PROPERTY_EXAMPLES", "8")), deadline=None, database=None,
              phases=[Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def check(data: Any) -> None:
        year = next(_years)
        desk = _run(data.draw, year)
        stream = helpers.records(desk)
        _deliver(data.draw, stream)
        helpers.feed([helpers.record(None, t) for t in desk.tickets.values()])  # items written again (a restore)
        period = Period(datetime(year, 1, 1).date(), datetime(year, 12, 31).date())
        expected = recount(desk)
        got, want = counted(period), without_agent(expected)
        assert got == want, ("DIFF", sorted((got - want).items())[:6], sorted((want - got).items())[:6])
        month_cells: Counter = Counter()
        for cell, _, counts in counters.cube(period):  # whole months: the month cells, not the days
            for measure, value in counts.items():
                month_cells[(measure, *cell)] += value
        assert +month_cells == _without_day(want)
        agents = Counter()
        for value, days in counters.read("agent", period, by_day=True).items():
            for day, counts in days.items():
                for measure, n in counts.items():
                    agents[(measure, day, value)] += n
        assert +agents == by_agent(expected)
        totals = counters.totals("total", period).get(counters.TOTAL, Counter())
        assert +totals == _sum_by_measure(expected)
        received = sum(n for (m, *_), n in expected.items() if m == "received")
        respondents = sum(sum(days.values()) for month in period.months()
                          for _, (_, days) in counters.respondents_month(month, period).items())
        assert respondents == received
        for measure in ("received", "dispatched", "signed", "submitted", "closed", "urged"):
            listed, cursor = drilldown.facts(measure, period, {}, limit=200)
            assert cursor is None and sum(f["value"] for f in listed) == totals.get(measure, 0), measure

    check()
    assert CRASHES, "the run should have crashed some deliveries"


def _sum_by_measure(expected: Counter) -> Counter:
    out: Counter = Counter()
    for key, value in expected.items():
        out[key[0]] += value
    return +out


def _without_day(expected: Counter) -> Counter:
    out: Counter = Counter()
    for key, value in expected.items():
        out[(key[0], *key[2:7])] += value
    return +out
