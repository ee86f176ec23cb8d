"""What one ``make package`` run built from which sources: ``build/package-report.json``.

``make test`` runs ``make package`` (through ``make checks``) right before pytest; the tests of the
deployable template read that build instead of packaging the app again (``chalice package``, the
merge and cfn-lint take a minute on a 2-core machine), but only when the report's source digest
is the digest of the sources as they are now. A test run alone, or after any source changed, builds
for itself; a build that fails leaves no report behind, so a stale or broken build is never reused.

The digest covers every input of the build: what ``chalice package`` packs (``app.py``,
``chalicelib/``, the stage config, the requirements), what is merged in (``infra/``,
``stepfunctions/``), what the model layers are made of (``layers/*.sh``, ``data/``), and the
versions of the interpreter, Chalice and cfn-lint.
"""
from __future__ import annotations

import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

REPORT_NAME = "package-report.json"
SOURCES = ("app.py", "chalicelib", ".chalice/config.json", "infra", "stepfunctions", "layers", "data",
           "requirements.txt", "requirements-model.txt", "vendor")
SKIPPED_PARTS = {"__pycache__", "build"}  # bytecode; layers/build holds the layers' outputs, not sources
TOOLS = ("chalice", "cfn-lint")


def _files(project_dir: Path) -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = project_dir / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [p for p in path.rglob("*") if p.is_file() and not SKIPPED_PARTS & set(p.relative_to(path).parts)
                      and p.suffix != ".pyc"]
    return sorted(files)


def source_digest(project_dir: Path) -> str:
    """SHA-256 over the build's inputs (paths and contents) and the tools' versions."""
    digest = hashlib.sha256()
    for path in _files(project_dir):
        digest.update(path.relative_to(project_dir).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(sys.version.encode("utf-8"))
    for tool in TOOLS:
        try:
            digest.update(f"{tool}=={metadata.version(tool)}".encode("utf-8"))
        except metadata.PackageNotFoundError:
            digest.update(f"{tool} missing".encode("utf-8"))
    return digest.hexdigest()


def forget(out_dir: Path) -> None:
    """Remove the report before a build starts (a build that fails must not look finished)."""
    (out_dir / REPORT_NAME).unlink(missing_ok=True)


def write(out_dir: Path, *, digest: str, stdout: list[str], lint_errors: int) -> Path:
    """Record a finished build: the digest taken before it began, what it printed, cfn-lint's errors."""
    path = out_dir / REPORT_NAME
    path.write_text(json.dumps({"source_digest": digest, "stdout": stdout, "lint_errors": lint_errors},
                               ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def fresh(out_dir: Path, project_dir: Path) -> dict[str, Any] | None:
    """The report of the build in ``out_dir`` if it was built from the sources as they are now."""
    path = out_dir / REPORT_NAME
    if not path.is_file() or not (out_dir / "template.yaml").is_file():
        return None
    report = json.loads(path.read_text(encoding="utf-8"))
    return report if report.get("source_digest") == source_digest(project_dir) else None
