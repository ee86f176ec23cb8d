"""Evaluation figures and the auto-dispatch threshold, from class probabilities (numpy only)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_TARGET_PRECISION = 0.95
DEFAULT_MIN_THRESHOLD = 0.5
DEFAULT_CONFIDENCE_Z = 1.0


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


def evaluate(proba: np.ndarray, y_true: Sequence[int], threshold: float) -> dict[str, float | int | None]:
    """n, top1, top3, macro_f1, auto_rate, auto_precision (None when nothing is automatic), threshold."""
    y = np.asarray(y_true)
    n = len(y)
    if n == 0:
        raise ValueError("no examples to evaluate")
    pred = proba.argmax(axis=1)
    k = min(3, proba.shape[1])
    top3 = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    auto = proba.max(axis=1) >= threshold
    return {
        "n": int(n),
        "top1": round(float(np.mean(pred == y)), 4),
        "top3": round(float(np.mean((top3 == y[:, None]).any(axis=1))), 4),
        "macro_f1": round(macro_f1(y, pred, proba.shape[1]), 4),
        "auto_rate": round(float(np.mean(auto)), 4),
        "auto_precision": round(float(np.mean(pred[auto] == y[auto])), 4) if auto.any() else None,
        "threshold": round(float(threshold), 4),
    }
