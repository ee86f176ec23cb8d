"""Turning a ticket text into features: normalization, word and char n-grams, duty knowledge.

Pure Python (the tokens come from :mod:`segment`). Training and prediction call the very same
functions, which is what lets a numpy predictor reproduce what scikit-learn was fitted on.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
#: Characters that separate char n-gram runs (punctuation, symbols, spaces).
_BREAK = re.compile(r"[^0-9a-z\u4e00-\u9fff*#]+")


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), lower case, digit runs to ``0``, spaces squeezed.

    Digits become one placeholder because amounts, dates and phone numbers vary endlessly
    while their presence ("3680元", "12月5日") is what carries meaning.
    """
    text = unicodedata.normalize("NFKC", text or "").lower()
    text = _DIGITS.sub("0", text)
    return _SPACE.sub(" ", text).strip()


@lru_cache(maxsize=1 << 16)
def is_word_token(token: str) -> bool:
    """True for tokens that carry meaning (not punctuation or spaces)."""
    return bool(token.strip()) and not _BREAK.fullmatch(token)


def word_ngrams(tokens: Sequence[str], n_max: int = 2) -> list[str]:
    """Unigrams and (up to ``n_max``) n-grams of the tokens, joined by a space."""
    toks = list(tokens)
    out = list(toks)
    for n in range(2, n_max + 1):
        out += [" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1)]
    return out


def char_ngrams(normalized: str, n_min: int = 2, n_max: int = 3) -> list[str]:
    """Character n-grams inside runs of letters/digits (never across punctuation)."""
    out: list[str] = []
    for run in _BREAK.split(normalized):
        L = len(run)
        for n in range(n_min, n_max + 1):
            out += [run[i:i + n] for i in range(L - n + 1)]
    return out


@dataclass(frozen=True)
class Knowledge:
    """Department duty phrases, matched in texts as a small dense feature block.

    For each department two values: how many of its duty phrases occur in the text, and how
    many of the words of its duty phrases occur among the text's tokens (both log-damped and
    scaled). The classifier learns what they mean for its labels, so the block helps any label
    set, not only the departments.
    """

    codes: tuple[str, ...]
    phrases: tuple[tuple[str, ...], ...]
    words: tuple[frozenset[str], ...]
    scale: float = 0.3

    def __post_init__(self) -> None:
        owners: dict[str, set[int]] = {}
        for i, phrases in enumerate(self.phrases):
            for p in phrases:
                owners.setdefault(p, set()).add(i)
        # One alternation, longest first: a single scan finds every phrase occurrence.
        alternation = "|".join(re.escape(p) for p in sorted(owners, key=lambda p: (-len(p), p)))
        object.__setattr__(self, "_pattern", re.compile(alternation) if owners else None)
        object.__setattr__(self, "_owners", {p: tuple(sorted(o)) for p, o in owners.items()})

    @property
    def size(self) -> int:
        return 2 * len(self.codes)

    def features(self, normalized: str, tokens: Sequence[str]) -> list[float]:
        n = len(self.codes)
        found: list[set[str]] = [set() for _ in range(n)]
        if self._pattern is not None:
            for m in self._pattern.finditer(normalized):
                for i in self._owners[m.group()]:
                    found[i].add(m.group())
        toks = set(tokens)
        out: list[float] = []
        for i in range(n):
            out.append(self.scale * math.log1p(len(found[i])))
            out.append(self.scale * math.log1p(len(self.words[i] & toks)) / 2.0)
        return out

    def to_json(self) -> dict[str, object]:
        return {"codes": list(self.codes), "phrases": [list(p) for p in self.phrases],
                "words": [sorted(w) for w in self.words], "scale": self.scale}

    @classmethod
    def from_json(cls, data: dict) -> "Knowledge":
        return cls(tuple(data["codes"]), tuple(tuple(p) for p in data["phrases"]),
                   tuple(frozenset(w) for w in data["words"]), float(data["scale"]))


@dataclass(frozen=True)
class AnalyzerConfig:
    """How texts become features (stored in the artifact so prediction does the same)."""

    word_ngram_max: int = 2
    char_ngram_min: int = 2
    char_ngram_max: int = 3
    hmm: bool = False  # jieba's HMM for unknown words: slower, and char n-grams cover them
    main_matter: bool = False  # read only up to a side remark ("另外…", "顺便…"): see main_matter()
    #: Which side-remark markers (see SIDE_MARKER_SETS); artifacts saved before there was a choice
    #: read 1, so an old model splits its texts exactly as when it was trained.
    side_markers: int = 2

    def to_json(self) -> dict[str, object]:
        return {"word_ngram_max": self.word_ngram_max, "char_ngram_min": self.char_ngram_min,
                "char_ngram_max": self.char_ngram_max, "hmm": self.hmm, "main_matter": self.main_matter,
                "side_markers": self.side_markers}

    @classmethod
    def from_json(cls, data: dict) -> "AnalyzerConfig":
        return cls(int(data["word_ngram_max"]), int(data["char_ngram_min"]), int(data["char_ngram_max"]),
                   bool(data.get("hmm", False)), bool(data.get("main_matter", False)),
                   int(data.get("side_markers", 1)))


_FIRST_MARKERS = r"另外|此外|顺便|顺带|还有个事|还有一件事|还有就是|再说个|对了,|另提到"
#: Words that open a second, lesser matter in a call or message ("另外…", "顺便说一下…"), by set:
#: 1 the first list; 2 adds "其他的/其它的" ("as for the rest…") and "再一个" where a sentence or
#: clause starts (they open one there; "楼里其他的住户" does not). Without set 2, "……。其他的X也顺便说一下"
#: was cut at "顺便", after the side matter X, which then outvoted the main one.
SIDE_MARKER_SETS = {
    1: re.compile(_FIRST_MARKERS),
    2: re.compile(_FIRST_MARKERS + r"|(?<=[。,;!?.:])(?:其他的|其它的|其他还有|再一个)"),
}
#: A side remark only counts after this many characters of main matter.
MIN_MAIN = 12


def main_matter(normalized: str, markers: int = 2) -> str:
    """The text up to its first side remark, when the main matter before it is long enough.

    Callers and agents state the matter they call about first; a second matter mentioned in
    passing ("另外，楼上也有点吵") belongs to another department and must not outvote it.
    """
    for m in SIDE_MARKER_SETS[markers].finditer(normalized):
        if m.start() >= MIN_MAIN:
            return normalized[:m.start()]
    return normalized


@dataclass(frozen=True)
class Analyzed:
    """One text's raw features, before vocabulary lookup and weighting."""

    words: list[str]
    chars: list[str]
    knowledge: list[float]


Cut = Callable[[str, bool], list[str]]


def analyze(text: str, cut: Cut, config: AnalyzerConfig, knowledge: Knowledge | None) -> Analyzed:
    """Features of ``text``; ``cut(text, hmm)`` is the segmenter's function to tokens."""
    norm = normalize(text)
    if config.main_matter:
        norm = main_matter(norm, config.side_markers)
    tokens = [t for t in cut(norm, config.hmm) if is_word_token(t)]
    return Analyzed(
        words=word_ngrams(tokens, config.word_ngram_max),
        chars=char_ngrams(norm, config.char_ngram_min, config.char_ngram_max),
        knowledge=knowledge.features(norm, tokens) if knowledge else [],
    )
