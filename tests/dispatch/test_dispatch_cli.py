"""The command line contract: each command's last stdout line is one JSON object with its keys."""
from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.dispatch.cli import main

ROOT = Path(__file__).resolve().parents[2]
EVAL_KEYS = {"n", "top1", "top3", "macro_f1", "auto_rate", "auto_precision", "threshold"}


def _last_json(capsys) -> dict:
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_corpus) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("cli") / "model"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["train", "--data", str(small_corpus), "--out", str(out)]) == 0
    return out, json.loads(buf.getvalue().strip().splitlines()[-1])


@pytest.fixture(scope="module")
def trained_dir(trained) -> Path:
    return trained[0]


def test_train_writes_an_artifact_and_prints_json(trained) -> None:
    path, out = trained
    meta = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
    assert meta["n_train"] == 125
    assert {"model", "version", "threshold", "training_data_sha256", "metrics"} <= set(out)
    assert out["version"] == meta["version"]


def test_train_with_other_column_names(tmp_path, tiny_corpus, capsys) -> None:
    lines = tiny_corpus.read_text(encoding="utf-8").splitlines()
    lines[0] = "内容,部门,district"
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["train", "--data", str(renamed), "--text-column", "内容", "--label-column", "部门",
                 "--out", str(tmp_path / "m")]) == 0
    assert _last_json(capsys)["labels"] == 3


def test_evaluate_with_model(trained_dir, small_corpus, capsys) -> None:
    assert main(["evaluate", "--model", str(trained_dir), "--data", str(small_corpus)]) == 0
    out = _last_json(capsys)
    assert EVAL_KEYS <= set(out)
    assert out["n"] == 125 and out["top1"] >= 0.9


def test_cross_validate(tiny_corpus, capsys) -> None:
    assert main(["cross-validate", "--data", str(tiny_corpus), "--folds", "5"]) == 0
    out = _last_json(capsys)
    assert EVAL_KEYS <= set(out)
    assert out["n"] == 36 and 0.0 <= out["macro_f1"] <= 1.0


def test_districts(tmp_path, capsys) -> None:
    csv_path = tmp_path / "d.csv"
    csv_path.write_text(
        "text,district\n"
        "吴中区木渎镇一家店卖过期面包,WUZHONG\n"
        "金鸡湖边有人烧烤,SIP\n"
        "人民路上有人占道经营,GUSU\n"
        "昆山市前进中路停电,KUNSHAN\n"
        "小区停水,\n", encoding="utf-8")
    assert main(["districts", "--data", str(csv_path)]) == 0
    out = _last_json(capsys)
    assert {"n", "accuracy", "coverage"} <= set(out)
    assert out["n"] == 4 and out["coverage"] == 0.75 and out["accuracy"] == 1.0


def test_missing_column_is_an_error(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("body,label\nx,y\n", encoding="utf-8")
    assert main(["evaluate", "--data", str(bad)]) == 2
    assert "error" in _last_json(capsys)


def test_module_entry_point_evaluates_the_bundled_model(tmp_path, heldout_rows) -> None:
    sample = tmp_path / "sample.csv"
    rows = heldout_rows[::30]
    sample.write_text("text,label\n" + "".join(
        f"\"{r['text'].replace(chr(34), chr(34) * 2)}\",{r['label']}\n" for r in rows), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "chalicelib.dispatch", "evaluate", "--data", str(sample)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert EVAL_KEYS <= set(out) and out["n"] == len(rows)
