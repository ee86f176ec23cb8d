"""The call simulator and the demo's call-centre day: realistic shape, valid records, idempotent seeding."""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from chalicelib.calls import records, simulator
from chalicelib.domain.calendar import TZ

DAY = date(2026, 12, 8)


def test_a_simulated_day_has_a_hotlines_shape_and_valid_records():
    calls = simulator.simulate_day(DAY, ["a1", "a2", "a3", "a4"], calls=500, seed=7)
    assert calls == simulator.simulate_day(DAY, ["a1", "a2", "a3", "a4"], calls=500, seed=7)  # seeded
    parsed = [records.parse(c) for c in calls]  # every record passes the webhook's checks
    assert len({r.call_id for r in parsed}) == len(parsed) >= 480
    by_hour = Counter(r.hour for r in parsed)
    assert by_hour["10"] > 5 * by_hour["03"] and by_hour["15"] > by_hour["12"]
    outcomes = Counter(r.outcome for r in parsed)
    answered = outcomes["answered"] + outcomes["transferred"]
    assert 0.6 < answered / len(parsed) < 0.99 and outcomes["abandoned"] > 0 and outcomes["voicemail"] == 0
    talk = sorted(r.handle_seconds for r in parsed if r.answered)
    assert 120 < talk[len(talk) // 2] < 360  # median talk time of a few minutes
    assert len({r.caller for r in parsed}) < len(parsed)  # some people call twice
    until = datetime(2026, 12, 8, 12, 0, tzinfo=TZ)
    assert all(r.end <= until for r in (records.parse(c) for c in simulator.simulate_day(
        DAY, ["a1"], calls=200, seed=7, until=until)))


def test_demo_seeding_stores_the_day_once_and_sets_up_todays_roster(api):
    from chalicelib.local.cti_demo import seed_demo_calls

    now = datetime(2026, 12, 8, 15, 0, tzinfo=TZ)
    first = seed_demo_calls(now, per_day=120)
    assert first["calls"] > 150 and first["roster_entries"] == 5
    assert seed_demo_calls(now, per_day=120) == {"calls": 0, "roster_entries": 0}  # again: nothing twice
    stats = api.get("/stats/calls?from=2026-12-07&to=2026-12-08", user="manager").json
    assert stats["totals"]["offered"] == first["calls"]
    assert len(stats["by_agent"]) == 6 and 0.6 < stats["totals"]["answer_rate"] < 1
    listed = api.get("/roster?date=2026-12-08", user="manager").json["items"]
    assert any(e["on_call"] and e["usernames"] == ["manager"] for e in listed)


def test_a_small_demo_simulates_calls_in_proportion():
    from chalicelib.local.cti_demo import calls_per_day

    assert calls_per_day(1500) == 600 and calls_per_day(5000) == 600  # the full demo: a busy hotline's day
    assert calls_per_day(750) == 300
    assert calls_per_day(3) == 10 and calls_per_day(0) == 10  # a quick look still has call statistics
