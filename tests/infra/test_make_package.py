"""`make package` on this project: one deployable, cfn-lint-clean, partition-neutral template.

One test on purpose: packaging takes seconds, and pytest-xdist would run a shared module fixture
once per worker. Under `make test` the build is the one `make checks` just made (build/, reused only
when its report's source digest matches the sources now: infra/package_report.py); run alone, or
after a source changed, the test runs `python -m infra.package` itself.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.integration.sender import WEBHOOK_SENDER_CONCURRENCY
from infra import package_report
from chalicelib.local.bootstrap import PROJECT_ROOT
from chalicelib.local.pump import STREAM_MAXIMUM_RETRY_ATTEMPTS

MAIN_QUEUES = {"OutboxQueue", "NotifyQueue", "WorkflowQueue", "ReportsQueue"}


def dead_letter_targets(resources: dict[str, Any]) -> set[str]:
    """Queues that are some queue's DLQ or a stream mapping's on-failure destination."""
    targets = {r["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
               for r in resources.values() if r["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in r["Properties"]}
    for resource in resources.values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            if event["Type"] == "DynamoDB":
                targets.add(event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0])
    return targets | {r["Metadata"]["StreamFailureQueue"] for r in resources.values()
                      if r["Type"] == "AWS::DynamoDB::Table"}


def make_package(tmp_path: Path) -> tuple[Path, str, str]:
    """``make package``'s output folder, what it printed, and its whole report (stdout + stderr):
    the project's build/ when it was built from the sources as they are now, else a new build."""
    reused = package_report.fresh(PROJECT_ROOT / "build", PROJECT_ROOT)
    if reused is not None:
        assert reused["lint_errors"] == 0, reused
        stdout = "\n".join(reused["stdout"]) + "\n"
        return PROJECT_ROOT / "build", stdout, stdout
    out = tmp_path / "build"
    completed = subprocess.run([sys.executable, "-m", "infra.package", "--out", str(out)], cwd=PROJECT_ROOT,
                               env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
                               capture_output=True, text=True, timeout=600, check=False)
    report = completed.stdout + completed.stderr
    assert completed.returncode == 0, report
    written = json.loads((out / package_report.REPORT_NAME).read_text(encoding="utf-8"))  # for the next run
    assert written["lint_errors"] == 0 and written["stdout"][-1] in completed.stdout, written
    return out, completed.stdout, report


