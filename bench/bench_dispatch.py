"""Benchmark of the smart-dispatch model (issue 5).

Measures, and writes to ``bench/results/dispatch.json``:

* inference costs of the bundled model in fresh processes: load time, single-prediction
  latency (p50/p95), batch throughput, peak RSS (and that scikit-learn is not loaded);
* accuracy of the bundled model on the held-out split with bootstrap 95% intervals;
* the bundled model on text unlike its corpus (the second generator's test split): top-1, top-3,
  auto-dispatch rate and precision, the coverage-precision curve, per-department precision,
  abstention (and on non-hotline text), and on the real messages mapped to their categories;
* 5-fold cross-validated macro-F1 and top-1 of our pipeline beside a plain TF-IDF + LinearSVC
  baseline on the same folds of the real message-board dataset (495 messages), with bootstrap
  intervals over the pooled out-of-fold predictions;
* the jurisdiction locator on the held-out split.

Run: ``.venv/bin/python bench/bench_dispatch.py`` (a few minutes on 2 cores).
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.dispatch.metrics import macro_f1  # noqa: E402

HELDOUT = ROOT / "data" / "dispatch" / "heldout.csv"
UNLIKE_TEST = ROOT / "data" / "dispatch" / "unlike_test.csv"
REAL = ROOT / "data" / "datasets" / "gov_messages_teddycup2020_sample.csv"
BOOTSTRAP = 1000
SEED = 0

# One inference process: load, one warm-up, single-text latencies, a batch, peak RSS.
_PROBE = r"""
import json, resource, sys, time, csv
t0, c0 = time.perf_counter(), time.process_time()
from chalicelib.dispatch.predictor import get_default_predictor
p = get_default_predictor()
load, load_cpu = time.perf_counter() - t0, time.process_time() - c0
texts = [r["text"] for r in csv.DictReader(open(sys.argv[1], encoding="utf-8"))]
p.recommend(texts[0])
lat = []
for t in texts[:300]:
    s = time.perf_counter(); p.recommend(t); lat.append(time.perf_counter() - s)
s, c = time.perf_counter(), time.process_time(); p.recommend_many(texts)
batch, batch_cpu = time.perf_counter() - s, time.process_time() - c
print(json.dumps({"load_s": load, "load_cpu_s": load_cpu, "lat": lat, "batch_s": batch,
                  "batch_cpu_s": batch_cpu, "batch_n": len(texts),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "sklearn": "sklearn" in sys.modules}))
