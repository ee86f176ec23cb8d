"""Demo tickets are real tickets: played through the lifecycle, in every state, in the right queues."""
from __future__ import annotations

from collections import Counter

from chalicelib.local.demo import seed_demo_tickets
from chalicelib.services import tickets as service


def test_demo_tickets_cover_every_state_with_consistent_timelines(seeded):
    result = seed_demo_tickets(60, days=30, seed=7)
    assert result["tickets"] == 60
    repo = service.repository()
    from datetime import date, timedelta

    tickets = []
    day = date.today()
    for _ in range(32):
        tickets += repo.received_on(day.isoformat(), limit=500)[0]
        day -= timedelta(days=1)
    assert len(tickets) == 60
    states = Counter(t.status for t in tickets)
    for status in ("pending_acceptance", "to_dispatch", "in_handling", "closed"):
        assert states[status] > 0, states
    sample = next(t for t in tickets if t.status in ("closed", "archived"))
    events = repo.timeline(sample.id)
    assert events[0].type == "registered" and len(events) == sample.version
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert any(e.deadline_met is not None for e in events)
