"""Demo tickets read like a hotline's work: varied requests, facts and categories that belong to the
department they go to (issue 14: every demo ticket used to carry one repeated request and no category)."""
from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta

from chalicelib.local import demo_content
from chalicelib.local.demo import seed_demo_tickets
from chalicelib.local.seed import load_departments, load_districts
from chalicelib.services import categories
from chalicelib.services import tickets as service

OLD_REQUEST = "请相关部门核实处理并答复"


def test_composed_content_is_varied_coherent_and_complete():
    rng = random.Random(5)
    samples = [demo_content.compose(rng) for _ in range(600)]
    assert len({s.request for s in samples}) >= 60
    assert len({s.facts for s in samples}) >= 400
    assert len({s.category for s in samples}) >= 25
    assert len({s.department for s in samples}) >= 15
    assert {s.kind for s in samples} == {"complaint", "report", "inquiry", "suggestion", "help_request"}
    departments = {d["code"] for d in load_departments()}
    districts = {d["code"] for d in load_districts()}
    by_category = {}
    for s in samples:
        assert s.department in departments and s.district in districts
        assert "{" not in s.facts and "}" not in s.facts, s.facts
        assert s.request and s.request != OLD_REQUEST
        if s.kind in ("complaint", "report"):  # Art. 10: whom it is about
            assert s.respondent and s.respondent["name"] and s.respondent["address"], s
        by_category.setdefault(s.category, set()).add(s.department)
    assert all(len(owners) == 1 for owners in by_category.values()), by_category  # a category is one department's


def test_every_case_fills_its_slots_and_fits_its_kinds():
    for scenario in demo_content.SCENARIOS:
        assert scenario.cases, scenario.category
        for case in scenario.cases:
            assert case.kinds and set(case.kinds) <= set(demo_content.KIND_WEIGHTS), case
            assert case.requests, case
            if "{shop}" in case.facts:
                assert scenario.respondents, (scenario.category, case.facts)


def test_seeded_demo_tickets_carry_varied_requests_and_categories(seeded):
    assert seed_demo_tickets(80, days=20, seed=11)["tickets"] == 80
    repo = service.repository()
    tickets = []
    day = date.today() + timedelta(days=1)  # the Beijing day may be ahead of this machine's
    for _ in range(23):
        tickets += repo.received_on(day.isoformat(), limit=500)[0]
        day -= timedelta(days=1)
    assert len(tickets) == 80
    requests = Counter(t.request for t in tickets)
    assert OLD_REQUEST not in requests
    assert len(requests) >= 30 and requests.most_common(1)[0][1] <= 8, requests.most_common(3)
    assert all(t.category for t in tickets)
    assert len({t.category for t in tickets}) >= 15
    assert len({t.facts for t in tickets}) >= 70
    dispatched = [t for t in tickets if t.assignments]
    scenarios = {(s.department, s.category) for s in demo_content.SCENARIOS}
    tree = categories.tree()  # tickets hold the code of the category the scenario names
    assert all(t.category in tree for t in tickets)
    pairs = {(t.assignments[0].department, tree.nodes[t.category].name) for t in dispatched}
    assert dispatched and pairs <= scenarios, pairs - scenarios
