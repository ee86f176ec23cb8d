"""Evaluation figures and the auto-dispatch threshold, from class probabilities (numpy only)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DEFAULT_TARGET_PRECISION = 0.97
DEFAULT_MIN_THRESHOLD = 0.5
# One-sided 95%: a chosen cut's precision is judged by the lower end of its Wilson interval.
DEFAULT_CONFIDENCE_Z = 1.645
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


def grouped_lower_bound(correct: np.ndarray, groups: Sequence[object], level: float = 0.95,
                        reps: int = 2000, seed: int = 0) -> float:
    """One-sided lower confidence bound of a precision whose errors come in groups.

    Texts about one matter err together (one matter the model does not know sends most of its
    texts to the same wrong department), so the effective sample is the matters, not the texts.
    Resamples whole groups with replacement (a cluster bootstrap, ``reps`` times, fixed seed) and
    returns the ``1 - level`` quantile of the pooled precision. NaN when ``correct`` is empty.
    """
    c = np.asarray(correct, dtype=bool)
    if c.size == 0:
        return float("nan")
    _, g = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    hits = np.bincount(g, weights=c.astype(np.float64))
    sizes = np.bincount(g).astype(np.float64)
    rng = np.random.default_rng(seed)
    draw = rng.integers(0, len(sizes), size=(reps, len(sizes)))
    ratio = hits[draw].sum(axis=1) / np.maximum(sizes[draw].sum(axis=1), 1.0)
    return float(np.quantile(ratio, 1.0 - level))


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


def grouped_prefix_lower_bounds(correct_sorted: np.ndarray, groups_sorted: Sequence[object], level: float,
                                reps: int = 1000, seed: int = 0) -> np.ndarray:
    """For every cut of tickets sorted by score (the first k), the one-sided lower bound of its
    precision when whole groups (matters) are resampled: :func:`grouped_lower_bound` for all
    prefixes at once (each bootstrap replicate weighs a ticket by how often its group was drawn)."""
    _, g = np.unique(np.asarray(groups_sorted, dtype=object).astype(str), return_inverse=True)
    n_groups = int(g.max()) + 1 if g.size else 0
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, max(n_groups, 1), size=(reps, max(n_groups, 1)))
    weight = np.stack([np.bincount(d, minlength=n_groups) for d in draws])[:, g].astype(np.float64)
    hits = np.cumsum(weight * np.asarray(correct_sorted, dtype=np.float64)[None, :], axis=1)
    n = np.cumsum(weight, axis=1)
    ratio = np.where(n > 0, hits / np.maximum(n, 1.0), 0.0)
    return np.quantile(ratio, 1.0 - level, axis=0)


def lowest_safe_cut(top: np.ndarray, correct: np.ndarray, target_precision: float, floor: float,
                    z: float, judge_from: int, groups: Sequence[object] | None = None,
                    level: float = 0.95) -> float:
    """The lowest score whose cut keeps ``target_precision``: every cut above it (from
    ``judge_from`` tickets on) observes that precision, and the cut itself reaches it by its
    Wilson lower bound at ``z`` and, with ``groups`` (the matter of each ticket), by its one-sided
    ``level`` lower bound with whole matters resampled (errors come by matter, so the texts alone
    overstate the evidence). Above 1 when no cut does; never below ``floor``."""
    order = np.argsort(-top, kind="stable")
    top_sorted, correct_sorted = top[order], correct[order]
    n = np.arange(1, len(top) + 1)
    hits = np.cumsum(correct_sorted)
    observed = hits / n
    ok = (observed >= target_precision) | (n < judge_from)
    last_of_value = np.r_[top_sorted[1:] != top_sorted[:-1], True]
    prefix_ok = np.logical_and.accumulate(np.where(last_of_value, ok, True))
    bound_ok = wilson_lower_bound(hits, n, z) >= target_precision
    if groups is not None and len(top):
        bound_ok &= grouped_prefix_lower_bounds(correct_sorted, np.asarray(groups, dtype=object)[order],
                                                level) >= target_precision
    good = np.flatnonzero(prefix_ok & last_of_value & bound_ok & (n >= min(judge_from, len(top))))
    if good.size == 0:
        return 1.01
    return float(max(top_sorted[good[-1]], floor))


def choose_thresholds(proba: np.ndarray, y_true: Sequence[int], labels: Sequence[str],
                      target_precision: float = DEFAULT_TARGET_PRECISION,
                      min_threshold: float = DEFAULT_MIN_THRESHOLD, z: float = DEFAULT_CONFIDENCE_Z,
                      min_support: int = DEFAULT_DEPARTMENT_SUPPORT, groups: Sequence[object] | None = None,
                      level: float = 0.95) -> tuple[float, dict[str, float]]:
    """A global threshold, and a higher one for each department that needs it.

    The global threshold is the lowest cut of the calibration tickets whose precision reaches
    the target (judged on cuts of 50 tickets or more, the chosen cut by its Wilson lower bound
    at ``z``, and with ``groups`` also by its matter-resampled lower bound at ``level``). Then, per department with ``min_support`` calibration tickets sent to it (its
    first choice), the lowest cut at or above the global one where that department's own
    precision keeps the target: a department the model confuses more gets a higher threshold
    (above 1: never automatic). Departments with less data use the global threshold.
    """
    y = np.asarray(y_true)
    top = proba.max(axis=1)
    pred = proba.argmax(axis=1)
    correct = pred == y
    overall = lowest_safe_cut(top, correct, target_precision, min_threshold, z, judge_from=50,
                              groups=groups, level=level)
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
