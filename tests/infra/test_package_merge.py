"""Merging infra/ into what `chalice package` emits, on a small Chalice project with every kind of handler."""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.local.bootstrap import PROJECT_ROOT, TEMPLATE_PATH
from infra.package import PackageError, lint, merge, run_chalice_package

APP = '''
from chalice import Chalice, AuthResponse

app = Chalice(app_name="merge-probe")


@app.authorizer()
def jwt_auth(auth_request):
    return AuthResponse(routes=["*"], principal_id="someone")


@app.route("/health")
def health():
    return {"status": "ok"}


@app.route("/tickets", authorizer=jwt_auth)
def tickets():
    return []


@app.on_sqs_message(queue="outbox", batch_size=10)
def outbox_relay(event):
    return None


@app.on_sqs_message(queue_arn="arn:aws:sqs:us-east-1:123456789012:notify")
def notify_sender(event):
    return None


@app.on_dynamodb_record(stream_arn="arn:aws:dynamodb:us-east-1:123456789012:table/tickets/stream/2026")
def on_ticket_change(event):
    return None


@app.schedule("rate(5 minutes)")
def sweeper(event):
    return None


@app.lambda_function(name="monthly_reports")
def monthly_reports(event, context):
    return None
'''


def probe_app() -> str:
    """APP plus a scheduled function for every other schedule rule infra/ declares."""
    template = yaml.safe_load(TEMPLATE_PATH.read_text(encoding="utf-8"))
    extra = []
    for resource in template["Resources"].values():
        handler = str((resource.get("Metadata") or {}).get("ChaliceHandler", "")).rsplit(".", 1)[-1]
        if resource["Type"] == "AWS::Events::Rule" and handler and handler not in ("sweeper", "monthly_reports"):
            expression = resource["Properties"]["ScheduleExpression"]
            extra.append(f"\n\n@app.schedule({expression!r})\ndef {handler}(event):\n    return None\n")
    return APP + "".join(extra)


