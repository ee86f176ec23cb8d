"""Fitting a dispatch model with scikit-learn and exporting it for the numpy predictor.

The pipeline: jieba tokens (with the user dictionary) -> TF-IDF over word uni/bigrams and over
character 2-3-grams (sublinear tf, l2 per block) + the duty-knowledge block -> a linear SVM,
Platt-calibrated per class on out-of-fold decision values (what scikit-learn's
``CalibratedClassifierCV(method="sigmoid", ensemble=False)`` does). The same out-of-fold
probabilities choose the auto-dispatch threshold, so it is set on data the scoring model did
not see. When the labels are department codes of the taxonomy, each department's duty list is
added as extra training documents.

Only this module (and the command line that calls it) imports scikit-learn.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
from scipy import sparse
from scipy.optimize import minimize
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from ..domain.errors import ValidationFailed
from . import metrics
from .artifact import SCHEMA_VERSION, Artifact
from .dataset import Dataset, data_hash, read_dataset, score  # noqa: F401 (re-exported)
from .predictor import Predictor, calibrated_proba
from .segment import Segmenter, build_user_words, trimmed_dictionary
from .taxonomy import departments
from .textproc import Analyzed, AnalyzerConfig, Knowledge, analyze, normalize


@dataclass(frozen=True)
class TrainConfig:
    """Everything that shapes a model besides its data (recorded in the metadata)."""

    dictionary_size: int = 60000
    word_max_features: int = 30000
    char_max_features: int = 40000
    min_df: int = 2
    c: float = 0.5
    calibration_folds: int = 5
    target_precision: float = metrics.DEFAULT_TARGET_PRECISION
    min_threshold: float = metrics.DEFAULT_MIN_THRESHOLD
    confidence_z: float = metrics.DEFAULT_CONFIDENCE_Z
    duty_documents: bool = True
    knowledge: bool = True
    knowledge_scale: float = 0.3
    coef_dtype: str = "float16"
    seed: int = 0
    department_support: int = metrics.DEFAULT_DEPARTMENT_SUPPORT
    centroid_terms: int = 1500
    familiarity_quantile: float = 0.01  # of the calibration texts, for each of the two floors
    crossfit_level: float = 0.95  # one-sided confidence the cross-fitted precision keeps the target
    analyzer: AnalyzerConfig = field(default_factory=lambda: AnalyzerConfig(main_matter=True))

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["analyzer"] = self.analyzer.to_json()
        return data


def build_knowledge(scale: float) -> Knowledge:
    """The duty-knowledge block from the taxonomy (phrases and their words)."""
    depts = departments()
    return Knowledge(
        codes=tuple(d.code for d in depts),
        phrases=tuple(tuple(normalize(p) for p in d.phrases) for d in depts),
        words=tuple(frozenset() for _ in depts),
        scale=scale,
    )


def _with_words(k: Knowledge, seg: Segmenter) -> Knowledge:
    words = []
    for phrases in k.phrases:
        ws: set[str] = set()
        for p in phrases:
            ws.update(t for t in seg.cut(p, False) if len(t) >= 2)
        words.append(frozenset(ws))
    return Knowledge(k.codes, k.phrases, tuple(words), k.scale)


def duty_documents(labels: set[str]) -> tuple[list[str], list[str]]:
    """Extra training documents from the duty lists of the departments among ``labels``."""
    texts, ys = [], []
    for d in departments():
        if d.code not in labels:
            continue
        texts.append(f"{d.name}：{d.duties}")
        ys.append(d.code)
        for p in d.phrases:
            texts.append(f"{p}问题")
            ys.append(d.code)
    return texts, ys


def platt_fit(decision: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Platt's sigmoid ``P(y=1|f) = 1 / (1 + exp(a f + b))`` with his prior-smoothed targets."""
    f = decision.astype(np.float64)
    y = positive.astype(bool)
    n1 = float(y.sum())
    n0 = float(len(y) - n1)
    t = np.where(y, (n1 + 1.0) / (n1 + 2.0), 1.0 / (n0 + 2.0))

    def loss_grad(ab: np.ndarray) -> tuple[float, np.ndarray]:
        z = ab[0] * f + ab[1]  # P = sigmoid(-z)
        # log loss of P against targets t, written stably with logaddexp.
        loss = np.sum(t * np.logaddexp(0.0, z) + (1.0 - t) * np.logaddexp(0.0, -z))
        p = 1.0 / (1.0 + np.exp(np.clip(z, -500, 500)))
        g = t - p  # d loss / d z
        return float(loss), np.array([g @ f, g.sum()])

    b0 = np.log((n0 + 1.0) / (n1 + 1.0))
    res = minimize(loss_grad, np.array([0.0, b0]), jac=True, method="L-BFGS-B")
    return float(res.x[0]), float(res.x[1])


