"""Demo tickets are real tickets: played through the lifecycle, in every state, in the right queues."""
from __future__ import annotations

from collections import Counter

from chalicelib.local.demo import seed_demo_tickets
from chalicelib.services import tickets as service


def test_demo_tickets_cover_every_state_with_consistent_timelines(seeded):
    result = seed_demo_tickets(60, days=30, seed=7)
    assert result["tickets"] == 60
    repo = service.repository()
    from datetime import datetime, timedelta

    from chalicelib.domain.calendar import TZ

    tickets = []
    day = datetime.now(TZ).date()  # tickets are filed by their Beijing day, which may be ahead of this machine's
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
    # each phone ticket is linked to the call it was registered from (its page lists it)
    from chalicelib.services import calls

    phone = [t for t in tickets if t.channel == "phone"]
    assert phone and result["ticket_calls"] == len(phone)
    listed = calls.calls_of_ticket(phone[0].id)
    assert [(c["call_id"], c["end"]) for c in listed] == [(f"DEMO-{phone[0].id}", phone[0].received_at.isoformat())]


def test_seeding_survives_the_flow_acting_on_a_fresh_ticket(seeded, monkeypatch):
    """A ticket's flow may act on it as soon as it exists (a warning on a long-passed deadline of a
    back-dated ticket): seeding stores each ticket with its history in one write, so the flow's change
    lands after it instead of making seeding lose a race and stop."""
    from dataclasses import replace

    from chalicelib.domain.ticket import Outcome
    from chalicelib.store.tickets import TicketRepository

    create = TicketRepository.create

    def create_then_act(self, outcomes, *, now, **kwargs):
        create(self, outcomes, now=now, **kwargs)
        current = self.get(outcomes[0].ticket.id)
        self.save(current, [Outcome(replace(current, version=current.version + 1), [], [])], now=now)

    monkeypatch.setattr(TicketRepository, "create", create_then_act)
    assert seed_demo_tickets(12, days=10, seed=3)["tickets"] == 12
