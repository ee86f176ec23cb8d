"""Scoring rules, weighted totals, ranking and formulas (pure)."""
from __future__ import annotations

import pytest

from chalicelib.analytics import formula, scoring
from chalicelib.analytics.measures import MEASURE_NAMES, value_of
from chalicelib.domain.errors import ValidationFailed

RATE = "sign_on_time / (sign_on_time + sign_late)"


def rule(type_, target, direction="higher", **extra):
    return scoring.Rule.from_dict({"type": type_, **extra}, target, direction)


def test_linear_rule_scores_between_floor_and_target():
    r = rule("linear", 0.95, floor=0.6)
    assert scoring.score(r, 0.95) == 100.0 and scoring.score(r, 0.99) == 100.0
    assert scoring.score(r, 0.6) == 0.0 and scoring.score(r, 0.3) == 0.0
    assert scoring.score(r, 0.775) == pytest.approx(50.0)
    lower = rule("linear", 0.05, "lower", floor=0.3)  # a return rate: lower is better
    assert scoring.score(lower, 0.05) == 100.0 and scoring.score(lower, 0.3) == 0.0
    assert scoring.score(lower, 0.175) == pytest.approx(50.0)
    assert scoring.score(r, None) is None


def test_threshold_ratio_and_deduct_rules():
    assert scoring.score(rule("threshold", 0.9), 0.9) == 100.0
    assert scoring.score(rule("threshold", 0.9), 0.89) == 0.0
    assert scoring.score(rule("threshold", 2, "lower"), 3) == 0.0
    assert scoring.score(rule("ratio", 200), 150) == 75.0 and scoring.score(rule("ratio", 200), 300) == 100.0
    assert scoring.score(rule("ratio", 24, "lower"), 48) == 50.0 and scoring.score(rule("ratio", 24, "lower"), 0) == 100.0
    urgings = rule("deduct", 0, "lower", per_unit=5)
    assert [scoring.score(urgings, n) for n in (0, 1, 4, 30)] == [100.0, 95.0, 80.0, 0.0]
    shortfall = rule("deduct", 10, "higher", per_unit=10)
    assert scoring.score(shortfall, 7) == 70.0 and scoring.score(shortfall, 12) == 100.0


@pytest.mark.parametrize("bad, field", [
    ({"type": "linear"}, "rule.floor"),
    ({"type": "linear", "floor": 0.99}, "rule.floor"),  # the floor must be on the worse side
    ({"type": "deduct"}, "rule.per_unit"),
    ({"type": "sideways"}, "rule.type"),
])
def test_inconsistent_rules_are_refused(bad, field):
    with pytest.raises(ValidationFailed) as caught:
        scoring.Rule.from_dict(bad, 0.95, "higher")
    assert field in caught.value.details


def test_weighted_total_skips_indicators_without_data_and_ranks_with_ties():
    assert scoring.weighted([(25, 100.0), (75, 60.0)]) == pytest.approx(70.0)
    assert scoring.weighted([(25, 100.0), (75, None)]) == 100.0  # no data: weights renormalised
    assert scoring.weighted([(25, None)]) is None
    ranked = scoring.rank({"A": 90.0, "B": 95.5, "C": 90.0, "D": None, "E": 10.0})
    assert ranked == [("B", 95.5, 1), ("A", 90.0, 2), ("C", 90.0, 2), ("E", 10.0, 4), ("D", None, None)]


def test_formulas_are_arithmetic_over_known_measures_only():
    parsed = formula.parse(RATE, MEASURE_NAMES)
    assert parsed.names == {"sign_on_time", "sign_late"}
    assert formula.evaluate(parsed, {"sign_on_time": 3, "sign_late": 1}) == 0.75
    assert formula.evaluate(parsed, {}) is None  # 0/0: no data, not an error
    assert formula.evaluate(formula.parse("max(urged - 2, 0) * 5", MEASURE_NAMES), {"urged": 5}) == 15.0
    for hostile in ("__import__('os')", "received.__class__", "received if 1 else 2", "[received]",
                    "received ** 99", "lambda: 1", "unknown_measure + 1", "received; 1", "'text'", ""):
        with pytest.raises(ValidationFailed):
            formula.parse(hostile, MEASURE_NAMES)


def test_rates_are_percentages_of_the_sums():
    sums = {"satisfied": 3, "basically_satisfied": 1, "dissatisfied": 1, "feedback": 5, "handle_seconds": 7200,
            "handle_n": 2}
    assert value_of("satisfaction_rate", sums) == 80.0
    assert value_of("avg_handle_hours", sums) == 1.0
    assert value_of("sign_rate", sums) is None
