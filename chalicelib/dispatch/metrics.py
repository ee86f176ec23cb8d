"""Evaluation figures and the auto-dispatch threshold, from class probabilities (numpy only)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_TARGET_PRECISION = 0.97
DEFAULT_MIN_THRESHOLD = 0.5
DEFAULT_CONFIDENCE_Z = 1.0
# A department gets a threshold of its own when the calibration data has this many tickets the
# model sends to it; the others use the global threshold.
DEFAULT_DEPARTMENT_SUPPORT = 30


def wilson_lower_bound(successes: np.ndarray, n: np.ndarray, z: float) -> np.ndarray:
    """Wilson score lower bound of a proportion (``z`` = 0 gives the observed proportion)."""
    n = np.asarray(n, dtype=np.float64)
    p = np.asarray(successes, dtype=np.float64) / n
    if z <= 0:
        return p
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (centre - margin) / (1 + z2 / n)


def macro_f1(y_true: Sequence[int], y_pred: Sequence[int], n_labels: int) -> float:
    """F1 averaged over the labels that occur in the truth or the predictions."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    scores = []
    for k in range(n_labels):
        tp = int(np.sum((t == k) & (p == k)))
        fp = int(np.sum((t != k) & (p == k)))
        fn = int(np.sum((t == k) & (p != k)))
        if tp + fp + fn == 0:
            continue
        scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0


def choose_threshold(proba: np.ndarray, y_true: Sequence[int],
                     target_precision: float = DEFAULT_TARGET_PRECISION,
                     min_threshold: float = DEFAULT_MIN_THRESHOLD, min_support: int = 20,
                     z: float = DEFAULT_CONFIDENCE_Z) -> float:
    """The lowest top-probability threshold whose auto-dispatched share is precise enough.

    Tickets are sorted by their top probability; a threshold ``t`` is acceptable when *every*
    cut at or above it keeps precision >= ``target_precision`` (so precision never dips as the
    threshold rises). Precision is judged by its Wilson lower bound at ``z`` standard errors
    (0 judges the observed precision), so a small validation set does not promise more than it
    shows. Cuts keeping fewer than ``min_support`` tickets are not judged, so one
    unlucky top-scored error does not switch automation off. Returns a value above 1 (never dispatch automatically) when no threshold
    reaches the target. ``proba`` must be validation (out-of-fold) probabilities.
    """
    y = np.asarray(y_true)
    top = proba.max(axis=1)
    correct = proba.argmax(axis=1) == y
    order = np.argsort(-top, kind="stable")
    top_sorted, correct_sorted = top[order], correct[order]
    precision = wilson_lower_bound(np.cumsum(correct_sorted), np.arange(1, len(y) + 1), z)
    # Only cut between distinct probabilities: ties go together.
    last_of_value = np.r_[top_sorted[1:] != top_sorted[:-1], True]
    ok = precision >= target_precision
    ok[: max(0, min(min_support, len(y)) - 1)] = True  # too few tickets to judge a cut
    # Suffix-and: a cut is good only if every higher cut (smaller prefix) is good too.
    prefix_ok = np.logical_and.accumulate(np.where(last_of_value, ok, True))
    good = np.flatnonzero(prefix_ok & last_of_value)
    if good.size == 0:
        return 1.01
    return float(max(top_sorted[good[-1]], min_threshold))


def lowest_safe_cut(top: np.ndarray, correct: np.ndarray, target_precision: float, floor: float,
                    z: float, judge_from: int) -> float:
    """The lowest score whose cut keeps ``target_precision``: every cut above it (from
    ``judge_from`` tickets on) observes that precision, and the cut itself reaches it by its
    Wilson lower bound at ``z``. Above 1 when no cut does; never below ``floor``."""
    order = np.argsort(-top, kind="stable")
    top_sorted, correct_sorted = top[order], correct[order]
    n = np.arange(1, len(top) + 1)
    hits = np.cumsum(correct_sorted)
    observed = hits / n
    ok = (observed >= target_precision) | (n < judge_from)
    last_of_value = np.r_[top_sorted[1:] != top_sorted[:-1], True]
    prefix_ok = np.logical_and.accumulate(np.where(last_of_value, ok, True))
    bound_ok = wilson_lower_bound(hits, n, z) >= target_precision
    good = np.flatnonzero(prefix_ok & last_of_value & bound_ok & (n >= min(judge_from, len(top))))
    if good.size == 0:
        return 1.01
    return float(max(top_sorted[good[-1]], floor))


