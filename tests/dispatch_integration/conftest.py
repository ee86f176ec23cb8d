"""Fixtures for smart dispatch inside the platform: the event pump, clean model state, tiny data."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from dispatch_helpers import DATA, TINY_LABELS, read_rows, write_rows


def _pick(path: Path, per_label: int) -> list[dict[str, str]]:
    rows = read_rows(path)
    return [r for code in TINY_LABELS for r in [r for r in rows if r["label"] == code][:per_label]]


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """15 training rows and 10 held-out rows for each of three departments (fast to train)."""
    root = tmp_path_factory.mktemp("tiny-dispatch")
    return {"corpus": write_rows(root / "corpus.csv", _pick(DATA / "corpus.csv", 15)),
            "heldout": write_rows(root / "heldout.csv", _pick(DATA / "heldout.csv", 10))}


@pytest.fixture(scope="session")
def tiny_config() -> Any:
    from chalicelib.dispatch.training import TrainConfig

    return TrainConfig(calibration_folds=3)


@pytest.fixture(autouse=True)
def clean_dispatch_state() -> Iterator[None]:
    """No model, settings or connection cached from another test leaks in or out."""
    from chalicelib.dispatch import registry
    from chalicelib.dispatch.corrections import LabelledExampleItem
    from chalicelib.services import recommend

    def reset() -> None:
        registry.active_model.reset()
        recommend.forget_settings()
        LabelledExampleItem._connection = None

    reset()
    yield
    reset()


@pytest.fixture
def pump(api: Any, seeded: dict[str, str]) -> Any:
    from chalicelib.local.pump import EventPump

    return EventPump(api.app, seeded)


@pytest.fixture(scope="session")
def tiny_models(tiny_data: dict[str, Path], tiny_config: Any) -> dict[str, Any]:
    """Two models on the tiny data: "good" (true labels) and "bad" (every label rotated: always wrong)."""
    from chalicelib.dispatch.dataset import Dataset, read_dataset
    from chalicelib.dispatch.training import fit

    data = read_dataset(tiny_data["corpus"])
    rotate = {a: b for a, b in zip(TINY_LABELS, TINY_LABELS[1:] + TINY_LABELS[:1])}
    wrong = Dataset(data.texts, [rotate[label] for label in data.labels])
    return {"good": fit(data, tiny_config), "bad": fit(wrong, tiny_config)}
