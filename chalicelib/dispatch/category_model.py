"""Category suggestions from the category model where it knows the category, keyword evidence otherwise.

The category model (trained on the city's own tickets: :mod:`chalicelib.dispatch.category_model_training`)
knows the categories agents chose often enough; for those, its calibrated probability replaces the
keyword evidence. The categories it does not know keep the keyword evidence
(:mod:`chalicelib.dispatch.category_suggest`). The two are merged:

* a text the model finds unfamiliar (its familiarity or coverage below the model's floors) is not
  its to judge: the keyword answer stands as it is;
* otherwise the model's top categories (active ones, probability at least ``MIN_LISTED``) join the
  keyword suggestions of categories the model does not know (neither the category nor one under it
  is among its labels). A keyword suggestion of a category the model knows is dropped: the model,
  which learnt that category from tickets, had its say on it;
* the merged list is ranked by confidence; as for keywords alone, the answer abstains rather than
  guess: ``no_match`` when nothing is left, ``ambiguous`` when the first holds less than
  ``MIN_CONFIDENCE``.

Each item says which method suggested it; the answer's method is the first item's (on an abstention:
``model`` when the model judged the text, else ``keywords``). numpy and jieba load with the first
model, never on import.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.domain.categories import CategoryTree

from .category_suggest import MIN_CONFIDENCE, MIN_LISTED, TOP_K, Index, Suggestion, Suggestions, index_for


def knows(tree: CategoryTree, labels: frozenset[str], code: str) -> bool:
    """Whether the model has a say on ``code``: it is one of its labels, or one of them lies under it."""
    return code in labels or any(tree.descends(label, code) for label in labels if label in tree)


def combine(tree: CategoryTree, keywords: Suggestions, model_top: Sequence[tuple[str, float]] | None, *,
            labels: frozenset[str] = frozenset(), familiar: bool = True, model_version: str | None = None,
            k: int = TOP_K) -> Suggestions:
    """Merge the keyword answer with the model's ranked ``(code, probability)`` (see the module
    docstring); ``model_top`` None: no model."""
    if model_top is None or not familiar:
        return Suggestions(keywords.items, keywords.abstain, "keywords", model_version)
    items: list[Suggestion] = [
        Suggestion(code, tree.nodes[code].name, tuple(tree.path(code)), tree.level(code), p, (), "model")
        for code, p in model_top if code in tree and tree.is_active(code) and p >= MIN_LISTED]
    items += [s for s in keywords.items if not knows(tree, labels, s.code)]
    items.sort(key=lambda s: (-s.confidence, s.code))
    items = items[:k]
    if not items:
        return Suggestions((), "no_match", "model", model_version)
    if items[0].confidence < MIN_CONFIDENCE:
        return Suggestions((), "ambiguous", "model", model_version)
    return Suggestions(tuple(items), None, items[0].method, model_version)


def suggest_with(predictor: Any, text: str, tree: CategoryTree,
                 custom: Mapping[str, Sequence[str]] | None = None, k: int = TOP_K,
                 index: Index | None = None) -> Suggestions:
    """The combined suggestions for ``text`` with ``predictor`` (a category model, or None: keywords
    only); ``index``: the keyword index to use instead of this process's cached one (the benchmark's)."""
    keywords = (index or index_for(tree, custom)).suggest(text, k)
    if predictor is None:
        return combine(tree, keywords, None)
    rec = predictor.recommend_many([text], k=k)[0]
    return combine(tree, keywords, rec.top, labels=frozenset(predictor.labels), familiar=rec.abstain != "unfamiliar",
                   model_version=predictor.version, k=k)


def suggest(text: str, tree: CategoryTree, custom: Mapping[str, Sequence[str]] | None = None,
            k: int = TOP_K) -> Suggestions:
    """The combined suggestions for ``text`` with the active category model (keywords alone when none)."""
    from .category_model_registry import active_model

    return suggest_with(active_model.predictor(), text, tree, custom, k)
