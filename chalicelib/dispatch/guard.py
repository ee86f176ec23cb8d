"""The live guard of automatic dispatch: precision measured from what happens next, per department.

Every ticket the platform dispatched by itself is followed on its timeline (a stream consumer
reads the timeline events as they are written):

* the department signs it, or its return request is refused: the dispatch was right (for now);
* a return is approved (退回), or a dispatcher sends the ticket to another department after it
  (re-dispatch, the correction that also becomes a labelled example for retraining), or a
  closure review transfers it: the dispatch was wrong. Wrong is final; right can still turn wrong.

Per department, the outcomes of the last ``WINDOW_DAYS`` days (at most ``WINDOW_MAX``, newest
first) at or above the department's guard threshold give its live auto-dispatch precision. With
at least ``MIN_OUTCOMES`` judged and a precision below ``TARGET``, the guard acts by itself:

* it raises the department's threshold to the lowest probability above which the window's
  outcomes do reach the target (with at least ``MIN_KEPT`` of them), or
* when no threshold would (or precision is below ``STOP_BELOW``), it stops auto-dispatch for the
  department; the department's tickets then wait for a dispatcher with the model's top 3.

Each action is recorded with its reason and figures (``history``), logged and counted; the
admin's model page shows the state, and an admin resumes a stopped department (its window starts
afresh). The state is one directory entry per department (``PK = DISPATCH_GUARD``), changed with
optimistic locking; replayed stream records change nothing (outcomes are keyed by ticket).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib import streams
from chalicelib.domain.calendar import TZ
from chalicelib.domain.errors import ConcurrentModification, ValidationFailed
from chalicelib.domain.ticket import BASIS_POINTS
from chalicelib.observability import count, logger
from chalicelib.store import directory

KIND = "DISPATCH_GUARD"
TARGET = 0.97
STOP_BELOW = 0.80
MIN_OUTCOMES = 20
MIN_KEPT = 10
WINDOW_DAYS = 30
WINDOW_MAX = 100
MAX_HISTORY = 20
ATTEMPTS = 5

ACTIVE, RAISED, PAUSED = "active", "raised", "paused"
WRONG = ("returned", "redispatched", "transferred")
RIGHT = ("signed", "return_refused")


@dataclass
class GuardState:
    """One department's guard: its state, threshold, window of outcomes and what it did."""

    department: str
    state: str = ACTIVE
    threshold_bp: int | None = None  # the guard's minimum probability (None: the model's own)
    since: str | None = None  # outcomes before this moment are not judged (set on resume)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)  # ticket id -> outcome
    history: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0

    @classmethod
    def from_entry(cls, department: str, entry: dict[str, Any] | None) -> "GuardState":
        if entry is None:
            return cls(department)
        bp = entry.get("threshold_bp")
        return cls(department=department, state=str(entry.get("state") or ACTIVE),
                   threshold_bp=int(bp) if bp is not None else None, since=entry.get("since"),
                   outcomes={str(k): dict(v) for k, v in (entry.get("outcomes") or {}).items()},
                   history=list(entry.get("history") or []), version=int(entry.get("_version") or 0))

    def to_entry(self) -> dict[str, Any]:
        return {"department": self.department, "state": self.state, "threshold_bp": self.threshold_bp,
                "since": self.since, "outcomes": self.outcomes, "history": self.history[-MAX_HISTORY:]}

    def window(self, now: datetime) -> list[dict[str, Any]]:
        """Decided outcomes of the rolling window, newest first."""
        start = now.astimezone(TZ) - timedelta(days=WINDOW_DAYS)
        since = datetime.fromisoformat(self.since) if self.since else None
        decided = [o for o in self.outcomes.values() if o.get("ok") is not None
                   and datetime.fromisoformat(o["at"]) >= start and (since is None or datetime.fromisoformat(o["at"]) >= since)]
        decided.sort(key=lambda o: o["at"], reverse=True)
        return decided[:WINDOW_MAX]

    def judged(self, now: datetime) -> list[dict[str, Any]]:
        """The window's outcomes the guard's threshold would still dispatch automatically."""
        floor = self.threshold_bp or 0
        return [o for o in self.window(now) if int(o.get("probability_bp") or 0) >= floor]

    def figures(self, now: datetime) -> dict[str, Any]:
        """What the admin's page shows: live precision of the judged window and its counts."""
        window, judged = self.window(now), self.judged(now)
        right = sum(1 for o in judged if o["ok"])
        return {"department": self.department, "state": self.state,
                "threshold": None if self.threshold_bp is None else self.threshold_bp / BASIS_POINTS,
                "window_days": WINDOW_DAYS, "outcomes": len(window), "judged": len(judged),
                "wrong": len(judged) - right, "precision": round(right / len(judged), 4) if judged else None,
                "pending": sum(1 for o in self.outcomes.values() if o.get("ok") is None),
                "target": TARGET, "min_outcomes": MIN_OUTCOMES, "since": self.since,
                "history": list(reversed(self.history[-MAX_HISTORY:])), "_version": self.version}