"""


def inference_costs(runs: int = 5) -> dict[str, float]:
    """Best of ``runs`` fresh processes (as ``timeit`` advises: on a shared machine the best
    run is the one least disturbed), with the medians kept for the notes."""
    results = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", _PROBE, str(HELDOUT)], cwd=ROOT, check=True,
                              capture_output=True, text=True)
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert not any(r["sklearn"] for r in results), "inference imported scikit-learn"
    p50 = [float(np.percentile(np.array(r["lat"]) * 1000, 50)) for r in results]
    p95 = [float(np.percentile(np.array(r["lat"]) * 1000, 95)) for r in results]
    load = [r["load_s"] for r in results]
    tput = [r["batch_n"] / r["batch_s"] for r in results]
    return {
        "load_s": min(load), "load_s_median": float(np.median(load)),
        "load_cpu_s": min(r["load_cpu_s"] for r in results),
        "p50_ms": min(p50), "p50_ms_median": float(np.median(p50)),
        "p95_ms": min(p95),
        "throughput": max(tput), "throughput_median": float(np.median(tput)),
        "throughput_cpu": max(r["batch_n"] / r["batch_cpu_s"] for r in results),
        "rss_mb": float(max(r["rss_mb"] for r in results)),
    }


def bootstrap_ci(y: np.ndarray, pred: np.ndarray, stat, n_labels: int) -> tuple[float, float]:
    rng = np.random.default_rng(SEED)
    vals = []
    for _ in range(BOOTSTRAP):
        i = rng.integers(0, len(y), len(y))
        vals.append(stat(y[i], pred[i], n_labels))
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def _acc(y, p, _n):
    return float(np.mean(y == p))


def _f1(y, p, n):
    return macro_f1(y, p, n)


def fmt_ci(value: float, ci: tuple[float, float]) -> str:
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def heldout_accuracy() -> dict[str, object]:
    from chalicelib.dispatch.predictor import get_default_predictor
    from chalicelib.dispatch.training import read_dataset

    p = get_default_predictor()
    data = read_dataset(HELDOUT)
    proba = p.predict_proba(data.texts)
    index = {lab: i for i, lab in enumerate(p.labels)}
    y = np.array([index[lab] for lab in data.labels])
    pred = proba.argmax(axis=1)
    top3 = (np.argsort(-proba, axis=1)[:, :3] == y[:, None]).any(axis=1)
    auto = proba.max(axis=1) >= p.threshold
    n = len(p.labels)
    rng = np.random.default_rng(SEED)
    auto_prec = []
    for _ in range(BOOTSTRAP):
        i = rng.integers(0, len(y), len(y))
        a = auto[i]
        if a.any():
            auto_prec.append(np.mean(pred[i][a] == y[i][a]))
    return {
        "n": len(y), "version": p.version, "side_markers": p.config.side_markers, "threshold": p.threshold,
        "top1": (_acc(y, pred, n), bootstrap_ci(y, pred, _acc, n)),
        "top3": (float(top3.mean()), bootstrap_ci(top3.astype(int), np.ones_like(y), _acc, n)),
        "macro_f1": (_f1(y, pred, n), bootstrap_ci(y, pred, _f1, n)),
        "auto_rate": float(auto.mean()),
        "auto_precision": (float(np.mean(pred[auto] == y[auto])),
                           (float(np.percentile(auto_prec, 2.5)), float(np.percentile(auto_prec, 97.5)))),
    }


# Text that is no hotline matter at all: the model should abstain as "unfamiliar" on it.
OOD_TEXTS = [
    "今天天气很好，我们去公园散步吧。", "The quick brown fox jumps over the lazy dog.", "床前明月光，疑是地上霜。",
    "晚饭吃什么？红烧肉还是清蒸鱼？", "这部电影的结局太感人了，推荐大家去看。", "明天上午十点开会，请准时参加。",
    "祝你生日快乐，天天开心！", "我家猫咪今天学会了开门。", "周末一起去打羽毛球吗？", "这本小说的主人公是一位侦探。",
    "股票今天又涨了，真开心。", "请把文件发到我的邮箱，谢谢。", "def main(): print('hello world')", "哈哈哈哈哈哈哈",
    "春眠不觉晓，处处闻啼鸟。", "我最喜欢的颜色是蓝色。", "下周去云南旅游，帮我推荐几个景点？", "今天的数学作业好难啊。",
    "手机壳是粉色的，很好看。", "足球比赛三比一，主队赢了。", "月亮代表我的心。", "你好，在吗？", "测试测试123",
    "请问怎么做番茄炒蛋？", "这首歌的旋律很好听。", "我今天跑了五公里。", "新买的咖啡机很好用。", "外面下雪了。",
    "这道数学题的答案是四十二。", "周杰伦的新专辑什么时候发？",
]
# Teddy Cup's first-level categories and the departments of ours whose duties they cover.
CATEGORY_DEPARTMENTS = {
    "城乡建设": {"URBAN", "HOUSING", "NATRES", "WATER", "GAS", "POWER", "FIRE"},
    "环境保护": {"ECOLOGY"},
    "交通运输": {"TRANSPORT"},
    "教育文体": {"EDUCATION", "CULTOUR"},
    "劳动和社会保障": {"HRSS", "MEDINS", "CIVIL"},
    "商贸旅游": {"MARKET", "CULTOUR"},
    "卫生计生": {"HEALTH", "MEDINS"},
}


def unlike_figures() -> dict[str, object]:
    """The bundled model on the second generator's test split: the figures, the curve, per department."""
    from chalicelib.dispatch import metrics
    from chalicelib.dispatch.predictor import get_default_predictor
    from chalicelib.dispatch.training import read_dataset

    p = get_default_predictor()
    data = read_dataset(UNLIKE_TEST)
    proba, fam = p.assess(data.texts)
    index = {lab: i for i, lab in enumerate(p.labels)}
    y = np.array([index[lab] for lab in data.labels])
    familiar = p.familiar(fam)
    pred = proba.argmax(axis=1)
    auto = (proba.max(axis=1) >= np.array(p.label_thresholds())[pred]) & familiar
    rng = np.random.default_rng(SEED)
    boot = []
    for _ in range(BOOTSTRAP):
        i = rng.integers(0, len(y), len(y))
        if auto[i].any():
            boot.append(np.mean(pred[i][auto[i]] == y[i][auto[i]]))
    per_department = []
    for k, code in enumerate(p.labels):
        mine = auto & (pred == k)
        per_department.append({"department": code, "threshold": p.threshold_for(code), "truth": int((y == k).sum()),
                               "auto": int(mine.sum()),
                               "precision": float(np.mean(y[mine] == k)) if mine.any() else None})
    frames = data.extra.get("frame") or []
    by_frame = {f: float(np.mean(pred[np.array(frames) == f] == y[np.array(frames) == f])) for f in sorted(set(frames))}
    ood = p.familiar(p.familiarity(OOD_TEXTS))
    return {
        "n": len(y), "figures": metrics.evaluate(proba, y, p.threshold, p.label_thresholds(), familiar),
        "auto_precision_ci": (float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))),
        "curve": metrics.coverage_precision(proba, y), "per_department": per_department, "by_frame": by_frame,
        "ood_n": len(OOD_TEXTS), "ood_abstained": float(np.mean(~ood)) if ood is not None else None,
        "calibration": p.metadata.get("calibration", {}),
    }


