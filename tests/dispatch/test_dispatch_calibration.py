"""Calibration outside the corpus's generator: the second generator, thresholds per department,
their headroom, the familiarity score, the main matter, and the guard's decisions."""
from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime, timedelta

import numpy as np
import pytest

from chalicelib.dispatch import guard, metrics
from chalicelib.dispatch.corpus.unlike import generate_unlike
from chalicelib.dispatch.corpus.unlike_material import MATTERS
from chalicelib.dispatch.dataset import read_dataset, score
from chalicelib.dispatch.textproc import main_matter, normalize
from chalicelib.domain.calendar import TZ

from conftest import DATA, read_rows


def test_the_second_generator_splits_its_matters_and_never_repeats_the_corpus(corpus_rows) -> None:
    calibration, test = read_rows(DATA / "unlike_calibration.csv"), read_rows(DATA / "unlike_test.csv")
    assert {r["matter"] for r in calibration}.isdisjoint({r["matter"] for r in test})
    assert all(int(r["matter"].rsplit("-", 1)[1]) % 2 == 0 for r in calibration)
    assert Counter(r["label"] for r in test) == Counter({code: 60 for code in MATTERS})
    assert {r["frame"] for r in test} == {"phone", "upper", "walkin", "web", "mixed", "dialect"}
    corpus = {r["text"] for r in corpus_rows}
    assert not corpus & {r["text"] for r in calibration + test}
    again = generate_unlike(3, "test", seed=5)
    assert [r.text for r in again] == [r.text for r in generate_unlike(3, "test", seed=5)]


def test_the_corpus_has_spoken_upper_level_walk_in_and_hard_pair_records(corpus_rows) -> None:
    texts = [r["text"] for r in corpus_rows]
    assert sum(t.startswith(("喂", "嗯，你好", "你好，我说一下")) for t in texts) > 0.03 * len(texts)  # phone
    assert sum(t.startswith("【") and "交办" in t[:12] for t in texts) > 0.01 * len(texts)  # upper level
    assert sum("来访" in t[:20] for t in texts) > 0.01 * len(texts)  # walk-in
    assert sum("煤气" in t for t in texts) > 50  # everyday words, not only the official ones
    # hard pairs: the same setting in two departments
    swimming = Counter(r["label"] for r in corpus_rows if "游泳馆" in r["text"])
    assert swimming["HEALTH"] > 0 and swimming["MARKET"] > 0


def test_bundled_thresholds_were_chosen_on_the_second_generator(default_predictor) -> None:
    meta = default_predictor.metadata
    assert meta["calibration"]["source"] == "unlike_calibration.csv"
    assert meta["calibration"]["n"] == 1080
    assert meta["target_precision"] == 0.97
    assert all(t > meta["threshold"] for t in meta["thresholds"].values())  # departments only raise it
    assert 0 < meta["familiarity_floor"] < 1 and 0 < meta["coverage_floor"] < 1


def test_bundled_model_on_text_unlike_its_corpus(default_predictor) -> None:
    """Figures on the second generator's test split (matters the calibration never had)."""
    figures = score(default_predictor, read_dataset(DATA / "unlike_test.csv"))
    recorded = default_predictor.metadata["metrics"]["test"]
    assert {k: figures[k] for k in ("top1", "top3", "auto_rate", "auto_precision")} == \
        {k: recorded[k] for k in ("top1", "top3", "auto_rate", "auto_precision")}
    # The goals, which the bundled model (deterministic training) meets on this split.
    assert figures["top1"] >= 0.90 and figures["top3"] >= 0.97
    assert figures["auto_precision"] >= 0.97 and figures["auto_rate"] >= 0.5


@pytest.mark.parametrize("text", [
    "周末和朋友去爬山，风景很美。",
    "The quick brown fox jumps over the lazy dog.",
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
])
def test_text_far_from_anything_known_is_left_to_the_dispatcher(default_predictor, text) -> None:
    """Not every such text is caught (docs/benchmarks.md gives the share on 30 of them); these are."""
    rec = default_predictor.recommend(text)
    assert rec.auto is False and rec.abstain == "unfamiliar"
    assert rec.familiarity is not None and rec.coverage is not None
    assert rec.familiarity < default_predictor.familiarity_floor or rec.coverage < default_predictor.coverage_floor
    assert len(rec.top) == 3  # the ranked list still goes to the dispatcher
    assert rec.to_dict()["abstain"] == "unfamiliar"


