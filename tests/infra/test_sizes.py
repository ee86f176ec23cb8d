"""Lambda's unzipped size limit and what never ships, checked on small artifacts made here.

(`make package` runs the same check on the real deployment.zip and model layers:
tests/infra/test_make_package.py.)
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from infra import sizes


def _zip(path: Path, members: dict[str, int]) -> str:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, size in members.items():
            archive.writestr(name, b"\0" * size)  # compresses to almost nothing: only unzipped size counts
    return path.name


def _template(code: str, layers: dict[str, str]) -> dict:
    resources = {name: {"Type": sizes.LAYER_TYPE, "Properties": {"ContentUri": uri}} for name, uri in layers.items()}
    resources["Fn"] = {"Type": sizes.FUNCTION_TYPE,
                       "Properties": {"CodeUri": code, "Layers": [{"Ref": name} for name in layers]}}
    return {"Resources": resources}


def test_code_and_layers_are_added_up_unzipped_and_refused_over_the_limit(tmp_path: Path) -> None:
    code = _zip(tmp_path / "code.zip", {"app.py": 1000, "chalicelib/x.py": 1000})
    layer = _zip(tmp_path / "layer.zip", {"python/numpy/core.so": 6000})
    template = _template(code, {"Model": layer})

    (measured,) = sizes.check(template, tmp_path, limit=8000)
    assert (measured.code, measured.layers, measured.total) == (2000, {"Model": 6000}, 8000)
    with pytest.raises(sizes.SizeError, match="Fn: "):
        sizes.check(template, tmp_path, limit=7999)
    assert sizes.LAMBDA_UNZIPPED_LIMIT == 250 * 1024 * 1024


def test_the_local_runtime_and_moto_never_ship(tmp_path: Path) -> None:
    code = _zip(tmp_path / "code.zip", {"app.py": 10, "chalicelib/local/runtime.py": 10, "chalicelib/store/x.py": 10})
    assert sizes.forbidden_members(tmp_path / code) == ["chalicelib/local/runtime.py"]
    with pytest.raises(sizes.SizeError, match="chalicelib/local/runtime.py"):
        sizes.check(_template(code, {}), tmp_path)

    assert sizes.strip_not_deployed(tmp_path / code) == 1
    with zipfile.ZipFile(tmp_path / code) as archive:
        assert archive.namelist() == ["app.py", "chalicelib/store/x.py"]
    sizes.check(_template(code, {}), tmp_path)

    layer = _zip(tmp_path / "layer.zip", {"python/lib/python3.11/site-packages/moto/core.py": 10})
    with pytest.raises(sizes.SizeError, match="moto/core.py"):
        sizes.check(_template(code, {"Deps": layer}), tmp_path)


def test_layers_attach_to_the_functions_named_and_refuse_an_unknown_one(tmp_path: Path) -> None:
    project, out = tmp_path / "project", tmp_path / "project" / "build"
    (project / "layers" / "build").mkdir(parents=True)
    out.mkdir()
    _zip(project / "layers" / "build" / "predict.zip", {"python/jieba/__init__.py": 10})
    resources = {
        "APIHandler": {"Type": sizes.FUNCTION_TYPE, "Properties": {"CodeUri": "chalice/deployment.zip",
                                                                   "Layers": [{"Ref": "ManagedLayer"}]}},
        "Predict": {"Type": sizes.LAYER_TYPE, "Metadata": {"LayerBuild": "predict", "AttachTo": ["APIHandler"]},
                    "Properties": {"ContentUri": "layers/build/predict.zip"}},
    }
    sizes.attach_layers(resources, project_dir=project, out_dir=out, build=False)
    assert resources["APIHandler"]["Properties"]["Layers"] == [{"Ref": "ManagedLayer"}, {"Ref": "Predict"}]
    assert resources["Predict"]["Properties"]["ContentUri"] == "../layers/build/predict.zip"

    resources["Predict"]["Metadata"]["AttachTo"] = ["Retraining"]
    with pytest.raises(sizes.SizeError, match="Retraining"):
        sizes.attach_layers(resources, project_dir=project, out_dir=out, build=False)