def new_segmenter(config: TrainConfig) -> Segmenter:
    """The segmenter a new model is trained with: trimmed jieba dictionary + user words.

    Built once per process and dictionary size (a segmenter never changes after it is built).
    """
    return _segmenter_for(config.dictionary_size)


@lru_cache(maxsize=4)
def _segmenter_for(dictionary_size: int) -> Segmenter:
    dictionary = trimmed_dictionary(dictionary_size) if dictionary_size > 0 else None
    return Segmenter(build_user_words(), dictionary)


def _identity(doc: list[str]) -> list[str]:
    return doc


def _vectorizer(max_features: int, min_df: int) -> TfidfVectorizer:
    return TfidfVectorizer(analyzer=_identity, lowercase=False, min_df=min_df,
                           max_features=max_features, sublinear_tf=True, norm="l2",
                           smooth_idf=True, dtype=np.float32)


@dataclass
class TrainResult:
    """A fitted model and the out-of-fold view used to calibrate it.

    The scikit-learn objects are kept for checking the export (``reference_proba``); they are
    never saved.
    """

    artifact: Artifact
    validation: dict[str, object]
    segmenter: Segmenter
    config: TrainConfig
    knowledge: Knowledge | None
    vectorizers: tuple[TfidfVectorizer, TfidfVectorizer]
    classifier: LinearSVC

    def reference_decision(self, texts: Sequence[str]) -> np.ndarray:
        """Decision values computed by scikit-learn itself (float64 coefficients)."""
        analyzed = [analyze(t, self.segmenter.cut, self.config.analyzer, self.knowledge) for t in texts]
        return _decision(self.classifier, _matrix(analyzed, *self.vectorizers, fit=False))


def _matrix(analyzed: Sequence[Analyzed], vw: TfidfVectorizer, vc: TfidfVectorizer,
            fit: bool) -> sparse.csr_matrix:
    words = [a.words for a in analyzed]
    chars = [a.chars for a in analyzed]
    xw = vw.fit_transform(words) if fit else vw.transform(words)
    xc = vc.fit_transform(chars) if fit else vc.transform(chars)
    blocks = [xw, xc]
    if analyzed and analyzed[0].knowledge:
        blocks.append(sparse.csr_matrix(np.asarray([a.knowledge for a in analyzed], dtype=np.float32)))
    return sparse.hstack(blocks, format="csr", dtype=np.float32)


def _svm(config: TrainConfig) -> LinearSVC:
    return LinearSVC(C=config.c, random_state=config.seed, max_iter=5000)


def _decision(clf: LinearSVC, x: sparse.csr_matrix) -> np.ndarray:
    d = clf.decision_function(x)
    return d.reshape(-1, 1) if d.ndim == 1 else d


def centroids(x: sparse.csr_matrix, y: np.ndarray, n_labels: int, terms: int) -> np.ndarray:
    """Each label's mean TF-IDF vector, keeping its ``terms`` heaviest features (float16).

    What a department's tickets look like, for the familiarity score: a text far from every
    centroid is unlike anything the model was trained on.
    """
    out = np.zeros((x.shape[1], n_labels), dtype=np.float32)
    for k in range(n_labels):
        rows = x[y == k]
        if rows.shape[0] == 0:
            continue
        mean = np.asarray(rows.mean(axis=0)).ravel()
        keep = np.argsort(-mean, kind="stable")[:terms]
        out[keep, k] = mean[keep]
    return out.astype(np.float16)


