"""Static guarantees of infra/template.yaml (the merged template is checked in test_make_package.py)."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.local.asl import placeholders, read_definition
from chalicelib.local.bootstrap import PROJECT_ROOT, TEMPLATE_PATH, references

TEMPLATE: dict[str, Any] = yaml.safe_load(TEMPLATE_PATH.read_text(encoding="utf-8"))
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def of_type(kind: str) -> dict[str, Any]:
    return {lid: r for lid, r in RESOURCES.items() if r["Type"] == kind}


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [value] if isinstance(value, str) else []


def test_the_template_reads_with_plain_yaml_and_uses_no_literal_partition() -> None:
    text = TEMPLATE_PATH.read_text(encoding="utf-8")

    assert not re.search(r"!(Ref|GetAtt|Sub|Join|If|Select)\b", text), "use long-form intrinsics"
    assert not any("arn:aws:" in s for s in strings(TEMPLATE))
    assert all(s.startswith("arn:${AWS::Partition}:") for s in strings(TEMPLATE) if s.startswith("arn:"))


def test_every_reference_points_at_a_declared_resource_or_parameter() -> None:
    declared = set(RESOURCES) | set(TEMPLATE.get("Parameters", {}))
    chalice_made = {"RestAPI"}  # the gateway responses attach to Chalice's API

    for logical_id, resource in RESOURCES.items():
        assert references(resource) - declared - chalice_made == set(), logical_id
    assert references(TEMPLATE["Globals"]) <= declared


def test_the_functions_environment_is_the_contract() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]

    assert variables["TABLE_NAME"] == {"Ref": "TicketsTable"}
    assert variables["TICKET_FLOW_ARN"] == {"Ref": "TicketFlowStateMachine"}
    for name in ("REPORTS", "EXPORTS", "MODELS"):
        assert variables[f"{name}_BUCKET"] == {"Ref": f"{name.title()}Bucket"}
    for name in ("OUTBOX", "NOTIFY", "WORKFLOW", "REPORTS"):
        assert variables[f"{name}_QUEUE_URL"] == {"Ref": f"{name.title()}Queue"}
        assert variables[f"{name}_DLQ_URL"] == {"Ref": f"{name.title()}DLQ"}


def test_the_table_is_protected_encrypted_and_indexed() -> None:
    table = RESOURCES["TicketsTable"]
    props = table["Properties"]

    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"
    assert props["DeletionProtectionEnabled"] is True
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Ref": "DataKey"}}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert [k["AttributeName"] for k in props["KeySchema"]] == ["PK", "SK"]
    indexes = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
    assert sorted(indexes) == ["GSI1", "GSI2", "GSI3", "GSI4"]
    for name, index in indexes.items():
        assert [k["AttributeName"] for k in index["KeySchema"]] == [f"{name}PK", f"{name}SK"]
        assert index["Projection"] == {"ProjectionType": "ALL"}
    assert all(a["AttributeType"] == "S" for a in props["AttributeDefinitions"])
    assert RESOURCES["DataKey"]["Properties"]["EnableKeyRotation"] is True


@pytest.mark.parametrize("bucket", ["ReportsBucket", "ExportsBucket", "ModelsBucket"])
def test_buckets_are_versioned_encrypted_private_and_tls_only(bucket: str) -> None:
    props = RESOURCES[bucket]["Properties"]
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    policies = [p for p in of_type("AWS::S3::BucketPolicy").values() if p["Properties"]["Bucket"] == {"Ref": bucket}]

    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert rule == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["DataKey", "Arn"]}}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert len(policies) == 1
    statement = policies[0]["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_every_queue_has_a_dead_letter_queue_and_every_dlq_an_alarm() -> None:
    queues = of_type("AWS::SQS::Queue")
    dlqs = {q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            for q in queues.values() if "RedrivePolicy" in q["Properties"]}
    failure_queues = {r["Metadata"]["StreamFailureQueue"] for r in of_type("AWS::DynamoDB::Table").values()}
    alarmed = {a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: a["Properties"]
               for a in of_type("AWS::CloudWatch::Alarm").values() if a["Properties"].get("Namespace") == "AWS/SQS"}
    # every alarm of the template (DLQs, the state machine) notifies the ops topic
    assert all(a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
               for a in of_type("AWS::CloudWatch::Alarm").values())

    assert {"OutboxQueue", "NotifyQueue", "WorkflowQueue", "ReportsQueue"} <= set(queues)
    for logical_id, queue in queues.items():
        props = queue["Properties"]
        assert props["SqsManagedSseEnabled"] is True, logical_id
        if logical_id in dlqs | failure_queues:
            continue
        assert props["RedrivePolicy"]["maxReceiveCount"] == 5, logical_id
    for dlq in dlqs | failure_queues:
        alarm = alarmed[dlq]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_the_state_machine_role_is_left_to_its_definition() -> None:
    role = RESOURCES["TicketFlowRole"]["Properties"]

    # infra/package.py writes its task permissions from the ASL's Task states (tests/infra/test_package_merge.py);
    # what is written here (logging) grants no service integration
    written = [a for p in role.get("Policies", []) for st in p["PolicyDocument"]["Statement"]
               for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])]
    assert not [a for a in written if a.split(":")[0] in ("dynamodb", "sqs", "sns", "lambda", "states")]
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "states.amazonaws.com"}


def test_the_state_machine_definition_file_has_every_placeholder_filled() -> None:
    machine = RESOURCES["TicketFlowStateMachine"]
    definition = read_definition(PROJECT_ROOT / machine["Metadata"]["DefinitionFile"])

    assert machine["Properties"]["StateMachineType"] == "STANDARD"
    assert placeholders(json.dumps(definition)) <= set(machine["Properties"]["DefinitionSubstitutions"])
    assert "arn:aws:" not in json.dumps(definition), "write arn:${Partition}:states:::... in ASL files"


def test_schedules_fire_at_the_agreed_times() -> None:
    rules = {r["Metadata"]["ChaliceHandler"]: r["Properties"] for r in of_type("AWS::Events::Rule").values()}

    assert rules["sweeper"]["ScheduleExpression"] == "rate(5 minutes)"
    assert rules["monthly_reports"]["ScheduleExpression"] == "cron(0 0 1 * ? *)"  # 08:00 Asia/Shanghai


def _role_statements(role_id: str) -> list[dict]:
    props = RESOURCES[role_id]["Properties"]
    documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
    documents += [RESOURCES[ref["Ref"]]["Properties"]["PolicyDocument"] for ref in props.get("ManagedPolicyArns", [])]
    return [s for d in documents for s in d["Statement"]]


def test_partner_secrets_only_for_the_api_and_the_partner_functions() -> None:
    partners = {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:partners/*"}
    readers = {}
    for role_id in of_type("AWS::IAM::Role"):
        for statement in _role_statements(role_id):
            actions = [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
            if any(a.startswith("secretsmanager:") for a in actions) and statement["Resource"] == partners:
                readers[role_id] = set(actions)

    assert set(readers) == {"ApiFunctionRole", "PartnerFunctionRole"}
    assert "secretsmanager:CreateSecret" in readers["ApiFunctionRole"]  # the registry makes key bundles
    assert readers["PartnerFunctionRole"] == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}


def test_gateway_responses_carry_the_error_envelope() -> None:
    responses = {r["Properties"]["ResponseType"]: r["Properties"]
                 for r in of_type("AWS::ApiGateway::GatewayResponse").values()}

    assert {"UNAUTHORIZED", "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"} <= set(responses)
    for kind, props in responses.items():
        body = json.loads(props["ResponseTemplates"]["application/json"])
        assert set(body) == {"error"}, kind
        assert set(body["error"]) == {"code", "message", "details"}, kind
        assert body["error"]["details"] == {}
    assert responses["THROTTLED"]["StatusCode"] == "503"
    assert responses["THROTTLED"]["ResponseParameters"]["gatewayresponse.header.Retry-After"] == "'1'"
    assert responses["UNAUTHORIZED"]["StatusCode"] == "401"
    assert responses["ACCESS_DENIED"]["StatusCode"] == "403"


def test_definition_files_are_relative_to_the_project_root() -> None:
    for machine in of_type("AWS::StepFunctions::StateMachine").values():
        path = Path(machine["Metadata"]["DefinitionFile"])
        assert not path.is_absolute() and (PROJECT_ROOT / path).is_file()
