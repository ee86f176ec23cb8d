"""The layers of docs/architecture.md hold: the contracts in ``.importlinter`` are kept (issue 15).

import-linter reads every import of ``chalicelib``, the ones inside functions too, so a cycle cannot
hide in a function body. ``app.py`` is a module, not a package import-linter can take as a root, so
its one rule (production code never imports the embedded local runtime) is checked here with ``ast``.
"""
from __future__ import annotations

import ast
import configparser
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
CONTRACTS = ("domain-is-pure", "api-not-store", "services-not-api", "local-not-in-production", "layers",
             "no-cycles")


def test_the_configuration_declares_every_contract() -> None:
    text = CONFIG.read_text(encoding="utf-8")
    for contract in CONTRACTS:
        assert f"[importlinter:contract:{contract}]" in text, contract


@pytest.fixture(scope="module")
def lint_report() -> str:
    """lint-imports' report on every contract, run once in its own process: in-process it calls
    ``logging.config.dictConfig``, which disables every logger that exists (the platform's among them)
    for the rest of the test session."""
    done = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--config", str(CONFIG), "--no-cache"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    return done.stdout + done.stderr


@pytest.mark.parametrize("contract", CONTRACTS)
def test_the_contract_is_kept(contract: str, lint_report: str) -> None:
    config = configparser.ConfigParser()
    config.read(CONFIG, encoding="utf-8")
    name = config[f"importlinter:contract:{contract}"]["name"]
    report = " ".join(lint_report.split())  # the report wraps long contract names
    assert f"{name} KEPT" in report, lint_report
    assert f"{name} BROKEN" not in report, lint_report


def _imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports, at any depth of its code (function bodies included)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_app_does_not_import_the_local_runtime() -> None:
    imported = _imported_modules(ROOT / "app.py")
    assert any(name.startswith("chalicelib.") for name in imported), "app.py wires chalicelib"
    local = [name for name in imported if name == "chalicelib.local" or name.startswith("chalicelib.local.")]
    assert local == []


def test_the_app_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "wired.py"
    module.write_text("def f():\n    from chalicelib.local import runtime\n", encoding="utf-8")
    assert "chalicelib.local" in _imported_modules(module)


def test_checking_the_contracts_leaves_the_platform_logger_enabled(lint_report: str) -> None:
    import logging

    from chalicelib.observability import logger

    assert "KEPT" in lint_report
    assert not logger._logger.disabled and logger._logger.isEnabledFor(logging.INFO)
