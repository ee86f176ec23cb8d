"""Test helpers: tickets driven through the pure domain, their stream records, and a recount.

:class:`Desk` registers tickets and applies lifecycle actions at chosen times (no AWS), keeping
every outcome. :func:`records` turns the ticket states into DynamoDB stream records, exactly as
the table's stream carries them. :func:`recount` derives the expected counters from the timeline
*events* - independently of the aggregator, which reads states.
"""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from chalicelib.analytics.facts import (
    RESULT_MEASURES,
    STAFF_CHANNELS,
    clock_department,
    clock_met,
    day_of,
    department_code,
    dims_of,
    key_value,
    primary_department,
    seconds_between,
)
from chalicelib.analytics.measures import NONE
from chalicelib.domain import intake, lifecycle
from chalicelib.domain.calendar import WorkingCalendar
from chalicelib.domain.clocks import DEFAULT_SLA_RULES
from chalicelib.domain.ticket import Actor, Outcome, Policy, Ticket

POLICY = Policy(sla=DEFAULT_SLA_RULES, calendar=WorkingCalendar())
AGENT = Actor("agent", "agent")
AGENT2 = Actor("agent2", "agent")
DISPATCHER = Actor("dispatcher", "dispatcher")
MANAGER = Actor("manager", "manager")
SYSTEM = Actor("system", "system")
CITIZEN = Actor("citizen", "citizen")
UPPER = Actor("province-12315", "partner")
_serializer = TypeSerializer()
_seq = itertools.count(1)


def handler(department: str) -> Actor:
    return Actor(f"handler-{department.lower()}", "handler", department)


def submission(*, kind: str = "complaint", channel: str = "phone", category: str | None = "商品质量",
               district: str | None = "GUSU", respondent: str = "苏州某某电器商店", phone: str = "13812345678",
               name: str = "张三", facts: str = "购买的电饭煲三天后无法加热，商家拒绝退货。",
               received_at: str | None = None, co: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": kind, "channel": channel,
        "complainant": {"name": name, "phone": phone, "address": "苏州市姑苏区人民路100号"},
        "respondent": {"name": respondent, "address": "苏州市姑苏区观前街1号"},
        "request": "要求退货退款", "facts": facts,
    }
    if category:
        data["category"] = category
    if district:
        data["district"] = district
    if received_at:
        data["received_at"] = received_at
    if co:
        data["co_complainants"] = [{"name": f"联名{i}", "phone": f"139000000{i:02d}", "address": "苏州市"}
                                   for i in range(co)]
    return data


@dataclass
class Desk:
    """Tickets and everything that happened to them, in order."""

    tickets: dict[str, Ticket] = field(default_factory=dict)
    history: list[tuple[Ticket | None, Outcome]] = field(default_factory=list)  # (before, outcome)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    prefix: str = "T"

    def register(self, data: dict[str, Any], at: datetime, actor: Actor = AGENT) -> list[Ticket]:
        outcomes = intake.register(data, actor=actor, now=at, policy=POLICY,
                                   new_id=lambda: f"{self.prefix}{next(self._ids):05d}",
                                   new_tracking_code=lambda: f"TC{next(_seq):010d}")
        out = []
        for outcome in outcomes:
            self.tickets[outcome.ticket.id] = outcome.ticket
            self.history.append((None, outcome))
            out.append(outcome.ticket)
        return out

    def act(self, ticket_id: str, action: str, at: datetime, actor: Actor, **params: Any) -> Ticket:
        before = self.tickets[ticket_id]
        outcome = lifecycle.apply(before, action, params, actor=actor, now=at, policy=POLICY)
        self.tickets[ticket_id] = outcome.ticket
        self.history.append((before, outcome))
        return outcome.ticket


def image(ticket: Ticket) -> dict[str, Any]:
    """The stored ticket item as the stream's image carries it (low-level attribute values)."""
    item = {"PK": f"T#{ticket.id}", "SK": "TICKET", "version": ticket.version, "status": ticket.status,
            "data": ticket.to_dict()}
    return {k: _serializer.serialize(v) for k, v in item.items()}


