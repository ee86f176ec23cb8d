"""Real-time monitoring for managers, dispatchers and department leads: what waits in the caller's
queues, what is yellow or red, and - for the tickets received in a period - how many were signed
(on time), where they stand, how many were replied to and how satisfied the citizens were.

Read from the work-queue index (GSI1: one counting Query per queue) and the tickets-by-received-time
index (GSI2: one Query per month touched and shard), never a scan. A period is capped at :data:`MAX_DAYS` days and
:data:`MAX_TICKETS` tickets (the answer says when it was cut short); pre-aggregated counters
(the statistics module) answer longer periods. A department lead's scope takes in the department's
grassroots offices (基层所): their queues are counted and their shares of the tickets read with the
department's own.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from chalicelib.domain.calendar import TZ
from chalicelib.domain.queues import DEPARTMENT_QUEUES
from chalicelib.domain.ticket import CENTER, Role
from chalicelib.services import policy
from chalicelib.store.models import QueueItem
from chalicelib.store.tickets import items_received_between

MAX_DAYS = 31
MAX_TICKETS = 3000
MAX_WARNING_ITEMS = 2000
CENTRE_QUEUES = ("internet_inbox", "upper_assignments", "pending_acceptance", "to_dispatch", "extension_requests",
                 "return_requests", "closure_reviews", "non_acceptance_reviews", "pending_callback", "warnings")
DEPARTMENT_QUEUE_ORDER = ("to_sign", "in_progress", "urgings")
SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")


@dataclass(frozen=True)
class Scope:
    """Whose work the caller watches: the centre (optionally one district) or one department."""

    kind: str  # centre | department
    owner: str  # CENTER or a department code
    district: str | None = None
    offices: tuple[str, ...] = ()  # a lead's: the department's grassroots offices, watched with it

    @classmethod
    def of(cls, role: str, department: str | None, district: str | None) -> "Scope":
        if role in (Role.HANDLER, Role.DEPT_LEAD):
            offices = tuple(policy.offices_of(department)) if role == Role.DEPT_LEAD and department else ()
            return cls(kind="department", owner=department or "", offices=offices)
        return cls(kind="centre", owner=CENTER, district=district)

    @property
    def units(self) -> tuple[str, ...]:
        """The owners of the queues watched: the department (or the centre) and a lead's offices."""
        return (self.owner, *self.offices)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "owner": self.owner, "district": self.district, "offices": list(self.offices)}


def queue_counts(scope: Scope) -> dict[str, int]:
    """How many entries wait in each of the scope's queues (a counting Query each)."""
    names = DEPARTMENT_QUEUE_ORDER if scope.kind == "department" else CENTRE_QUEUES
    return {name: sum(QueueItem.by_queue.count(f"Q#{name}#{unit}") for unit in scope.units) for name in names}


def warning_counts(scope: Scope) -> dict[str, Any]:
    """Tickets at yellow and at red: the centre's warnings queue, or the department's own queues."""
    queues = ("warnings",) if scope.kind == "centre" else tuple(q for q in DEPARTMENT_QUEUE_ORDER
                                                                  if q in DEPARTMENT_QUEUES)
    level: dict[str, str] = {}
    read = 0
    truncated = False
    for name, unit in ((name, unit) for name in queues for unit in scope.units):
        for item in QueueItem.by_queue.query(f"Q#{name}#{unit}", limit=MAX_WARNING_ITEMS):
            read += 1
            if read > MAX_WARNING_ITEMS:
                truncated = True
                break
            summary = item.summary.as_dict()
            if scope.district and summary.get("district") != scope.district:
                continue
            warning = summary.get("warning")
            if warning in ("yellow", "red") and level.get(summary.get("id", "")) != "red":
                level[str(summary.get("id"))] = warning
    counts = Counter(level.values())
    return {"yellow": counts.get("yellow", 0), "red": counts.get("red", 0), "truncated": truncated}


def _in_scope(data: dict[str, Any], scope: Scope) -> bool:
    if scope.kind == "department":
        return any(a.get("department") in scope.units for a in data.get("assignments") or [])
    return scope.district is None or data.get("district") == scope.district


def _met(state: dict[str, Any]) -> bool:
    """A stopped clock met its deadline (stopped - or paused, if stopped while paused - by due)."""
    ended = state.get("paused_at") or state.get("stopped_at")
    return bool(ended and state.get("due") and datetime.fromisoformat(ended) <= datetime.fromisoformat(state["due"]))


def period_counts(scope: Scope, start: date, end: date) -> dict[str, Any]:
    """Counts over the tickets received from ``start`` to ``end`` (inclusive) in the scope."""
    by_status: Counter[str] = Counter()
    satisfaction: Counter[str] = Counter()
    totals = Counter()
    seen = 0
    truncated = False
    for item in items_received_between(start, end):  # GSI2: each month's shards, merged
        seen += 1
        if seen > MAX_TICKETS:
            truncated = True
            break
        data = item.data.as_dict()
        if not _in_scope(data, scope):
            continue
        totals["tickets"] += 1
        by_status[str(data.get("status"))] += 1
        assignments = [a for a in data.get("assignments") or []
                       if scope.kind == "centre" or a.get("department") in scope.units]
        signed = [a for a in assignments if a.get("signed_at")]
        if signed:
            totals["signed"] += 1
            clocks = data.get("clocks") or {}
            if all(_met(clocks.get(f"sign:{a.get('id')}") or {}) for a in signed):
                totals["signed_on_time"] += 1
        feedback = data.get("feedback") or []
        if feedback:
            totals["replied"] += 1
            last = feedback[-1]
            satisfaction[str(last.get("satisfaction"))] += 1
            if last.get("solved"):
                totals["solved"] += 1
        urgings = [u for u in data.get("urgings") or []
                   if scope.kind == "centre" or u.get("department") in scope.units]
        totals["urgings"] += len(urgings)
        supervisions = [s for s in data.get("supervisions") or []
                        if scope.kind == "centre" or s.get("department") in scope.units]
        if supervisions:
            totals["supervised"] += 1
        warnings = {str(c.get("warning")) for c in (data.get("clocks") or {}).values()}
        if "red" in warnings:
            totals["red"] += 1
        elif "yellow" in warnings:
            totals["yellow"] += 1
    replied = totals["replied"]
    content = satisfaction["satisfied"] + satisfaction["basically_satisfied"]
    return {
        "from": start.isoformat(), "to": end.isoformat(), "truncated": truncated,
        "tickets": totals["tickets"], "by_status": dict(sorted(by_status.items())),
        "signed": totals["signed"], "signed_on_time": totals["signed_on_time"],
        "replied": replied, "solved": totals["solved"],
        "satisfaction": {name: satisfaction.get(name, 0) for name in SATISFACTION},
        "satisfaction_rate": round(content / replied, 4) if replied else None,
        "warned": {"yellow": totals["yellow"], "red": totals["red"]},
        "urgings": totals["urgings"], "supervised": totals["supervised"],
    }


def overview(scope: Scope, start: date, end: date) -> dict[str, Any]:
    """Everything the monitoring screen shows for one scope and period."""
    return {"scope": scope.to_dict(), "as_of": datetime.now(TZ).isoformat(), "queues": queue_counts(scope),
            "warnings": warning_counts(scope), "period": period_counts(scope, start, end)}
