"""The local bootstrap against a real moto server: every resource of infra/, idempotent, checked."""
from __future__ import annotations

import json
import socket
from typing import Any

import boto3
import pytest

from chalicelib.local import bootstrap as bootstrap_module
from chalicelib.local.bootstrap import (
    BootstrapError,
    bootstrap,
    check_resources,
    creation_order,
    load_template,
    scheduled_rules,
)

REGION = "us-east-1"
CONTRACT = {
    "TABLE_NAME", "REPORTS_BUCKET", "EXPORTS_BUCKET", "MODELS_BUCKET",
    "OUTBOX_QUEUE_URL", "NOTIFY_QUEUE_URL", "WORKFLOW_QUEUE_URL", "REPORTS_QUEUE_URL",
    "OUTBOX_DLQ_URL", "NOTIFY_DLQ_URL", "WORKFLOW_DLQ_URL", "REPORTS_DLQ_URL", "TICKET_FLOW_ARN",
}


def _bucket_policy(s3: Any, name: str) -> dict | None:
    try:
        return json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    except s3.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchBucketPolicy":
            return None
        raise


def client(endpoint: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def state_of(endpoint: str) -> dict[str, Any]:
    """Everything the bootstrap creates, as the services describe it (for before/after comparisons)."""
    dynamodb, s3, sqs = client(endpoint, "dynamodb"), client(endpoint, "s3"), client(endpoint, "sqs")
    sfn, events, kms = client(endpoint, "stepfunctions"), client(endpoint, "events"), client(endpoint, "kms")
    iam, cloudwatch = client(endpoint, "iam"), client(endpoint, "cloudwatch")
    tables = {name: dynamodb.describe_table(TableName=name)["Table"] for name in dynamodb.list_tables()["TableNames"]}
    buckets = {}
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        buckets[name] = {
            "created": bucket["CreationDate"],
            "versioning": s3.get_bucket_versioning(Bucket=name).get("Status"),
            "encryption": s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"],
            "public": s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"],
            "policy": _bucket_policy(s3, name),
        }
    queues = {url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
              for url in sqs.list_queues().get("QueueUrls", [])}
    machines = {m["name"]: sfn.describe_state_machine(stateMachineArn=m["stateMachineArn"])
                for m in sfn.list_state_machines()["stateMachines"]}
    for machine in machines.values():
        machine.pop("ResponseMetadata", None)
    rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
    return {
        "tables": tables, "buckets": buckets, "queues": queues, "machines": machines, "rules": rules,
        "keys": sorted(k["KeyId"] for k in kms.list_keys()["Keys"]),
        "aliases": sorted(a["AliasName"] for a in kms.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")),
        "roles": sorted(r["RoleName"] for r in iam.list_roles()["Roles"]),
        "alarms": {a["AlarmName"]: a["Threshold"] for a in cloudwatch.describe_alarms()["MetricAlarms"]},
    }


def test_bootstrap_creates_every_resource_of_the_template(endpoint: str) -> None:
    env = bootstrap(endpoint, region=REGION)

    assert CONTRACT <= set(env)
    assert "JWT_ISSUER" not in env  # a deploy-time parameter without a default
    assert env["JWT_AUDIENCE"] == "complaint-platform"
    state = state_of(endpoint)

    table = state["tables"][env["TABLE_NAME"]]
    assert {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {"GSI1", "GSI2", "GSI3", "GSI4"}
    assert all(i["Projection"]["ProjectionType"] == "ALL" for i in table["GlobalSecondaryIndexes"])
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert env["TABLE_STREAM_ARN"] == table["LatestStreamArn"]
    assert table["SSEDescription"]["SSEType"] == "KMS"
    dynamodb = client(endpoint, "dynamodb")
    ttl = dynamodb.describe_time_to_live(TableName=env["TABLE_NAME"])["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")
    backups = dynamodb.describe_continuous_backups(TableName=env["TABLE_NAME"])["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"

    for key in ("REPORTS_BUCKET", "EXPORTS_BUCKET", "MODELS_BUCKET"):
        bucket = state["buckets"][env[key]]
        assert bucket["versioning"] == "Enabled"
        assert bucket["encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert all(bucket["public"].values()) and len(bucket["public"]) == 4
        # the template's only statement is "deny plain HTTP", which moto would apply to every call:
        # the embedded runtime leaves it out (tests/infra/test_infra_template.py checks the template)
        assert bucket["policy"] is None

    arns = {url: attrs["QueueArn"] for url, attrs in state["queues"].items()}
    for name in ("OUTBOX", "NOTIFY", "WORKFLOW", "REPORTS"):
        attributes = state["queues"][env[f"{name}_QUEUE_URL"]]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == arns[env[f"{name}_DLQ_URL"]]
        assert int(redrive["maxReceiveCount"]) == 5
        assert attributes["SqsManagedSseEnabled"] == "true"
        assert "RedrivePolicy" not in state["queues"][env[f"{name}_DLQ_URL"]]

    # listed by the Step Functions API itself, not only "created"
    machine = state["machines"]["ticket-flow"]
    assert machine["stateMachineArn"] == env["TICKET_FLOW_ARN"]
    assert machine["type"] == "STANDARD"
    assert machine["roleArn"].endswith(":role/ticket-flow-role")
    json.loads(machine["definition"])
    assert "${" not in machine["definition"]

    assert state["rules"]["sweeper"]["ScheduleExpression"] == "rate(5 minutes)"
    assert state["rules"]["monthly-reports"]["ScheduleExpression"] == "cron(0 0 1 * ? *)"
    assert state["aliases"] == ["alias/local-data", "alias/local-ops"]
    assert len(state["keys"]) == 2
    assert all(client(endpoint, "kms").get_key_rotation_status(KeyId=key)["KeyRotationEnabled"]
               for key in state["keys"])
    assert set(state["alarms"]) == {"outbox-dlq-not-empty", "notify-dlq-not-empty", "workflow-dlq-not-empty",
                                    "reports-dlq-not-empty", "stream-dlq-not-empty", "ticket-flow-failed",
                                    "ticket-flow-throttled"}
    assert set(state["alarms"].values()) == {0.0}
    # every alarm notifies the ops topic; the state machine's log group keeps its logs for a while
    topic = client(endpoint, "sns").list_topics()["Topics"][0]["TopicArn"]
    assert all(a["AlarmActions"] == [topic] for a in client(endpoint, "cloudwatch").describe_alarms()["MetricAlarms"])
    log_groups = client(endpoint, "logs").describe_log_groups()["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in log_groups] == [
        ("/aws/vendedlogs/states/local-ticket-flow", 180)]
    assert {"ticket-flow-role", "api-function-role", "authorizer-function-role", "table-stream-function-role",
            "workflow-function-role", "notify-function-role", "partner-function-role", "report-function-role",
            "retraining-function-role"} <= set(state["roles"])
    # the state machine's task permissions are derived from its definition by `make package`
    task_policies = client(endpoint, "iam").list_role_policies(RoleName="ticket-flow-role")["PolicyNames"]
    assert "state-machine-tasks" not in task_policies


def test_bootstrap_twice_changes_nothing_and_returns_the_same_values(endpoint: str) -> None:
    first = bootstrap(endpoint, region=REGION)
    before = state_of(endpoint)

    second = bootstrap(endpoint, region=REGION)

    assert second == first
    assert state_of(endpoint) == before


def test_a_second_bootstrap_only_reads(endpoint: str) -> None:
    bootstrap(endpoint, region=REGION)
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    session = bootstrap_module._session(REGION)
    session.events.register("before-call", record)
    try:
        bootstrap(endpoint, region=REGION)
    finally:
        session.events.unregister("before-call", record)

    assert calls, "the hook saw the second run's calls"
    writes = [c for c in calls if not c.startswith(("Describe", "Get", "List", "Head"))]
    assert writes == []


def test_bootstrap_completes_what_is_missing(endpoint: str) -> None:
    env = bootstrap(endpoint, region=REGION)
    client(endpoint, "sqs").delete_queue(QueueUrl=env["NOTIFY_QUEUE_URL"])
    client(endpoint, "stepfunctions").delete_state_machine(stateMachineArn=env["TICKET_FLOW_ARN"])

    again = bootstrap(endpoint, region=REGION)

    assert again == env
    assert check_resources(again, endpoint_url=endpoint)["notify_queue"] == "ok"
    assert check_resources(again, endpoint_url=endpoint)["ticket_flow"] == "ok"


def test_check_resources_reports_every_component_ok(endpoint: str) -> None:
    env = bootstrap(endpoint, region=REGION)

    status = check_resources(env, endpoint_url=endpoint)

    assert status == {
        "table": "ok", "reports_bucket": "ok", "exports_bucket": "ok", "models_bucket": "ok",
        "outbox_queue": "ok", "notify_queue": "ok", "workflow_queue": "ok", "reports_queue": "ok",
        "ticket_flow": "ok",
    }


def test_check_resources_names_what_is_down(endpoint: str) -> None:
    env = bootstrap(endpoint, region=REGION)
    client(endpoint, "sqs").delete_queue(QueueUrl=env["WORKFLOW_QUEUE_URL"])
    s3 = client(endpoint, "s3")
    for version in s3.list_object_versions(Bucket=env["MODELS_BUCKET"]).get("Versions", []):
        s3.delete_object(Bucket=env["MODELS_BUCKET"], Key=version["Key"], VersionId=version["VersionId"])
    s3.delete_bucket(Bucket=env["MODELS_BUCKET"])

    status = check_resources(env, endpoint_url=endpoint)

    assert "NonExistentQueue" in status["workflow_queue"] or "QueueDoesNotExist" in status["workflow_queue"]
    assert status["models_bucket"].startswith("404")
    assert {c for c, s in status.items() if s != "ok"} == {"workflow_queue", "models_bucket"}


def test_check_resources_reports_an_unreachable_endpoint() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"TABLE_NAME": "tickets", "OUTBOX_QUEUE_URL": f"http://127.0.0.1:{port}/123456789012/outbox"}

    status = check_resources(env, endpoint_url=f"http://127.0.0.1:{port}")

    assert set(status) == {"table", "outbox_queue"}
    assert all("EndpointConnectionError" in text for text in status.values())


def test_scheduled_rules_name_their_handlers() -> None:
    rules = {rule.name: rule for rule in scheduled_rules()}

    assert rules["sweeper"].expression == "rate(5 minutes)"
    assert rules["sweeper"].handler == "sweeper"
    # 08:00 Asia/Shanghai on day 1 = 00:00 UTC (EventBridge rules run in UTC)
    assert rules["monthly-reports"].expression == "cron(0 0 1 * ? *)"
    assert rules["monthly-reports"].handler == "monthly_reports"


def test_creation_order_puts_every_resource_after_what_it_refers_to() -> None:
    order = creation_order(load_template())

    assert order.index("DataKey") < order.index("TicketsTable")
    assert order.index("DataKey") < order.index("BlindIndexKeySecret")  # encrypted with it
    assert order.index("OutboxDLQ") < order.index("OutboxQueue")
    assert order.index("TicketFlowRole") < order.index("TicketFlowStateMachine")
    assert "UnauthorizedResponse" not in order  # no API Gateway locally


def test_an_unknown_resource_type_is_refused(tmp_path) -> None:
    template = load_template()
    template["Resources"]["Mystery"] = {"Type": "AWS::Glue::Crawler", "Properties": {}}

    with pytest.raises(BootstrapError, match="AWS::Glue::Crawler"):
        creation_order(template)


def test_the_local_bucket_policy_keeps_everything_but_the_tls_only_deny() -> None:
    deny_http = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::b/*"],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    allow_reader = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::b/*"]}
    assert bootstrap_module.local_bucket_policy({"Version": "2012-10-17", "Statement": [deny_http]}) is None
    kept = bootstrap_module.local_bucket_policy({"Version": "2012-10-17", "Statement": [deny_http, allow_reader]})
    assert kept == {"Version": "2012-10-17", "Statement": [allow_reader]}
