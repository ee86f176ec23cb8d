"""The dashboard's ticket metrics, counted from committed ticket changes (pure)."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain import intake, lifecycle
from chalicelib.domain.calendar import TZ
from chalicelib.workflow import flow_metrics
from tests.workflow.conftest import AGENT, DISPATCHER, HELP_REQUEST, MANAGER
from tests.workflow.test_schedule import POLICY

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)


def _act(ticket, action, params, actor, at):
    return lifecycle.apply(ticket, action, params, actor=actor, now=at, policy=POLICY).ticket


def test_each_change_counts_what_it_adds():
    registered, = intake.register(HELP_REQUEST, actor=AGENT, now=T0, policy=POLICY, new_id=lambda: "T9",
                                  new_tracking_code=lambda: "AAAA-BBBB-EEEE")
    ticket = registered.ticket
    assert flow_metrics.changes(None, ticket) == {"TicketsRegistered": 1}
    accepted = _act(ticket, "accept", {}, AGENT, T0)
    assert flow_metrics.changes(ticket, accepted) == {"TicketsAccepted": 1}
    dispatched = _act(accepted, "dispatch", {"mode": "single", "department": "MARKET"}, DISPATCHER, T0)
    urged = _act(dispatched, "urge", {"department": "MARKET", "text": "请尽快签收"}, MANAGER, T0 + timedelta(hours=1))
    assert flow_metrics.changes(dispatched, urged) == {"Urgings": 1}
    assert flow_metrics.changes(urged, urged) == {}
