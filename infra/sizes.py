"""What each deployed function carries, and Lambda's size limit on it (``make package``).

Lambda refuses a function whose code and layers, unzipped, exceed 250 MiB (262,144,000 bytes).
``make package`` therefore:

- builds the dispatch model layers that infra/template.yaml declares (``Metadata.LayerBuild``:
  ``layers/build_model_layer.sh predict|full``) unless the zip is newer than everything it is
  built from, and attaches each one to the Chalice functions its ``Metadata.AttachTo`` names
  (the predict-only layer to the functions that recommend departments, the full one to retraining);
- removes the local runtime (``chalicelib/local/``) from Chalice's deployment.zip: it is the
  embedded AWS for ``make run`` and tests, and nothing deployed imports it; moto is never in
  requirements.txt, so it cannot reach the automatic layer, and the check below proves both;
- adds up, for every function, the unzipped size of its code and of each of its layers, and fails
  when one is over the limit.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LAMBDA_UNZIPPED_LIMIT = 262_144_000  # bytes: 250 MiB, function code + all its layers
NOT_DEPLOYED = ("chalicelib/local/",)  # removed from deployment.zip
NEVER_IN_AN_ARTIFACT = ("chalicelib/local/", "moto/", "python/moto/")  # any zip, at any depth of site-packages
LAYER_TYPE = "AWS::Serverless::LayerVersion"
FUNCTION_TYPE = "AWS::Serverless::Function"
LAYER_SOURCES = ("layers/build_model_layer.sh", "requirements-model.txt", "data/dispatch", "data/taxonomy",
                 "chalicelib/dispatch")


class SizeError(RuntimeError):
    """A function would not deploy: over Lambda's unzipped limit, or carrying what must not ship."""


@dataclass(frozen=True)
class FunctionSize:
    """A function's unzipped bytes: its code and each of its layers."""

    function: str
    code: int
    layers: dict[str, int]

    @property
    def total(self) -> int:
        return self.code + sum(self.layers.values())

    def describe(self) -> str:
        mib = 1024 * 1024
        parts = ", ".join(f"{name} {size / mib:.1f}" for name, size in self.layers.items())
        return f"{self.function}: {self.total / mib:.1f} MiB unzipped (code {self.code / mib:.1f}; layers: {parts or 'none'})"


