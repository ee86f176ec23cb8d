"""What a ticket change means for the statistics: facts derived from the item's old and new images.

The aggregator sees the ticket item (``T#<id>/TICKET``) before and after each committed change,
as the table's stream delivers them. :func:`derive` compares the two states and returns the
*facts* - "an assignment of MARKET was signed on 2026-03-04, within its limit" - each a measure
of :mod:`measures` counted on a day (Asia/Shanghai), attributed to one department, with the
ticket's district, category, kind, channel and respondent. It reads states, not event names, so
a save that chained several transitions yields the facts of all of them.

Attribution: a department's share (assignment) is counted for that department; a ticket-level
fact (received, closed, satisfaction...) for the ticket's primary department (the single or lead
share, else the first share), or ``-`` before dispatch; the centre's own clocks (acceptance,
closure review, callback) for ``-``. So every breakdown adds up to the total.

Pure functions over plain dicts (``Ticket.to_dict()``): no I/O, no domain decoding on the hot path.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from chalicelib.analytics.measures import NONE
from chalicelib.domain.calendar import TZ
from chalicelib.domain.deadlines import CENTRE_CLOCKS  # the centre's own clocks
from chalicelib.domain.deadlines import met_deadline_data as clock_met  # the domain's "met its deadline"
from chalicelib.domain.vocabulary import CENTER, FINISHED
ENDED = frozenset({"returned", "withdrawn", "transferred"})
RESULT_MEASURES = frozenset({"settled", "not_settled", "terminated", "case_filed", "not_filed"})
STAFF_CHANNELS = frozenset({"phone", "walk_in", "mail", "hotline_12345"})  # registered by the centre's staff
WARNING_RANK = {"none": 0, "yellow": 1, "red": 2}
_UNSAFE = re.compile(r"[#|\s]+")
_RESPONDENT_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Fact:
    """One measure counted on one day for one department (``value`` > 0)."""

    measure: str
    day: str  # YYYY-MM-DD, Asia/Shanghai
    value: int
    department: str
    agent: str | None = None  # the staff member who did it, for the centre's own work


@dataclass(frozen=True)
class Dims:
    """The ticket's dimension values at the change (sanitised for use in keys)."""

    district: str
    category: str
    kind: str
    channel: str
    respondent: str  # a normalised key
    respondent_name: str | None = None


@dataclass(frozen=True)
class Change:
    """The facts of one committed ticket change (one stream record)."""

    ticket_id: str
    version: int
    dims: Dims
    facts: tuple[Fact, ...] = field(default_factory=tuple)
    part: str = ""  # set when a change too big for one transaction is counted in parts
    claim_ttl_seconds: int = 0  # how long its claim is kept (0: the counters' default week)

    @property
    def id(self) -> str:
        return f"{self.ticket_id}#{self.version:010d}{self.part}"

    @property
    def claim_key(self) -> str:
        """The sort key of the claim that marks this change (or part) as counted."""
        return f"{self.version:010d}{self.part}"


def key_value(value: Any, limit: int = 80) -> str:
    """A dimension value safe inside a key: no ``#``/``|``/whitespace, bounded, ``-`` when empty."""
    if value is None:
        return NONE
    text = _UNSAFE.sub("_", str(value)).strip("_")[:limit]
    return text or NONE


def respondent_key(respondent: dict[str, Any] | None) -> str:
    """The respondent's identity for counting: its credit code, else its normalised name."""
    if not respondent:
        return NONE
    code = respondent.get("credit_code")
    if isinstance(code, str) and code.strip():
        return "C_" + key_value(code.strip().upper(), 40)
    name = respondent.get("name")
    if not isinstance(name, str) or not name.strip():
        return NONE
    normal = _RESPONDENT_NOISE.sub("", unicodedata.normalize("NFKC", name).casefold())
    return "N_" + key_value(normal, 60) if normal else NONE


@lru_cache(maxsize=65536)
def _local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(TZ)


def day_of(iso: str) -> str:
    """The Asia/Shanghai date of an ISO 8601 timestamp."""
    return _local(iso).date().isoformat()


