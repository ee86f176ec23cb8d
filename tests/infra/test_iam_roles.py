"""The built template's roles, statically: one role per function group, least privilege, every resource
one the template defines, the event sources' and the keys' permissions (issue 17, point 1).

tests/infra/test_iam_enforced.py proves the actions by running the flows under these roles.
"""
from __future__ import annotations

import re
from typing import Any

import pytest

from tests.infra import iam_harness as harness

pytestmark = pytest.mark.package  # builds the template (chalice package) once per session

FUNCTION_GROUPS = {  # issue 17: API, authorizer, stream consumers, queue workers, reports, retraining
    "api_handler": "ApiFunctionRole", "jwt_auth": "AuthorizerFunctionRole", "table_stream": "TableStreamFunctionRole",
    "workflow_checkpoints": "WorkflowFunctionRole", "notify_delivery": "NotifyFunctionRole",
    "webhook_sender": "PartnerFunctionRole", "report_jobs": "ReportFunctionRole",
    "dispatch_retraining": "RetrainingFunctionRole"}
# the only statements on any resource: X-Ray takes none, and task tokens name no state machine
ANY_RESOURCE = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "states:SendTaskSuccess",
                "states:SendTaskFailure", "states:SendTaskHeartbeat"}
ITEM_ACTIONS = re.compile(r"^dynamodb:(GetItem|BatchGetItem|Query|PutItem|UpdateItem|DeleteItem|BatchWriteItem|"
                          r"ConditionCheckItem)$")


def _actions(statement: dict[str, Any]) -> list[str]:
    return harness._as_list(statement.get("Action", []))


def _resources(statement: dict[str, Any]) -> list[Any]:
    return harness._as_list(statement.get("Resource", []))


def _names(value: Any) -> set[str]:
    """The logical ids (and parameters) a Resource value refers to."""
    from chalicelib.local.bootstrap import references

    return references(value)


@pytest.fixture(scope="module")
def principals(built_template: dict[str, Any]) -> dict[str, harness.Principal]:
    return harness.principals(built_template)


def test_each_function_group_has_a_role_of_its_own(principals: dict[str, harness.Principal]) -> None:
    roles = {name: p.role_id for name, p in principals.items()}

    assert {name: roles[name] for name in FUNCTION_GROUPS} == FUNCTION_GROUPS
    state_machines = {p.role_id for n, p in principals.items() if n.startswith(harness.STATE_MACHINE_PREFIX)}
    functions = {p.role_id for n, p in principals.items() if not n.startswith(harness.STATE_MACHINE_PREFIX)}
    assert state_machines and not state_machines & functions
    # the authorizer verifies tokens: its own logs and traces, nothing of the platform's data
    authorizer = {a for s in principals["jwt_auth"].statements() for a in _actions(s)}
    assert authorizer and all(a.startswith(("logs:", "xray:")) for a in authorizer), authorizer


def test_no_statement_grants_everything(principals: dict[str, harness.Principal]) -> None:
    for name, principal in principals.items():
        for statement in principal.statements():
            assert statement["Effect"] == "Allow", name
            for action in _actions(statement):
                assert "*" not in action, f"{name}: {action}"
            if "*" in _resources(statement):
                assert set(_actions(statement)) <= ANY_RESOURCE, f"{name}: {statement}"


def test_every_resource_is_one_the_template_defines(built_template: dict[str, Any],
                                                    principals: dict[str, harness.Principal]) -> None:
    defined = set(built_template["Resources"]) | set(built_template.get("Parameters") or {})
    for name, principal in principals.items():
        for statement in principal.statements():
            for resource in _resources(statement):
                if resource == "*":
                    continue
                referred = _names(resource)
                text = str(resource)
                # a function's own log groups, and secrets under the names the template owns
                own = ("log-group:/aws/lambda/${AWS::StackName}-" in text or ":secret:partners/*" in text
                       or ":identity/*" in text)
                assert referred or own, f"{name}: {resource} names no resource of the template"
                assert referred <= defined, f"{name}: {resource} refers to {sorted(referred - defined)}"