def _raised_threshold(judged: list[dict[str, Any]], current: int | None) -> int | None:
    """The lowest probability above which the judged outcomes reach the target, or None."""
    probabilities = sorted({int(o.get("probability_bp") or 0) for o in judged})
    for p in probabilities:
        if current is not None and p <= current:
            continue
        kept = [o for o in judged if int(o.get("probability_bp") or 0) >= p]
        if len(kept) < MIN_KEPT:
            return None
        if sum(1 for o in kept if o["ok"]) / len(kept) >= TARGET:
            return p
    return None


def judge(state: GuardState, now: datetime) -> dict[str, Any] | None:
    """Act on the department's live precision; returns the history record of an action, or None."""
    if state.state == PAUSED:
        return None
    judged = state.judged(now)
    if len(judged) < MIN_OUTCOMES:
        return None
    right = sum(1 for o in judged if o["ok"])
    precision = right / len(judged)
    if precision >= TARGET:
        return None
    raised = None if precision < STOP_BELOW else _raised_threshold(judged, state.threshold_bp)
    record: dict[str, Any] = {"at": now.astimezone(TZ).isoformat(), "precision": round(precision, 4),
                              "judged": len(judged), "wrong": len(judged) - right, "target": TARGET,
                              "threshold_from": state.threshold_bp}
    if raised is not None:
        state.state, state.threshold_bp = RAISED, raised
        record.update(action="raised", threshold_to=raised,
                      reason=(f"live precision {precision:.3f} over {len(judged)} automatic dispatches is below "
                              f"{TARGET}; the outcomes at or above {raised / BASIS_POINTS:.4f} reach it"))
    else:
        state.state = PAUSED
        why = (f"below {STOP_BELOW}" if precision < STOP_BELOW
               else f"no threshold keeps {MIN_KEPT} of them at {TARGET}")
        record.update(action="paused", threshold_to=state.threshold_bp,
                      reason=(f"live precision {precision:.3f} over {len(judged)} automatic dispatches is below "
                              f"{TARGET} and {why}: automatic dispatch stopped for the department"))
    state.history.append(record)
    return record


def _load(department: str) -> GuardState:
    return GuardState.from_entry(department, directory.find_entry(KIND, department))


def _save(state: GuardState) -> int:
    return directory.put_entry(KIND, state.department, state.to_entry(), expected_version=state.version)


def _prune(state: GuardState, now: datetime) -> None:
    """Forget outcomes older than the window (pending ones too: the item stays small)."""
    start = now.astimezone(TZ) - timedelta(days=WINDOW_DAYS)
    state.outcomes = {k: v for k, v in state.outcomes.items() if datetime.fromisoformat(v["at"]) >= start}


def record_outcome(department: str, ticket_id: str, *, at: datetime, ok: bool | None, why: str,
                   probability_bp: int | None = None, assignment_id: str | None = None) -> dict[str, Any] | None:
    """Store what happened to one automatic dispatch and judge the department again.

    ``ok`` None opens the outcome (the dispatch itself). A wrong outcome is final. Outcomes of
    tickets the guard never saw dispatched automatically are ignored (returns the action taken, if any).
    """
    for _ in range(ATTEMPTS):
        state = _load(department)
        current = state.outcomes.get(ticket_id)
        if ok is None:
            if current is not None:
                return None  # a replayed dispatch
            state.outcomes[ticket_id] = {"at": at.astimezone(TZ).isoformat(), "ok": None, "why": why,
                                         "probability_bp": int(probability_bp or 0), "assignment_id": assignment_id}
        else:
            if current is None or current.get("ok") is False or (current.get("ok") is True and ok):
                return None
            state.outcomes[ticket_id] = {**current, "ok": ok, "why": why, "decided_at": at.astimezone(TZ).isoformat()}
        _prune(state, at)
        action = judge(state, at)
        try:
            _save(state)
        except ConcurrentModification:
            continue
        if action is not None:
            count("AutoDispatchGuard" + action["action"].capitalize())
            logger.warning("automatic dispatch guard acted", extra={"department": department, **action})
        return action
    raise ConcurrentModification(f"dispatch guard of {department} is busy: retry")