def seconds_between(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    return max(0, int((_local(end) - _local(start)).total_seconds()))


def primary_department(ticket: dict[str, Any]) -> str:
    """The department a ticket-level figure is counted for (see the module docstring)."""
    shares = [a for a in ticket.get("assignments") or () if a.get("status") not in ENDED]
    main = [a for a in shares if a.get("role") != "assist"] or shares
    return key_value(main[0].get("department")) if main else NONE


def department_code(value: Any, ticket: dict[str, Any]) -> str:
    """A department named on an urging/supervision (``center`` -> ``-``; missing -> primary)."""
    if value is None:
        return primary_department(ticket)
    return NONE if value == CENTER else key_value(value)


def clock_department(ticket: dict[str, Any], key: str) -> str:
    """Who a clock's figure counts for: the share's department, the centre, or the primary one."""
    name, _, assignment_id = key.partition(":")
    if name in CENTRE_CLOCKS:  # the centre's, also those kept per share (extension/return decisions)
        return NONE
    if assignment_id:
        share = next((a for a in ticket.get("assignments") or () if a.get("id") == assignment_id), None)
        return key_value(share.get("department")) if share else NONE
    if name in CENTRE_CLOCKS:
        return NONE
    return primary_department(ticket)


def dims_of(ticket: dict[str, Any]) -> Dims:
    respondent = ticket.get("respondent") or None
    return Dims(district=key_value(ticket.get("district")), category=key_value(ticket.get("category")),
                kind=key_value(ticket.get("kind")), channel=key_value(ticket.get("channel")),
                respondent=respondent_key(respondent),
                respondent_name=(respondent or {}).get("name") if respondent else None)


def _stopped_now(old_clocks: dict[str, Any], new_clocks: dict[str, Any], key: str) -> dict[str, Any] | None:
    new = new_clocks.get(key)
    if not new or new.get("status") != "stopped":
        return None
    old = old_clocks.get(key)
    if old and old.get("status") == "stopped" and old.get("stopped_at") == new.get("stopped_at"):
        return None
    return new


class _Facts:
    """Collects facts for one change."""

    def __init__(self) -> None:
        self.items: list[Fact] = []

    def add(self, measure: str, at: str | None, department: str, value: int = 1, agent: str | None = None) -> None:
        if at and value > 0:
            self.items.append(Fact(measure, day_of(at), value, department, key_value(agent) if agent else None))

    def clock(self, prefix: str, state: dict[str, Any], department: str, agent: str | None = None,
              duration: str | None = None) -> None:
        met = clock_met(state)
        if met is None:
            return
        at = state["stopped_at"]
        self.add(f"{prefix}_on_time" if met else f"{prefix}_late", at, department, agent=agent)
        if duration:
            elapsed = seconds_between(state.get("started_at"), at)
            if elapsed is not None:
                self.add(f"{duration}_seconds", at, department, elapsed, agent=agent)
                self.add(f"{duration}_n", at, department, agent=agent)


def derive(old: dict[str, Any] | None, new: dict[str, Any]) -> Change:
    """The facts of the change from ``old`` (None for a new ticket) to ``new``."""
    o = old or {}
    n = new
    facts = _Facts()
    primary = primary_department(n)
    o_clocks, n_clocks = o.get("clocks") or {}, n.get("clocks") or {}

    if old is None:
        registrar = n.get("registered_by") if n.get("channel") in STAFF_CHANNELS else None
        facts.add("received", n.get("created_at"), primary, agent=registrar)

    # acceptance decision (accept, decline, answer directly; a reviewed non-acceptance handed to a department)
    o_acc, n_acc = o.get("acceptance") or {}, n.get("acceptance") or {}
    if n_acc and (n_acc.get("at") != o_acc.get("at") or n_acc.get("outcome") != o_acc.get("outcome")):
        measure = {"accepted": "accepted", "declined": "declined", "answered": "answered"}.get(n_acc.get("outcome"))
        if measure:
            facts.add(measure, n_acc.get("at"), primary, agent=n_acc.get("by"))
    if (state := _stopped_now(o_clocks, n_clocks, "acceptance")) is not None:
        facts.clock("accept", state, NONE, agent=n_acc.get("by"), duration="accept")

    # departments' shares
    old_shares = {a.get("id"): a for a in o.get("assignments") or ()}
    for a in n.get("assignments") or ():
        was = old_shares.get(a.get("id")) or {}
        dept = key_value(a.get("department"))
        aid = a.get("id")
        if not was:
            facts.add("dispatched", a.get("dispatched_at"), dept)
            if a.get("role") == "lower_platform":
                facts.add("sent_down", a.get("dispatched_at"), dept)
        if a.get("signed_at") and not was.get("signed_at"):
            facts.add("signed", a.get("signed_at"), dept)
            if (state := _stopped_now(o_clocks, n_clocks, f"sign:{aid}")) is not None:
                facts.clock("sign", state, dept, duration="sign")
        if a.get("pause") and not was.get("pause"):
            facts.add("paused", a["pause"].get("paused_at"), dept)
        if a.get("extension_request") and not was.get("extension_request"):
            facts.add("extension_requested", a["extension_request"].get("requested_at"), dept)
        if was.get("extension_request") and not a.get("extension_request") and a.get("status") == was.get("status"):
            key = f"handling:{aid}"
            if (n_clocks.get(key) or {}).get("due") != (o_clocks.get(key) or {}).get("due"):
                facts.add("extended", n.get("updated_at"), dept)
        if a.get("return_request") and not was.get("return_request"):
            facts.add("return_requested", a["return_request"].get("requested_at"), dept)
        if a.get("status") == "returned" and was.get("status") != "returned":
            facts.add("returned", a.get("ended_at") or n.get("updated_at"), dept)
        if a.get("status") == "submitted" and was.get("status") != "submitted":
            closure = a.get("closure") or {}
            at = closure.get("submitted_at") or n.get("updated_at")
            facts.add("submitted", at, dept)
            if closure.get("result") in RESULT_MEASURES:
                facts.add(closure["result"], at, dept)
            if a.get("role") == "lower_platform":
                facts.add("lower_results", at, dept)
            if (state := _stopped_now(o_clocks, n_clocks, f"handling:{aid}")) is not None:
                facts.clock("handle", state, dept, duration="handle")

    # ticket-level clocks the departments' work stops
    for key, prefix in (("mediation", "mediation"), ("report_verification", "verification")):
        if (state := _stopped_now(o_clocks, n_clocks, key)) is not None:
            facts.clock(prefix, state, primary)

    # closure review
    if o.get("status") == "closure_review" and n.get("status") != "closure_review":
        facts.add("reviewed", n.get("updated_at"), NONE)
        if (state := _stopped_now(o_clocks, n_clocks, "closure_review")) is not None:
            facts.clock("review", state, NONE, duration="review")
        if any(a.get("status") == "transferred" and (old_shares.get(a.get("id")) or {}).get("status") != "transferred"
               for a in n.get("assignments") or ()):
            facts.add("transferred", n.get("updated_at"), NONE)
    reworks = int(n.get("rework_count") or 0) - int(o.get("rework_count") or 0)
    if old is not None and reworks > 0:
        facts.add("reworked", n.get("updated_at"), NONE, reworks)

    # callbacks and evaluations
    new_feedback = (n.get("feedback") or [])[len(o.get("feedback") or []):]
    for fb in new_feedback:
        via_callback = fb.get("via") == "callback"
        agent = fb.get("by") if via_callback else None
        facts.add("callback" if via_callback else "evaluated", fb.get("at"), primary, agent=agent)
        facts.add("feedback", fb.get("at"), primary, agent=agent)
        if fb.get("satisfaction") in ("satisfied", "basically_satisfied", "dissatisfied"):
            facts.add(fb["satisfaction"], fb.get("at"), primary, agent=agent)
        if fb.get("solved") is True:
            facts.add("solved", fb.get("at"), primary, agent=agent)
    callbacks = [fb for fb in new_feedback if fb.get("via") == "callback"]
    if callbacks and (state := _stopped_now(o_clocks, n_clocks, "callback")) is not None:
        facts.clock("callback", state, NONE, agent=callbacks[-1].get("by"), duration="callback")

    reopens = int(n.get("reopen_count") or 0) - int(o.get("reopen_count") or 0)
    if old is not None and reopens > 0:
        facts.add("reopened", n.get("updated_at"), primary, reopens)

    # urging and supervision
    o_urgings, n_urgings = o.get("urgings") or [], n.get("urgings") or []
    for u in n_urgings[len(o_urgings):]:
        dept = department_code(u.get("department"), n)
        facts.add("urged", u.get("at"), dept)
        if u.get("source") == "upper_level":
            facts.add("urged_upper", u.get("at"), dept)
    for before, after in zip(o_urgings, n_urgings):
        if after.get("answered_at") and not before.get("answered_at"):
            facts.add("urging_answered", after["answered_at"], department_code(after.get("department"), n))
    for s in (n.get("supervisions") or [])[len(o.get("supervisions") or []):]:
        facts.add("supervised", s.get("at"), department_code(s.get("department"), n))

    # warnings (yellow/red cards) recorded on clocks
    for key, state in n_clocks.items():
        before = (o_clocks.get(key) or {}).get("warning", "none")
        after = state.get("warning", "none")
        if WARNING_RANK.get(after, 0) > WARNING_RANK.get(before, 0):
            facts.add(f"warned_{after}", n.get("updated_at"), clock_department(n, key))

    # closure of the ticket
    if n.get("status") == "closed" and o.get("status") not in FINISHED:
        at = n.get("closed_at") or n.get("updated_at")
        facts.add("closed", at, primary)
        resolution = n.get("resolution")
        if resolution == "completed":
            facts.add("completed", at, primary)
            if all(clock_met(s) is not False for s in n_clocks.values()):
                facts.add("closed_on_time", at, primary)
            if n.get("channel") == "upper_level":
                facts.add("reported_upward", at, primary)
            total = seconds_between(n.get("received_at"), at)
            if total is not None:
                facts.add("total_seconds", at, primary, total)
                facts.add("total_n", at, primary)
        elif resolution == "returned_upward":
            facts.add("returned_upward", at, primary)

    # repeats (Art. 35) and joint complaints (Art. 12)
    for merged in (n.get("merged_facts") or [])[len(o.get("merged_facts") or []):]:
        facts.add("repeat_merged", merged.get("at"), primary)
    if old is not None:
        for joined in (n.get("co_complainants") or [])[len(o.get("co_complainants") or []):]:
            facts.add("joined", joined.get("at"), primary)

    return Change(ticket_id=str(n.get("id")), version=int(n.get("version") or 0), dims=dims_of(n),
                  facts=tuple(facts.items))