def test_event_sources_can_be_read_by_their_functions(built_template: dict[str, Any],
                                                      principals: dict[str, harness.Principal]) -> None:
    """Lambda's event source mappings poll with the function's role (the local pump polls as the test)."""
    by_logical_id = {p.logical_id: p for p in principals.values()}
    for logical_id, resource in built_template["Resources"].items():
        if resource["Type"] != harness.FUNCTION_TYPE:
            continue
        statements = by_logical_id[logical_id].statements()

        def granted(action: str, target: Any) -> bool:
            return any(action in _actions(s) and target in _resources(s) for s in statements)

        for event in (resource["Properties"].get("Events") or {}).values():
            props = event["Properties"]
            if event["Type"] == "SQS":
                for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
                    assert granted(action, props["Queue"]), f"{logical_id}: {action} on {props['Queue']}"
            if event["Type"] == "DynamoDB":
                for action in ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                               "dynamodb:ListStreams"):
                    assert granted(action, props["Stream"]), f"{logical_id}: {action}"
                destination = props["DestinationConfig"]["OnFailure"]["Destination"]
                assert granted("sqs:SendMessage", destination), f"{logical_id}: its on-failure destination"


def _encrypted_by(built_template: dict[str, Any]) -> dict[str, str]:
    """Logical id of each table/bucket encrypted with a key of the template -> that key's logical id."""
    found = {}
    for logical_id, resource in built_template["Resources"].items():
        props = resource.get("Properties") or {}
        key = (props.get("SSESpecification") or {}).get("KMSMasterKeyId")
        for rule in (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration", []):
            key = rule["ServerSideEncryptionByDefault"].get("KMSMasterKeyID", key)
        names = _names(key) if key else set()
        if names:
            found[logical_id] = next(iter(names))
    return found


def test_every_principal_touching_encrypted_data_may_use_its_key(built_template: dict[str, Any],
                                                                 principals: dict[str, harness.Principal]) -> None:
    encrypted = _encrypted_by(built_template)
    assert {"TicketsTable", "ReportsBucket", "ModelsBucket"} <= set(encrypted)
    for name, principal in principals.items():
        statements = principal.statements()
        for statement in statements:
            for resource in _resources(statement):
                for target in _names(resource) & set(encrypted):
                    actions = _actions(statement)
                    if built_template["Resources"][target]["Type"] == "AWS::DynamoDB::Table":
                        if not any(ITEM_ACTIONS.match(a) for a in actions):
                            continue  # describe/stream reads: no item data
                        needs = {"kms:Decrypt"}
                        service = "dynamodb"
                    elif any(a in ("s3:GetObject", "s3:GetObjectVersion", "s3:PutObject") for a in actions):
                        needs = ({"kms:Decrypt"} if any(a.startswith("s3:Get") for a in actions) else set()) | (
                            {"kms:GenerateDataKey"} if "s3:PutObject" in actions else set())
                        service = "s3"
                    else:
                        continue
                    key = encrypted[target]
                    for action in needs:
                        assert any(_grants_key(s, action, key, service) for s in statements), (
                            f"{name}: {action} on {key} for {target}")


def _grants_key(statement: dict[str, Any], action: str, key: str, service: str) -> bool:
    """``statement`` allows ``action`` on ``key``: directly, or through ``service`` (kms:ViaService)."""
    if action not in _actions(statement) or _names(_resources(statement)) != {key}:
        return False
    condition = statement.get("Condition")
    return condition is None or f"{service}." in str(condition)


def test_the_stream_function_may_park_the_changes_it_gives_up(built_template: dict[str, Any],
                                                              principals: dict[str, harness.Principal]) -> None:
    """chalicelib/stream_failures.py counts a failing change's attempts in the table and puts its keys
    on the queue ``STREAM_DLQ_URL`` names, under the stream function's own role."""
    function = built_template["Resources"][principals["table_stream"].logical_id]
    variables = {**((built_template.get("Globals") or {}).get("Function", {}).get("Environment", {})
                    .get("Variables", {})),
                 **((function["Properties"].get("Environment") or {}).get("Variables") or {})}
    (queue,) = _names(variables["STREAM_DLQ_URL"])
    (table,) = _names(variables["TABLE_NAME"])
    statements = principals["table_stream"].statements()

    def granted(action: str, logical_id: str) -> bool:
        return any(action in _actions(s) and any(logical_id in _names(r) for r in _resources(s)) for s in statements)

    assert granted("sqs:SendMessage", queue), f"table_stream: sqs:SendMessage on {queue}"
    assert granted("dynamodb:UpdateItem", table), f"table_stream: dynamodb:UpdateItem on {table}"
