"""The ticket door (services.tickets.TicketService): its ports are passed in, the save is conditional
on the version the client saw, and department scope holds on every path that changes a ticket."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

import pytest

from chalicelib.domain import lifecycle
from chalicelib.domain.errors import ConcurrentModification, Forbidden
from chalicelib.domain.ticket import Actor, Outcome, Ticket
from chalicelib.services import clock
from chalicelib.services import tickets as service
from chalicelib.services.tickets import TicketService
from chalicelib.store.tickets import TicketRepository
from chalicelib.workflow import timers

AGENT = Actor(username="agent", role="agent")
DISPATCHER = Actor(username="dispatcher", role="dispatcher")
MANAGER = Actor(username="manager", role="manager")
MARKET_HANDLER = Actor(username="handler", role="handler", department="MARKET")
WATER_HANDLER = Actor(username="handler-water", role="handler", department="WATER")


def _submission(tail: str) -> dict:
    return {"kind": "help_request", "channel": "phone",
            "complainant": {"name": "周八", "phone": "1390000" + tail, "address": "苏州市姑苏区干将路8号"},
            "request": "请协调处理", "facts": f"小区门口井盖松动，夜间行人易绊倒（{tail}）。", "district": "GUSU"}


def _to_dispatch(tail: str) -> Ticket:
    ticket = service.register(_submission(tail), AGENT).tickets[0]
    return service.act(ticket.id, "accept", {}, AGENT)


class ReadBeforeTheChange(TicketRepository):
    """A repository whose read happened before a concurrent change: it returns an older snapshot."""

    def __init__(self, snapshot: Ticket) -> None:
        self.snapshot = snapshot

    def get(self, ticket_id: str) -> Ticket:
        return self.snapshot


class CountingRepository(TicketRepository):
    """The real repository, counting the saves that go through it."""

    def __init__(self) -> None:
        self.saved: list[list[str]] = []

    def save(self, before: Ticket, outcomes: Sequence[Outcome], *, now: datetime,
             expected_version: int | None = None) -> None:
        super().save(before, outcomes, now=now, expected_version=expected_version)
        self.saved.append([e.type for o in outcomes for e in o.events])


def test_a_change_between_the_read_and_the_write_is_a_409_and_nothing_is_written(seeded):
    seen = _to_dispatch("1001")
    service.act(seen.id, "urge", {"text": "请尽快分拨。"}, MANAGER)  # lands after the door's read
    door = TicketService(repository=ReadBeforeTheChange(seen))
    with pytest.raises(ConcurrentModification):
        door.act(seen.id, "dispatch", {"mode": "single", "department": "MARKET"}, DISPATCHER,
                 expected_version=seen.version)
    stored = service.repository().get(seen.id)
    assert (stored.version, stored.status) == (seen.version + 1, "to_dispatch")
    assert "dispatched" not in [e.type for e in service.repository().timeline(seen.id)]


def test_the_save_is_conditional_on_the_version_the_caller_states(seeded):
    repo = service.repository()
    ticket = _to_dispatch("1002")
    outcome = lifecycle.apply(ticket, "dispatch", {"mode": "single", "department": "MARKET"}, actor=DISPATCHER,
                              now=clock.now(), policy=service.current_policy())
    with pytest.raises(ConcurrentModification):  # the client saw an older version than the one read
        repo.save(ticket, [outcome], now=clock.now(), expected_version=ticket.version - 1)
    assert repo.get(ticket.id).version == ticket.version
    repo.save(ticket, [outcome], now=clock.now(), expected_version=ticket.version)
    assert repo.get(ticket.id).status == "in_handling"


def test_a_stated_version_that_is_current_acts(seeded):
    ticket = _to_dispatch("1003")
    done = service.act(ticket.id, "dispatch", {"mode": "single", "department": "MARKET"}, DISPATCHER,
                       expected_version=ticket.version)
    assert (done.version, done.status) == (ticket.version + 1, "in_handling")


def test_department_scope_holds_when_a_department_actor_changes_through_any_path(seeded):
    ticket = service.act(_to_dispatch("1004").id, "dispatch", {"mode": "single", "department": "MARKET"}, DISPATCHER)
    share = ticket.assignments[0].id
    door = service.default()
    with pytest.raises(Forbidden):
        door.change(ticket, [("sign", {"assignment_id": share})], WATER_HANDLER)
    with pytest.raises(Forbidden):
        door.act(ticket.id, "sign", {"assignment_id": share}, WATER_HANDLER)
    assert service.repository().get(ticket.id).version == ticket.version  # nothing written
    signed, = door.change(ticket, [("sign", {"assignment_id": share})], MARKET_HANDLER)
    assert signed.ticket.assignments[0].status == "in_progress" and signed.events[0].type == "signed"


def test_a_played_back_ticket_keeps_department_scope(seeded):
    door = service.default()
    played = door.playback(_submission("1005"), AGENT, at=clock.now() - timedelta(days=3))
    played.step("accept", {}, AGENT, at=clock.now() - timedelta(days=2))
    played.step("dispatch", {"mode": "single", "department": "MARKET"}, DISPATCHER,
                at=clock.now() - timedelta(days=2, hours=-1))
    share = played.ticket.assignments[0].id
    with pytest.raises(Forbidden):
        played.step("sign", {"assignment_id": share}, WATER_HANDLER, at=clock.now() - timedelta(days=1))
    played.step("sign", {"assignment_id": share}, MARKET_HANDLER, at=clock.now() - timedelta(days=1))
    stored = played.store(until=clock.now())
    assert service.repository().get(stored.id).version == stored.version == 4
    assert [e.type for e in service.repository().timeline(stored.id)] == ["registered", "accepted", "dispatched",
                                                                          "signed"]


def test_workflow_timers_change_tickets_through_the_door_they_are_given(seeded):
    ticket = service.act(_to_dispatch("1006").id, "dispatch", {"mode": "single", "department": "MARKET"}, DISPATCHER)
    counting = CountingRepository()
    door = TicketService(repository=counting)
    later = lambda: clock.now() + timedelta(days=40)  # noqa: E731 - every clock of the share long overdue
    result = timers.run_checkpoint(ticket.id, service=door, now=later)
    assert result.applied and len(counting.saved) == len(result.applied)
    assert all(types for types in counting.saved)
    assert service.repository().get(ticket.id).version == ticket.version + len(result.applied)
