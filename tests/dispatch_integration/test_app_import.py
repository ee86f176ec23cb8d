"""Importing app.py (every API function's cold start) loads no model dependency."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_app_imports_neither_sklearn_nor_jieba_nor_numpy():
    code = ("import sys, json\nimport app\n"
            "print(json.dumps({m: m in sys.modules for m in ('sklearn', 'jieba', 'scipy', 'numpy')}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"sklearn": False, "jieba": False, "scipy": False,
                                                               "numpy": False}
