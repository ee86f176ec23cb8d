"""Property-based test of the lifecycle: random action sequences by random actors.

Invariants checked after every step (issue 3):
* version strictly increases on every successful apply, and every success leaves >= 1 event;
* a failed apply raises a DomainError and changes nothing;
* closed tickets accept nothing but reopen (and archiving); archived tickets accept nothing;
* one current owner per assignment, one active assignment per department;
* the lead never submits before every assist has;
* states agree with assignments and clocks; everything round-trips through JSON.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from chalicelib.domain.calendar import TZ, WorkingCalendar
from chalicelib.domain.clocks import DEFAULT_SLA_RULES
from chalicelib.domain.errors import DomainError
from chalicelib.domain.intake import register
from chalicelib.domain.lifecycle import ACTIONS, PARAMS, apply, can_apply
from chalicelib.domain.queues import queue_entries
from chalicelib.domain.ticket import (
    ACTIVE_ASSIGNMENT_STATUSES,
    Actor,
    DeclineReason,
    PauseReason,
    Policy,
    TerminationReason,
    Ticket,
)

POLICY = Policy(sla=DEFAULT_SLA_RULES, calendar=WorkingCalendar())
START = datetime(2026, 9, 21, 9, 0, tzinfo=TZ)  # runs across the National Day holiday into 2027

DEPTS = ["D1", "D2", "D3"]
ACTORS = [
    Actor("agent", "agent"), Actor("disp", "dispatcher"), Actor("boss", "manager"), Actor("system", "system"),
    Actor("citizen", "citizen"), Actor("root", "admin"), Actor("h1", "handler", "D1"),
    Actor("h1b", "handler", "D1"), Actor("h2", "handler", "D2"), Actor("h3", "handler", "D3"),
    Actor("l1", "dept_lead", "D1"), Actor("plat", "partner", "P1"), Actor("up", "partner"),
]
ACTION_LIST = sorted(ACTIONS)
SIDE_ACTIONS = frozenset({"merge_repeat", "join", "urge", "answer_urging", "supervise", "record_warning",
                          "add_note"})
DETOURS = frozenset({"request_return", "decline", "pause"})
RESULTS = ["settled", "not_settled", "terminated", "case_filed", "not_filed", "handled", None]


def _maybe(draw, value, p_missing=0.15):
    return None if draw(st.integers(0, 99)) < p_missing * 100 else value


@st.composite
def params_for(draw, action: str, ticket: Ticket, now: datetime) -> dict:
    """Mostly valid, sometimes broken parameters for ``action`` on ``ticket``."""
    aids = [a.id for a in ticket.assignments] + ["A99"]
    aid = draw(st.sampled_from(aids)) if draw(st.booleans()) else None
    text = draw(st.sampled_from(["已处理", "说明情况", "请核实", ""]))
    dept = draw(st.sampled_from(DEPTS + ["P1", "center"]))
    p: dict = {}
    if action == "accept":
        p = {"priority": draw(st.sampled_from(["normal", "urgent"]))} if draw(st.booleans()) else {}
    elif action == "decline":
        p = {"reason_code": draw(st.sampled_from([r.value for r in DeclineReason] + ["bogus"])), "text": text}
    elif action == "answer_directly":
        p = {"answer": text}
    elif action == "review_non_acceptance":
        p = {"decision": draw(st.sampled_from(["return_upward", "hand_to_local"]))}
        if p["decision"] == "hand_to_local":
            p["department"] = dept
    elif action == "dispatch":
        mode = draw(st.sampled_from(["single", "lead_assist", "parallel", "lower_platform"]))
        chosen = draw(st.permutations(DEPTS))
        p = {"mode": mode, **{
            "single": {"department": chosen[0]},
            "lead_assist": {"lead": chosen[0], "assists": list(chosen[1:draw(st.integers(2, 3))])},
            "parallel": {"departments": list(chosen[:draw(st.integers(1, 3))])},
            "lower_platform": {"platform": "P1"},
        }[mode]}
    elif action in ("sign", "resume", "record_termination_notice"):
        p = {"assignment_id": aid}
    elif action == "add_note":
        p = {"assignment_id": aid, "text": text}
    elif action == "pause":
        p = {"assignment_id": aid, "reason": draw(st.sampled_from([r.value for r in PauseReason]))}
    elif action == "request_extension":
        days = draw(st.integers(-5, 40))
        p = {"assignment_id": aid, "reason": text, "new_due": (now + timedelta(days=days)).date().isoformat()}
    elif action in ("decide_extension", "decide_return"):
        p = {"assignment_id": aid, "decision": draw(st.sampled_from(["approve", "refuse"])), "text": text}
    elif action == "request_return":
        p = {"assignment_id": aid, "reason": text, "basis": "依据"}
    elif action == "submit_closure":
        valid = {"complaint": ["settled", "not_settled", "terminated"], "report": ["case_filed", "not_filed"]}
        result = draw(st.sampled_from(valid.get(ticket.kind, ["handled", None]))) if draw(
            st.integers(0, 9)) < 8 else draw(st.sampled_from(RESULTS))
        p = {"assignment_id": aid, "facts": "核实", "result": result}
        if result == "terminated":
            p["termination_reason"] = draw(st.sampled_from([r.value for r in TerminationReason]))
    elif action == "review_closure":
        decision = draw(st.sampled_from(["approve", "rework", "transfer"]))
        p = {"decision": decision, "text": "意见"}
        if decision == "rework" and draw(st.booleans()):
            p["assignment_ids"] = [draw(st.sampled_from(aids))]
        if decision == "transfer":
            p["department"] = dept
    elif action in ("record_callback", "evaluate"):
        p = {"satisfaction": draw(st.sampled_from(["satisfied", "basically_satisfied", "dissatisfied"])),
             "solved": draw(st.booleans())}
    elif action == "reopen":
        p = {"reason": text}
    elif action == "merge_repeat":
        p = {"facts": "新情况"}
    elif action == "join":
        p = {"complainant": {"name": "李四", "phone": draw(st.sampled_from(["13900000001", "13812345678"])),
                             "address": "杭州市"}}
    elif action == "urge":
        p = {"text": "请加快"}
        if draw(st.booleans()):
            p["department"] = dept
        if ticket.clocks and draw(st.booleans()):
            p["clock"] = draw(st.sampled_from(sorted(ticket.clocks)))
    elif action == "answer_urging":
        p = {"urging_id": draw(st.sampled_from([u.id for u in ticket.urgings] + ["U99"])), "text": "已办"}
    elif action == "record_warning":
        p = {"clock": draw(st.sampled_from(sorted(ticket.clocks) + ["nope"])),
             "level": draw(st.sampled_from(["yellow", "red"]))}
    elif action == "supervise":
        p = {"reason": "督办"}
    return {k: v for k, v in p.items() if _maybe(draw, v, 0.05) is not None}


class TicketLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.ticket: Ticket | None = None
        self.now = START
        self.successes = 0

    @initialize(
        kind=st.sampled_from(["complaint", "report", "inquiry", "suggestion", "help_request"]),
        channel=st.sampled_from(["phone", "web", "upper_level", "hotline_12345", "walk_in", "mail"]),
        priority=st.sampled_from(["normal", "urgent"]),
    )
    def register_ticket(self, kind, channel, priority):
        actor = {"web": Actor("c", "citizen"), "upper_level": Actor("up", "partner")}.get(channel, ACTORS[0])
        data = {"kind": kind, "channel": channel, "priority": priority,
                "complainant": {"name": "张三", "phone": "13812345678", "address": "杭州市西湖区"},
                "respondent": {"name": "某店", "address": "杭州市"}, "request": "处理", "facts": "事实"}
        [outcome] = register(data, actor=actor, now=self.now, policy=POLICY,
                             new_id=lambda: "T1", new_tracking_code=lambda: "C1")
        self.ticket = outcome.ticket

    def _step(self, action: str, actor: Actor, params: dict, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        before = self.ticket
        snapshot = before.copy()  # new containers around the same immutable records
        try:
            outcome = apply(before, action, params, actor=actor, now=self.now, policy=POLICY)
        except DomainError:
            assert before == snapshot, "a failed apply changed its input"
            return
        assert before == snapshot, "apply mutated its input"
        after = outcome.ticket
        assert after.version == before.version + 1
        assert len(outcome.events) >= 1 and len(outcome.outbox) >= 1
        event = outcome.events[0]
        assert (event.from_status, event.to_status) == (before.status, after.status)
        assert event.at >= before.updated_at
        if before.status == "archived":
            raise AssertionError(f"archived ticket accepted {action}")
        if before.status == "closed":
            assert action in ("reopen", "archive"), f"closed ticket accepted {action}"
        self.ticket = after
        self.successes += 1

    @rule(data=st.data(), action=st.sampled_from(ACTION_LIST), actor=st.sampled_from(ACTORS),
          minutes=st.integers(0, 3 * 24 * 60))
    def random_action(self, data, action, actor, minutes):
        params = data.draw(params_for(action, self.ticket, self.now))
        self._step(action, actor, params, minutes)

    @rule(data=st.data(), minutes=st.one_of(st.integers(0, 240), st.integers(0, 20 * 24 * 60)))
    def plausible_action(self, data, minutes):
        """An action some actor may take now (per allowed_actions), to reach deep states."""
        allowed = {action: [actor for actor in ACTORS if can_apply(self.ticket, action, actor)]
                   for action in ACTION_LIST}
        allowed = {action: actors for action, actors in allowed.items() if actors}
        forward = sorted(set(allowed) - SIDE_ACTIONS - DETOURS)
        if "evaluate" in forward:
            forward = ["evaluate"]  # web citizens mostly evaluate themselves; agents call the rest back
        if forward and data.draw(st.integers(0, 9)) < 7:
            choices = forward  # mostly move the ticket on; side actions and detours are always there
        else:
            choices = sorted(allowed)
        if not choices:
            return
        action = data.draw(st.sampled_from(choices))
        actor = data.draw(st.sampled_from(allowed[action]))
        params = data.draw(params_for(action, self.ticket, self.now))
        self._step(action, actor, params, minutes)

    @invariant()
    def assignments_are_consistent(self):
        t = self.ticket
        if t is None:
            return
        active = [a for a in t.assignments if a.status in ACTIVE_ASSIGNMENT_STATUSES]
        departments = [a.department for a in active]
        assert len(departments) == len(set(departments)), "two active shares for one department"
        for a in t.assignments:
            if a.status == "to_sign":
                assert a.owner is None and a.signed_at is None
            if a.status in ("in_progress", "paused", "submitted", "completed"):
                assert a.owner is not None and a.signed_at is not None, "a worked share without an owner"
            if a.status == "submitted":
                assert a.closure is not None
        leads_done = [a for a in t.assignments if a.role == "lead" and a.status in ("submitted", "completed")]
        for lead in leads_done:
            assists = [a for a in t.assignments if a.role == "assist" and
                       (a.status in ACTIVE_ASSIGNMENT_STATUSES or a.status == "completed")]
            assert all(a.status in ("submitted", "completed") for a in assists), "lead submitted before assists"
            assert all(a.closure.submitted_at <= lead.closure.submitted_at for a in assists)

    @invariant()
    def status_agrees_with_assignments_and_clocks(self):
        t = self.ticket
        if t is None:
            return
        active = [a for a in t.assignments if a.status in ACTIVE_ASSIGNMENT_STATUSES]
        if t.status == "in_handling":
            assert active and not all(a.status == "submitted" for a in active)
        if t.status == "closure_review":
            assert active and all(a.status == "submitted" for a in active)
        if t.status in ("to_dispatch", "pending_acceptance", "internet_inbox", "upper_level_pending",
                        "pending_callback", "pending_evaluation", "replied", "closed", "archived"):
            assert not active
        if t.status in ("closed", "archived"):
            assert t.resolution is not None
            assert all(s.status == "stopped" for k, s in t.clocks.items() if k != "archive"), \
                "a clock runs on a closed ticket"
            # the archive clock runs while the ticket is closed, and is gone once it is archived
            assert (t.clocks["archive"].status == "running") if t.status == "closed" else "archive" not in t.clocks
        paused = any(a.status == "paused" for a in t.assignments)
        for a in t.assignments:
            handling = t.clocks.get(f"handling:{a.id}")
            if a.status == "in_progress":
                assert handling is not None and handling.status == "running"
            if a.status == "paused":
                assert handling is not None and handling.status == "paused"
        mediation = t.clocks.get("mediation")
        if mediation is not None and mediation.status == "paused":
            assert paused, "mediation paused with no paused share"

    @invariant()
    def round_trips_and_queues(self):
        t = self.ticket
        if t is None:
            return
        d = t.to_dict()
        assert Ticket.from_dict(json.loads(json.dumps(d))) == t
        entries = queue_entries(t)
        assert len({(e.queue, e.key) for e in entries}) == len(entries)
        if t.status == "closed":  # waiting for the archive job only
            assert [(e.queue, e.key) for e in entries] == [("to_archive", t.id)]
        if t.status == "archived":
            assert entries == []


TicketLifecycle.TestCase.settings = settings(
    max_examples=120, stateful_step_count=40, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
test_ticket_lifecycle = TicketLifecycle.TestCase


def test_the_machine_reaches_deep_states():
    """Guard against a vacuous property test: a guided run must reach closure and beyond."""
    seen: set[str] = set()
    machine = TicketLifecycle()
    machine.register_ticket("complaint", "phone", "normal")
    script = [
        ("accept", ACTORS[0], {}), ("dispatch", ACTORS[1], {"mode": "lead_assist", "lead": "D1", "assists": ["D2"]}),
        ("sign", ACTORS[6], {}), ("sign", ACTORS[8], {}), ("submit_closure", ACTORS[8], {"facts": "x"}),
        ("submit_closure", ACTORS[6], {"facts": "y", "result": "settled"}),
        ("review_closure", ACTORS[1], {"decision": "approve"}),
        ("record_callback", ACTORS[0], {"satisfaction": "dissatisfied", "solved": False}),  # closes it
        ("reopen", ACTORS[0], {"reason": "未解决"}),
        ("submit_closure", ACTORS[8], {"facts": "x"}), ("submit_closure", ACTORS[6], {"facts": "y", "result": "settled"}),
        ("review_closure", ACTORS[1], {"decision": "approve"}),
        ("record_callback", ACTORS[0], {"satisfaction": "satisfied", "solved": True}),
        ("archive", ACTORS[3], {}),
    ]
    for action, actor, params in script:
        machine._step(action, actor, params, 60)
        seen.add(machine.ticket.status)
        machine.assignments_are_consistent()
        machine.status_agrees_with_assignments_and_clocks()
    assert machine.successes == len(script)
    assert {"closure_review", "pending_callback", "closed", "in_handling", "archived"} <= seen


# --- fuzz: arbitrary JSON parameters never crash an action -----------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**6) | st.text(max_size=12)
    | st.sampled_from(["A1", "U1", "D1", "approve", "settled", "handling:A1", "2026-10-20", "13900000001"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _tickets_in_many_states() -> list[Ticket]:
    machine = TicketLifecycle()
    machine.register_ticket("complaint", "upper_level", "urgent")
    states = [machine.ticket]
    script = [
        ("accept", ACTORS[0], {}), ("dispatch", ACTORS[1], {"mode": "lead_assist", "lead": "D1", "assists": ["D2"]}),
        ("sign", ACTORS[6], {}), ("urge", ACTORS[2], {"text": "快", "department": "D1"}),
        ("sign", ACTORS[8], {}), ("submit_closure", ACTORS[8], {"facts": "x"}),
        ("submit_closure", ACTORS[6], {"facts": "y", "result": "terminated",
                                       "termination_reason": "time_limit_expired"}),
        ("review_closure", ACTORS[1], {"decision": "approve"}),
        ("record_callback", ACTORS[0], {"satisfaction": "dissatisfied", "solved": False}),
    ]
    for action, actor, params in script:
        machine._step(action, actor, params, 60)
        states.append(machine.ticket)
    assert machine.successes == len(script)
    return states


_STATES = _tickets_in_many_states()


@settings(max_examples=400, deadline=None, database=None)
@given(
    state=st.sampled_from(range(len(_STATES))),
    action=st.sampled_from(ACTION_LIST + ["", "nope"]),
    actor=st.sampled_from(ACTORS),
    data=st.data(),
)
def test_arbitrary_parameters_only_ever_raise_domain_errors(state, action, actor, data):
    ticket = _STATES[state]
    keys = sorted(PARAMS.get(action, ())) + ["extra"]
    params = data.draw(st.dictionaries(st.sampled_from(keys), _json, max_size=4))
    snapshot = ticket.to_dict()
    try:
        outcome = apply(ticket, action, params, actor=actor, now=START + timedelta(days=3), policy=POLICY)
    except DomainError:
        pass
    else:
        assert outcome.ticket.version == ticket.version + 1
        json.dumps(outcome.ticket.to_dict())
        json.dumps(outcome.events[0].to_dict())
        json.dumps(outcome.outbox[0].to_dict())
    assert ticket.to_dict() == snapshot
