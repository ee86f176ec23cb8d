"""Category suggestions (诉求分类建议) for a text being registered: the categories of the tree it is about.

This module is the keyword evidence. The suggestions served combine it with the category model
trained on the city's own tickets (:mod:`chalicelib.dispatch.category_model`, docs/decisions/0015):
the model decides the categories it has seen often enough, this evidence the others (new categories,
rare ones, and texts unlike anything the model saw). Each active category gets terms: the words of its name (cut by jieba with the dispatch model's
dictionary: ``过期变质食品`` -> 过期, 变质, 食品) and the words callers use for it
(:mod:`chalicelib.dispatch.category_keywords`, by name; an admin may replace a category's
words: ``services.category_keywords``). A term found in the text counts
``1/√df`` (``df``: how many 事项 have it in one of their entries, so 维修 counts less than 电饭煲;
a 事项 and its own 具体问题 sharing a word do not dilute it), once per category, twice that for the
category's whole name.
A category's score is its own evidence plus half its parent's score, so a 具体问题 inherits its
事项's and 领域's evidence.

Candidates are the deepest choices: 具体问题, and a 事项 or 领域 without active children. A 具体问题
with no evidence of its own is represented by its 事项 instead (the text says which 事项, not which
具体问题), and a 事项 is dropped when one of its 具体问题 is suggested. Confidence is a candidate's
share of the evidence against the competing 事项, ``score / (Σ best score per 事项 among the top +
PRIOR)`` (two 具体问题 of one 事项 share its evidence and do not compete for it): ``PRIOR`` is the
weight of "none of these", so a single weak match stays unsure. It is not a calibrated probability. The answer
abstains (``no_match``: too little evidence; ``ambiguous``: the first holds less than
``MIN_CONFIDENCE`` of it, e.g. a text naming three matters) rather than guess; two matters named
alike are both offered at 40 %. Retired categories (and those under a retired parent) are never suggested.

jieba loads on the first suggestion (the dispatch model's segmenter when it is loaded), never on import.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.domain.categories import CategoryTree

from .category_keywords import KEYWORDS

TOP_K = 3
#: Weight of "none of these" in the confidence: a lone weak term (1.0) gets at most 50 %.
PRIOR = 1.0
#: Evidence below this is no suggestion at all: one distinctive term (1.0) is not enough, two or a
#: category's whole name are.
MIN_SCORE = 1.2
#: The first suggestion must hold at least this share of the evidence.
MIN_CONFIDENCE = 0.4
#: Others are listed only from this share on.
MIN_LISTED = 0.1
INHERIT = 0.5
#: A category's whole name written in the text says more than one of its words.
NAME_BONUS = 2.0
#: Words of category names that say nothing about the matter: they say what kind of request it is
#: (咨询, 建议) or are in every letter to officials (城市, 政策, 规定); found on real messages.
STOP_TERMS = frozenset({"问题", "服务", "纠纷", "管理", "设施", "其他", "相关", "情况", "和", "与", "及", "咨询", "建议",
                        "意见", "城市", "政策", "规定", "文件", "外地", "希望", "学校", "违法", "建设", "质量"})


@dataclass(frozen=True)
class Suggestion:
    """One suggested category and its share of the evidence."""

    code: str
    name: str
    path: tuple[str, ...]
    level: int
    confidence: float
    matched: tuple[str, ...]
    method: str = "keywords"  # or "model": the category model's probability (dispatch/category_model.py)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "path": list(self.path), "label": " / ".join(self.path),
                "level": self.level, "confidence": round(self.confidence, 4), "matched": list(self.matched),
                "method": self.method}


@dataclass(frozen=True)
class Suggestions:
    """The suggestions for a text (empty when unsure), and why none when it abstains."""

    items: tuple[Suggestion, ...]
    abstain: str | None
    method: str = "keywords"
    model_version: str | None = None  # the category model consulted, if any

    def to_dict(self) -> dict[str, Any]:
        out = {"items": [s.to_dict() for s in self.items], "abstain": self.abstain, "method": self.method}
        if self.model_version is not None:
            out["model_version"] = self.model_version
        return out


class Index:
    """The terms of every active category of one tree, and how many categories share each term."""

    def __init__(self, tree: CategoryTree, cut: Any, custom: Mapping[str, Sequence[str]] | None = None) -> None:
        custom = custom or {}
        self.tree = tree
        self.active = [code for code in sorted(tree.nodes) if tree.is_active(code)]
        self.terms: dict[str, frozenset[str]] = {}
        for code in self.active:
            name = tree.nodes[code].name
            listed = custom[code] if code in custom else KEYWORDS.get(name, ())  # an admin's words replace the defaults
            words = {w.strip() for w in cut(name)} | {name} | set(listed)
            self.terms[code] = frozenset(w for w in words if len(w) >= 2 and w not in STOP_TERMS)
        matters: dict[str, set[str]] = {}  # term -> the 事项 (or 领域) whose entries have it
        for code, words in self.terms.items():
            for w in words:
                matters.setdefault(w, set()).add(self._group(code))
        self.weight = {w: 1.0 / math.sqrt(len(groups)) for w, groups in matters.items()}
        with_children = {tree.nodes[c].parent for c in self.active if tree.nodes[c].parent}
        self.choices = [c for c in self.active if c not in with_children]

    def suggest(self, text: str, k: int = TOP_K) -> Suggestions:
        """The top ``k`` categories for ``text``, or an abstention."""
        matched = {code: tuple(sorted(w for w in words if w in text)) for code, words in self.terms.items()}
        own = {code: sum(self.weight[w] * (NAME_BONUS if w == self.tree.nodes[code].name else 1.0) for w in found)
               for code, found in matched.items()}
        total: dict[str, float] = {}

        def score(code: str) -> float:
            if code not in total:
                parent = self.tree.nodes[code].parent
                total[code] = own.get(code, 0.0) + (INHERIT * score(parent) if parent in own else 0.0)
            return total[code]

        candidates: dict[str, float] = {}
        for code in self.choices:
            parent = self.tree.nodes[code].parent
            if own[code] > 0 or parent is None:
                candidates[code] = score(code)
            elif parent in own:  # no evidence of its own: its 事项 (or 领域) stands for it
                candidates[parent] = score(parent)
        suggested = {code for code in candidates if self.tree.nodes[code].parent in candidates}
        for code in list(candidates):
            if code in {self.tree.nodes[c].parent for c in suggested}:
                del candidates[code]  # a 具体问题 of it is suggested
        ranked = sorted(((s, c) for c, s in candidates.items() if s > 0), key=lambda x: (-x[0], x[1]))[:k]
        if not ranked or ranked[0][0] < MIN_SCORE:
            return Suggestions((), "no_match")
        groups: dict[str, float] = {}  # competing 事项 (or 领域): siblings share their 事项's evidence
        for s, code in ranked:
            group = self._group(code)
            groups[group] = max(groups.get(group, 0.0), s)
        mass = sum(groups.values()) + PRIOR
        if ranked[0][0] / mass < MIN_CONFIDENCE:
            return Suggestions((), "ambiguous")
        items = []
        for s, code in ranked:
            if s / mass < MIN_LISTED:
                continue
            evidence = sorted({w for c in (n.code for n in self.tree.lineage(code)) for w in matched.get(c, ())})
            items.append(Suggestion(code, self.tree.nodes[code].name, tuple(self.tree.path(code)),
                                    self.tree.level(code), s / mass, tuple(evidence)))
        return Suggestions(tuple(items), None)


    def _group(self, code: str) -> str:
        lineage = self.tree.lineage(code)
        return lineage[min(1, len(lineage) - 1)].code


_lock = threading.Lock()
_cached: tuple[tuple, Index] | None = None


def _signature(tree: CategoryTree, custom: Mapping[str, Sequence[str]]) -> tuple:
    return (tuple(sorted((n.code, n.name, n.parent or "", n.active) for n in tree.nodes.values())),
            tuple(sorted((code, tuple(words)) for code, words in custom.items())))


def _cutter() -> Any:
    """jieba with the dispatch model's dictionary (already loaded for the department advice), else
    jieba with the dispatch user dictionary."""
    try:
        from .registry import active_predictor

        return active_predictor().segmenter.cut
    except Exception:  # noqa: BLE001 - no model right now: the suggestion still works without it
        from .segment import Segmenter, read_userdict

        return Segmenter(read_userdict()).cut


def index_for(tree: CategoryTree, custom: Mapping[str, Sequence[str]] | None = None) -> Index:
    """The index of ``tree`` (and an admin's words per code), built once per version of them in this process."""
    global _cached
    custom = custom or {}
    signature = _signature(tree, custom)
    with _lock:
        if _cached is None or _cached[0] != signature:
            _cached = (signature, Index(tree, _cutter(), custom))
        return _cached[1]


def suggest(text: str, tree: CategoryTree, custom: Mapping[str, Sequence[str]] | None = None,
            k: int = TOP_K) -> Suggestions:
    """Categories of ``tree`` for ``text`` (see the module docstring); ``custom``: an admin's words by
    code, replacing that category's default words."""
    return index_for(tree, custom).suggest(text, k)
