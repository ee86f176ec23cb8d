"""Fixtures of the dispatch tests: the bundled model, a small model trained here, the data."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "dispatch"


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write_rows(path: Path, rows: list[dict[str, str]], fields: list[str]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture(scope="session")
def corpus_rows() -> list[dict[str, str]]:
    return read_rows(DATA / "corpus.csv")


@pytest.fixture(scope="session")
def heldout_rows() -> list[dict[str, str]]:
    return read_rows(DATA / "heldout.csv")


@pytest.fixture(scope="session")
def default_predictor():
    from chalicelib.dispatch.predictor import get_default_predictor

    return get_default_predictor()


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory, corpus_rows) -> Path:
    """25 training rows for each of five departments (fast to train)."""
    keep = ("MARKET", "HOUSING", "POLICE", "WATER", "FIRE")
    picked: list[dict[str, str]] = []
    for code in keep:
        picked += [r for r in corpus_rows if r["label"] == code][:25]
    return write_rows(tmp_path_factory.mktemp("small") / "small.csv", picked, ["text", "label", "district"])


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory, corpus_rows) -> Path:
    """12 rows for each of three departments: enough for the contract tests of the CLI."""
    picked: list[dict[str, str]] = []
    for code in ("GAS", "POWER", "WATER"):
        picked += [r for r in corpus_rows if r["label"] == code][:12]
    return write_rows(tmp_path_factory.mktemp("tiny") / "tiny.csv", picked, ["text", "label", "district"])


@pytest.fixture(scope="session")
def small_model(small_corpus):
    """A model trained in-process on the small corpus, with its scikit-learn reference."""
    from chalicelib.dispatch.training import TrainConfig, fit, read_dataset

    return fit(read_dataset(small_corpus), TrainConfig(calibration_folds=3))