def state_of(department: str) -> GuardState:
    """A department's guard as stored (a fresh, never-judged one when there is none)."""
    return _load(department)


def all_states(departments: list[str], now: datetime) -> list[dict[str, Any]]:
    """Every department's figures (one Query), in the order given."""
    stored = {str(e.get("department")): e for e in directory.list_entries(KIND)}
    return [GuardState.from_entry(code, stored.get(code)).figures(now) for code in departments]


def resume(department: str, *, actor: str, now: datetime, expected_version: int, reason: str | None = None
           ) -> GuardState:
    """An admin lets the platform dispatch ``department``'s tickets again: the window starts afresh."""
    state = _load(department)
    if state.version != expected_version:
        raise ConcurrentModification(f"dispatch guard of {department} was changed by someone else")
    if state.state == ACTIVE:
        raise ValidationFailed("the department's automatic dispatch is not stopped or raised",
                               details={"department": department})
    state.history.append({"at": now.astimezone(TZ).isoformat(), "action": "resumed", "by": actor,
                          "threshold_from": state.threshold_bp, "threshold_to": None,
                          "reason": reason or "resumed by an admin"})
    state.state, state.threshold_bp, state.since = ACTIVE, None, now.astimezone(TZ).isoformat()
    state.version = _save(state)
    return state


# --- the stream consumer ------------------------------------------------------------------------


def _event(change: streams.TableChange) -> dict[str, Any] | None:
    if change.event_name != "INSERT" or change.new is None:
        return None
    if not (change.pk.startswith("T#") and change.sk.startswith("E#")):
        return None
    data = change.new.get("data")
    return data if isinstance(data, dict) else None


WATCHED = frozenset({"dispatched", "signed", "return_decided", "closure_reviewed"})


def _watched(change: streams.TableChange) -> bool:
    event = _event(change)
    return event is not None and event.get("type") in WATCHED


def follow(ticket_id: str, event: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn one timeline event into guard outcomes; returns the actions the guard took."""
    kind, data = event.get("type"), event.get("data") or {}
    at = datetime.fromisoformat(str(event["at"]))
    actions: list[dict[str, Any] | None] = []
    if kind == "dispatched":
        shares = [a for a in data.get("assignments") or [] if isinstance(a, dict)]
        auto = data.get("auto_dispatch")
        if isinstance(auto, dict) and len(shares) == 1:
            actions.append(record_outcome(shares[0]["department"], ticket_id, at=at, ok=None, why="dispatched",
                                          probability_bp=int(auto.get("probability_bp") or 0),
                                          assignment_id=shares[0].get("id")))
        else:  # a dispatcher's dispatch: wrong for an earlier automatic one to another department
            chosen = {a.get("department") for a in shares}
            for code in _auto_departments(ticket_id):
                if code not in chosen:
                    actions.append(record_outcome(code, ticket_id, at=at, ok=False, why="redispatched"))
    elif kind == "signed" and data.get("department"):
        actions.append(_decided(str(data["department"]), ticket_id, data.get("assignment_id"), at, True, "signed"))
    elif kind == "return_decided" and data.get("department"):
        approved = data.get("decision") == "approve"
        actions.append(_decided(str(data["department"]), ticket_id, data.get("assignment_id"), at, not approved,
                                "returned" if approved else "return_refused"))
    elif kind == "closure_reviewed" and data.get("decision") == "transfer":
        for code in _auto_departments(ticket_id):
            if code != data.get("to_department"):
                actions.append(record_outcome(code, ticket_id, at=at, ok=False, why="transferred"))
    return [a for a in actions if a is not None]


def _decided(department: str, ticket_id: str, assignment_id: Any, at: datetime, ok: bool, why: str
             ) -> dict[str, Any] | None:
    opened = state_of(department).outcomes.get(ticket_id)
    if opened is None or (assignment_id and opened.get("assignment_id") not in (None, assignment_id)):
        return None  # not an automatic dispatch of this department
    return record_outcome(department, ticket_id, at=at, ok=ok, why=why)


def _auto_departments(ticket_id: str) -> list[str]:
    """Departments that hold an outcome for this ticket (it was dispatched to them automatically)."""
    return [str(e.get("department")) for e in directory.list_entries(KIND)
            if ticket_id in (e.get("outcomes") or {})]


@streams.consumer("dispatch_guard", accepts=_watched)
def on_timeline(changes: list[streams.TableChange]) -> dict[str, int]:
    """Follow automatic dispatches through their tickets' timelines (storage errors raise: retried)."""
    acted = 0
    for change in changes:
        event = _event(change)
        assert event is not None
        acted += len(follow(change.pk.removeprefix("T#"), event))
    return {"actions": acted}
