"""The external checkers `make test` runs (infra/checks.py) do fail on what they must refuse.

`make checks` (a prerequisite of `make test`) runs them on build/template.yaml and stepfunctions/;
here each is shown a definition or template it must reject, so a checker that silently passes
everything (wrong path, wrong flags, unparsed output) cannot go unnoticed.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from infra import checks

BROKEN_ASL = {"StartAt": "Missing", "States": {"Only": {"Type": "Pass", "End": True}}}


@pytest.fixture
def infra_template() -> dict:
    with open(checks.INFRA_TEMPLATE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _require(tool: Path) -> None:
    if not tool.exists():
        pytest.skip(f"{tool} not installed (make tools; make test installs it before the tests)")


def test_statelint_and_asl_validator_reject_a_broken_definition(tmp_path: Path, infra_template: dict) -> None:
    _require(checks.TOOLS_VENV / "bin" / "statelint")
    _require(checks.NODE_TOOLS / "asl-validator")
    broken = tmp_path / "broken.asl.json"
    broken.write_text(json.dumps(BROKEN_ASL), encoding="utf-8")

    assert not checks.run_statelint([broken])[0].ok
    assert [r.ok for r in checks.run_asl_validator([broken], infra_template)] == [False, False]


def test_every_definition_in_stepfunctions_passes_both_validators(infra_template: dict) -> None:
    _require(checks.TOOLS_VENV / "bin" / "statelint")
    _require(checks.NODE_TOOLS / "asl-validator")
    definitions = checks.definitions()
    assert definitions, "stepfunctions/ has no *.asl.json"
    results = checks.run_statelint(definitions) + checks.run_asl_validator(definitions, infra_template)
    assert [(r.tool, r.target, r.output) for r in results if not r.ok] == []


def test_placeholders_are_filled_as_cloudformation_fills_them_for_each_partition(infra_template: dict) -> None:
    for definition in checks.definitions():
        for partition in checks.PARTITIONS:
            text = checks.filled(definition, infra_template, partition)
            assert "${" not in text, (definition, partition)
            resources = [s.get("Resource") for s in _states(json.loads(text)) if s.get("Type") == "Task"]
            assert resources and all(r.startswith(f"arn:{partition}:states:::") for r in resources)


def _states(definition: dict) -> list[dict]:
    found = []
    for state in definition.get("States", {}).values():
        found.append(state)
        for branch in state.get("Branches", []) + ([state["Iterator"]] if "Iterator" in state else []) + (
                [state["ItemProcessor"]] if "ItemProcessor" in state else []):
            found += _states(branch)
    return found


def test_checkov_fails_a_template_with_an_unencrypted_queue_and_passes_it_once_skipped(tmp_path: Path) -> None:
    _require(checks.TOOLS_VENV / "bin" / "checkov")
    template = {"AWSTemplateFormatVersion": "2010-09-09",
                "Resources": {"Plain": {"Type": "AWS::SQS::Queue", "Properties": {}},
                              "Encrypted": {"Type": "AWS::SQS::Queue", "Properties": {"KmsMasterKeyId": "alias/aws/sqs"}}}}
    path = tmp_path / "template.yaml"
    path.write_text(yaml.safe_dump(template), encoding="utf-8")
    result = checks.run_checkov(path)
    assert not result.ok and "CKV_AWS_27" in result.output

    template["Resources"]["Plain"]["Metadata"] = {"checkov": {"skip": [{"id": "CKV_AWS_27", "comment": "test"}]}}
    path.write_text(yaml.safe_dump(template), encoding="utf-8")
    assert checks.run_checkov(path).ok
