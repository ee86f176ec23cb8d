"""Where the dispatch data files are: the repository's ``data/``, or the Lambda layer's copy.

``DISPATCH_DATA_DIR`` overrides; else the checkout's ``data/`` when present; else the layer's
``/opt/dispatch/data`` (``layers/build_model_layer.sh`` puts the gazetteer and taxonomy there).
"""
from __future__ import annotations

from pathlib import Path

from chalicelib.config import dispatch_data_dir

REPO_DATA = Path(__file__).resolve().parents[2] / "data"
LAYER_DATA = Path("/opt/dispatch/data")


def data_dir() -> Path:
    """The data root holding ``dispatch/`` and ``taxonomy/``."""
    env = dispatch_data_dir()  # read at each call: tests and tools point it elsewhere
    if env:
        return Path(env)
    if (REPO_DATA / "dispatch").is_dir() or not LAYER_DATA.is_dir():
        return REPO_DATA
    return LAYER_DATA
