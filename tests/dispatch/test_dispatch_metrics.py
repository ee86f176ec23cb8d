"""Evaluation figures and the auto-dispatch threshold."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from chalicelib.dispatch.metrics import choose_threshold, evaluate, macro_f1, wilson_lower_bound


def test_macro_f1_matches_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 300)
    p = np.where(rng.random(300) < 0.7, y, rng.integers(0, 5, 300))
    assert macro_f1(y, p, 5) == pytest.approx(f1_score(y, p, average="macro"))


def _proba(top: list[float], correct: list[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Two-class probabilities whose top class is 0, and truths right or wrong."""
    p = np.array([[t, 1 - t] for t in top])
    y = np.array([0 if c else 1 for c in correct])
    return p, y


def test_threshold_is_the_lowest_cut_that_keeps_precision() -> None:
    top = [0.99] * 40 + [0.9] * 20 + [0.8] * 20 + [0.7] * 20
    correct = [True] * 40 + [True] * 19 + [False] + [True] * 10 + [False] * 10 + [True] * 20
    p, y = _proba(top, correct)
    t = choose_threshold(p, y, target_precision=0.95, min_threshold=0.5, min_support=1, z=0)
    assert t == pytest.approx(0.9)  # at 0.8 precision falls to 69/80
    auto = p.max(axis=1) >= t
    assert (p.argmax(axis=1)[auto] == y[auto]).mean() >= 0.95


def test_threshold_never_below_floor() -> None:
    p, y = _proba([0.6] * 50, [True] * 50)
    assert choose_threshold(p, y, 0.95, min_threshold=0.75, z=1.0) == 0.75


def test_no_reachable_precision_means_no_automation() -> None:
    p, y = _proba([0.9] * 30 + [0.8] * 30, [False] * 60)
    t = choose_threshold(p, y, 0.95)
    assert t > 1.0
    assert evaluate(p, y, t)["auto_rate"] == 0.0
    assert evaluate(p, y, t)["auto_precision"] is None


def test_one_unlucky_top_error_does_not_switch_automation_off() -> None:
    p, y = _proba([0.999] + [0.95] * 99, [False] + [True] * 99)
    assert choose_threshold(p, y, 0.95) <= 0.95


def test_evaluate_keys_and_values() -> None:
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.4, 0.35, 0.25]])
    y = np.array([0, 1, 2])
    out = evaluate(p, y, 0.6)
    assert set(out) == {"n", "top1", "top3", "macro_f1", "auto_rate", "auto_precision", "threshold"}
    assert out["n"] == 3 and out["top1"] == 0.3333
    assert out["top3"] == 1.0
    assert out["auto_rate"] == pytest.approx(0.6667, abs=1e-4)
    assert out["auto_precision"] == 0.5


def test_wilson_bound_is_conservative_and_tightens_with_n() -> None:
    small = wilson_lower_bound(np.array([19]), np.array([20]), 1.0)[0]
    large = wilson_lower_bound(np.array([950]), np.array([1000]), 1.0)[0]
    assert small < 0.9 < 19 / 20
    assert 0.94 < large < 0.95
    assert wilson_lower_bound(np.array([3]), np.array([4]), 0.0)[0] == 0.75


def test_confidence_bound_raises_the_threshold_on_small_validation_sets() -> None:
    top = [0.95] * 30 + [0.85] * 30
    correct = [True] * 30 + [True] * 28 + [False] * 2  # observed 58/60 = 0.967 at 0.85
    p, y = _proba(top, correct)
    assert choose_threshold(p, y, 0.95, z=0) == pytest.approx(0.85)
    assert choose_threshold(p, y, 0.95, z=1.0) == pytest.approx(0.95)


def test_promotion_rule() -> None:
    from chalicelib.dispatch.dataset import beats
    from chalicelib.domain.errors import ValidationFailed

    current = {"n": 100, "macro_f1": 0.90, "auto_precision": 0.97}
    assert beats({"n": 100, "macro_f1": 0.92, "auto_precision": 0.975}, current)
    assert not beats({"n": 100, "macro_f1": 0.92, "auto_precision": 0.96}, current)  # below the 0.97 target
    assert not beats({"n": 100, "macro_f1": 0.89, "auto_precision": 0.99}, current)
    assert not beats({"n": 100, "macro_f1": 0.95, "auto_precision": 0.90}, current)
    assert not beats({"n": 100, "macro_f1": 0.905, "auto_precision": 0.99}, current, min_gain=0.01)
    with pytest.raises(ValidationFailed):
        beats({"n": 99, "macro_f1": 0.95, "auto_precision": 0.99}, current)