def baseline_across_generators() -> dict[str, float]:
    """The plain baseline (TF-IDF over jieba words + LinearSVC) trained on the corpus: top-1 on the
    corpus generator's held-out split and on the second generator's test split."""
    import jieba
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    from chalicelib.dispatch.training import read_dataset

    jieba.setLogLevel(60)
    train = read_dataset(ROOT / "data" / "dispatch" / "corpus.csv")
    vec = TfidfVectorizer(tokenizer=jieba.lcut, token_pattern=None, lowercase=False)
    clf = LinearSVC(random_state=SEED).fit(vec.fit_transform(train.texts), train.labels)
    out = {}
    for name, path in (("heldout", HELDOUT), ("unlike", UNLIKE_TEST)):
        data = read_dataset(path)
        out[name] = float(np.mean(clf.predict(vec.transform(data.texts)) == np.array(data.labels)))
    return out


def real_messages_bundled() -> dict[str, object]:
    """The bundled model (trained on the corpus only) on the real messages, its department counted
    right when it is one of those the message's category covers."""
    from chalicelib.dispatch.predictor import get_default_predictor
    from chalicelib.dispatch.training import read_dataset

    p = get_default_predictor()
    data = read_dataset(REAL)
    proba, fam = p.assess(data.texts)
    pred = proba.argmax(axis=1)
    right = np.array([p.labels[k] in CATEGORY_DEPARTMENTS[c] for k, c in zip(pred, data.labels)])
    familiar = p.familiar(fam)
    auto = (proba.max(axis=1) >= np.array(p.label_thresholds())[pred]) & familiar
    return {"n": len(right), "top1": float(right.mean()), "auto_rate": float(auto.mean()),
            "auto_precision": float(right[auto].mean()) if auto.any() else None,
            "unfamiliar": float(np.mean(~familiar))}