def test_familiarity_is_the_cosine_with_the_nearest_centroid(small_model, heldout_rows) -> None:
    from chalicelib.dispatch.predictor import Predictor
    from chalicelib.dispatch.training import _matrix

    texts = [r["text"] for r in heldout_rows[::97]]
    predictor = Predictor(small_model.artifact, segmenter=small_model.segmenter)
    ours = predictor.familiarity(texts)[:, 1]
    from chalicelib.dispatch.textproc import analyze

    analyzed = [analyze(t, small_model.segmenter.cut, small_model.config.analyzer, small_model.knowledge) for t in texts]
    x = _matrix(analyzed, *small_model.vectorizers, fit=False).toarray()[:, : predictor._centroid.shape[0]]
    c = small_model.artifact.arrays["centroid"].astype(np.float64)
    cos = (x @ c) / (np.linalg.norm(x, axis=1)[:, None] * np.linalg.norm(c, axis=0)[None, :])
    np.testing.assert_allclose(ours, cos.max(axis=1), atol=2e-3)


def test_the_main_matter_is_read_up_to_a_side_remark() -> None:
    text = normalize("小区门口的四路车司机开得猛，经常急刹车。另外，隔壁厂房的空调外机日夜不停。")
    assert main_matter(text) == normalize("小区门口的四路车司机开得猛，经常急刹车。")
    assert main_matter(normalize("另外一件事：停水了")) == normalize("另外一件事：停水了")  # too early to be a side remark


def test_a_side_remark_opened_by_other_things_is_cut_where_it_starts() -> None:
    """"其他的…也顺便说一下": set 1 cut at "顺便", after the side matter; set 2 cuts where it opens."""
    text = normalize("先说主要的：残疾人护理补贴几个月没发了。其他的饭店液化气瓶堆在过道也顺便说一下。")
    assert main_matter(text) == normalize("先说主要的：残疾人护理补贴几个月没发了。")
    assert "液化气瓶" in main_matter(text, markers=1)  # what models trained before set 2 read
    inside = normalize("楼里停水三天了，楼里其他的住户也都没水，水压很低")
    assert main_matter(inside) == inside  # "其他的" inside a clause opens nothing


def test_an_artifact_reads_texts_with_the_side_markers_it_was_trained_with(default_predictor) -> None:
    from chalicelib.dispatch.artifact import Artifact, load_dir
    from chalicelib.dispatch.textproc import AnalyzerConfig
    from chalicelib.domain.errors import ValidationFailed

    assert default_predictor.config.side_markers == 2
    old = {k: v for k, v in default_predictor.metadata["analyzer"].items() if k != "side_markers"}
    assert AnalyzerConfig.from_json(old).side_markers == 1  # saved before the choice existed
    art = load_dir(DATA / "model")
    unknown = Artifact({**art.metadata, "analyzer": {**art.metadata["analyzer"], "side_markers": 9}},
                       art.vocabulary, art.arrays, art.dictionary)
    with pytest.raises(ValidationFailed):
        unknown.validate()


def _proba(top: list[float], pred: list[int], n_labels: int = 3) -> np.ndarray:
    p = np.full((len(top), n_labels), 0.0)
    for i, (t, k) in enumerate(zip(top, pred)):
        p[i] = (1 - t) / (n_labels - 1)
        p[i, k] = t
    return p


def test_a_department_the_model_confuses_gets_a_higher_threshold() -> None:
    # label 0: 100 right from 0.95 down to 0.80; label 1: right above 0.9, wrong below
    top = list(np.linspace(0.95, 0.80, 100)) + list(np.linspace(0.99, 0.80, 60))
    pred = [0] * 100 + [1] * 60
    truth = [0] * 100 + [1 if t >= 0.9 else 2 for t in top[100:]]
    overall, per = metrics.choose_thresholds(_proba(top, pred), truth, ["A", "B", "C"], 0.97, 0.5, z=0.0,
                                             min_support=30)
    assert overall < 0.9 and set(per) == {"B"} and per["B"] >= 0.9
    figures = metrics.evaluate(_proba(top, pred), np.array(truth), overall, [overall, per["B"], overall])
    assert figures["auto_precision"] >= 0.97


