"""Demo data for the call centre and the duty roster (local runtime only).

The demo seeding calls :func:`seed_demo_calls` once, after the demo tickets: a few more agents, a
simulated day of calls for yesterday and today so far (stored through the same use case the webhook
and the CSV import use, so counters and indicators fill as they would), and today's roster. The demo
phone tickets are linked to the calls they were registered from (:func:`ticket_calls`).
"""
from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from chalicelib.calls import records, simulator
from chalicelib.domain.calendar import TZ
from chalicelib.domain.ticket import CENTER, Ticket
from chalicelib.services import calls, roster
from chalicelib.store import directory

DEMO_AGENTS = (("agent", None), ("agent-02", "座席员 赵敏"), ("agent-03", "座席员 孙磊"), ("agent-04", "座席员 周婷"),
               ("agent-05", "座席员 吴昊"), ("agent-06", "座席员 郑丽"))
SEED_ACTOR = "seed"


def _agents() -> list[str]:
    for username, name in DEMO_AGENTS:
        if name and directory.find_entry(directory.USERS, username) is None:
            directory.put_entry(directory.USERS, username, {"username": username, "role": "agent", "name": name,
                                                            "active": True})
    return [username for username, _ in DEMO_AGENTS]


def _roster(day: str) -> int:
    """Today's shifts: agents by day and night, dispatchers, the on-call manager and a department's on-call lead."""
    if roster.list_day(datetime.fromisoformat(day).date()):
        return 0
    users = {u["username"]: u for u in directory.list_entries(directory.USERS)}
    entries = [
        {"department": CENTER, "role": "agent", "shift": "白班", "start": "08:00", "end": "20:00",
         "usernames": [a for a, _ in DEMO_AGENTS[1:]]},
        {"department": CENTER, "role": "agent", "shift": "夜班", "start": "20:00", "end": "08:00", "usernames": ["agent"]},
        {"department": CENTER, "role": "dispatcher", "shift": "白班", "start": "08:30", "end": "17:30",
         "usernames": ["dispatcher"]},
        {"department": CENTER, "role": "manager", "shift": "值班", "start": "00:00", "end": "00:00",
         "usernames": ["manager"], "on_call": True, "note": "中心值班长"},
    ]
    lead = users.get("dept_lead")
    if lead and lead.get("department"):
        entries.append({"department": lead["department"], "role": "dept_lead", "shift": "值班", "start": "00:00",
                        "end": "00:00", "usernames": ["dept_lead"], "on_call": True, "note": "部门值班"})
    for entry in entries:
        roster.create({**entry, "date": day}, actor=SEED_ACTOR, role="admin", own_department=None)
    return len(entries)


def ticket_calls(tickets: Iterable[Ticket]) -> int:
    """The call each demo phone ticket was registered from, linked to it (idempotent: the call id is
    the ticket's): the complainant called, the registering agent answered and typed the ticket while
    talking, the call ending when the ticket was received. So the demo's ticket pages list a call."""
    found: list[records.CallRecord] = []
    for ticket in tickets:
        if ticket.channel != "phone" or not ticket.complainant.phone:
            continue
        rng = random.Random(ticket.id)
        end = ticket.received_at.astimezone(TZ)
        answer = end - timedelta(seconds=rng.randint(150, 720))
        start = answer - timedelta(seconds=rng.randint(4, 40))
        found.append(records.parse({
            "call_id": f"DEMO-{ticket.id}", "agent": ticket.registered_by or "agent", "caller": ticket.complainant.phone,
            "start": start.isoformat(), "answer": answer.isoformat(), "end": end.isoformat(),
            "queue": "report" if ticket.kind == "report" else "complaint", "outcome": "answered",
            "recording": f"rec/demo/{ticket.id}.wav", "ticket_id": ticket.id}))
    return calls.ingest_checked(found, source="simulator")["stored"] if found else 0


FULL_DEMO_TICKETS = 1500  # the default demo (`make run`): a busy hotline's 600 calls a day
FULL_DEMO_CALLS_PER_DAY = 600


def calls_per_day(demo_tickets: int) -> int:
    """The simulated calls a day for a demo of ``demo_tickets`` tickets: 600 for the full demo, in
    proportion below it (a small demo for a quick look or a test does not ingest 1,200 calls), never
    fewer than 10 so the call-centre statistics are not empty."""
    return max(10, min(FULL_DEMO_CALLS_PER_DAY, demo_tickets * FULL_DEMO_CALLS_PER_DAY // FULL_DEMO_TICKETS))


def seed_demo_calls(now: datetime | None = None, *, per_day: int = FULL_DEMO_CALLS_PER_DAY) -> dict[str, Any]:
    """Yesterday's calls and today's so far, and today's roster (idempotent: call ids are stable)."""
    now = (now or datetime.now(TZ)).astimezone(TZ)
    agents = _agents()
    stored = 0
    for day, until in ((now.date() - timedelta(days=1), None), (now.date(), now)):
        parsed = [records.parse(r) for r in simulator.simulate_day(day, agents, calls=per_day, until=until)]
        stored += calls.ingest_checked(parsed, source="simulator")["stored"]
    return {"calls": stored, "roster_entries": _roster(now.date().isoformat())}