def real_dataset_cv(folds: int = 5) -> dict[str, object]:
    """Our pipeline and the baseline on the same stratified folds; pooled OOF predictions."""
    import jieba
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    from chalicelib.dispatch.predictor import Predictor
    from chalicelib.dispatch.training import TrainConfig, fit, new_segmenter, read_dataset

    jieba.setLogLevel(60)
    data = read_dataset(REAL)
    labels = sorted(set(data.labels))
    index = {lab: i for i, lab in enumerate(labels)}
    y = np.array([index[lab] for lab in data.labels])
    texts = np.array(data.texts, dtype=object)
    config = TrainConfig()
    seg = new_segmenter(config)
    ours, base = np.zeros(len(y), dtype=int), np.zeros(len(y), dtype=int)
    auto_flags, per_fold = np.zeros(len(y), dtype=bool), []
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for tr, te in skf.split(np.zeros(len(y)), y):
        result = fit(data.subset(tr), config, segmenter=seg)
        pred = Predictor(result.artifact, segmenter=seg)
        proba = pred.predict_proba(list(texts[te]))
        cols = [index[lab] for lab in pred.labels]
        ours[te] = np.array(cols)[proba.argmax(axis=1)]
        auto_flags[te] = proba.max(axis=1) >= pred.threshold
        vec = TfidfVectorizer(tokenizer=jieba.lcut, token_pattern=None, lowercase=False)
        clf = LinearSVC(random_state=SEED).fit(vec.fit_transform(texts[tr]), y[tr])
        base[te] = clf.predict(vec.transform(texts[te]))
        per_fold.append({
            "ours_f1": macro_f1(y[te], ours[te], len(labels)), "ours_top1": float(np.mean(ours[te] == y[te])),
            "base_f1": macro_f1(y[te], base[te], len(labels)), "base_top1": float(np.mean(base[te] == y[te])),
        })
    n = len(labels)
    mean = {k: float(np.mean([f[k] for f in per_fold])) for k in per_fold[0]}
    std = {k: float(np.std([f[k] for f in per_fold])) for k in per_fold[0]}
    # Paired bootstrap of the difference in macro-F1 over pooled out-of-fold predictions.
    rng = np.random.default_rng(SEED)
    diffs = []
    for _ in range(BOOTSTRAP):
        i = rng.integers(0, len(y), len(y))
        diffs.append(macro_f1(y[i], ours[i], n) - macro_f1(y[i], base[i], n))
    return {
        "n": len(y), "labels": n, "mean": mean, "std": std,
        "ours_f1_ci": bootstrap_ci(y, ours, _f1, n), "base_f1_ci": bootstrap_ci(y, base, _f1, n),
        "ours_top1_ci": bootstrap_ci(y, ours, _acc, n), "base_top1_ci": bootstrap_ci(y, base, _acc, n),
        "diff_f1_ci": (float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))),
        "auto_rate": float(auto_flags.mean()),
        "auto_precision": float(np.mean(ours[auto_flags] == y[auto_flags])) if auto_flags.any() else None,
    }


def districts() -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-m", "chalicelib.dispatch", "districts", "--data", str(HELDOUT)],
                          cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


LOAD_AT_START = os.getloadavg()[0]