@pytest.fixture(scope="module")
def sam(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """chalice package's output for the probe project, with this project's stage configuration."""
    project = tmp_path_factory.mktemp("probe")
    (project / "app.py").write_text(probe_app(), encoding="utf-8")
    (project / ".chalice").mkdir()
    shutil.copy(PROJECT_ROOT / ".chalice" / "config.json", project / ".chalice" / "config.json")
    sam_path = run_chalice_package(project, "prod", project / "out")
    return json.loads(sam_path.read_text(encoding="utf-8"))


# the probe app's own handlers, claimed by the roles of their kind (the real app's are in infra/)
PROBE_CLAIMS = {"PartnerFunctionRole": ["outbox_relay"], "NotifyFunctionRole": ["notify_sender"],
                "TableStreamFunctionRole": ["on_ticket_change"]}


@pytest.fixture(scope="module")
def infra() -> dict[str, Any]:
    template = yaml.safe_load(TEMPLATE_PATH.read_text(encoding="utf-8"))
    for role, names in PROBE_CLAIMS.items():
        template["Resources"][role]["Metadata"]["Functions"] += names
    return template


@pytest.fixture(scope="module")
def merged(sam: dict[str, Any], infra: dict[str, Any]) -> dict[str, Any]:
    result = merge(sam, infra)
    assert result.warnings == []
    return result.template


def events_of(template: dict[str, Any], function: str) -> dict[str, Any]:
    return template["Resources"][function]["Properties"].get("Events", {})


def test_functions_run_as_the_infra_roles(merged: dict[str, Any]) -> None:
    roles = {lid: r["Properties"]["Role"]["Fn::GetAtt"][0] for lid, r in merged["Resources"].items()
             if r["Type"] == "AWS::Serverless::Function"}

    assert roles["APIHandler"] == "ApiFunctionRole"
    assert roles["JwtAuth"] == "AuthorizerFunctionRole"  # the authorizer shares nothing with the API
    assert (roles["OutboxRelay"], roles["NotifySender"], roles["OnTicketChange"]) == (
        "PartnerFunctionRole", "NotifyFunctionRole", "TableStreamFunctionRole")
    assert (roles["Sweeper"], roles["MonthlyReports"]) == ("WorkflowFunctionRole", "ReportFunctionRole")
    assert all(r["Properties"]["CodeUri"] == "chalice/deployment.zip" for r in merged["Resources"].values()
               if r["Type"] == "AWS::Serverless::Function")


def test_a_function_no_role_claims_is_refused(sam: dict[str, Any], infra: dict[str, Any]) -> None:
    unclaimed = copy.deepcopy(infra)
    unclaimed["Resources"]["NotifyFunctionRole"]["Metadata"]["Functions"].remove("notify_sender")
    with pytest.raises(PackageError, match="notify_sender .* no role"):
        merge(sam, unclaimed)
    twice = copy.deepcopy(infra)
    twice["Resources"]["ApiFunctionRole"]["Metadata"]["Functions"].append("notify_sender")
    with pytest.raises(PackageError, match="several roles"):
        merge(sam, twice)


def test_the_state_machine_role_is_derived_from_its_definition(merged: dict[str, Any]) -> None:
    definition = merged["Resources"]["TicketFlowStateMachine"]["Properties"]["Definition"]
    [policy] = [p for p in merged["Resources"]["TicketFlowRole"]["Properties"]["Policies"]
                if p["PolicyName"] == "state-machine-tasks"]
    granted = {a for st in policy["PolicyDocument"]["Statement"] for a in st["Action"]}
    substitutions = merged["Resources"]["TicketFlowStateMachine"]["Properties"]["DefinitionSubstitutions"]
    used = {substitutions[t["Resource"][2:-1]]["Fn::Sub"] for t in _tasks(definition)}
    assert used and all(":states:::" in str(u) for u in used)
    needed = {"sqs:SendMessage" if "sqs:sendMessage" in str(u) else "dynamodb:" + str(u).split("dynamodb:")[1][:1].upper()
              + str(u).split("dynamodb:")[1][1:].split(".")[0] for u in used}
    assert needed == granted - {a for a in granted if a.startswith("kms:")}


def _tasks(definition: Any) -> list[dict[str, Any]]:
    if isinstance(definition, list):
        return [t for item in definition for t in _tasks(item)]
    if not isinstance(definition, dict):
        return []
    found = [definition] if definition.get("Type") == "Task" else []
    return found + [t for value in definition.values() for t in _tasks(value)]


def test_a_state_machine_on_the_encrypted_table_gets_the_table_key() -> None:
    from infra.package import state_machine_policy

    infra_resources = yaml.safe_load(TEMPLATE_PATH.read_text(encoding="utf-8"))["Resources"]
    definition = {"StartAt": "Load", "States": {"Load": {
        "Type": "Task", "Resource": "arn:${Partition}:states:::dynamodb:updateItem",
        "Parameters": {"TableName": "${TableName}", "Key": {}}, "End": True}}}
    policy = state_machine_policy(definition, {"TableName": {"Ref": "TicketsTable"}}, infra_resources, "Machine")
    statements = policy["PolicyDocument"]["Statement"]
    assert statements[0]["Action"] == ["dynamodb:UpdateItem"]
    assert statements[0]["Resource"] == {"Fn::GetAtt": ["TicketsTable", "Arn"]}
    assert statements[1]["Resource"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    assert {"kms:Decrypt", "kms:GenerateDataKey"} <= set(statements[1]["Action"])
    assert statements[1]["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "dynamodb.${AWS::Region}.${AWS::URLSuffix}"}
    with pytest.raises(PackageError, match="no IAM mapping"):
        state_machine_policy({"States": {"X": {"Type": "Task", "Resource": "arn:${Partition}:states:::ecs:runTask.sync"}}},
                             {}, infra_resources, "Machine")
    with pytest.raises(PackageError, match="Ref to a template resource"):
        state_machine_policy({"States": {"X": {"Type": "Task", "Resource": "arn:${Partition}:states:::sqs:sendMessage",
                                               "Parameters": {"QueueUrl.$": "$.queue"}}}}, {}, infra_resources, "M")


def test_every_function_gets_the_infra_environment(merged: dict[str, Any], infra: dict[str, Any]) -> None:
    assert merged["Globals"] == infra["Globals"]
    assert merged["Transform"] == "AWS::Serverless-2016-10-31"
    api_env = merged["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert api_env["STAGE"] == "prod"  # the stage's own variables stay


def test_sqs_handlers_consume_the_infra_queues(merged: dict[str, Any]) -> None:
    (outbox,) = events_of(merged, "OutboxRelay").values()
    (notify,) = events_of(merged, "NotifySender").values()

    assert outbox["Properties"]["Queue"] == {"Fn::GetAtt": ["OutboxQueue", "Arn"]}
    assert outbox["Properties"]["BatchSize"] == 10
    assert notify["Properties"]["Queue"] == {"Fn::GetAtt": ["NotifyQueue", "Arn"]}


def test_the_stream_handler_reads_the_table_stream_with_bounded_retries(merged: dict[str, Any]) -> None:
    (stream,) = events_of(merged, "OnTicketChange").values()

    assert stream["Type"] == "DynamoDB"
    assert stream["Properties"]["Stream"] == {"Fn::GetAtt": ["TicketsTable", "StreamArn"]}
    assert stream["Properties"]["MaximumRetryAttempts"] == 5
    assert stream["Properties"]["BisectBatchOnFunctionError"] is True
    assert stream["Properties"]["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": ["StreamDLQ", "Arn"]}}}


def test_schedule_rules_target_the_functions_once(merged: dict[str, Any]) -> None:
    resources = merged["Resources"]

    assert events_of(merged, "Sweeper") == {}  # Chalice's own rule is dropped: the infra rule fires it
    assert resources["SweeperSchedule"]["Properties"]["Targets"] == [
        {"Id": "sweeper", "Arn": {"Fn::GetAtt": ["Sweeper", "Arn"]}}]
    assert resources["MonthlyReportsSchedule"]["Properties"]["Targets"][0]["Arn"] == {
        "Fn::GetAtt": ["MonthlyReports", "Arn"]}
    permission = resources["MonthlyReportsScheduleInvokePermission"]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["MonthlyReportsSchedule", "Arn"]}


def test_gateway_responses_become_part_of_the_api_definition(merged: dict[str, Any]) -> None:
    resources = merged["Resources"]
    responses = resources["RestAPI"]["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]

    assert not [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::GatewayResponse"]
    assert responses["UNAUTHORIZED"]["statusCode"] == 401
    assert json.loads(responses["ACCESS_DENIED"]["responseTemplates"]["application/json"])["error"]["code"] == "forbidden"
    assert responses["THROTTLED"]["responseParameters"] == {"gatewayresponse.header.Retry-After": "'1'"}
    assert set(responses) >= {"UNAUTHORIZED", "ACCESS_DENIED", "DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"}


def test_state_machine_definitions_are_inlined(merged: dict[str, Any]) -> None:
    props = merged["Resources"]["TicketFlowStateMachine"]["Properties"]
    on_disk = json.loads((PROJECT_ROOT / "stepfunctions" / "ticket_flow.asl.json").read_text(encoding="utf-8"))

    def restore(value: Any) -> Any:
        """The definition with each hoisted Task Resource put back as the ASL file wrote it."""
        if isinstance(value, list):
            return [restore(item) for item in value]
        if not isinstance(value, dict):
            return value
        restored = {key: restore(item) for key, item in value.items()}
        resource = value.get("Resource")
        if isinstance(resource, str) and resource.startswith("${") and resource[2:-1] in substitutions:
            sub = substitutions[resource[2:-1]]["Fn::Sub"]
            restored["Resource"] = (sub if isinstance(sub, str) else sub[0]).replace("${AWS::Partition}", "${Partition}")
        return restored

    substitutions = props["DefinitionSubstitutions"]
    assert restore(props["Definition"]) == on_disk
    assert props["RoleArn"] == {"Fn::GetAtt": ["TicketFlowRole", "Arn"]}


def test_nothing_is_bound_to_the_aws_partition(merged: dict[str, Any], sam: dict[str, Any]) -> None:
    assert "arn:aws:" in json.dumps(sam)  # the probe app hard-codes two ARNs...
    assert "arn:aws:" not in json.dumps(merged)  # ...which the merge replaces


def test_a_queue_infra_does_not_declare_is_refused(sam: dict[str, Any], infra: dict[str, Any]) -> None:
    broken = copy.deepcopy(sam)
    event = next(iter(broken["Resources"]["OutboxRelay"]["Properties"]["Events"].values()))
    event["Properties"]["Queue"] = {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:nowhere"}

    with pytest.raises(PackageError, match="'nowhere'"):
        merge(broken, infra)


def test_a_schedule_that_disagrees_with_infra_is_refused(sam: dict[str, Any], infra: dict[str, Any]) -> None:
    broken = copy.deepcopy(sam)
    event = next(iter(broken["Resources"]["Sweeper"]["Properties"]["Events"].values()))
    event["Properties"]["Schedule"] = "rate(1 minute)"

    with pytest.raises(PackageError, match="rate\\(1 minute\\)"):
        merge(broken, infra)


def test_a_rule_without_its_handler_is_left_out_with_a_warning(sam: dict[str, Any], infra: dict[str, Any]) -> None:
    without = copy.deepcopy(sam)
    del without["Resources"]["MonthlyReports"]

    result = merge(without, infra)

    assert "MonthlyReportsSchedule" not in result.template["Resources"]
    assert any("monthly_reports" in warning for warning in result.warnings)


def test_a_literal_partition_in_an_asl_file_is_refused(sam: dict[str, Any], infra: dict[str, Any],
                                                       tmp_path: Path) -> None:
    (tmp_path / "stepfunctions").mkdir()
    (tmp_path / "stepfunctions" / "ticket_flow.asl.json").write_text(json.dumps({
        "StartAt": "Get", "States": {"Get": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                                            "Parameters": {"TableName": "${TableName}"}, "End": True}}}))

    with pytest.raises(PackageError, match="TicketFlowStateMachine.Properties.Definition"):
        merge(sam, infra, definitions_root=tmp_path)


def test_task_resources_become_whole_substitutions_for_cfn_lint(sam: dict[str, Any], infra: dict[str, Any],
                                                               tmp_path: Path) -> None:
    (tmp_path / "stepfunctions").mkdir()
    (tmp_path / "stepfunctions" / "ticket_flow.asl.json").write_text(json.dumps({
        "StartAt": "Put", "States": {
            "Put": {"Type": "Task", "Resource": "arn:${Partition}:states:::dynamodb:putItem",
                    "Parameters": {"TableName": "${TableName}"}, "Next": "Branch"},
            "Branch": {"Type": "Parallel", "End": True, "Branches": [{"StartAt": "Send", "States": {
                "Send": {"Type": "Task", "Resource": "arn:${Partition}:states:::sqs:sendMessage.waitForTaskToken",
                         "Parameters": {"QueueUrl": "${NotifyQueueUrl}"}, "End": True}}}]}}}))

    props = merge(sam, infra, definitions_root=tmp_path).template["Resources"]["TicketFlowStateMachine"]["Properties"]

    states = props["Definition"]["States"]
    assert states["Put"]["Resource"] == "${StatesDynamodbPutItem}"
    assert states["Put"]["Parameters"] == {"TableName": "${TableName}"}  # other fields keep their placeholders
    assert states["Branch"]["Branches"][0]["States"]["Send"]["Resource"] == "${StatesSqsSendMessageWaitForTaskToken}"
    assert props["DefinitionSubstitutions"]["StatesDynamodbPutItem"] == {
        "Fn::Sub": "arn:${AWS::Partition}:states:::dynamodb:putItem"}
    assert props["DefinitionSubstitutions"]["TableName"] == {"Ref": "TicketsTable"}


def test_a_logical_id_defined_twice_is_refused(sam: dict[str, Any], infra: dict[str, Any]) -> None:
    clashing = copy.deepcopy(infra)
    clashing["Resources"]["APIHandler"] = clashing["Resources"]["OutboxDLQ"]

    with pytest.raises(PackageError, match="APIHandler"):
        merge(sam, clashing)


@pytest.mark.package
def test_the_merged_probe_template_passes_cfn_lint(merged: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "template.yaml"
    target.write_text(yaml.safe_dump(merged, sort_keys=False, allow_unicode=True), encoding="utf-8")

    findings = lint(target)

    assert findings.errors == [], findings.errors