def test_headroom_rises_until_unseen_groups_keep_the_target() -> None:
    from chalicelib.dispatch.training import TrainConfig, headroom

    rng = np.random.default_rng(0)
    n = 800
    top = rng.uniform(0.5, 1.0, n)
    groups = np.array([f"g{i % 8}" for i in range(n)])
    # two groups are confidently wrong more often: thresholds chosen without them are too low
    wrong = rng.random(n) < np.where(np.isin(groups, ["g1", "g5"]), 0.3, 0.01) * (1.2 - top)
    y = np.where(wrong, 1, 0)
    proba = np.stack([top, 1 - top], axis=1)
    aim, crossfit = headroom(proba, y, groups, ["A", "B"], TrainConfig(department_support=10**6))
    assert aim >= 0.97 and crossfit["groups"] == 8
    assert crossfit["auto_precision"] is None or crossfit["auto_precision"] >= 0.97 or aim == 0.995


# --- the live guard's decisions (pure: no storage) ----------------------------------------------

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=TZ)


def _state(outcomes: list[tuple[int, bool]], **kw) -> guard.GuardState:
    state = guard.GuardState("MARKET", **kw)
    for i, (p, ok) in enumerate(outcomes):
        state.outcomes[f"T{i}"] = {"at": (NOW - timedelta(hours=i)).isoformat(), "ok": ok, "probability_bp": p}
    return state


def test_guard_waits_for_enough_outcomes_and_leaves_a_precise_department_alone() -> None:
    assert guard.judge(_state([(9000, False)] * (guard.MIN_OUTCOMES - 1)), NOW) is None
    assert guard.judge(_state([(9000, True)] * 40 + [(9000, False)]), NOW) is None  # 40/41 = 0.976


def test_guard_raises_where_the_window_reaches_the_target_else_stops() -> None:
    state = _state([(9500, True)] * 15 + [(8800, True)] * 3 + [(8800, False)] * 3)
    action = guard.judge(state, NOW)
    assert action["action"] == "raised" and state.threshold_bp == 9500 and state.state == guard.RAISED
    assert guard.judge(state, NOW) is None  # the judged share is now right
    flat = _state([(9500, True)] * 18 + [(9500, False)] * 2)  # 0.9, one probability: no threshold helps
    assert guard.judge(flat, NOW)["action"] == "paused" and flat.state == guard.PAUSED
    bad = _state([(9900, True)] * 14 + [(9000, False)] * 6)  # 0.7: below the floor, stopped outright
    assert guard.judge(bad, NOW)["action"] == "paused"


def test_guard_window_forgets_old_outcomes_and_those_before_a_resume() -> None:
    state = _state([(9000, False)] * 25)
    later = NOW + timedelta(days=guard.WINDOW_DAYS + 1)
    assert state.window(later) == [] and guard.judge(state, later) is None
    resumed = _state([(9000, False)] * 25, since=(NOW + timedelta(minutes=1)).isoformat())
    assert resumed.window(NOW) == []


def test_sample_of_the_csv_files_is_utf8_with_headers() -> None:
    with open(DATA / "unlike_test.csv", encoding="utf-8", newline="") as fh:
        assert next(csv.reader(fh)) == ["text", "label", "frame", "matter"]


def test_errors_that_come_by_matter_widen_the_bound_and_raise_the_cut() -> None:
    # 300 tickets over 30 matters; below 0.9 two matters are wholly wrong (20 tickets): observed
    # precision of every cut stays >= 0.97 by its Wilson bound, but resampling whole matters
    # shows how much hangs on those two.
    top = np.r_[np.linspace(0.99, 0.9, 200), np.linspace(0.899, 0.8, 100)]
    groups = np.array([f"m{i // 10}" for i in range(300)])
    correct = ~np.isin(groups, ["m21", "m25"])
    assert correct.mean() > 0.93
    spread = metrics.grouped_lower_bound(correct, groups, 0.95)
    alone = metrics.grouped_lower_bound(correct, np.arange(300), 0.95)  # every ticket its own matter
    assert spread < alone < correct.mean()
    assert metrics.grouped_lower_bound(np.ones(50, dtype=bool), ["a"] * 50) == 1.0
    plain = metrics.lowest_safe_cut(top, correct, 0.93, 0.5, 0.0, judge_from=50)
    grouped = metrics.lowest_safe_cut(top, correct, 0.93, 0.5, 0.0, judge_from=50, groups=groups)
    assert plain < grouped
    assert (~correct[top >= grouped]).sum() < (~correct[top >= plain]).sum()  # fewer of the bad matters' tickets