def unzipped_size(path: Path) -> int:
    """The bytes ``path`` takes once unzipped (what Lambda counts)."""
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def forbidden_members(path: Path) -> list[str]:
    """Members of the zip at ``path`` that must never be deployed (the local runtime, moto)."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    return [name for name in names
            if any(name.startswith(prefix) or f"/site-packages/{prefix}" in name for prefix in NEVER_IN_AN_ARTIFACT)]


def strip_not_deployed(path: Path) -> int:
    """Rewrite the zip at ``path`` without the :data:`NOT_DEPLOYED` folders; returns how many
    members were removed."""
    with zipfile.ZipFile(path) as archive:
        keep = [info for info in archive.infolist() if not info.filename.startswith(NOT_DEPLOYED)]
        removed = len(archive.infolist()) - len(keep)
        if not removed:
            return 0
        members = [(info, archive.read(info)) for info in keep]
    temporary = path.with_suffix(".tmp")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            archive.writestr(info, data)
    temporary.replace(path)
    return removed


def _newest_source(project_dir: Path) -> float:
    newest = 0.0
    for source in LAYER_SOURCES:
        path = project_dir / source
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()] if path.exists() else []
        newest = max([newest, *(f.stat().st_mtime for f in files)])
    return newest


def build_layer(project_dir: Path, kind: str, zip_path: Path) -> None:
    """Run ``layers/build_model_layer.sh kind`` unless ``zip_path`` is newer than its sources."""
    if zip_path.exists() and zip_path.stat().st_mtime >= _newest_source(project_dir):
        return
    completed = subprocess.run(["bash", str(project_dir / "layers" / "build_model_layer.sh"), kind],
                               cwd=project_dir, capture_output=True, text=True, check=False,
                               env={**os.environ, "PYTHON": sys.executable})  # the venv the tests ran in
    if completed.returncode != 0 or not zip_path.exists():
        raise SizeError(f"building the {kind} model layer failed ({completed.returncode}):\n"
                        f"{completed.stdout[-4000:]}{completed.stderr[-4000:]}")


def attach_layers(resources: dict[str, Any], *, project_dir: Path, out_dir: Path, build: bool = True) -> list[str]:
    """Build infra's model layers, point their ``ContentUri`` at the zips (relative to ``out_dir``)
    and add each to the functions its ``Metadata.AttachTo`` names; returns notes for the log."""
    notes: list[str] = []
    for logical_id, layer in list(resources.items()):
        meta = layer.get("Metadata") or {}
        if layer.get("Type") != LAYER_TYPE or "LayerBuild" not in meta:
            continue
        props = layer["Properties"]
        zip_path = (project_dir / props["ContentUri"]).resolve()
        if build:
            build_layer(project_dir, str(meta["LayerBuild"]), zip_path)
        props["ContentUri"] = os.path.relpath(zip_path, out_dir)
        for function_id in meta.get("AttachTo") or []:
            function = resources.get(function_id)
            if not function or function.get("Type") != FUNCTION_TYPE:
                raise SizeError(f"{logical_id}: Metadata.AttachTo names {function_id!r}, which is no function "
                                f"of the app (chalice package emits it under another logical id?)")
            layers = function["Properties"].setdefault("Layers", [])
            if {"Ref": logical_id} not in layers:
                layers.append({"Ref": logical_id})
        notes.append(f"{logical_id} ({meta['LayerBuild']}) on {', '.join(meta.get('AttachTo') or []) or 'no function'}")
    return notes


def function_sizes(template: dict[str, Any], out_dir: Path) -> list[FunctionSize]:
    """Every function's unzipped code and layers, as the artifacts in ``out_dir`` stand."""
    resources = template["Resources"]
    cache: dict[Path, int] = {}

    def size(relative: str) -> int:
        path = (out_dir / relative).resolve()
        if path not in cache:
            if not path.is_file():
                raise SizeError(f"{relative} (from {out_dir}) does not exist")
            cache[path] = unzipped_size(path)
        return cache[path]

    sizes = []
    for logical_id, resource in resources.items():
        if resource.get("Type") != FUNCTION_TYPE:
            continue
        props = resource["Properties"]
        layers = {}
        for layer in props.get("Layers") or []:
            layer_id = layer["Ref"] if isinstance(layer, dict) else str(layer)
            layers[layer_id] = size(resources[layer_id]["Properties"]["ContentUri"])
        sizes.append(FunctionSize(function=logical_id, code=size(props["CodeUri"]), layers=layers))
    return sizes


def check(template: dict[str, Any], out_dir: Path, limit: int = LAMBDA_UNZIPPED_LIMIT) -> list[FunctionSize]:
    """Raise :class:`SizeError` when a function is over ``limit`` or an artifact carries the local
    runtime or moto; returns every function's sizes."""
    sizes = function_sizes(template, out_dir)
    over = [s.describe() for s in sizes if s.total > limit]
    if over:
        raise SizeError(f"over Lambda's {limit / 1024 / 1024:.0f} MiB unzipped limit: " + "; ".join(over))
    artifacts = {template["Resources"][s.function]["Properties"]["CodeUri"] for s in sizes}
    artifacts |= {r["Properties"]["ContentUri"] for r in template["Resources"].values() if r.get("Type") == LAYER_TYPE}
    for artifact in sorted(artifacts):
        bad = forbidden_members((out_dir / artifact).resolve())
        if bad:
            raise SizeError(f"{artifact} carries what is never deployed: {', '.join(bad[:5])}")
    return sizes
