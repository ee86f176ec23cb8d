"""Filling the ${Placeholders} of ASL files the way CloudFormation's DefinitionSubstitutions does."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.local.asl import AslError, fill, load_definition, placeholders, read_definition

DEFINITION = {
    "StartAt": "Load",
    "States": {
        "Load": {
            "Type": "Task",
            "Resource": "arn:${Partition}:states:::dynamodb:getItem",
            "Parameters": {"TableName": "${TableName}", "Key": {"PK": {"S.$": "$.pk"}}},
            "ResultPath": "$$.Execution.Input",
            "Next": "Hand",
        },
        "Hand": {
            "Type": "Task",
            "Resource": "arn:${Partition}:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "${WorkflowQueueUrl}", "MessageBody.$": "States.Format('{}', $.pk)"},
            "End": True,
        },
    },
}
VALUES = {"Partition": "aws-cn", "TableName": "tickets", "WorkflowQueueUrl": "https://sqs/1/workflow"}


@pytest.fixture
def asl_file(tmp_path: Path) -> Path:
    path = tmp_path / "flow.asl.json"
    path.write_text(json.dumps(DEFINITION), encoding="utf-8")
    return path


def test_placeholders_are_found_but_jsonpath_and_intrinsics_are_not(asl_file: Path) -> None:
    assert placeholders(asl_file.read_text()) == {"Partition", "TableName", "WorkflowQueueUrl"}


def test_load_definition_fills_every_placeholder(asl_file: Path) -> None:
    filled = json.loads(load_definition(asl_file, VALUES))

    assert filled["States"]["Load"]["Resource"] == "arn:aws-cn:states:::dynamodb:getItem"
    assert filled["States"]["Load"]["Parameters"]["TableName"] == "tickets"
    assert filled["States"]["Hand"]["Parameters"]["QueueUrl"] == "https://sqs/1/workflow"
    assert filled["States"]["Hand"]["Parameters"]["MessageBody.$"] == "States.Format('{}', $.pk)"
    assert filled["States"]["Load"]["ResultPath"] == "$$.Execution.Input"


def test_a_placeholder_without_a_value_is_refused_by_name(asl_file: Path) -> None:
    with pytest.raises(AslError, match="TableName, WorkflowQueueUrl"):
        load_definition(asl_file, {"Partition": "aws"})


def test_a_value_that_breaks_the_json_is_refused() -> None:
    with pytest.raises(AslError, match="not valid JSON"):
        fill('{"a": "${X}"}', {"X": 'say "hi"'})


def test_broken_or_missing_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.asl.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "list.asl.json").write_text("[]", encoding="utf-8")

    with pytest.raises(AslError, match="not valid JSON"):
        read_definition(tmp_path / "bad.asl.json")
    with pytest.raises(AslError, match="StartAt and States"):
        read_definition(tmp_path / "list.asl.json")
    with pytest.raises(AslError, match="cannot read"):
        read_definition(tmp_path / "missing.asl.json")