def record(before: Ticket | None, after: Ticket, images: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One DynamoDB stream record (INSERT or MODIFY) of the ticket item.

    ``images`` memoises images by ticket object while the caller holds them all (a ticket state is
    the new image of one record and the old image of the next)."""
    def image_of(ticket: Ticket) -> dict[str, Any]:
        if images is None:
            return image(ticket)
        if id(ticket) not in images:
            images[id(ticket)] = image(ticket)
        return images[id(ticket)]

    ddb: dict[str, Any] = {"Keys": {"PK": {"S": f"T#{after.id}"}, "SK": {"S": "TICKET"}},
                           "NewImage": image_of(after), "SequenceNumber": f"{next(_seq):021d}",
                           "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if before is not None:
        ddb["OldImage"] = image_of(before)
    return {"eventID": f"ev{next(_seq)}", "eventName": "MODIFY" if before else "INSERT", "eventSource": "aws:dynamodb",
            "dynamodb": ddb}


def records(desk: Desk) -> list[dict[str, Any]]:
    return [record(before, outcome.ticket) for before, outcome in desk.history]


def feed(stream_records: list[dict[str, Any]]) -> Any:
    """Hand records to the analytics consumer as the stream fan-out does."""
    from chalicelib import streams
    from chalicelib.analytics import aggregator

    changes = [c for c in streams.parse({"Records": stream_records}) if aggregator.accepts(c)]
    from chalicelib.analytics import counters

    return counters.apply(aggregator.changes_of(changes))


# --------------------------------------------------------------------------- the recount

Key = tuple[str, str, str, str, str, str, str, str]  # measure, day, department, district, category, kind, channel, agent


def recount(desk: Desk) -> Counter:
    """Expected counts from the timeline events (and the state each event left), keyed by :data:`Key`."""
    out: Counter = Counter()
    for _, outcome in desk.history:
        t = outcome.ticket.to_dict()
        dims = dims_of(t)
        primary = primary_department(t)
        for event in outcome.events:
            e = event.to_dict()
            _event_facts(e, t, primary, lambda m, at, dept, v=1, agent=None: out.update(
                {(m, day_of(at), dept, dims.district, dims.category, dims.kind, dims.channel,
                  key_value(agent) if agent else ""): v}) if v > 0 else None)
    return +out


def _clock(add: Any, t: dict[str, Any], e: dict[str, Any], key: str, prefix: str, dept: str,
           duration: str | None, agent: str | None = None) -> None:
    stopped = (e["data"].get("clocks_stopped") or {})
    if key not in stopped or stopped[key] is None:
        return
    state = t["clocks"][key]
    assert clock_met(state) == stopped[key], (key, state, stopped)
    add(f"{prefix}_on_time" if stopped[key] else f"{prefix}_late", e["at"], dept, agent=agent)
    if duration:
        add(f"{duration}_seconds", e["at"], dept, seconds_between(state["started_at"], state["stopped_at"]),
            agent=agent)
        add(f"{duration}_n", e["at"], dept, agent=agent)


def _closed(add: Any, t: dict[str, Any], e: dict[str, Any], primary: str) -> None:
    add("closed", e["at"], primary)
    if t["resolution"] == "completed":
        add("completed", e["at"], primary)
        if all(clock_met(s) is not False for s in t["clocks"].values()):
            add("closed_on_time", e["at"], primary)
        if t["channel"] == "upper_level":
            add("reported_upward", e["at"], primary)
        add("total_seconds", e["at"], primary, seconds_between(t["received_at"], e["at"]))
        add("total_n", e["at"], primary)
    elif t["resolution"] == "returned_upward":
        add("returned_upward", e["at"], primary)


def _event_facts(e: dict[str, Any], t: dict[str, Any], primary: str, add: Any) -> None:
    kind, data, at, who = e["type"], e["data"], e["at"], e["actor"]["username"]
    if kind == "registered":
        add("received", at, primary, agent=t.get("registered_by") if t["channel"] in STAFF_CHANNELS else None)
    elif kind in ("accepted", "declined", "answered"):
        add(kind, at, primary, agent=who)
        _clock(add, t, e, "acceptance", "accept", NONE, "accept", agent=who)
        if e["to_status"] == "closed":
            _closed(add, t, e, primary)
    elif kind == "non_acceptance_reviewed":
        if data["decision"] == "hand_to_local":
            add("accepted", at, primary, agent=who)
            for a in data["assignments"]:
                add("dispatched", at, key_value(a["department"]))
        else:
            _closed(add, t, e, primary)
    elif kind == "dispatched":
        for a in data["assignments"]:
            add("dispatched", at, key_value(a["department"]))
            if a["role"] == "lower_platform":
                add("sent_down", at, key_value(a["department"]))
    elif kind == "signed":
        dept = key_value(data["department"])
        add("signed", at, dept)
        _clock(add, t, e, f"sign:{data['assignment_id']}", "sign", dept, "sign")
    elif kind in ("paused", "extension_requested", "return_requested"):
        add(kind, at, key_value(data["department"]))
    elif kind == "extension_decided" and data["decision"] == "approve":
        add("extended", at, key_value(data["department"]))
    elif kind == "return_decided" and data["decision"] == "approve":
        add("returned", at, key_value(data["department"]))
    elif kind == "closure_submitted":
        dept = key_value(data["department"])
        add("submitted", at, dept)
        if data.get("result") in RESULT_MEASURES:
            add(data["result"], at, dept)
        if data.get("role") == "lower_platform":
            add("lower_results", at, dept)
        _clock(add, t, e, f"handling:{data['assignment_id']}", "handle", dept, "handle")
        _clock(add, t, e, "mediation", "mediation", primary, None)
        _clock(add, t, e, "report_verification", "verification", primary, None)
    elif kind == "closure_reviewed":
        add("reviewed", at, NONE)
        _clock(add, t, e, "closure_review", "review", NONE, "review")
        if data["decision"] == "rework":
            add("reworked", at, NONE)
        elif data["decision"] == "transfer":
            add("transferred", at, NONE)
            for a in data["assignments"]:
                add("dispatched", at, key_value(a["department"]))
    elif kind in ("callback_recorded", "evaluated"):
        agent = who if kind == "callback_recorded" else None
        add("callback" if kind == "callback_recorded" else "evaluated", at, primary, agent=agent)
        add("feedback", at, primary, agent=agent)
        add(data["satisfaction"], at, primary, agent=agent)
        if data["solved"]:
            add("solved", at, primary, agent=agent)
        if kind == "callback_recorded":
            _clock(add, t, e, "callback", "callback", NONE, "callback", agent=who)
        if e["to_status"] == "closed":  # the callback or evaluation closed the ticket
            _closed(add, t, e, primary)
    elif kind == "reopened":
        add("reopened", at, primary)
    elif kind == "closed":
        _closed(add, t, e, primary)
    elif kind == "urged":
        dept = department_code(data["department"], t)
        add("urged", at, dept)
        if data["source"] == "upper_level":
            add("urged_upper", at, dept)
    elif kind == "urging_answered":
        add("urging_answered", at, department_code(data["department"], t))
    elif kind == "supervised":
        add("supervised", at, department_code(data["department"], t))
    elif kind == "warning_recorded":
        add(f"warned_{data['level']}", at, clock_department(t, data["clock"]))
    elif kind == "repeat_merged":
        add("repeat_merged", at, primary)
    elif kind == "complainant_joined":
        add("joined", at, primary)


def counted(period: Any) -> Counter:
    """What the counters hold for a period, in the recount's keys (cube cells + agent breakdown)."""
    from chalicelib.analytics import counters

    out: Counter = Counter()
    for cell, day, counts in counters.cube(period, by_day=True):
        for measure, value in counts.items():
            out[(measure, day, *cell, "")] += value
    return +out


def by_agent(expected: Counter) -> Counter:
    out: Counter = Counter()
    for key, value in expected.items():
        if key[7]:
            out[(key[0], key[1], key[7])] += value
    return +out


def without_agent(expected: Counter) -> Counter:
    out: Counter = Counter()
    for key, value in expected.items():
        out[key[:7] + ("",)] += value
    return +out
