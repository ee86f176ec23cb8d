"""The API functions must stay light: no scikit-learn or jieba on import, no sklearn to predict."""
from __future__ import annotations

import json
import subprocess
import sys

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_package_imports_neither_sklearn_nor_jieba() -> None:
    result = _run(
        "import sys, json\n"
        "import chalicelib.dispatch, chalicelib.dispatch.predictor, chalicelib.dispatch.jurisdiction\n"
        "import chalicelib.dispatch.artifact, chalicelib.dispatch.cli, chalicelib.dispatch.dataset\n"
        "import chalicelib.dispatch.category_suggest\n"
        "print(json.dumps({m: m in sys.modules for m in ('sklearn', 'jieba', 'scipy')}))"
    )
    assert result == {"sklearn": False, "jieba": False, "scipy": False}


def test_prediction_never_imports_sklearn() -> None:
    result = _run(
        "import sys, json\n"
        "from chalicelib.dispatch.predictor import get_default_predictor\n"
        "rec = get_default_predictor().recommend('小区电梯困人，物业不管')\n"
        "print(json.dumps({'sklearn': 'sklearn' in sys.modules, 'scipy': 'scipy' in sys.modules,\n"
        "                  'jieba': 'jieba' in sys.modules, 'top': rec.department}))"
    )
    assert result["sklearn"] is False and result["scipy"] is False
    assert result["jieba"] is True
    assert result["top"] in {"MARKET", "HOUSING"}