def main() -> None:
    started = time.time()
    cost = inference_costs()
    held = heldout_accuracy()
    unlike = unlike_figures()
    real = real_messages_bundled()
    base = baseline_across_generators()
    cv = real_dataset_cv()
    dist = districts()
    m, s = cv["mean"], cv["std"]
    uf = unlike["figures"]
    cal = unlike["calibration"]
    rows = [
        ["model load time, fresh process: imports + artifact + jieba dictionary (s)", round(cost["load_s"], 3), "< 1.5"],
        ["model load CPU time (s)", round(cost["load_cpu_s"], 3), ""],
        ["single prediction p50 (ms)", round(cost["p50_ms"], 2), "< 5"],
        ["single prediction p95 (ms)", round(cost["p95_ms"], 2), ""],
        ["batch throughput, one process (texts/s, wall)", round(cost["throughput"]), "> 2000"],
        ["batch throughput per CPU-second (texts/s)", round(cost["throughput_cpu"]), ""],
        ["peak RSS of an inference process (MB)", round(cost["rss_mb"], 1), "< 300"],
        [f"held-out top-1, bundled model (n={held['n']}, 95% CI)", fmt_ci(*held["top1"]), ""],
        ["held-out top-3 (95% CI)", fmt_ci(*held["top3"]), ""],
        ["held-out macro-F1 (95% CI)", fmt_ci(*held["macro_f1"]), ">= 0.90"],
        ["held-out auto-dispatch rate (same generator as the corpus)", round(held["auto_rate"], 3), ""],
        ["held-out auto-dispatch precision (95% CI)", fmt_ci(*held["auto_precision"]), ">= 0.97"],
        [f"unlike-corpus test (second generator, n={uf['n']}): top-1 / top-3", f"{uf['top1']:.3f} / {uf['top3']:.3f}",
         ">= 0.90 / >= 0.97"],
        [f"unlike-corpus calibration split (n={(cal.get('figures') or {}).get('n')}; thresholds chosen here, so optimistic): "
         "top-1 / top-3 / coverage / precision",
         " / ".join(f"{(cal.get('figures') or {}).get(k, float('nan')):.3f}"
                    for k in ("top1", "top3", "auto_rate", "auto_precision")), ""],
        ["top-1 of the plain TF-IDF + LinearSVC baseline trained on the same corpus: held-out / unlike-corpus test",
         f"{base['heldout']:.3f} / {base['unlike']:.3f}", ""],
        ["unlike-corpus test: auto-dispatch rate (coverage)", f"{uf['auto_rate']:.3f}", ">= 0.50"],
        ["unlike-corpus test: auto-dispatch precision (95% CI)", fmt_ci(uf["auto_precision"], unlike["auto_precision_ci"]),
         ">= 0.97"],
        ["unlike-corpus test: abstention rate (left to a dispatcher) / of which unfamiliar text",
         f"{1 - uf['auto_rate']:.3f} / {uf['unfamiliar_rate']:.3f}", ""],
        [f"non-hotline text (n={unlike['ood_n']}): abstained as unfamiliar", f"{unlike['ood_abstained']:.3f}", "1.0"],
        *[[f"unlike-corpus test, most confident {pt['coverage']:.0%} of tickets: precision (lowest probability)",
           f"{pt['precision']:.3f} ({pt['min_probability']:.3f})", ""] for pt in unlike["curve"]],
        *[[f"unlike-corpus test, {d['department']}: auto-dispatched / of {d['truth']}, precision (threshold)",
           f"{d['auto']}, {'-' if d['precision'] is None else format(d['precision'], '.3f')} ({d['threshold']:.3f})", ">= 0.97"]
          for d in unlike["per_department"]],
        [f"real messages (n={real['n']}), bundled model, department within the message's category: top-1",
         f"{real['top1']:.3f}", ""],
        ["real messages, bundled model: auto-dispatch rate / precision / unfamiliar",
         f"{real['auto_rate']:.3f} / {'-' if real['auto_precision'] is None else format(real['auto_precision'], '.3f')}"
         f" / {real['unfamiliar']:.3f}", ">= 0.97 precision"],
        [f"real data 5-fold CV macro-F1, our pipeline (n={cv['n']}, mean ± sd; pooled 95% CI)",
         f"{m['ours_f1']:.3f} ± {s['ours_f1']:.3f}; {cv['ours_f1_ci'][0]:.3f}-{cv['ours_f1_ci'][1]:.3f}", "0.88-0.90 (published, full set)"],
        ["real data 5-fold CV macro-F1, TF-IDF + LinearSVC baseline",
         f"{m['base_f1']:.3f} ± {s['base_f1']:.3f}; {cv['base_f1_ci'][0]:.3f}-{cv['base_f1_ci'][1]:.3f}", ""],
        ["real data 5-fold CV top-1, our pipeline",
         f"{m['ours_top1']:.3f} ± {s['ours_top1']:.3f}; {cv['ours_top1_ci'][0]:.3f}-{cv['ours_top1_ci'][1]:.3f}", ""],
        ["real data 5-fold CV top-1, baseline",
         f"{m['base_top1']:.3f} ± {s['base_top1']:.3f}; {cv['base_top1_ci'][0]:.3f}-{cv['base_top1_ci'][1]:.3f}", ""],
        ["real data macro-F1 difference, ours - baseline (paired bootstrap 95% CI)",
         f"{cv['diff_f1_ci'][0]:+.3f} to {cv['diff_f1_ci'][1]:+.3f}", "> 0"],
        ["real data CV auto-dispatch rate / precision",
         f"{cv['auto_rate']:.3f} / {cv['auto_precision']:.3f}" if cv["auto_precision"] is not None else "0 / -", ">= 0.97 precision"],
        [f"jurisdiction on held-out (n={dist['n']}): coverage / accuracy",
         f"{dist['coverage']:.3f} / {dist['accuracy']:.3f}", ""],
    ]
    load = os.getloadavg()[0]
    load_start = LOAD_AT_START
    frames = ", ".join(f"{k} {v:.3f}" for k, v in unlike["by_frame"].items())
    notes = (
        f"Bundled model {held['version']} (trained on data/dispatch/corpus.csv, 18 departments). "
        "Thresholds: chosen on data/dispatch/unlike_calibration.csv, made by a second generator "
        "(chalicelib/dispatch/corpus/unlike.py: its own matters, frames and noise) that the model never trains on: "
        f"global {cal.get('threshold')}, raised for {', '.join(sorted(cal.get('thresholds') or {})) or 'no department'}; "
        f"familiarity floors: similarity to the nearest department centroid {cal.get('familiarity_floor')}, share of "
        f"known character n-grams {cal.get('coverage_floor')} (each the calibration texts' {cal.get('familiarity_quantile')} quantile); "
        f"cross-fitting over its {(cal.get('cross_fitting') or {}).get('groups')} matters "
        f"(thresholds chosen without a matter, applied to it) gave precision {(cal.get('cross_fitting') or {}).get('auto_precision')}, "
        f"one-sided 95% lower bound {(cal.get('cross_fitting') or {}).get('auto_precision_lower_bound')} with whole matters "
        "resampled (errors come by matter), and the aim rises until that bound reaches the target: "
        f"it is {cal.get('chosen_for')}. The global cut itself must reach the target by its Wilson bound at z="
        f"{cal.get('confidence_z')} and by its matter-resampled 95% lower bound on the calibration split. "
        "The corpus's breadth scenarios (chalicelib/dispatch/corpus/breadth.py) were written after reading the "
        "calibration split's confusions, so calibration figures are optimistic for those matters; the test split's "
        "matters were never read. The analyzer reads a text's main matter, up to the first side remark "
        f"(side-marker set {held.get('side_markers', '?')}: set 2 adds \"其他的/其它的/再一个\" where a clause starts, "
        "found on calibration texts that said \"……。其他的X也顺便说一下\"). The unlike-corpus test split tells the other matters of the second "
        f"generator (none in calibration); top-1 by its frame: {frames}. "
        "Real messages, bundled model: the Teddy Cup categories are coarser than our departments, so a department counts "
        "as right when the category covers it (城乡建设: URBAN, HOUSING, NATRES, WATER, GAS, POWER, FIRE; 劳动和社会保障: "
        "HRSS, MEDINS, CIVIL; 商贸旅游: MARKET, CULTOUR; 教育文体: EDUCATION, CULTOUR; 卫生计生: HEALTH, MEDINS; "
        "环境保护: ECOLOGY; 交通运输: TRANSPORT); its place names are anonymised (A市, A3区), unlike the corpus. "
        "That mapping makes the real-message precision a lower bound: the source files bus lines under 城乡建设, "
        "traffic lights under 交通运输 and supply teachers' pay under 教育文体, which our duty lists give to TRANSPORT, "
        "POLICE and HRSS. Even so the model is too sure on these messages (long letters to officials, a province "
        "and a register it never saw): this is what the live guard is for, per department, once tickets flow. "
        "The held-out split is synthetic like the corpus, so its figures are optimistic; the real "
        "figures are the 5-fold CV on the 495-message Teddy Cup 2020 sample (7 categories, "
        "data/datasets/PROVENANCE.md), where both pipelines train on about 396 messages per fold: "
        "the published 0.88-0.90 was on the full 9,210-row set and is not comparable. Our pipeline "
        "= jieba (trimmed dictionary + user dictionary) word 1-2-grams + char 2-3-grams TF-IDF + "
        "duty-knowledge features, LinearSVC with per-class Platt calibration; in the CV folds, with no second "
        "generator for these labels, the threshold is chosen on out-of-fold probabilities for 0.97 precision. Baseline = TfidfVectorizer(jieba.lcut) + "
        "LinearSVC with defaults, same folds (StratifiedKFold(5, shuffle, seed 0)). Latency, "
        "throughput, load time and RSS come from 5 fresh inference processes (numpy + jieba, "
        "no scikit-learn). The jurisdiction figure is circular (the corpus draws its places from "
        f"the gazetteer) and only shows that ambiguous names stay unanswered. Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, 1-min load average {load_start:.1f} at the start and {load:.1f} at the end "
        + (" (other work ran meanwhile; with more runnable processes than cores the wall-clock cost rows wait for a "
           "core and miss their goals, while the CPU-time rows, load CPU time and throughput per CPU-second, "
           "still show what the model costs)" if max(load_start, load) > 4 else
           " (other work ran meanwhile)" if max(load_start, load) > 1.5 else "") +
        ": cost rows are the best of 5 fresh processes; the "
        f"medians were load {cost['load_s_median']:.2f} s, p50 {cost['p50_ms_median']:.2f} ms, "
        f"throughput {cost['throughput_median']:.0f} texts/s. Bench took {time.time() - started:.0f} s."
    )
    sys.path.insert(0, str(ROOT / "bench"))
    from run import write_result

    write_result("dispatch", "Smart dispatch model", rows, notes)
    print(json.dumps({"rows": rows}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