CALIBRATION_FOLDS = 4
HEADROOM_STEP = 0.0025
MAX_AIM = 0.995


def headroom(proba: np.ndarray, y: np.ndarray, groups: np.ndarray, labels: Sequence[str],
             config: TrainConfig) -> tuple[float, dict[str, object]]:
    """The precision to choose thresholds for, so that they keep the target on unseen groups.

    Thresholds chosen on some matters are applied to other matters (grouped cross-fitting over
    the calibration data): precision drops from the matters a threshold was chosen on to new
    ones. The aim rises in small steps from the target until the cross-fitted precision of the
    automatic share reaches the target *by its one-sided lower confidence bound*
    (``config.crossfit_level``, matters resampled as wholes: errors come by matter), at most
    ``MAX_AIM``. Returns the aim and the figures.
    """
    unique = sorted(set(groups.tolist()))
    fold_of = {g: i % CALIBRATION_FOLDS for i, g in enumerate(unique)}
    fold = np.array([fold_of[g] for g in groups])
    aim = config.target_precision
    result: dict[str, object] = {}
    while True:
        auto = np.zeros(len(y), dtype=bool)
        for k in range(CALIBRATION_FOLDS):
            train, test = fold != k, fold == k
            if not train.any() or not test.any():
                continue
            overall, per = metrics.choose_thresholds(proba[train], y[train], labels, aim, config.min_threshold,
                                                     config.confidence_z, config.department_support,
                                                     groups=groups[train], level=config.crossfit_level)
            per_label = np.array([per.get(code, overall) for code in labels])
            auto[test] = proba[test].max(axis=1) >= per_label[proba[test].argmax(axis=1)]
        correct = proba.argmax(axis=1) == y
        precision = float(correct[auto].mean()) if auto.any() else None
        bound = metrics.grouped_lower_bound(correct[auto], groups[auto], config.crossfit_level) if auto.any() else None
        result = {"folds": CALIBRATION_FOLDS, "groups": len(unique), "aim": round(aim, 4),
                  "auto_rate": round(float(auto.mean()), 4),
                  "auto_precision": None if precision is None else round(precision, 4),
                  "auto_precision_lower_bound": None if bound is None else round(bound, 4),
                  "level": config.crossfit_level}
        if bound is None or bound >= config.target_precision or aim >= MAX_AIM:
            return aim, result
        aim = min(MAX_AIM, aim + HEADROOM_STEP)


def calibrate(art: Artifact, segmenter: Segmenter, data: Dataset, config: TrainConfig,
              source: str) -> dict[str, object]:
    """Choose the thresholds and the familiarity floor on ``data``, which the model never trained on.

    ``data`` should come from elsewhere than the training corpus (the second generator, or
    dispatchers' decisions): probabilities on the corpus's own kind of text are too sure. Updates
    the artifact's metadata and returns what was chosen, with the figures it was chosen on.
    """
    predictor = Predictor(art, segmenter=segmenter)
    known = [i for i, lab in enumerate(data.labels) if lab in predictor.labels]
    if len(known) < 2:
        raise ValidationFailed("calibration data has no rows of the model's labels")
    cal = data.subset(known)
    proba, fam = predictor.assess(cal.texts)
    index = {lab: i for i, lab in enumerate(predictor.labels)}
    y = np.array([index[lab] for lab in cal.labels])
    coverage_floor = float(np.quantile(fam[:, 0], config.familiarity_quantile))
    floor = float(np.quantile(fam[:, 1], config.familiarity_quantile)) if np.isfinite(fam[:, 1]).all() else 0.0
    familiar = (fam[:, 0] >= coverage_floor) & (fam[:, 1] >= floor)
    # Thresholds are chosen among the texts the model would not abstain on anyway, for a target
    # with the headroom that cross-fitting over the calibration's groups shows is needed.
    groups = cal.extra.get("matter") or cal.extra.get("group")
    aim, crossfit = config.target_precision, None
    if groups:
        aim, crossfit = headroom(proba[familiar], y[familiar], np.asarray(groups)[familiar], predictor.labels, config)
    overall, per = metrics.choose_thresholds(proba[familiar], y[familiar], predictor.labels, aim,
                                             config.min_threshold, config.confidence_z, config.department_support,
                                             groups=np.asarray(groups)[familiar] if groups else None,
                                             level=config.crossfit_level)
    art.metadata["threshold"] = round(overall, 6)
    art.metadata["thresholds"] = per
    art.metadata["familiarity_floor"] = round(floor, 6)
    art.metadata["coverage_floor"] = round(coverage_floor, 6)
    per_label = [per.get(code, overall) for code in predictor.labels]
    figures = metrics.evaluate(proba, y, overall, per_label, familiar)
    summary = {"source": source, "n": len(y), "threshold": round(overall, 6), "thresholds": per,
               "target_precision": config.target_precision, "chosen_for": aim, "cross_fitting": crossfit,
               "familiarity_floor": round(floor, 6), "coverage_floor": round(coverage_floor, 6),
               "familiarity_quantile": config.familiarity_quantile, "confidence_z": config.confidence_z,
               "figures": figures}
    art.metadata["calibration"] = summary
    art.metadata["metrics"]["calibration"] = figures
    return summary


