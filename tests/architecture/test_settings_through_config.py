"""Deployed code reads its settings through ``chalicelib/config.py`` (issue 15): a module that reads
``os.environ`` itself is a setting nobody can find in one place.

The embedded local runtime (``chalicelib/local/``, not deployed) sets the environment and reads its own
command-line defaults, so it is left out. The modules below still read the environment themselves;
each entry says why, and an entry that no longer reads it fails the test, so the list only shrinks.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_DEPLOYED = ("chalicelib/local/",)
STILL_READING = {
    # a command-line tool: its argparse defaults (listed in config.OPTIONAL_SETTINGS)
    "chalicelib/integration/simulator.py": "the partner simulator's --base-url/--secret defaults",
}


def _reads_environment(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            return True
    return False


def _deployed_modules() -> list[str]:
    paths = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]
    return [str(p.relative_to(ROOT)) for p in paths if not str(p.relative_to(ROOT)).startswith(NOT_DEPLOYED)]


def test_deployed_code_reads_settings_through_config() -> None:
    readers = {module for module in _deployed_modules() if _reads_environment(ROOT / module)}
    unexpected = sorted(readers - set(STILL_READING) - {"chalicelib/config.py"})
    assert unexpected == [], "read these settings through chalicelib/config.py"


def test_every_listed_exception_still_reads_the_environment() -> None:
    stale = sorted(module for module in STILL_READING if not (ROOT / module).exists()
                   or not _reads_environment(ROOT / module))
    assert stale == [], "no longer reads os.environ: drop it from STILL_READING"


def test_the_check_sees_a_read(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    return os.getenv('X')\n", encoding="utf-8")
    assert _reads_environment(module)
    module.write_text("from chalicelib.config import table_name\n", encoding="utf-8")
    assert not _reads_environment(module)
