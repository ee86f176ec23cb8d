"""Department recommendations from a trained artifact, with numpy and jieba only.

``get_default_predictor()`` loads the model once per process (a Lambda container), from
``DISPATCH_MODEL_DIR`` when set (the layer puts it under /opt/dispatch/model), else from the
copy bundled in ``data/dispatch/model``. scikit-learn is never imported here.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import dispatch_model_dir
from ..domain.errors import ValidationFailed
from . import artifact as artifact_io
from .paths import data_dir
from .segment import Segmenter
from .textproc import AnalyzerConfig, Knowledge, analyze

BUNDLED_MODEL_DIR = data_dir() / "dispatch" / "model"
LAYER_MODEL_DIR = Path("/opt/dispatch/model")


@dataclass(frozen=True)
class Recommendation:
    """Ranked departments for one ticket and whether the model may dispatch it alone.

    ``threshold`` is the one of the first department (its own, or the model's global one);
    ``familiarity`` is how close the text is to what the model knows (cosine similarity with the
    nearest department's centroid, None for models without centroids) and ``coverage`` the share
    of its character n-grams the model's vocabulary knows; ``abstain`` says why the model would
    not dispatch alone: ``unfamiliar`` (either is below its floor: text far from anything it
    knows, or written in words it never saw) or ``below_threshold``.
    """

    top: list[tuple[str, float]]
    auto: bool
    threshold: float
    model_version: str
    familiarity: float | None = None
    abstain: str | None = None
    coverage: float | None = None

    @property
    def department(self) -> str:
        """The most likely department code."""
        return self.top[0][0]

    @property
    def probability(self) -> float:
        return self.top[0][1]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (stored on the ticket, shown to the dispatcher)."""
        return {
            "top": [{"department": code, "probability": round(p, 4)} for code, p in self.top],
            "auto": self.auto,
            "threshold": round(self.threshold, 4),
            "model_version": self.model_version,
            "familiarity": None if self.familiarity is None else round(self.familiarity, 4),
            "coverage": None if self.coverage is None else round(self.coverage, 4),
            "abstain": self.abstain,
        }


def calibrated_proba(decision: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Platt-calibrated class probabilities, normalized as scikit-learn does for multiclass."""
    p = 1.0 / (1.0 + np.exp(np.clip(a * decision + b, -500, 500)))
    if p.shape[1] == 1:  # binary: one decision column for the second label
        return np.hstack([1.0 - p, p])
    total = p.sum(axis=1, keepdims=True)
    uniform = np.full_like(p, 1.0 / p.shape[1])
    return np.divide(p, total, out=uniform, where=total != 0)


class Predictor:
    """A loaded model: features with numpy, probabilities, recommendations."""

    def __init__(self, art: artifact_io.Artifact, segmenter: Segmenter | None = None) -> None:
        art.validate()
        meta = art.metadata
        self.metadata = meta
        self.labels: list[str] = list(meta["labels"])
        self.version: str = str(meta["version"])
        self.threshold: float = float(meta["threshold"])
        self.thresholds: dict[str, float] = {str(k): float(v) for k, v in (meta.get("thresholds") or {}).items()}
        self.familiarity_floor: float = float(meta.get("familiarity_floor") or 0.0)
        self.coverage_floor: float = float(meta.get("coverage_floor") or 0.0)
        self.config = AnalyzerConfig.from_json(meta["analyzer"])
        self.knowledge = Knowledge.from_json(meta["knowledge"]) if meta.get("knowledge") else None
        # term -> column; idf over all TF-IDF columns (word block first, then char block).
        words, chars = art.vocabulary["word"], art.vocabulary["char"]
        self._word_index = dict(zip(words, range(len(words))))
        self._char_index = dict(zip(chars, range(len(words), len(words) + len(chars))))
        self._idf = np.concatenate([art.arrays["idf_word"], art.arrays["idf_char"]]).astype(np.float64)
        self._knowledge_offset = len(words) + len(chars)
        self._coef = art.arrays["coef"].astype(np.float32)
        self._intercept = art.arrays["intercept"].astype(np.float64)
        self._a = art.arrays["platt_a"].astype(np.float64)
        self._b = art.arrays["platt_b"].astype(np.float64)
        centroid = art.arrays.get("centroid")
        self._centroid = None if centroid is None else centroid.astype(np.float32)
        self._centroid_norm = (None if centroid is None else
                               np.sqrt((self._centroid.astype(np.float64) ** 2).sum(axis=0)))
        self._segmenter = segmenter or Segmenter(meta.get("user_words", []), art.dictionary)

    @property
    def segmenter(self) -> Segmenter:
        """The model's jieba segmenter (its dictionary and user words)."""
        return self._segmenter

    def decision_function(self, texts: Sequence[str], chunk: int = 512) -> np.ndarray:
        """Raw linear scores, one row per text."""
        return self._scores(texts, chunk)[0]

    def familiarity(self, texts: Sequence[str]) -> np.ndarray:
        """Per text: the known share of its character n-grams, and its cosine similarity with the
        nearest department centroid (+inf for a model without centroids)."""
        return self._scores(texts)[1]

    def _scores(self, texts: Sequence[str], chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """Raw linear scores and familiarity (coverage, similarity), one row per text.

        Per text, Python only segments and maps terms to columns; counting, sublinear tf x idf,
        the per-block l2 norm and the dot products run in numpy over a chunk of texts.
        """
        n_cols = self._coef.shape[1]
        centroid = self._centroid
        fam = np.zeros((len(texts), 2), dtype=np.float64)
        if centroid is None:
            fam[:, 1] = np.inf
        n_feat = self._coef.shape[0]
        n_word = len(self._word_index)
        word_get, char_get = self._word_index.get, self._char_index.get
        n_know = self.knowledge.size if self.knowledge else 0
        out = np.empty((len(texts), n_cols), dtype=np.float64)
        for start in range(0, len(texts), chunk):
            part = texts[start:start + chunk]
            m = len(part)
            ids: list[int] = []
            lengths: list[int] = []
            know = np.zeros((m, n_know), dtype=np.float32)
            for r, text in enumerate(part):
                a = analyze(text, self._segmenter.cut, self.config, self.knowledge)
                before = len(ids)
                ids.extend([j for j in map(word_get, a.words) if j is not None])
                known_chars = [j for j in map(char_get, a.chars) if j is not None]
                ids.extend(known_chars)
                lengths.append(len(ids) - before)
                fam[start + r, 0] = len(known_chars) / len(a.chars) if a.chars else 0.0
                if n_know:
                    know[r] = a.knowledge
            scores = np.zeros((m, n_cols), dtype=np.float64)
            if ids:
                rows = np.repeat(np.arange(m, dtype=np.int64), lengths)
                keys = rows * n_feat + np.asarray(ids, dtype=np.int64)
                uniq, counts = np.unique(keys, return_counts=True)
                doc, col = np.divmod(uniq, n_feat)
                w = (1.0 + np.log(counts)) * self._idf[col]
                group = doc * 2 + (col >= n_word)  # (text, block): each block is l2-normalized
                norms = np.sqrt(np.bincount(group, weights=w * w, minlength=2 * m))
                w = w / norms[group]
                w32 = w[:, None].astype(np.float32)
                contrib = self._coef[col] * w32
                starts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
                scores[doc[starts]] = np.add.reduceat(contrib, starts, axis=0)
                if centroid is not None:
                    sims = np.zeros((m, centroid.shape[1]), dtype=np.float64)
                    sims[doc[starts]] = np.add.reduceat(centroid[col] * w32, starts, axis=0)
                    x_norm = np.sqrt(np.bincount(doc, weights=w * w, minlength=m))
                    denom = np.maximum(x_norm[:, None] * self._centroid_norm[None, :], 1e-12)
                    fam[start:start + m, 1] = (sims / denom).max(axis=1)
            if n_know:
                scores += know @ self._coef[self._knowledge_offset:self._knowledge_offset + n_know]
            out[start:start + m] = scores + self._intercept
        return out, fam

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities (rows sum to 1, columns in ``labels`` order)."""
        return calibrated_proba(self.decision_function(texts), self._a, self._b)

    def assess(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated probabilities and familiarity (see :meth:`familiarity`)."""
        decision, fam = self._scores(texts)
        return calibrated_proba(decision, self._a, self._b), fam

    def threshold_for(self, department: str) -> float:
        """The probability ``department`` must reach to be dispatched alone (its own, else the global)."""
        return self.thresholds.get(department, self.threshold)

    def label_thresholds(self) -> list[float]:
        """Each label's threshold, in label order."""
        return [self.threshold_for(code) for code in self.labels]

    def familiar(self, familiarity: np.ndarray) -> np.ndarray:
        """Which texts are close enough to what the model knows for it to decide alone."""
        return (familiarity[:, 0] >= self.coverage_floor) & (familiarity[:, 1] >= self.familiarity_floor)

    def recommend_many(self, texts: Sequence[str], k: int = 3) -> list[Recommendation]:
        """A :class:`Recommendation` per text."""
        proba, fam = self.assess(texts)
        familiar = self.familiar(fam)
        k = max(1, min(k, len(self.labels)))
        out = []
        for i, row in enumerate(proba):
            order = np.argsort(-row, kind="stable")[:k]
            top = [(self.labels[j], float(row[j])) for j in order]
            threshold = self.threshold_for(top[0][0])
            familiarity = None if np.isinf(fam[i, 1]) else float(fam[i, 1])
            abstain = None
            if not familiar[i]:
                abstain = "unfamiliar"
            elif top[0][1] < threshold:
                abstain = "below_threshold"
            out.append(Recommendation(top, abstain is None, threshold, self.version, familiarity, abstain,
                                      float(fam[i, 0])))
        return out

    def recommend(self, text: str, k: int = 3) -> Recommendation:
        """The top ``k`` departments for ``text``; ``auto`` when the first clears the threshold."""
        if not text or not text.strip():
            raise ValidationFailed("ticket text is empty", details={"text": "required"})
        return self.recommend_many([text], k)[0]


def load_model(source: str | os.PathLike[str] | bytes) -> Predictor:
    """A predictor from an artifact directory, a blob file or the blob's bytes."""
    return Predictor(artifact_io.load(source))


def default_model_dir() -> Path:
    """Where the default model lives: env override, the Lambda layer, or the bundled copy."""
    env = dispatch_model_dir()
    if env:
        return Path(env)
    if (LAYER_MODEL_DIR / artifact_io.METADATA).exists():
        return LAYER_MODEL_DIR
    return BUNDLED_MODEL_DIR


_default: Predictor | None = None
_lock = threading.Lock()


def get_default_predictor() -> Predictor:
    """The default model, loaded on first use and then kept for the life of the process."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = load_model(default_model_dir())
    return _default


def set_default_predictor(predictor: Predictor) -> None:
    """Make ``predictor`` the process default (e.g. a model just loaded from S3 or promoted)."""
    global _default
    with _lock:
        _default = predictor


def reset_default_predictor() -> None:
    """Forget the cached default model (after promoting a new one, and in tests)."""
    global _default
    with _lock:
        _default = None