def fit(data: Dataset, config: TrainConfig = TrainConfig(), *, segmenter: Segmenter | None = None,
        version: str | None = None, calibration: Dataset | None = None,
        calibration_source: str = "calibration") -> TrainResult:
    """Train on ``data`` and return the exportable artifact and its validation figures.

    With ``calibration`` (text the training data's generator did not produce), the thresholds
    and the familiarity floor are chosen on it; without, on the out-of-fold probabilities and
    the training texts themselves (optimistic: say so when reporting).
    """
    labels = sorted(set(data.labels))
    if len(labels) < 2:
        raise ValidationFailed("training needs at least two labels", details={"labels": labels})
    counts = {lab: data.labels.count(lab) for lab in labels}
    folds = min(config.calibration_folds, min(counts.values()))
    if folds < 2:
        raise ValidationFailed("every label needs at least two examples", details={"counts": counts})

    seg = segmenter or new_segmenter(config)
    knowledge = _with_words(build_knowledge(config.knowledge_scale), seg) if config.knowledge else None
    extra_texts, extra_labels = duty_documents(set(labels)) if config.duty_documents else ([], [])
    index = {lab: i for i, lab in enumerate(labels)}
    y = np.array([index[lab] for lab in data.labels])
    y_extra = np.array([index[lab] for lab in extra_labels], dtype=int)
    analyzed = [analyze(t, seg.cut, config.analyzer, knowledge) for t in data.texts]
    analyzed_extra = [analyze(t, seg.cut, config.analyzer, knowledge) for t in extra_texts]

    vw = _vectorizer(config.word_max_features, config.min_df)
    vc = _vectorizer(config.char_max_features, config.min_df)
    x_all = _matrix(analyzed + analyzed_extra, vw, vc, fit=True)
    x, x_extra = x_all[: len(analyzed)], x_all[len(analyzed):]
    n_cols = 1 if len(labels) == 2 else len(labels)

    # Out-of-fold decision values: calibration and the threshold never see their own fit.
    oof = np.zeros((len(y), n_cols))
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=config.seed)
    for tr, te in skf.split(np.zeros(len(y)), y):
        clf = _svm(config).fit(sparse.vstack([x[tr], x_extra], format="csr"), np.r_[y[tr], y_extra])
        oof[te] = _decision(clf, x[te])
    if n_cols == 1:
        a, b = platt_fit(oof[:, 0], y == 1)
        platt_a, platt_b = np.array([a]), np.array([b])
    else:
        ab = [platt_fit(oof[:, k], y == k) for k in range(n_cols)]
        platt_a, platt_b = np.array([p[0] for p in ab]), np.array([p[1] for p in ab])
    oof_proba = calibrated_proba(oof, platt_a, platt_b)
    threshold = metrics.choose_threshold(oof_proba, y, config.target_precision, config.min_threshold,
                                         z=config.confidence_z)
    validation = metrics.evaluate(oof_proba, y, threshold)

    final = _svm(config).fit(sparse.vstack([x, x_extra], format="csr"), np.r_[y, y_extra])
    n_tfidf = len(vw.vocabulary_) + len(vc.vocabulary_)
    coef = final.coef_.T.astype(config.coef_dtype)
    d_hash = data_hash(data.texts, data.labels)
    fingerprint = hashlib.sha256(json.dumps(
        {"data": d_hash, "config": config.to_json(), "words": seg.fingerprint, "schema": SCHEMA_VERSION},
        sort_keys=True).encode()).hexdigest()
    metadata = {
        "schema": SCHEMA_VERSION,
        "version": version or f"dispatch-{fingerprint[:12]}",
        "labels": labels,
        "label_counts": counts,
        "threshold": round(threshold, 6),
        "target_precision": config.target_precision,
        "training_data_sha256": d_hash,
        "n_train": len(data.texts),
        "n_duty_documents": len(extra_texts),
        "config": config.to_json(),
        "analyzer": config.analyzer.to_json(),
        "knowledge": knowledge.to_json() if knowledge else None,
        "knowledge_size": knowledge.size if knowledge else 0,
        "user_words": seg.user_words,
        "user_words_sha256": seg.fingerprint,
        "metrics": {"validation_out_of_fold": validation},
    }
    vocab = {
        "word": [t for t, _ in sorted(vw.vocabulary_.items(), key=lambda kv: kv[1])],
        "char": [t for t, _ in sorted(vc.vocabulary_.items(), key=lambda kv: kv[1])],
    }
    arrays = {
        "idf_word": vw.idf_.astype(np.float32),
        "idf_char": vc.idf_.astype(np.float32),
        "coef": coef,
        "intercept": final.intercept_.astype(np.float64),
        "platt_a": platt_a,
        "platt_b": platt_b,
        "centroid": centroids(x[:, :n_tfidf], y, len(labels), config.centroid_terms),
    }
    art = Artifact(metadata, vocab, arrays, seg.dictionary)
    art.validate()
    if calibration is not None:
        calibrate(art, seg, calibration, config, calibration_source)
    else:
        # No text from elsewhere: half of the training texts' own low quantiles (they are familiar by construction).
        fam = Predictor(art, segmenter=seg).familiarity(data.texts)
        floor = float(np.quantile(fam[:, 1], config.familiarity_quantile)) * 0.5
        coverage_floor = float(np.quantile(fam[:, 0], config.familiarity_quantile)) * 0.5
        art.metadata["thresholds"] = {}
        art.metadata["familiarity_floor"] = round(floor, 6)
        art.metadata["coverage_floor"] = round(coverage_floor, 6)
        art.metadata["calibration"] = {"source": "out_of_fold", "n": len(y), "threshold": round(threshold, 6),
                                       "thresholds": {}, "familiarity_floor": round(floor, 6)}
    art.validate()
    return TrainResult(art, validation, seg, config, knowledge, (vw, vc), final)


def cross_validate(data: Dataset, folds: int = 5, config: TrainConfig = TrainConfig(),
                   segmenter: Segmenter | None = None) -> dict[str, object]:
    """Means over ``folds`` stratified folds; each fold trains (threshold included) on its
    training part only and is scored by the exported numpy predictor on its test part."""
    seg = segmenter or new_segmenter(config)
    y = np.array(data.labels)
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=config.seed)
    per_fold = []
    for tr, te in skf.split(np.zeros(len(y)), y):
        result = fit(data.subset(tr), config, segmenter=seg)
        per_fold.append(score(Predictor(result.artifact, segmenter=seg), data.subset(te)))
    keys = ("top1", "top3", "macro_f1", "auto_rate", "threshold")
    summary: dict[str, object] = {"n": len(y), "folds": folds}
    for k in keys:
        summary[k] = round(float(np.mean([f[k] for f in per_fold])), 4)
    precisions = [f["auto_precision"] for f in per_fold if f["auto_precision"] is not None]
    summary["auto_precision"] = round(float(np.mean(precisions)), 4) if precisions else None
    summary["per_fold"] = per_fold
    return summary
