"""Scheduled retraining: the bundled corpus plus dispatchers' corrections, promoted only if better.

1. Read the labelled examples of the last ``months`` months (``LABEL#<yyyy-mm>``, one Query per
   month) and keep each ticket's last correction. One in five tickets (by a hash of its id, so the
   split never changes) is held out: those examples are for judging, never for training.
2. Training data = the bundled corpus + the other corrections. When a model was already trained
   on exactly this data (same training-data hash), there is nothing new to learn: stop.
3. Train a candidate (scikit-learn, this job only; its thresholds and familiarity floor chosen on
   the second generator's calibration split, never on text like the corpus), then score the candidate and the active model
   on the same held-out data: the bundled held-out split + the held-out corrections.
4. Publish the candidate (artifact + metadata in S3, whatever the verdict, so admins can see it)
   and promote it only when it beats the active model (:func:`chalicelib.dispatch.dataset.beats`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib.domain.errors import ValidationFailed
from chalicelib.observability import logger

from . import corrections, registry
from .dataset import Dataset, beats, data_hash, read_dataset, score
from .paths import data_dir

CORPUS = data_dir() / "dispatch" / "corpus.csv"
HELDOUT = data_dir() / "dispatch" / "heldout.csv"
# Text of another generator, never trained on: the candidate's thresholds are chosen on it.
CALIBRATION = data_dir() / "dispatch" / "unlike_calibration.csv"
DEFAULT_MONTHS = 12
HELDOUT_ONE_IN = 5
# A department the corpus does not know enters training once dispatchers taught it this often.
MIN_EXAMPLES_NEW_LABEL = 5


@dataclass
class RetrainResult:
    """What one retraining run did."""

    status: str  # promoted | not_better | unchanged | no_corpus
    current_version: str
    candidate_version: str | None = None
    corrections: int = 0
    corrections_trained: int = 0
    corrections_held_out: int = 0
    candidate_scores: dict[str, Any] | None = None
    current_scores: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def held_out(ticket_id: str) -> bool:
    """Whether a ticket's correction is kept for judging (stable: a hash of the id)."""
    return int(hashlib.sha256(ticket_id.encode("utf-8")).hexdigest()[:8], 16) % HELDOUT_ONE_IN == 0


def _combine(base: Dataset, examples: list[corrections.LabelledExample]) -> Dataset:
    return Dataset(base.texts + [e.text for e in examples], base.labels + [e.label for e in examples])


def _trainable(base: Dataset, examples: list[corrections.LabelledExample]) -> tuple[list, list[str]]:
    """Examples whose label the corpus knows, or that dispatchers taught often enough."""
    known = set(base.labels)
    counts: dict[str, int] = {}
    for e in examples:
        counts[e.label] = counts.get(e.label, 0) + 1
    keep = [e for e in examples if e.label in known or counts[e.label] >= MIN_EXAMPLES_NEW_LABEL]
    dropped = sorted({e.label for e in examples} - {e.label for e in keep})
    return keep, [f"too few examples of new department {label}" for label in dropped]


def retrain(*, now: datetime, corpus: str | Path = CORPUS, heldout: str | Path = HELDOUT,
            calibration: str | Path | None = CALIBRATION, months: int = DEFAULT_MONTHS, config: Any = None,
            min_gain: float = 0.0, actor: str = "system") -> RetrainResult:
    """One retraining run (see the module docstring); ``config`` is a ``training.TrainConfig``."""
    registry.sync_mirror()  # a promotion whose publishing failed is finished before judging against it
    current = registry.active_predictor(force_check=True)
    result = RetrainResult(status="unchanged", current_version=current.version)
    if not Path(corpus).is_file() or not Path(heldout).is_file():
        logger.error("retraining needs the bundled corpus and held-out split", extra={"corpus": str(corpus)})
        result.status = "no_corpus"
        return result
    examples = corrections.latest_per_ticket(list(corrections.read_months(corrections.months_back(now, months))))
    base, judge = read_dataset(corpus), read_dataset(heldout)
    trainable, notes = _trainable(base, [e for e in examples if not held_out(e.ticket_id)])
    held = [e for e in examples if held_out(e.ticket_id)]
    result.corrections, result.corrections_trained, result.corrections_held_out = len(examples), len(trainable), len(held)
    result.notes += notes
    train = _combine(base, trainable)
    digest = data_hash(train.texts, train.labels)
    seen = {str(v.get("training_data_sha256")) for v in registry.versions()}
    if digest == current.metadata.get("training_data_sha256") or digest in seen:
        result.notes.append("a model was already trained on exactly this data")
        return result

    from .predictor import Predictor
    from .training import TrainConfig, fit  # scikit-learn: this job only

    calibration_data = read_dataset(calibration) if calibration and Path(calibration).is_file() else None
    trained = fit(train, config or TrainConfig(), calibration=calibration_data,
                  calibration_source=Path(calibration).name if calibration_data else "calibration")
    candidate = Predictor(trained.artifact, segmenter=trained.segmenter)
    judged = _combine(judge, held)
    result.candidate_version = candidate.version
    result.candidate_scores = score(candidate, judged)
    result.current_scores = score(current, judged)
    better = candidate.version != current.version and beats(result.candidate_scores, result.current_scores,
                                                             min_gain=min_gain)
    trained.artifact.metadata["metrics"]["heldout"] = result.candidate_scores
    registry.publish(trained.artifact, source="retraining", now=now, details={"retraining": {
        "compared_with": current.version, "current_heldout": result.current_scores, "promoted": better,
        "corrections": result.corrections, "corrections_trained": result.corrections_trained,
        "corrections_held_out": result.corrections_held_out}})
    if better:
        registry.promote(candidate.version, actor=actor, now=now,
                         reason=(f"retraining: macro-F1 {result.current_scores['macro_f1']} -> "
                                 f"{result.candidate_scores['macro_f1']} on {result.candidate_scores['n']} held-out"))
        result.status = "promoted"
    else:
        result.status = "not_better"
    logger.info("dispatch retraining done", extra={"status": result.status, "candidate": result.candidate_version,
                                                    "current": result.current_version})
    return result


def run_scheduled(now: datetime) -> dict[str, Any]:
    """The scheduled job's entry point (app.py): one run with the defaults."""
    try:
        return retrain(now=now).to_dict()
    except ValidationFailed as exc:  # bad training data is an operator's problem, not a retry's
        logger.error("dispatch retraining refused its data", extra={"details": exc.details})
        return {"status": "refused", "details": exc.details}
