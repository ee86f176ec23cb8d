"""Artifact (de)serialization: directory and blob round trips, determinism, validation."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

from chalicelib.dispatch import artifact
from chalicelib.dispatch.predictor import Predictor, load_model
from chalicelib.domain.errors import ValidationFailed

TEXTS = ["小区停水两天了没人管", "楼上邻居半夜唱歌", "超市卖过期面包", "消防通道被堵"]


def test_blob_round_trip_predicts_the_same(small_model) -> None:
    blob = artifact.to_bytes(small_model.artifact)
    again = artifact.from_bytes(blob)
    assert again.metadata == small_model.artifact.metadata
    assert again.vocabulary == small_model.artifact.vocabulary
    assert again.dictionary == small_model.artifact.dictionary
    for k, v in small_model.artifact.arrays.items():
        assert np.array_equal(again.arrays[k], v) and again.arrays[k].dtype == v.dtype
    a = Predictor(small_model.artifact, segmenter=small_model.segmenter).predict_proba(TEXTS)
    b = load_model(blob).predict_proba(TEXTS)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_blob_is_deterministic(small_model) -> None:
    assert artifact.to_bytes(small_model.artifact) == artifact.to_bytes(small_model.artifact)


def test_directory_round_trip(tmp_path, small_model) -> None:
    path = artifact.save_dir(small_model.artifact, tmp_path / "model")
    assert sorted(p.name for p in path.iterdir()) == sorted(artifact.MEMBERS + artifact.OPTIONAL_MEMBERS)
    loaded = artifact.load(path)
    assert loaded.version == small_model.artifact.version
    assert artifact.to_bytes(loaded) == artifact.to_bytes(small_model.artifact)
    blob_file = tmp_path / "model.zip"
    blob_file.write_bytes(artifact.to_bytes(loaded))
    assert artifact.load(blob_file).version == loaded.version


def test_garbage_blob_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        artifact.from_bytes(b"not a zip")


def test_incomplete_blob_is_refused(small_model) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(artifact.METADATA, "{}")
    with pytest.raises(ValidationFailed) as info:
        artifact.from_bytes(buf.getvalue())
    assert "missing" in info.value.details


def test_mismatched_arrays_are_refused(small_model) -> None:
    a = small_model.artifact
    broken = artifact.Artifact(dict(a.metadata), a.vocabulary, {**a.arrays, "coef": a.arrays["coef"][:-1]})
    with pytest.raises(ValidationFailed) as info:
        artifact.to_bytes(broken)
    assert "coef" in info.value.details


def test_missing_directory_is_refused(tmp_path) -> None:
    with pytest.raises(ValidationFailed):
        artifact.load_dir(tmp_path / "nope")


def test_metadata_records_what_the_issue_asks(small_model) -> None:
    meta = small_model.artifact.metadata
    for key in ("version", "labels", "training_data_sha256", "metrics", "threshold"):
        assert key in meta
    assert meta["labels"] == sorted(["MARKET", "HOUSING", "POLICE", "WATER", "FIRE"])
    assert 0.5 <= meta["threshold"] <= 1.01
    assert len(meta["training_data_sha256"]) == 64
