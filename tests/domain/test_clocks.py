"""Tests of SLA rules and clock state: start, stop, pause, resume, extend, warnings."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.calendar import TZ, ClockUnit, WorkingCalendar
from chalicelib.domain.clocks import (
    DEFAULT_SLA_RULES,
    ClockName,
    ClockRule,
    ClockState,
    SlaRules,
    extend_clock,
    extension_deadline,
    met_deadline,
    next_checkpoint,
    pause_clock,
    reopen_clock,
    resume_clock,
    start_clock,
    stop_clock,
    warning_level,
    with_warning,
)
from chalicelib.domain.errors import Conflict, NotFound, ValidationFailed

CAL = WorkingCalendar()
US = timedelta(microseconds=1)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


def eod(y: int, m: int, d: int) -> datetime:
    return sh(y, m, d, 23, 59, 59)


HANDLING = ClockRule(ClockName.HANDLING, 13, ClockUnit.WORKING_DAYS, pausable=True)


# --- start / stop ----------------------------------------------------------------------------


def test_start_clock_sets_due_and_yellow_at_eighty_percent():
    start = sh(2026, 3, 2, 10, 0)
    state = start_clock(HANDLING, start, CAL)
    assert state.due == eod(2026, 3, 19)
    # due - start = 17 d 13:59:59 = 1 519 199 s; 80 % = 1 215 359.2 s = 14 d 01:35:59.2
    assert state.yellow_at == sh(2026, 3, 16, 11, 35, 59, 200_000)
    assert (state.status, state.warning, state.provisional, state.extended) == ("running", "none", False, False)
    assert (state.clock, state.unit, state.amount) == (ClockName.HANDLING, ClockUnit.WORKING_DAYS, 13)


def test_start_clock_respects_the_rules_yellow_ratio_and_converts_timezones():
    rule = ClockRule(ClockName.SIGN, 10, ClockUnit.HOURS, yellow_ratio=0.5)
    state = start_clock(rule, datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc), CAL)
    assert state.started_at.isoformat() == "2026-03-02T09:00:00+08:00"
    assert state.due == sh(2026, 3, 2, 19, 0)
    assert state.yellow_at == sh(2026, 3, 2, 14, 0)


def test_start_clock_rejects_naive_start():
    with pytest.raises(ValidationFailed) as info:
        start_clock(HANDLING, datetime(2026, 3, 2, 10, 0), CAL)
    assert "start" in info.value.details


def test_stop_and_met_deadline():
    state = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL)
    assert met_deadline(state) is None
    on_time = stop_clock(state, eod(2026, 3, 19))  # exactly at the due second: on time
    assert on_time.status == "stopped" and met_deadline(on_time) is True
    late = stop_clock(state, eod(2026, 3, 19) + timedelta(seconds=1))
    assert met_deadline(late) is False
    with pytest.raises(Conflict):
        stop_clock(on_time, eod(2026, 3, 20))
    with pytest.raises(ValidationFailed):
        stop_clock(state, sh(2026, 3, 1, 10))  # before the clock started


# --- pause / resume --------------------------------------------------------------------------


def test_paused_working_day_clock_resumes_with_remaining_days_from_resume_day():
    state = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL)  # due Thu 3/19
    # Paused on Mon 3/9: 3/3, 3/4, 3/5, 3/6, 3/9 used (5); 8 left.
    paused = pause_clock(state, sh(2026, 3, 9, 10))
    assert paused.status == "paused" and paused.paused_at == sh(2026, 3, 9, 10)
    assert paused.remaining_days == 8 and paused.remaining_seconds is None
    assert next_checkpoint(paused) is None
    # Resumed Mon 3/23: the resume day is not counted; 3/24..3/27, 3/30, 3/31, 4/1, 4/2.
    resumed = resume_clock(paused, sh(2026, 3, 23, 15), CAL)
    assert resumed.status == "running" and resumed.paused_at is None and resumed.remaining_days is None
    assert resumed.due == eod(2026, 4, 2)
    assert CAL.working_days_between(date(2026, 3, 23), resumed.due.date()) == 8
    assert resumed.started_at == state.started_at
    assert sh(2026, 3, 23, 15) < resumed.yellow_at < resumed.due


def test_pause_resume_across_national_day():
    state = start_clock(HANDLING, sh(2026, 9, 14, 9), CAL)
    # 9/15..9/18 (4), Sun 9/20 make-up (5), 9/21..9/24 (9), 9/28..9/30 (12), 10/8 (13)
    assert state.due == eod(2026, 10, 8)
    paused = pause_clock(state, sh(2026, 9, 22, 9))  # used: 9/15-9/18, 9/20, 9/21, 9/22 = 7
    assert paused.remaining_days == 6
    resumed = resume_clock(paused, sh(2026, 9, 29, 9), CAL)
    # 9/30 (1), 10/8 (2), 10/9 (3), Sat 10/10 make-up (4), 10/12 (5), 10/13 (6)
    assert resumed.due == eod(2026, 10, 13)


def test_resume_honours_the_calendar_passed_at_resume():
    state = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL)
    paused = pause_clock(state, sh(2026, 3, 9, 10))
    closed = WorkingCalendar({date(2026, 3, 24): False})  # an admin closes 3/24
    assert resume_clock(paused, sh(2026, 3, 23, 15), closed).due == eod(2026, 4, 3)


def test_hour_clock_pause_keeps_remaining_seconds_and_shifts_yellow():
    rule = ClockRule(ClockName.SIGN, 10, ClockUnit.HOURS)
    state = start_clock(rule, sh(2026, 3, 2, 9), CAL)
    assert (state.due, state.yellow_at) == (sh(2026, 3, 2, 19), sh(2026, 3, 2, 17))
    paused = pause_clock(state, sh(2026, 3, 2, 11))
    assert paused.remaining_seconds == 8 * 3600 and paused.remaining_days is None
    resumed = resume_clock(paused, sh(2026, 3, 3, 9), CAL)
    assert resumed.due == sh(2026, 3, 3, 17)
    assert resumed.yellow_at == sh(2026, 3, 3, 15)


def test_pause_after_yellow_keeps_yellow_passed():
    rule = ClockRule(ClockName.SIGN, 10, ClockUnit.HOURS)
    state = with_warning(start_clock(rule, sh(2026, 3, 2, 9), CAL), "yellow")
    paused = pause_clock(state, sh(2026, 3, 2, 18))
    resumed = resume_clock(paused, sh(2026, 3, 3, 9), CAL)
    assert resumed.due == sh(2026, 3, 3, 10)
    assert resumed.yellow_at == sh(2026, 3, 2, 17)
    assert warning_level(resumed, sh(2026, 3, 3, 9, 30)) == "yellow"
    assert next_checkpoint(resumed) == resumed.due


def test_overdue_clock_stays_overdue_through_a_pause():
    state = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL)
    paused = pause_clock(state, sh(2026, 3, 20, 10))  # a day after due
    assert paused.remaining_days == 0
    resumed = resume_clock(paused, sh(2026, 3, 25, 10), CAL)
    assert resumed.due == state.due
    assert warning_level(resumed, sh(2026, 3, 25, 10)) == "red"


def test_pause_and_resume_conflicts():
    state = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL)
    with pytest.raises(Conflict):
        resume_clock(state, sh(2026, 3, 3), CAL)
    paused = pause_clock(state, sh(2026, 3, 3, 10))
    with pytest.raises(Conflict):
        pause_clock(paused, sh(2026, 3, 4, 10))
    with pytest.raises(ValidationFailed):
        resume_clock(paused, sh(2026, 3, 3, 9), CAL)  # before the pause
    stopped = stop_clock(state, sh(2026, 3, 5, 10))
    with pytest.raises(Conflict):
        pause_clock(stopped, sh(2026, 3, 6, 10))


def test_clock_stopped_while_paused_is_judged_at_the_pause():
    state = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL)
    paused = pause_clock(state, sh(2026, 3, 9, 10))
    stopped = stop_clock(paused, sh(2026, 5, 1, 10))  # long after the old due
    assert met_deadline(stopped) is True
    late_pause = pause_clock(state, sh(2026, 3, 20, 10))
    assert met_deadline(stop_clock(late_pause, sh(2026, 3, 21, 10))) is False


def test_natural_day_clock_pause_resume():
    rule = DEFAULT_SLA_RULES.rule_for(ClockName.MEDIATION, kind="complaint")
    state = start_clock(rule, sh(2026, 3, 2, 10), CAL)
    assert state.due == eod(2026, 5, 6)  # 3/2 + 60 = Fri 5/1 (Labour Day, off to 5/5) -> Wed 5/6
    paused = pause_clock(state, sh(2026, 3, 12, 10))
    assert paused.remaining_days == (date(2026, 5, 6) - date(2026, 3, 12)).days
    resumed = resume_clock(paused, sh(2026, 3, 22, 10), CAL)
    assert resumed.due == eod(2026, 5, 18)  # 3/22 + 55 = Sat 5/16 -> Mon 5/18


# --- extension -------------------------------------------------------------------------------


def test_extension_moves_due_and_yellow_and_clears_old_warnings():
    rule = DEFAULT_SLA_RULES.rule_for(ClockName.REPORT_VERIFICATION, kind="report")
    state = start_clock(rule, sh(2026, 3, 2, 10), CAL)
    warned = with_warning(state, "red")
    new = extension_deadline(warned, 15, CAL)
    assert new.due == CAL.add_working_days(state.due, 15).due
    extended = extend_clock(warned, new.due, provisional=new.provisional)
    assert extended.due == new.due and extended.extended
    assert extended.warning == "none"
    span = extended.due - extended.started_at
    assert abs((extended.yellow_at - extended.started_at) - span * 0.8) <= timedelta(milliseconds=1)
    assert extended.yellow_at > state.yellow_at
    # The old deadline passes silently.
    assert warning_level(extended, state.due + timedelta(hours=1)) in ("none", "yellow")
    assert warning_level(extended, state.due + timedelta(hours=1)) != "red"
    assert next_checkpoint(extended) == extended.yellow_at


def test_extension_must_move_the_deadline_later_and_needs_a_running_clock():
    state = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL)
    with pytest.raises(Conflict):
        extend_clock(state, state.due)
    with pytest.raises(Conflict):
        extend_clock(state, state.due - timedelta(days=1))
    with pytest.raises(Conflict):
        extend_clock(pause_clock(state, sh(2026, 3, 3, 10)), state.due + timedelta(days=3))
    with pytest.raises(ValidationFailed):
        extend_clock(state, datetime(2026, 4, 1, 23, 59, 59))


def test_extension_into_an_unpublished_year_is_provisional():
    state = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL)
    assert not state.provisional
    far = datetime(2100, 1, 4, 23, 59, 59, tzinfo=TZ)
    assert extend_clock(state, far, provisional=True).provisional


# --- warnings --------------------------------------------------------------------------------


def test_warning_level_transitions_over_time():
    rule = ClockRule(ClockName.SIGN, 100, ClockUnit.SECONDS)  # a test SLA profile clock
    start = sh(2026, 3, 2, 9, 0, 0)
    state = start_clock(rule, start, CAL)
    assert state.yellow_at == start + timedelta(seconds=80)
    assert warning_level(state, start) == "none"
    assert warning_level(state, start + timedelta(seconds=79)) == "none"
    assert warning_level(state, start + timedelta(seconds=80)) == "yellow"
    assert warning_level(state, start + timedelta(seconds=100)) == "yellow"  # due second: on time
    assert warning_level(state, start + timedelta(seconds=100) + US) == "red"
    # Naive "now" is refused.
    with pytest.raises(ValidationFailed):
        warning_level(state, datetime(2026, 3, 2, 9, 1))


def test_paused_and_stopped_clocks_keep_their_recorded_level():
    state = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL)
    paused = pause_clock(state, sh(2026, 3, 3, 10))
    assert warning_level(paused, sh(2026, 6, 1)) == "none"
    stopped = stop_clock(with_warning(state, "yellow"), sh(2026, 3, 18, 10))
    assert warning_level(stopped, sh(2026, 6, 1)) == "yellow"


def test_with_warning_never_lowers_and_validates():
    state = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL)
    yellow = with_warning(state, "yellow")
    red = with_warning(yellow, "red")
    assert (yellow.warning, red.warning) == ("yellow", "red")
    assert with_warning(red, "yellow") is red
    assert with_warning(red, "red") is red
    assert warning_level(red, sh(2026, 3, 3)) == "red"  # recorded level is a floor
    with pytest.raises(ValidationFailed) as info:
        with_warning(state, "orange")
    assert "level" in info.value.details


def test_next_checkpoint_follows_the_warnings():
    state = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL)
    assert next_checkpoint(state) == state.yellow_at
    assert next_checkpoint(with_warning(state, "yellow")) == state.due
    assert next_checkpoint(with_warning(state, "red")) is None
    assert next_checkpoint(stop_clock(state, sh(2026, 3, 3))) is None


# --- SLA rules -------------------------------------------------------------------------------


def test_default_rules_most_specific_match():
    r = DEFAULT_SLA_RULES
    urgent = r.rule_for(ClockName.SIGN, kind="complaint", priority="urgent")
    assert (urgent.amount, urgent.unit) == (2, ClockUnit.HOURS)
    normal = r.rule_for("sign", kind="complaint")
    assert (normal.amount, normal.unit) == (1, ClockUnit.WORKING_DAYS)
    assert r.rule_for(ClockName.HANDLING, kind="inquiry").amount == 3
    assert r.rule_for(ClockName.HANDLING, kind="help_request").amount == 5
    assert r.rule_for(ClockName.HANDLING, kind="complaint", category="food").amount == 13
    assert r.rule_for(ClockName.ACCEPTANCE, kind="report").amount == 7
    med = r.rule_for(ClockName.MEDIATION, kind="complaint")
    assert (med.amount, med.unit, med.pausable) == (60, ClockUnit.NATURAL_DAYS, True)
    assert r.rule_for(ClockName.REPORT_VERIFICATION, kind="report").amount == 15
    for clock in ClockName:  # every clock has a default
        assert r.rule_for(clock, kind="suggestion").clock == clock


def test_rule_for_specificity_and_tie_breaks():
    wd = ClockUnit.WORKING_DAYS
    rules = SlaRules(
        [
            ClockRule(ClockName.HANDLING, 13, wd),
            ClockRule(ClockName.HANDLING, 3, wd, kind="inquiry"),
            ClockRule(ClockName.HANDLING, 10, wd, category="food"),
            ClockRule(ClockName.HANDLING, 4, wd, kind="inquiry", category="food"),
            ClockRule(ClockName.HANDLING, 2, wd, priority="urgent"),
        ]
    )
    assert rules.rule_for("handling", kind="inquiry", category="food").amount == 4
    assert rules.rule_for("handling", kind="complaint", category="food").amount == 10
    # One selector each: priority beats category beats kind.
    assert rules.rule_for("handling", kind="inquiry", category="toys", priority="urgent").amount == 2
    assert rules.rule_for("handling", kind="report").amount == 13
    with pytest.raises(NotFound):
        rules.rule_for(ClockName.SIGN, kind="complaint")
    with pytest.raises(NotFound):
        rules.rule_for("no_such_clock", kind="complaint")


def test_duplicate_selectors_rejected():
    wd = ClockUnit.WORKING_DAYS
    with pytest.raises(ValidationFailed) as info:
        SlaRules([ClockRule(ClockName.SIGN, 1, wd), ClockRule(ClockName.SIGN, 2, wd)])
    assert "rules[1]" in info.value.details


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"clock": "nap", "amount": 1, "unit": "hours"}, "clock"),
        ({"clock": "sign", "amount": -1, "unit": "hours"}, "amount"),
        ({"clock": "sign", "amount": 1.5, "unit": "hours"}, "amount"),
        ({"clock": "sign", "amount": "1", "unit": "hours"}, "amount"),
        ({"clock": "sign", "amount": 1, "unit": "weeks"}, "unit"),
        ({"clock": "sign", "amount": 1, "unit": "hours", "yellow_ratio": 1.5}, "yellow_ratio"),
        ({"clock": "sign", "amount": 1, "unit": "hours", "yellow_ratio": 0}, "yellow_ratio"),
        ({"clock": "sign", "amount": 1, "unit": "hours", "owner": "boss"}, "owner"),
        ({"clock": "sign", "amount": 1, "unit": "hours", "owner": ["agent"]}, "owner"),
        ({"clock": "sign", "amount": 1, "unit": "hours", "pausable": "yes"}, "pausable"),
        ({"clock": "sign", "amount": 1, "unit": "hours", "kind": ""}, "kind"),
        ({"clock": "sign", "amount": 1, "unit": "hours", "priority": 3}, "priority"),
        ({"clock": "sign", "amount": 1, "unit": "hours", "supervise_after_working_days": -2},
         "supervise_after_working_days"),
        ({"clock": "sign", "amount": 1, "unit": "hours", "yelow_ratio": 0.5}, "yelow_ratio"),
        ({"clock": "sign", "unit": "hours"}, "amount"),
    ],
)
def test_from_list_names_the_bad_field(item, field):
    good = {"clock": "acceptance", "amount": 7, "unit": "working_days"}
    with pytest.raises(ValidationFailed) as info:
        SlaRules.from_list([good, item])
    assert f"rules[1].{field}" in info.value.details
    assert not any(key.startswith("rules[0]") for key in info.value.details)


def test_from_list_rejects_wrong_shapes():
    with pytest.raises(ValidationFailed) as info:
        SlaRules.from_list({"clock": "sign"})
    assert "rules" in info.value.details
    with pytest.raises(ValidationFailed) as info:
        SlaRules.from_list(["sign"])
    assert "rules[0]" in info.value.details


def test_from_list_accepts_dynamodb_decimals():
    rules = SlaRules.from_list(
        [{"clock": "sign", "amount": Decimal("2"), "unit": "hours", "yellow_ratio": Decimal("0.75")}]
    )
    assert rules.rules[0].amount == 2 and rules.rules[0].yellow_ratio == 0.75


def test_default_rules_round_trip_through_json():
    data = json.loads(json.dumps(DEFAULT_SLA_RULES.to_list()))
    assert SlaRules.from_list(data) == DEFAULT_SLA_RULES


# --- serialisation ---------------------------------------------------------------------------

names = st.one_of(st.none(), st.sampled_from(["complaint", "report", "inquiry", "food", "urgent"]))
rule_strategy = st.builds(
    ClockRule,
    clock=st.sampled_from(list(ClockName)),
    amount=st.integers(min_value=0, max_value=400),
    unit=st.sampled_from(list(ClockUnit)),
    yellow_ratio=st.floats(min_value=0.01, max_value=1.0),
    owner=st.sampled_from(["agent", "dispatcher", "department", "center"]),
    pausable=st.booleans(),
    kind=names,
    category=names,
    priority=names,
    supervise_after_working_days=st.integers(min_value=0, max_value=30),
)
aware = st.datetimes(
    min_value=datetime(2004, 1, 1), max_value=datetime(2035, 12, 31),
    timezones=st.sampled_from([TZ, timezone.utc, timezone(timedelta(hours=-5, minutes=-30))]),
)


@st.composite
def states(draw) -> ClockState:
    """Clock states reached through the real operations, in every status."""
    rule = draw(rule_strategy)
    start = draw(aware)
    state = start_clock(rule, start, CAL)
    later = lambda s: s + timedelta(seconds=draw(st.integers(0, 40 * 86400)))  # noqa: E731
    for action in draw(st.lists(st.sampled_from(["pause", "resume", "warn", "extend"]), max_size=4)):
        now = later(state.paused_at or state.started_at)
        if action == "pause" and state.status == "running":
            state = pause_clock(state, now)
        elif action == "resume" and state.status == "paused":
            state = resume_clock(state, now, CAL)
        elif action == "warn":
            state = with_warning(state, draw(st.sampled_from(["yellow", "red"])))
        elif action == "extend" and state.status == "running":
            state = extend_clock(state, state.due + timedelta(days=draw(st.integers(1, 30))))
    if draw(st.booleans()):
        state = stop_clock(state, later(state.paused_at or state.started_at))
    return state


def _no_floats(value) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(_no_floats(v) for v in value.values())
    return True


@settings(max_examples=150, deadline=None)
@given(rule=rule_strategy)
def test_clock_rule_round_trip(rule):
    assert ClockRule.from_dict(json.loads(json.dumps(rule.to_dict()))) == rule


@settings(max_examples=150, deadline=None)
@given(state=states())
def test_clock_state_round_trip(state):
    data = state.to_dict()
    assert _no_floats(data)
    restored = ClockState.from_dict(json.loads(json.dumps(data)))
    assert restored == state
    assert restored.due.utcoffset() == timedelta(hours=8)
    assert next_checkpoint(restored) == next_checkpoint(state)


def test_clock_state_to_dict_shape():
    state = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL)
    data = state.to_dict()
    assert data["clock"] == "handling" and data["unit"] == "working_days" and data["amount"] == 13
    assert data["due"] == "2026-03-19T23:59:59+08:00"
    assert data["status"] == "running" and data["paused_at"] is None and data["warning"] == "none"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"due": "2026-03-19T23:59:59"}, "due"),  # naive
        ({"due": "next thursday"}, "due"),
        ({"due": 1773935999}, "due"),
        ({"status": "sleeping"}, "status"),
        ({"warning": "orange"}, "warning"),
        ({"clock": "nap"}, "clock"),
        ({"amount": -3}, "amount"),
        ({"provisional": "false"}, "provisional"),
        ({"surprise": 1}, "surprise"),
        ({"yellow_at": "2026-03-25T10:00:00+08:00"}, "yellow_at"),  # after due
        ({"status": "paused"}, "paused_at"),  # paused without paused_at
    ],
)
def test_clock_state_from_dict_rejects_bad_input(change, field):
    data = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL).to_dict()
    data.update(change)
    with pytest.raises(ValidationFailed) as info:
        ClockState.from_dict(data)
    assert field in info.value.details


def test_clock_state_from_dict_requires_fields_and_accepts_decimals():
    data = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL).to_dict()
    missing = dict(data)
    del missing["started_at"]
    with pytest.raises(ValidationFailed) as info:
        ClockState.from_dict(missing)
    assert info.value.details == {"started_at": "required"}
    assert ClockState.from_dict({**data, "amount": Decimal(13)}).amount == 13


def test_state_is_immutable_and_replace_validates():
    state = start_clock(HANDLING, sh(2026, 3, 2, 10), CAL)
    with pytest.raises(AttributeError):
        state.due = sh(2030, 1, 1)  # type: ignore[misc]
    with pytest.raises(ValidationFailed):
        replace(state, warning="purple")


# --- reopen (a stop event withdrawn: rework) ----------------------------------------------------


def test_reopen_runs_a_stopped_clock_with_the_time_it_had_left():
    rule = DEFAULT_SLA_RULES.rule_for(ClockName.MEDIATION, kind="complaint", category=None, priority="normal")
    started = start_clock(rule, sh(2026, 3, 2, 9), CAL)
    stopped = stop_clock(started, sh(2026, 3, 12, 9))  # 10 days used, 50 left
    reopened = reopen_clock(stopped, sh(2026, 3, 20, 9), CAL)
    assert reopened.status == "running" and reopened.stopped_at is None and reopened.paused_at is None
    assert met_deadline(reopened) is None
    assert reopened.due == resume_clock(pause_clock(started, sh(2026, 3, 12, 9)), sh(2026, 3, 20, 9), CAL).due
    assert reopened.due > started.due
    assert next_checkpoint(reopened) is not None


def test_reopen_keeps_an_overdue_clock_overdue_and_refuses_a_running_one():
    rule = ClockRule(ClockName.TERMINATION_NOTICE, 7, ClockUnit.WORKING_DAYS)
    started = start_clock(rule, sh(2026, 3, 2, 9), CAL)
    late = stop_clock(started, started.due + timedelta(days=5))
    reopened = reopen_clock(late, started.due + timedelta(days=9), CAL)
    assert reopened.due == started.due and warning_level(reopened, started.due + timedelta(days=9)) == "red"
    with pytest.raises(Conflict):
        reopen_clock(started, sh(2026, 3, 3, 9), CAL)
    with pytest.raises(ValidationFailed):
        reopen_clock(late, late.stopped_at - timedelta(hours=1), CAL)


def test_reopen_of_a_clock_stopped_while_paused_resumes_from_the_pause():
    rule = DEFAULT_SLA_RULES.rule_for(ClockName.MEDIATION, kind="complaint", category=None, priority="normal")
    started = start_clock(rule, sh(2026, 3, 2, 9), CAL)
    paused = pause_clock(started, sh(2026, 3, 5, 9))
    stopped = stop_clock(paused, sh(2026, 3, 9, 9))
    reopened = reopen_clock(stopped, sh(2026, 3, 11, 9), CAL)
    assert reopened.status == "running"
    assert reopened.due == resume_clock(paused, sh(2026, 3, 11, 9), CAL).due