@pytest.mark.package
def test_make_package_builds_a_clean_deployable_template(tmp_path: Path) -> None:
    out, stdout, report = make_package(tmp_path)

    # chalice package + merge + cfn-lint (global and China regions) with zero errors
    summary = re.search(r"cfn-lint: (\d+) error\(s\)", stdout)
    assert summary and summary.group(1) == "0", report
    text = (out / "template.yaml").read_text(encoding="utf-8")
    template = yaml.safe_load(text)
    resources = template["Resources"]

    # no ARN bound to the aws partition (AWS China is aws-cn)
    assert "arn:aws:" not in text

    # the table: point-in-time recovery, SSE-KMS, deletion protection
    table = resources["TicketsTable"]["Properties"]
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": "DataKey"}}
    assert table["DeletionProtectionEnabled"] is True

    # every queue has a DLQ (the DLQs themselves aside), and each DLQ exists
    queues = {lid: r["Properties"] for lid, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    dead_letter = dead_letter_targets(resources)
    assert MAIN_QUEUES <= set(queues) - dead_letter
    for logical_id in set(queues) - dead_letter:
        redrive = queues[logical_id]["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == 5, logical_id
        assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in queues, logical_id

    # the functions: deployable artifacts, infra roles, infra environment
    functions = {lid: r["Properties"] for lid, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    assert "APIHandler" in functions
    for logical_id, props in functions.items():
        assert (out / props["CodeUri"]).is_file(), logical_id
        for layer in props.get("Layers", []):
            assert (out / resources[layer["Ref"]]["Properties"]["ContentUri"]).is_file(), logical_id
        assert resources[props["Role"]["Fn::GetAtt"][0]]["Type"] == "AWS::IAM::Role", logical_id
    assert functions["APIHandler"]["Role"] == {"Fn::GetAtt": ["ApiFunctionRole", "Arn"]}
    assert template["Globals"]["Function"]["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": "TicketsTable"}

    # API Gateway's own failures carry the error envelope, as part of the API definition
    responses = resources["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    assert {"UNAUTHORIZED", "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"} <= set(responses)
    for response in responses.values():
        body = json.loads(response["responseTemplates"]["application/json"])
        assert set(body["error"]) == {"code", "message", "details"}

    # Lambda's limit: every function's code + layers unzipped under 250 MiB, as make package printed
    printed = dict(re.findall(r"^size: (\w+): ([\d.]+) MiB unzipped", stdout, re.M))
    assert set(printed) == set(functions), report
    assert all(float(mib) <= 250 for mib in printed.values()), report
    # the model layers: prediction for the API and the stream (auto-dispatch), the full one for retraining
    layers = {lid: {layer["Ref"] for layer in props.get("Layers", [])} for lid, props in functions.items()}
    assert "DispatchPredictLayer" in layers["APIHandler"] and "DispatchPredictLayer" in layers["TableStream"]
    assert "DispatchModelLayer" in layers["DispatchRetraining"]
    assert "DispatchPredictLayer" not in layers["DispatchRetraining"]
    assert not any("DispatchModelLayer" in ids for lid, ids in layers.items() if lid != "DispatchRetraining")
    with zipfile.ZipFile(out / functions["APIHandler"]["CodeUri"]) as archive:
        names = archive.namelist()
    assert "app.py" in names and not [n for n in names if n.startswith("chalicelib/local/") or "moto/" in n]
    # the deployed code imports without the local runtime and without moto
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(out / functions["APIHandler"]["CodeUri"]) as archive:
        archive.extractall(unpacked)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"STAGE": "local"}
    imported = subprocess.run([sys.executable, "-c", "import sys; sys.modules['moto'] = None; import app; "
                               "assert 'chalicelib.local' not in sys.modules"],
                              cwd=unpacked, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert imported.returncode == 0, imported.stderr[-3000:]

    # partial batch responses on every queue and stream mapping; the stream's failures go to StreamDLQ
    for logical_id, props in functions.items():
        for event in (props.get("Events") or {}).values():
            if event["Type"] in ("SQS", "DynamoDB"):
                assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"], logical_id
            if event["Type"] == "DynamoDB":
                assert event["Properties"]["BisectBatchOnFunctionError"] is True
                assert event["Properties"]["MaximumRetryAttempts"] == STREAM_MAXIMUM_RETRY_ATTEMPTS
    sender = functions["WebhookSender"]["Events"]["WebhookSenderSqsEventSource"]["Properties"]
    assert sender["ScalingConfig"]["MaximumConcurrency"] == WEBHOOK_SENDER_CONCURRENCY

    # operations: every function's log group keeps logs LogRetentionDays; Errors/Throttles alarms for
    # each, IteratorAge for the stream consumer; every alarm notifies the ops topic
    alarms = {lid: r["Properties"] for lid, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    for logical_id in functions:
        group = resources[f"{logical_id}LogGroup"]["Properties"]
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{{logical_id}}}"}
        assert f"{logical_id}ErrorsAlarm" in alarms and f"{logical_id}ThrottlesAlarm" in alarms
    assert alarms["TableStreamIteratorAgeAlarm"]["MetricName"] == "IteratorAge"
    assert "TicketFlowFailedAlarm" in alarms and "StreamDLQAlarm" in alarms
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    assert resources["AlarmTopicEmail"]["Properties"]["Endpoint"] == {"Ref": "OpsEmail"}
    logging = resources["TicketFlowStateMachine"]["Properties"]["LoggingConfiguration"]
    assert logging["Level"] == "ERROR" and logging["IncludeExecutionData"] is False
    assert "&id" not in text and "*id" not in text, "CloudFormation does not resolve YAML aliases"
