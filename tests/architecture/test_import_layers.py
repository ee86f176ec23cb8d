"""The layers of docs/architecture.md hold: the contracts in ``.importlinter`` are kept (issue 15).

import-linter reads every import of ``chalicelib``, the ones inside functions too, so a cycle cannot
hide in a function body. ``app.py`` is a module, not a package import-linter can take as a root, so
its one rule (production code never imports the embedded local runtime) is checked here with ``ast``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"
CONTRACTS = ("domain-is-pure", "api-not-store", "services-not-api", "local-not-in-production", "layers",
             "no-cycles")


def test_the_configuration_declares_every_contract() -> None:
    text = CONFIG.read_text(encoding="utf-8")
    for contract in CONTRACTS:
        assert f"[importlinter:contract:{contract}]" in text, contract


@pytest.mark.parametrize("contract", CONTRACTS)
def test_the_contract_is_kept(contract: str, capsys: pytest.CaptureFixture[str]) -> None:
    exit_code = lint_imports(config_filename=str(CONFIG), limit_to_contracts=(contract,), no_cache=True)
    report = capsys.readouterr().out
    assert exit_code == 0, report
    assert "KEPT" in report and "BROKEN" not in report, report


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
