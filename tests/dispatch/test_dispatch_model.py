"""The bundled model on the held-out split, and the numpy predictor against scikit-learn."""
from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest

from chalicelib.dispatch.predictor import Recommendation
from chalicelib.dispatch.taxonomy import departments
from chalicelib.dispatch.training import Dataset, data_hash, score
from chalicelib.domain.errors import ValidationFailed

CODES = [d.code for d in departments()]


def test_corpus_has_200_varied_examples_per_department(corpus_rows) -> None:
    counts = Counter(r["label"] for r in corpus_rows)
    assert set(counts) == set(CODES)
    assert min(counts.values()) >= 200
    texts = [r["text"] for r in corpus_rows]
    assert len(set(texts)) == len(texts)
    lengths = sorted(len(t) for t in texts)
    assert lengths[len(lengths) // 10] < 30 and lengths[-len(lengths) // 10] > 90  # short and long
    openers = Counter(t[:4] for t in texts)
    assert openers.most_common(1)[0][1] < 0.15 * len(texts)  # no single template dominates
    assert sum(t.startswith(("来电人", "市民")) for t in texts) > 0.15 * len(texts)  # agent summaries
    assert sum("我" in t for t in texts) > 0.3 * len(texts)  # first person


def test_heldout_is_disjoint_from_training(corpus_rows, heldout_rows) -> None:
    assert not {r["text"] for r in corpus_rows} & {r["text"] for r in heldout_rows}
    assert set(Counter(r["label"] for r in heldout_rows)) == set(CODES)


def test_bundled_model_was_trained_on_the_bundled_corpus(default_predictor, corpus_rows) -> None:
    meta = default_predictor.metadata
    expected = data_hash([r["text"] for r in corpus_rows], [r["label"] for r in corpus_rows])
    assert meta["training_data_sha256"] == expected
    assert meta["labels"] == sorted(CODES)


def test_heldout_accuracy_floor_and_auto_precision(default_predictor, heldout_rows) -> None:
    data = Dataset([r["text"] for r in heldout_rows], [r["label"] for r in heldout_rows])
    figures = score(default_predictor, data)
    assert figures["n"] == len(heldout_rows)
    assert figures["top1"] >= 0.95
    assert figures["top3"] >= 0.98
    assert figures["macro_f1"] >= 0.95
    assert figures["auto_precision"] is not None and figures["auto_precision"] >= 0.95
    assert figures["auto_rate"] >= 0.5


def test_recommendation_shape(default_predictor) -> None:
    rec = default_predictor.recommend("来电人反映其所在小区连续两天停水，物业和水务都联系不上", k=3)
    assert isinstance(rec, Recommendation)
    assert rec.department == "WATER"
    assert len(rec.top) == 3
    probs = [p for _, p in rec.top]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-9
    assert rec.auto == (rec.probability >= rec.threshold and rec.abstain is None)
    assert rec.threshold == default_predictor.threshold_for("WATER") and rec.familiarity is not None
    assert rec.model_version == default_predictor.version
    d = rec.to_dict()
    assert d["top"][0]["department"] == "WATER" and d["model_version"] == rec.model_version


@pytest.mark.parametrize("text, code", [
    ("楼上邻居每天夜里十二点还在蹦迪，敲门也不理", "POLICE"),
    ("公司拖欠我三个月工资，老板电话也不接了", "HRSS"),
    ("小区楼道里有人给电瓶车飞线充电，太危险了", "FIRE"),
    ("燃气表插卡没反应，燃气公司一直不来修", "GAS"),
    ("医保卡丢了怎么补办", "MEDINS"),
])
def test_plain_cases(default_predictor, text, code) -> None:
    assert default_predictor.recommend(text).department == code


def test_empty_text_is_refused(default_predictor) -> None:
    with pytest.raises(ValidationFailed):
        default_predictor.recommend("   ")


def test_text_with_no_known_feature_is_uncertain(default_predictor) -> None:
    rec = default_predictor.recommend("ｘｙｚ")
    assert rec.auto is False


def test_numpy_predictor_matches_scikit_learn(small_model, heldout_rows) -> None:
    from chalicelib.dispatch.predictor import Predictor

    texts = [r["text"] for r in heldout_rows[::37]]
    predictor = Predictor(small_model.artifact, segmenter=small_model.segmenter)
    ours = predictor.decision_function(texts)
    ref = small_model.reference_decision(texts)
    # Coefficients are stored as float16: scores agree to a few thousandths.
    np.testing.assert_allclose(ours, ref, atol=0.02)
    assert (ours.argmax(axis=1) == ref.argmax(axis=1)).mean() >= 0.98


def test_training_is_deterministic(small_corpus, small_model) -> None:
    from chalicelib.dispatch.artifact import to_bytes
    from chalicelib.dispatch.training import TrainConfig, fit, read_dataset

    again = fit(read_dataset(small_corpus), TrainConfig(calibration_folds=3), segmenter=small_model.segmenter)
    assert hashlib.sha256(to_bytes(again.artifact)).digest() == hashlib.sha256(to_bytes(small_model.artifact)).digest()


def test_default_predictor_is_cached_and_replaceable(default_predictor, small_model) -> None:
    from chalicelib.dispatch import predictor as mod

    assert mod.get_default_predictor() is mod.get_default_predictor()
    other = mod.Predictor(small_model.artifact, segmenter=small_model.segmenter)
    try:
        mod.set_default_predictor(other)
        assert mod.get_default_predictor() is other
    finally:
        mod.set_default_predictor(default_predictor)


def test_two_label_model(small_model, corpus_rows) -> None:
    from chalicelib.dispatch.artifact import to_bytes
    from chalicelib.dispatch.predictor import load_model
    from chalicelib.dispatch.training import TrainConfig, fit

    rows = [r for r in corpus_rows if r["label"] in ("GAS", "POWER")][::8]
    result = fit(Dataset([r["text"] for r in rows], [r["label"] for r in rows]),
                 TrainConfig(calibration_folds=3), segmenter=small_model.segmenter)
    assert result.artifact.arrays["coef"].shape[1] == 1
    predictor = load_model(to_bytes(result.artifact))
    proba = predictor.predict_proba(["燃气管道漏气，闻到很浓的煤气味", "小区突然停电好几个小时"])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert [predictor.labels[i] for i in proba.argmax(axis=1)] == ["GAS", "POWER"]


def test_training_refuses_a_label_with_one_example(small_model) -> None:
    from chalicelib.dispatch.training import fit

    data = Dataset(["停水", "停电", "又停电"], ["WATER", "POWER", "POWER"])
    with pytest.raises(ValidationFailed):
        fit(data, segmenter=small_model.segmenter)


def test_fast_tokenizer_segments_exactly_like_jieba(default_predictor, corpus_rows, heldout_rows) -> None:
    import io

    import jieba

    art_dictionary = default_predictor._segmenter.dictionary
    ref = jieba.Tokenizer()
    ref.FREQ, ref.total = ref.gen_pfdict(io.BytesIO(art_dictionary))
    ref.initialized = True
    for w in default_predictor.metadata["user_words"]:
        ref.add_word(w, freq=2000)
    texts = [r["text"] for r in corpus_rows[::5] + heldout_rows[::5]] + ["ABC123 测试，苏州工业园区！！", "", "   "]
    seg = default_predictor._segmenter
    assert [seg.cut(t) for t in texts] == [ref.lcut(t, HMM=False) for t in texts]