def choose_thresholds(proba: np.ndarray, y_true: Sequence[int], labels: Sequence[str],
                      target_precision: float = DEFAULT_TARGET_PRECISION,
                      min_threshold: float = DEFAULT_MIN_THRESHOLD, z: float = DEFAULT_CONFIDENCE_Z,
                      min_support: int = DEFAULT_DEPARTMENT_SUPPORT) -> tuple[float, dict[str, float]]:
    """A global threshold, and a higher one for each department that needs it.

    The global threshold is the lowest cut of the calibration tickets whose precision reaches
    the target (judged on cuts of 50 tickets or more, the chosen cut by its Wilson lower bound
    at ``z``). Then, per department with ``min_support`` calibration tickets sent to it (its
    first choice), the lowest cut at or above the global one where that department's own
    precision keeps the target: a department the model confuses more gets a higher threshold
    (above 1: never automatic). Departments with less data use the global threshold.
    """
    y = np.asarray(y_true)
    top = proba.max(axis=1)
    pred = proba.argmax(axis=1)
    correct = pred == y
    overall = lowest_safe_cut(top, correct, target_precision, min_threshold, z, judge_from=50)
    per: dict[str, float] = {}
    for k, code in enumerate(labels):
        mine = pred == k
        if int(mine.sum()) < min_support:
            continue
        own = lowest_safe_cut(top[mine], correct[mine], target_precision, overall, 0.0, judge_from=10)
        if own > overall:
            per[code] = round(own, 6)
    return overall, per


def row_thresholds(proba: np.ndarray, threshold: float, per_label: Sequence[float] | None) -> np.ndarray:
    """Each row's threshold: its first choice's own, else the global one."""
    if per_label is None:
        return np.full(len(proba), threshold)
    return np.asarray(per_label, dtype=np.float64)[proba.argmax(axis=1)]


def coverage_precision(proba: np.ndarray, y_true: Sequence[int],
                       coverages: Sequence[float] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
                       ) -> list[dict[str, float]]:
    """Precision of the most confident share of the tickets, for each share (the curve)."""
    y = np.asarray(y_true)
    order = np.argsort(-proba.max(axis=1), kind="stable")
    correct = (proba.argmax(axis=1) == y)[order]
    top = proba.max(axis=1)[order]
    out = []
    for c in coverages:
        k = max(1, int(round(c * len(y))))
        out.append({"coverage": round(float(c), 2), "precision": round(float(correct[:k].mean()), 4),
                    "min_probability": round(float(top[k - 1]), 4)})
    return out


def evaluate(proba: np.ndarray, y_true: Sequence[int], threshold: float,
             per_label: Sequence[float] | None = None,
             familiar: np.ndarray | None = None) -> dict[str, float | int | None]:
    """n, top1, top3, macro_f1, auto_rate, auto_precision (None when nothing is automatic), threshold.

    ``per_label`` (thresholds in label order) replaces ``threshold`` for tickets whose first choice
    has its own; ``familiar`` (bool per row) is False for text the model abstains on as unknown,
    which adds ``unfamiliar_rate``.
    """
    y = np.asarray(y_true)
    n = len(y)
    if n == 0:
        raise ValueError("no examples to evaluate")
    pred = proba.argmax(axis=1)
    k = min(3, proba.shape[1])
    top3 = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    auto = proba.max(axis=1) >= row_thresholds(proba, threshold, per_label)
    if familiar is not None:
        auto &= familiar
    extra = {} if familiar is None else {"unfamiliar_rate": round(float(np.mean(~familiar)), 4)}
    return {
        "n": int(n),
        "top1": round(float(np.mean(pred == y)), 4),
        "top3": round(float(np.mean((top3 == y[:, None]).any(axis=1))), 4),
        "macro_f1": round(macro_f1(y, pred, proba.shape[1]), 4),
        "auto_rate": round(float(np.mean(auto)), 4),
        "auto_precision": round(float(np.mean(pred[auto] == y[auto])), 4) if auto.any() else None,
        "threshold": round(float(threshold), 4),
        **extra,
    }
