"""Labelled data sets and scoring a predictor on them (numpy only, no scikit-learn)."""
from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..domain.errors import ValidationFailed
from . import metrics
from .predictor import Predictor


@dataclass
class Dataset:
    """Texts and labels read from a CSV (plus any other columns, e.g. district)."""

    texts: list[str]
    labels: list[str]
    extra: dict[str, list[str]] = field(default_factory=dict)

    def subset(self, idx: Sequence[int]) -> "Dataset":
        return Dataset([self.texts[i] for i in idx], [self.labels[i] for i in idx],
                       {k: [v[i] for i in idx] for k, v in self.extra.items()})


def read_dataset(path: str | os.PathLike[str], text_column: str = "text",
                 label_column: str = "label") -> Dataset:
    """Rows of a UTF-8 CSV with a header; rows with an empty text or label are skipped."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        for col in (text_column, label_column):
            if col not in fields:
                raise ValidationFailed(f"column {col!r} not in {path}", details={"columns": fields})
        texts, labels, extra = [], [], {c: [] for c in fields if c not in (text_column, label_column)}
        for row in reader:
            text, label = (row[text_column] or "").strip(), (row[label_column] or "").strip()
            if not text or not label:
                continue
            texts.append(text)
            labels.append(label)
            for c in extra:
                extra[c].append((row.get(c) or "").strip())
    if not texts:
        raise ValidationFailed(f"no labelled rows in {path}")
    return Dataset(texts, labels, extra)


def data_hash(texts: Sequence[str], labels: Sequence[str]) -> str:
    """SHA-256 of the training data (text and label of every row, in order)."""
    h = hashlib.sha256()
    for t, y in zip(texts, labels):
        h.update(t.encode("utf-8") + b"\x1f" + y.encode("utf-8") + b"\x1e")
    return h.hexdigest()


def score(predictor: Predictor, data: Dataset) -> dict[str, object]:
    """Evaluation figures of a predictor on labelled data (labels unknown to it count as errors)."""
    proba, fam = predictor.assess(data.texts)
    index = {lab: i for i, lab in enumerate(predictor.labels)}
    y = np.array([index.get(lab, -1) for lab in data.labels])
    return metrics.evaluate(proba, y, predictor.threshold, predictor.label_thresholds(), predictor.familiar(fam))


def beats(candidate: dict[str, object], current: dict[str, object], *,
          min_gain: float = 0.0, target_precision: float = metrics.DEFAULT_TARGET_PRECISION) -> bool:
    """Whether a candidate model's held-out figures (from :func:`score`) justify promoting it.

    It must not lose macro-F1 (and gain at least ``min_gain``), and the share it would
    dispatch alone must stay at ``target_precision`` or better (or it dispatches nothing).
    """
    if candidate["n"] != current["n"]:
        raise ValidationFailed("compare models on the same held-out data",
                               details={"n": [candidate["n"], current["n"]]})
    precision = candidate["auto_precision"]
    precise = precision is None or float(precision) >= target_precision  # type: ignore[arg-type]
    return precise and float(candidate["macro_f1"]) >= float(current["macro_f1"]) + min_gain  # type: ignore[arg-type]
