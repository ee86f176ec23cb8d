"""Training the category model on the city's own tickets (scheduled, beside the dispatch retraining).

1. Read the tickets received in the last ``days`` days through the received-time index (GSI2: one
   Query per month and shard, never a Scan), at most ``MAX_TICKETS``. A ticket is an example when
   its category (what the agent chose, re-classified at acceptance if it was) is a 事项 or
   具体问题 of the tree: the label is that code, the input its request and facts with phone and ID
   numbers masked. One ticket in five (by a hash of its id: ``retraining.held_out``) is held out.
2. A category enters training with at least ``min_examples`` training examples; the others keep
   the keyword evidence. Fewer than two such categories: nothing to train.
3. Train with the dispatch model's text pipeline (jieba + TF-IDF word and character n-grams +
   linear SVM, Platt-calibrated: :func:`chalicelib.dispatch.training.fit`, without the
   departments' duty documents), scikit-learn imported here only.
4. Judge on the held-out tickets: the top-1 hit rate of the combined suggestion
   (:mod:`chalicelib.dispatch.category_model`) with the candidate against the one in force (the
   active model, or keywords alone). Publish the candidate (S3 + registry version) whatever the
   verdict and promote it when it does at least as well (with no held-out ticket: only when no
   model is active yet). The containers load it at their next check.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.categories import CategoryTree
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.privacy import mask_text
from chalicelib.domain.ticket import aware
from chalicelib.observability import logger
from chalicelib.store.tickets import items_received_between, load_ticket

from . import category_model, category_model_registry
from .category_suggest import Suggestions
from .retraining import held_out

DEFAULT_DAYS = 365
MAX_TICKETS = 50_000
#: Training examples a category needs before the model suggests it (below: keyword evidence).
MIN_EXAMPLES = 20


@dataclass(frozen=True)
class Example:
    """One ticket's text and the category the agents gave it."""

    ticket_id: str
    text: str
    label: str


@dataclass
class CategoryTrainingResult:
    """What one run did (returned by the scheduled job, logged)."""

    status: str  # promoted | not_better | unchanged | too_few
    tickets: int = 0
    examples: int = 0
    trained: int = 0
    held_out: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    below_minimum: dict[str, int] = field(default_factory=dict)
    candidate_version: str | None = None
    current_version: str | None = None
    candidate_top1: float | None = None
    current_top1: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_examples(tree: CategoryTree, *, now: datetime, days: int = DEFAULT_DAYS,
                  limit: int = MAX_TICKETS) -> tuple[int, list[Example]]:
    """(tickets read, examples) of the tickets received in the last ``days`` days (GSI2 Queries)."""
    end = aware(now, "now").date()
    start = end - timedelta(days=max(days, 1) - 1)
    read, out = 0, []
    for item in items_received_between(start, end):
        if read >= limit:
            break
        read += 1
        ticket = load_ticket(item)
        code = tree.resolve(ticket.category)
        if code is None or tree.level(code) not in (2, 3):
            continue
        text = mask_text("\n".join(p for p in (ticket.request, ticket.facts) if p)) or ""
        if text.strip():
            out.append(Example(ticket.id, text, code))
    return read, out


def _counts(examples: list[Example]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for e in examples:
        counts[e.label] = counts.get(e.label, 0) + 1
    return dict(sorted(counts.items()))


def top1(suggest: Any, judged: list[Example]) -> float | None:
    """Share of ``judged`` whose first suggestion is exactly their category (an abstention is a miss)."""
    if not judged:
        return None
    hits = 0
    for e in judged:
        found: Suggestions = suggest(e.text)
        hits += bool(found.items) and e.label == found.items[0].code
    return round(hits / len(judged), 4)


def entering(tree: CategoryTree, train_set: list[Example],
             min_examples: int = MIN_EXAMPLES) -> tuple[dict[str, int], dict[str, int]]:
    """(the active categories with at least ``min_examples`` training examples: they enter the model,
    the others and their counts: they keep the keyword evidence)."""
    counts = _counts(train_set)
    known = {label: n for label, n in counts.items() if n >= min_examples and tree.is_active(label)}
    return known, {k: v for k, v in counts.items() if k not in known}


def fit_examples(chosen: list[Example], config: Any = None) -> tuple[Any, Any]:
    """(``training.TrainResult``, its ``Predictor``) of the category model trained on ``chosen`` (the
    examples of the categories that enter): the dispatch model's pipeline without the departments'
    duty documents or knowledge, 3 calibration folds unless ``config`` says otherwise. Imports
    scikit-learn (the training job and the benchmark only)."""
    from .dataset import Dataset, data_hash
    from .predictor import Predictor
    from .training import TrainConfig, fit

    data = Dataset([e.text for e in chosen], [e.label for e in chosen])
    settings = config or TrainConfig(duty_documents=False, knowledge=False, calibration_folds=3)
    trained = fit(data, settings, version=f"category-{data_hash(data.texts, data.labels)[:12]}")
    return trained, Predictor(trained.artifact, segmenter=trained.segmenter)


def train(tree: CategoryTree, custom: dict[str, Any], *, now: datetime, days: int = DEFAULT_DAYS,
          min_examples: int = MIN_EXAMPLES, config: Any = None, actor: str = "system") -> CategoryTrainingResult:
    """One run (see the module docstring); ``config`` a ``training.TrainConfig``."""
    read, examples = read_examples(tree, now=now, days=days)
    train_set = [e for e in examples if not held_out(e.ticket_id)]
    known, below = entering(tree, train_set, min_examples)
    judged = [e for e in examples if held_out(e.ticket_id)]
    result = CategoryTrainingResult("too_few", tickets=read, examples=len(examples), held_out=len(judged),
                                    labels=known, below_minimum=below)
    current = category_model_registry.active_model.predictor(force_check=True)
    result.current_version = current.version if current else None
    if len(known) < 2:
        logger.info("category model: too few labelled tickets", extra={"labels": len(known), "tickets": read})
        return result

    from .dataset import data_hash

    chosen = [e for e in train_set if e.label in known]
    digest = data_hash([e.text for e in chosen], [e.label for e in chosen])
    result.trained = len(chosen)
    if any(v.get("training_data_sha256") == digest for v in category_model_registry.versions()):
        result.status = "unchanged"
        return result
    trained, candidate = fit_examples(chosen, config)  # scikit-learn: this job only
    result.candidate_version = candidate.version
    result.candidate_top1 = top1(lambda t: category_model.suggest_with(candidate, t, tree, custom), judged)
    result.current_top1 = top1(lambda t: category_model.suggest_with(current, t, tree, custom), judged)
    better = (result.current_version != candidate.version
              and (current is None if result.candidate_top1 is None
                   else result.candidate_top1 >= (result.current_top1 or 0.0)))
    trained.artifact.metadata["kind"] = "category"
    trained.artifact.metadata["min_examples"] = min_examples
    trained.artifact.metadata["metrics"]["heldout"] = {"n": len(judged), "top1": result.candidate_top1,
                                                       "compared_with": result.current_version,
                                                       "current_top1": result.current_top1}
    category_model_registry.publish(trained.artifact, now=now, details={"promoted": better,
                                                                        "below_minimum": result.below_minimum})
    if better:
        category_model_registry.promote(candidate.version, actor=actor, now=now,
                                        reason=f"held-out top-1 {result.current_top1} -> {result.candidate_top1} "
                                               f"on {len(judged)} tickets")
        result.status = "promoted"
    else:
        result.status = "not_better"
    logger.info("category model training done", extra={"status": result.status, "labels": len(known)})
    return result

