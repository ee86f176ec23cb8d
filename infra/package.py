"""``make package``: one deployable CloudFormation template from ``chalice package`` + ``infra/``.

Steps:
1. ``chalice package --stage prod build/chalice`` (the Chalice CLI of this interpreter's venv)
   emits ``sam.json`` and ``deployment.zip``;
2. the resources of ``infra/template.yaml`` are merged in and wired to Chalice's functions:
   - every function gets the infra environment (``Globals.Function.Environment``);
   - each function runs as the role whose ``Metadata.Functions`` names it (one per function group;
     the stage sets ``manage_iam_role: false``); the state machine's role gets its Task states'
     permissions (:func:`state_machine_policy`);
   - an SQS handler's queue (``@app.on_sqs_message(queue="outbox")``) becomes the infra queue whose
     ``Metadata.LocalName`` is that name; a table-stream handler reads ``TicketsTable``'s stream,
     with retries bounded and failures sent to the table's ``Metadata.StreamFailureQueue``;
   - each schedule rule targets the function its ``Metadata.ChaliceHandler`` names (Chalice's own
     schedule event for that function is dropped so it does not fire twice; both must agree);
   - each state machine gets its ASL file (``Metadata.DefinitionFile``) inlined as ``Definition``;
   - the GatewayResponses move into the RestAPI's OpenAPI body, so every deployment carries them;
3. the result is written to ``build/template.yaml`` and checked by cfn-lint for the global and the
   China regions. The exit status is non-zero on any cfn-lint error.

Usage: ``python -m infra.package [--stage prod] [--project-dir .] [--out build] [--no-lint]``.
Deploy with ``aws cloudformation package`` (uploads build/chalice/deployment.zip) and
``aws cloudformation deploy --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND``.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra import operations, package_report, sizes

PROJECT_ROOT = Path(__file__).resolve().parents[1]
INFRA_TEMPLATE = PROJECT_ROOT / "infra" / "template.yaml"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
LINT_REGIONS = ("us-east-1", "cn-north-1", "cn-northwest-1")

API_FUNCTION = "api_handler"  # the name a role's Metadata.Functions gives Chalice's API handler (app.app)
REST_API = "RestAPI"
AMBIGUOUS = "<ambiguous>"
FUNCTION_TYPE = "AWS::Serverless::Function"
SCHEDULE_EVENT_TYPES = {"Schedule", "ScheduleV2"}
MERGED_SECTIONS = ("Parameters", "Mappings", "Conditions", "Resources", "Outputs")
PARTITION_LITERAL = re.compile(r"arn:aws:")
WHOLE_PLACEHOLDER = re.compile(r"^\$\{[A-Za-z0-9_.:-]+\}$")


class PackageError(RuntimeError):
    """The app and the infra template cannot be merged into a correct deployable template."""


@dataclass
class MergeResult:
    """The merged template and what the merge had to leave out or guess."""

    template: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    sizes: list[str] = field(default_factory=list)  # each function's unzipped code + layers (build)


@dataclass
class LintResult:
    """cfn-lint's findings on a template, by level."""

    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    informational: list[dict[str, Any]]
    returncode: int

    @property
    def ok(self) -> bool:
        return not self.errors


# --------------------------------------------------------------------------- chalice
def run_chalice_package(project_dir: Path, stage: str, out_dir: Path) -> Path:
    """Run ``chalice package`` for ``stage`` into ``out_dir``; return the path of its sam.json."""
    chalice = Path(sys.executable).parent / "chalice"
    command = [str(chalice) if chalice.exists() else "chalice", "--project-dir", str(project_dir),
               "package", "--stage", stage, str(out_dir)]
    env = dict(os.environ)
    # chalice wants a region to build the template; the template itself is region-agnostic.
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
    env.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # it looks for credentials it does not need
    if out_dir.exists():
        shutil.rmtree(out_dir)
    completed = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise PackageError(f"chalice package failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}")
    sam = out_dir / "sam.json"
    if not sam.exists():
        raise PackageError(f"chalice package did not write {sam}")
    return sam


# --------------------------------------------------------------------------- merge helpers
def _metadata(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("Metadata") or {}


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in resources.items() if r.get("Type") == kind}


def _deep_merge(base: dict[str, Any], extra: dict[str, Any], where: str) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if key in merged and isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = _deep_merge(merged[key], value, f"{where}.{key}")
        elif key in merged and merged[key] != value:
            raise PackageError(f"{where}.{key} is set by both chalice and infra/ with different values")
        else:
            merged[key] = value
    return merged


def _arn_name(value: Any) -> str:
    """The last ``:``-segment of an ARN given as a string or a ``Fn::Sub`` string."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        value = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
    if not isinstance(value, str):
        raise PackageError(f"cannot tell which resource {value!r} names")
    return value.rsplit(":", 1)[-1]


def _find_queue(queues: dict[str, dict[str, Any]], name: str) -> str:
    for logical_id, queue in queues.items():
        if name in (_metadata(queue).get("LocalName"), logical_id):
            return logical_id
    known = sorted(str(_metadata(q).get("LocalName", lid)) for lid, q in queues.items())
    raise PackageError(f"an SQS handler listens to queue {name!r}, which infra/template.yaml does not "
                       f"declare (known: {', '.join(known)})")


def _find_stream_table(tables: dict[str, dict[str, Any]], stream: Any) -> str:
    streaming = {lid: t for lid, t in tables.items() if (t.get("Properties") or {}).get("StreamSpecification")}
    text = json.dumps(stream)
    for logical_id, table in streaming.items():
        name = _metadata(table).get("LocalName", logical_id)
        if f"table/{name}/" in text or logical_id in text:
            return logical_id
    if len(streaming) == 1:
        return next(iter(streaming))
    raise PackageError(f"cannot tell which table's stream {text} is")


def _literal_partitions(value: Any, path: str = "") -> list[str]:
    """Paths in the template whose value contains a literal ``arn:aws:``."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _literal_partitions(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _literal_partitions(item, f"{path}[{index}]")
    elif isinstance(value, str) and PARTITION_LITERAL.search(value):
        found.append(path)
    return found


# --------------------------------------------------------------------------- merge steps
def _relocate(props: dict[str, Any], key: str, prefix: str) -> None:
    """Make a local artifact path (chalice's ./deployment.zip) relative to the merged template."""
    value = props.get(key)
    if isinstance(value, str) and not re.match(r"^[a-z0-9]+://", value):
        props[key] = f"{prefix}/{value.removeprefix('./')}"


def _wire_functions(resources: dict[str, Any], infra: dict[str, Any], code_prefix: str,
                    warnings: list[str]) -> dict[str, str]:
    """Roles, code paths and event sources of Chalice's functions; returns handler -> logical id."""
    queues = _of_type(infra["Resources"], "AWS::SQS::Queue")
    tables = _of_type(infra["Resources"], "AWS::DynamoDB::Table")
    rules = {meta["ChaliceHandler"]: lid for lid, r in _of_type(infra["Resources"], "AWS::Events::Rule").items()
             if (meta := _metadata(r)).get("ChaliceHandler")}
    handlers: dict[str, str] = {}
    roles = _function_roles(infra)
    for logical_id, function in _of_type(resources, FUNCTION_TYPE).items():
        props = function["Properties"]
        handler = str(props.get("Handler", ""))
        # "app.sweeper", or "chalicelib.workflow.handlers.sweeper" for a blueprint's function
        names = {handler, handler.rsplit(".", 1)[-1]}
        for name in names:
            if name in handlers and handlers[name] != logical_id:
                handlers[name] = AMBIGUOUS
            else:
                handlers[name] = logical_id
        rule_id = next((rules[name] for name in sorted(names) if name in rules), None)
        _relocate(props, "CodeUri", code_prefix)
        events = props.get("Events") or {}
        for event_id, event in list(events.items()):
            kind = event.get("Type")
            event_props = event.setdefault("Properties", {})
            if kind == "SQS":
                queue = _find_queue(queues, _arn_name(event_props.get("Queue")))
                event_props["Queue"] = {"Fn::GetAtt": [queue, "Arn"]}
                # the handlers answer partial batch responses (chalicelib/batches.py)
                event_props.setdefault("FunctionResponseTypes", ["ReportBatchItemFailures"])
            elif kind == "DynamoDB":
                table_id = _find_stream_table(tables, event_props.get("Stream"))
                event_props["Stream"] = {"Fn::GetAtt": [table_id, "StreamArn"]}
                event_props.setdefault("MaximumRetryAttempts", 5)
                event_props.setdefault("BisectBatchOnFunctionError", True)
                # the fan-out answers the earliest failed change (chalicelib/streams.py)
                event_props.setdefault("FunctionResponseTypes", ["ReportBatchItemFailures"])
                failures = _metadata(tables[table_id]).get("StreamFailureQueue")
                if failures:
                    event_props.setdefault("DestinationConfig", {
                        "OnFailure": {"Destination": {"Fn::GetAtt": [failures, "Arn"]}}})
            elif kind in SCHEDULE_EVENT_TYPES:
                if rule_id is None:
                    warnings.append(f"{logical_id}: schedule {event_props.get('Schedule')!r} is not declared in "
                                    f"infra/template.yaml; kept as Chalice emitted it")
                    continue
                expected = infra["Resources"][rule_id]["Properties"]["ScheduleExpression"]
                if event_props.get("Schedule") != expected:
                    raise PackageError(f"{handler} is scheduled {event_props.get('Schedule')!r} in app.py "
                                       f"but {expected!r} by {rule_id} in infra/template.yaml")
                del events[event_id]  # the infra rule fires it; keeping both would run it twice
        if "Events" in props and not events:
            del props["Events"]
        props["Role"] = {"Fn::GetAtt": [_role_for(roles, handler, logical_id), "Arn"]}
    return handlers


def function_name(handler: str) -> str:
    """A Chalice function's name from its Lambda handler: ``app.table_stream`` -> ``table_stream``,
    ``chalicelib.api.auth.jwt_auth`` -> ``jwt_auth``; the API handler ``app.app`` is ``api_handler``."""
    name = handler.rsplit(".", 1)[-1]
    return API_FUNCTION if name == "app" else name


def _function_roles(infra: dict[str, Any]) -> dict[str, list[str]]:
    """Chalice function name -> the roles whose ``Metadata.Functions`` name it."""
    roles: dict[str, list[str]] = {}
    for logical_id, role in _of_type(infra["Resources"], "AWS::IAM::Role").items():
        for name in _metadata(role).get("Functions") or []:
            roles.setdefault(str(name), []).append(logical_id)
    return roles


def _role_for(roles: dict[str, list[str]], handler: str, logical_id: str) -> str:
    name = function_name(handler)
    claimed = roles.get(name, [])
    if len(claimed) != 1:
        which = "no role" if not claimed else f"several roles ({', '.join(sorted(claimed))})"
        raise PackageError(f"function {name} ({logical_id}) is claimed by {which}: name it in exactly one "
                           f"role's Metadata.Functions in infra/template.yaml (least privilege: one role "
                           f"per function group)")
    return claimed[0]


def _wire_rules(resources: dict[str, Any], handlers: dict[str, str], warnings: list[str]) -> None:
    for rule_id, rule in list(_of_type(resources, "AWS::Events::Rule").items()):
        handler = _metadata(rule).get("ChaliceHandler")
        if not handler:
            continue
        function_id = handlers.get(handler)
        if function_id == AMBIGUOUS:
            raise PackageError(f"{rule_id}: several functions are called {handler!r}; name it by its full "
                               f"handler path in Metadata.ChaliceHandler")
        if function_id is None:
            warnings.append(f"{rule_id}: app.py has no function {handler!r}; the rule is left out")
            del resources[rule_id]
            continue
        rule["Properties"]["Targets"] = [{"Id": re.sub(r"[^A-Za-z0-9_.-]", "-", handler)[:64],
                                          "Arn": {"Fn::GetAtt": [function_id, "Arn"]}}]
        permission_id = f"{rule_id}InvokePermission"
        if permission_id in resources:
            raise PackageError(f"{permission_id} already exists")
        resources[permission_id] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Ref": function_id},
                "Action": "lambda:InvokeFunction",
                "Principal": "events.amazonaws.com",
                "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
            },
        }


def _inline_state_machines(resources: dict[str, Any], definitions_root: Path) -> None:
    from chalicelib.local.asl import AslError, placeholders, read_definition

    for logical_id, machine in _of_type(resources, "AWS::StepFunctions::StateMachine").items():
        definition_file = _metadata(machine).get("DefinitionFile")
        if not definition_file:
            continue
        try:
            definition = read_definition(definitions_root / definition_file)
        except AslError as exc:
            raise PackageError(str(exc)) from exc
        props = machine["Properties"]
        missing = placeholders(json.dumps(definition)) - set(props.get("DefinitionSubstitutions") or {})
        if missing:
            raise PackageError(f"{definition_file} uses {sorted(missing)}, which {logical_id}'s "
                               f"DefinitionSubstitutions does not provide")
        role = props.get("RoleArn")
        if isinstance(role, dict) and "Fn::GetAtt" in role and role["Fn::GetAtt"][0] in resources:
            policy = state_machine_policy(definition, props.get("DefinitionSubstitutions") or {}, resources, logical_id)
            role_props = resources[role["Fn::GetAtt"][0]].setdefault("Properties", {})
            role_props["Policies"] = [p for p in role_props.get("Policies") or []
                                      if p.get("PolicyName") != policy["PolicyName"]] + [policy]
        _hoist_task_resources(definition, props.setdefault("DefinitionSubstitutions", {}), logical_id)
        props["Definition"] = definition


# Service integration (``arn:${Partition}:states:::<service>:<api>[.pattern]``) -> (IAM action, the
# Parameters field that names its resource, how that resource's ARN is read from the template).
STATE_MACHINE_INTEGRATIONS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("sqs", "sendMessage"): ("sqs:SendMessage", "QueueUrl", "Arn"),
    ("dynamodb", "getItem"): ("dynamodb:GetItem", "TableName", "Arn"),
    ("dynamodb", "putItem"): ("dynamodb:PutItem", "TableName", "Arn"),
    ("dynamodb", "updateItem"): ("dynamodb:UpdateItem", "TableName", "Arn"),
    ("dynamodb", "deleteItem"): ("dynamodb:DeleteItem", "TableName", "Arn"),
    ("sns", "publish"): ("sns:Publish", "TopicArn", "Ref"),
    ("lambda", "invoke"): ("lambda:InvokeFunction", "FunctionName", "Arn"),
}
STATE_MACHINE_PATTERNS = {"", "waitForTaskToken"}  # ".sync" integrations need more (DescribeX, events)
DYNAMODB_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}


def _task_resources(definition: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every Task state's (Resource, Parameters or Arguments) in an ASL definition, nested states too."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(definition, list):
        for item in definition:
            found += _task_resources(item)
    elif isinstance(definition, dict):
        if definition.get("Type") == "Task" and isinstance(definition.get("Resource"), str):
            found.append((definition["Resource"], definition.get("Parameters") or definition.get("Arguments") or {}))
        for item in definition.values():
            if isinstance(item, (dict, list)):
                found += _task_resources(item)
    return found


def state_machine_policy(definition: Any, substitutions: dict[str, Any], resources: dict[str, Any],
                         logical_id: str) -> dict[str, Any]:
    """The IAM policy a state machine's role needs for its Task states, derived from the ASL.

    Each service integration's action (:data:`STATE_MACHINE_INTEGRATIONS`) is granted on exactly the
    resource its Parameters name through a ``${Substitution}`` that is a ``Ref`` to a template
    resource; a task on a KMS-encrypted table also gets the table key, through DynamoDB only. An
    integration, pattern or resource this cannot read is refused, so the role never silently lags
    behind the definition.
    """
    grants: dict[str, set[str]] = {}
    targets: dict[str, Any] = {}
    keys: dict[str, set[str]] = {}
    for resource, parameters in _task_resources(definition):
        # a literal partition is matched too: the merge refuses it afterwards, naming where it is
        match = re.match(r"^arn:(?:\$\{Partition\}|aws[a-z-]*):states:::(?:aws-sdk:)?([a-z0-9-]+):([A-Za-z]+)(?:\.(\w+))?$", resource)
        if not match:
            raise PackageError(f"{logical_id}: Task resource {resource!r} is not a service integration this "
                               f"package knows how to grant (write it as arn:${{Partition}}:states:::<service>:<api>)")
        service, api, pattern = match.group(1), match.group(2), match.group(3) or ""
        if (service, api) not in STATE_MACHINE_INTEGRATIONS or pattern not in STATE_MACHINE_PATTERNS:
            raise PackageError(f"{logical_id}: no IAM mapping for {service}:{api}{'.' + pattern if pattern else ''}; "
                               f"add it to infra/package.py STATE_MACHINE_INTEGRATIONS")
        action, field_name, attribute = STATE_MACHINE_INTEGRATIONS[(service, api)]
        value = parameters.get(field_name)
        placeholder = re.fullmatch(r"\$\{([A-Za-z0-9_]+)\}", value) if isinstance(value, str) else None
        ref = substitutions.get(placeholder.group(1)) if placeholder else None
        target = ref.get("Ref") if isinstance(ref, dict) else None
        if target not in resources:
            raise PackageError(f"{logical_id}: {service}:{api} must name its {field_name} as a ${{Substitution}} "
                               f"that is a Ref to a template resource (found {value!r})")
        grants.setdefault(target, set()).add(action)
        targets[target] = {"Ref": target} if attribute == "Ref" else {"Fn::GetAtt": [target, attribute]}
        sse = (resources[target].get("Properties") or {}).get("SSESpecification") or {}
        key = sse.get("KMSMasterKeyId")
        if service == "dynamodb" and isinstance(key, dict) and key.get("Ref") in resources:
            needs = {"kms:Decrypt", "kms:DescribeKey"} | ({"kms:Encrypt", "kms:GenerateDataKey"}
                                                          if action in DYNAMODB_WRITES else set())
            keys.setdefault(key["Ref"], set()).update(needs)
    statements: list[dict[str, Any]] = [
        {"Sid": re.sub(r"[^A-Za-z0-9]", "", target), "Effect": "Allow", "Action": sorted(actions),
         "Resource": targets[target]} for target, actions in sorted(grants.items())]
    statements += [
        {"Sid": f"{re.sub(r'[^A-Za-z0-9]', '', key)}ThroughDynamoDB", "Effect": "Allow", "Action": sorted(actions),
         "Resource": {"Fn::GetAtt": [key, "Arn"]},
         "Condition": {"StringEquals": {"kms:ViaService": {"Fn::Sub": "dynamodb.${AWS::Region}.${AWS::URLSuffix}"}}}}
        for key, actions in sorted(keys.items())]
    if not statements:
        raise PackageError(f"{logical_id}: its definition has no Task state to grant anything for")
    return {"PolicyName": "state-machine-tasks",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}


def _hoist_task_resources(definition: Any, substitutions: dict[str, Any], logical_id: str) -> None:
    """Turn each Task ``Resource`` built from placeholders into one whole-value placeholder.

    ASL files write integrations as ``arn:${Partition}:states:::dynamodb:getItem`` (one file for
    every partition). cfn-lint's ASL schema accepts a Task ``Resource`` only as a literal
    ``arn:aws:...`` or as exactly one ``${Substitution}``, so the deployed template carries
    ``"Resource": "${StatesDynamodbGetItem}"`` with that substitution built by ``Fn::Sub`` from
    ``${AWS::Partition}`` and the other substitutions the string used: the same value on AWS, and
    the ASL's other fields still validated by cfn-lint.
    """
    if isinstance(definition, list):
        for item in definition:
            _hoist_task_resources(item, substitutions, logical_id)
        return
    if not isinstance(definition, dict):
        return
    resource = definition.get("Resource")
    if (definition.get("Type") == "Task" and isinstance(resource, str) and "${" in resource
            and not WHOLE_PLACEHOLDER.match(resource)):
        used = set(re.findall(r"\$\{([^}]+)\}", resource))
        unknown = used - set(substitutions)
        if unknown:
            raise PackageError(f"{logical_id}: {resource!r} uses {sorted(unknown)}, not in DefinitionSubstitutions")
        key = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+",
                      re.sub(r"^arn:\$\{Partition\}:", "", resource)) if part)
        variables = {name: substitutions[name] for name in used if name != "Partition"}
        text = resource.replace("${Partition}", "${AWS::Partition}")
        value = {"Fn::Sub": [text, variables] if variables else text}
        if substitutions.get(key, value) != value:
            raise PackageError(f"{logical_id}: DefinitionSubstitutions already has {key!r} for something else")
        substitutions[key] = value
        definition["Resource"] = "${" + key + "}"
    for item in definition.values():
        if isinstance(item, (dict, list)):
            _hoist_task_resources(item, substitutions, logical_id)


def _embed_gateway_responses(resources: dict[str, Any], warnings: list[str]) -> None:
    responses = _of_type(resources, "AWS::ApiGateway::GatewayResponse")
    if not responses:
        return
    api = resources.get(REST_API)
    body = ((api or {}).get("Properties") or {}).get("DefinitionBody")
    if body is None:
        warnings.append("chalice emitted no RestAPI (no routes): the gateway responses are left out")
        for logical_id in responses:
            del resources[logical_id]
        return
    embedded = body.setdefault("x-amazon-apigateway-gateway-responses", {})
    for logical_id, response in responses.items():
        props = response["Properties"]
        if props.get("RestApiId") != {"Ref": REST_API}:
            raise PackageError(f"{logical_id} must belong to the Chalice {REST_API}")
        entry: dict[str, Any] = {}
        if "StatusCode" in props:
            entry["statusCode"] = int(props["StatusCode"])
        if props.get("ResponseParameters"):
            entry["responseParameters"] = props["ResponseParameters"]
        if props.get("ResponseTemplates"):
            entry["responseTemplates"] = props["ResponseTemplates"]
        embedded[props["ResponseType"]] = entry
        del resources[logical_id]


def merge(sam: dict[str, Any], infra: dict[str, Any], *, definitions_root: Path = PROJECT_ROOT,
          code_prefix: str = "chalice") -> MergeResult:
    """``sam`` (chalice's output) with the infra template merged in and wired (see module doc).

    ``code_prefix`` is chalice's output folder relative to where the merged template is written,
    so that ``CodeUri`` keeps pointing at deployment.zip; ``definitions_root`` is the folder the
    state machines' ``Metadata.DefinitionFile`` paths are relative to (the project root).
    """
    template = copy.deepcopy(sam)
    infra = copy.deepcopy(infra)
    warnings: list[str] = []
    for section in MERGED_SECTIONS:
        ours = infra.get(section) or {}
        theirs = template.get(section) or {}
        clash = sorted(set(ours) & set(theirs))
        if clash:
            raise PackageError(f"{section} {clash} are defined both by chalice and by infra/template.yaml")
        if ours or theirs:
            template[section] = {**theirs, **ours}
    template["Globals"] = _deep_merge(template.get("Globals") or {}, infra.get("Globals") or {}, "Globals")
    transforms = template.get("Transform") or []
    transforms = [transforms] if isinstance(transforms, str) else list(transforms)
    if SAM_TRANSFORM not in transforms:
        transforms.append(SAM_TRANSFORM)
    template["Transform"] = transforms[0] if len(transforms) == 1 else transforms
    if infra.get("Description"):
        template["Description"] = infra["Description"]
    resources = template["Resources"]
    handlers = _wire_functions(resources, infra, code_prefix, warnings)
    for layer in _of_type(resources, "AWS::Serverless::LayerVersion").values():
        if "LayerBuild" not in _metadata(layer):  # infra's model layers: infra/sizes.py places them
            _relocate(layer["Properties"], "ContentUri", code_prefix)  # chalice's automatic_layer
    _wire_rules(resources, handlers, warnings)
    _inline_state_machines(resources, definitions_root)
    _embed_gateway_responses(resources, warnings)
    operations.add_function_operations(resources, infra.get("Metadata") or {})
    operations.configure_api(resources, infra.get("Metadata") or {}, REST_API)
    literals = _literal_partitions(template)
    if literals:
        raise PackageError("ARNs hard-coded to the aws partition (use ${AWS::Partition}, or ${Partition} in "
                           f"ASL files): {', '.join(literals)}")
    return MergeResult(template=template, warnings=warnings)


# --------------------------------------------------------------------------- lint
def lint(template_path: Path, regions: tuple[str, ...] = LINT_REGIONS) -> LintResult:
    """Run cfn-lint (this venv's) on ``template_path`` for ``regions``."""
    executable = Path(sys.executable).parent / "cfn-lint"
    command = [str(executable) if executable.exists() else "cfn-lint", "--format", "json",
               "--regions", *regions, "--", str(template_path)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        findings = json.loads(completed.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise PackageError(f"cfn-lint failed ({completed.returncode}): {completed.stdout}{completed.stderr}") from exc
    if completed.returncode & 1:  # 1 = cfn-lint itself failed
        raise PackageError(f"cfn-lint failed: {completed.stderr}")
    by_level: dict[str, list[dict[str, Any]]] = {"Error": [], "Warning": [], "Informational": []}
    for finding in findings:
        by_level.setdefault(finding.get("Level", "Error"), []).append(finding)
    return LintResult(errors=by_level["Error"], warnings=by_level["Warning"],
                      informational=by_level["Informational"], returncode=completed.returncode)


def describe(finding: dict[str, Any]) -> str:
    """One line for a cfn-lint finding."""
    rule = finding.get("Rule", {}).get("Id", "?")
    path = "/".join(str(p) for p in finding.get("Location", {}).get("Path", []) or [])
    return f"{finding.get('Level', '?')} {rule} {path}: {finding.get('Message', '')}"


# --------------------------------------------------------------------------- cli
class _PlainDumper(yaml.SafeDumper):
    """Writes a value shared by several resources (an anchor in infra/template.yaml) out in full
    each time: CloudFormation does not resolve YAML aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def build(project_dir: Path = PROJECT_ROOT, *, stage: str = "prod", out_dir: Path | None = None,
          infra_template: Path = INFRA_TEMPLATE) -> tuple[Path, MergeResult]:
    """Package the Chalice app in ``project_dir`` and write the merged template; return its path."""
    out_dir = out_dir or project_dir / "build"
    chalice_dir = out_dir / "chalice"
    sam_path = run_chalice_package(project_dir, stage, chalice_dir)
    sam = json.loads(sam_path.read_text(encoding="utf-8"))
    with open(infra_template, encoding="utf-8") as handle:
        infra = yaml.safe_load(handle)
    result = merge(sam, infra, definitions_root=infra_template.resolve().parents[1],
                   code_prefix=os.path.relpath(chalice_dir, out_dir))
    try:  # Lambda's limits: the model layers built and attached, the local runtime left out, sizes
        sizes.attach_layers(result.template["Resources"], project_dir=project_dir, out_dir=out_dir)
        sizes.strip_not_deployed(chalice_dir / "deployment.zip")
        result.sizes = [size.describe() for size in sizes.check(result.template, out_dir)]
    except sizes.SizeError as exc:
        raise PackageError(str(exc)) from exc
    target = out_dir / "template.yaml"
    target.write_text(yaml.dump(result.template, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, width=120),
                      encoding="utf-8")
    return target, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--project-dir", type=Path, default=PROJECT_ROOT)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <project>/build)")
    parser.add_argument("--no-lint", action="store_true", help="skip cfn-lint")
    args = parser.parse_args(argv)
    project_dir = args.project_dir.resolve()
    out_dir = args.out.resolve() if args.out else project_dir / "build"
    out_dir.mkdir(parents=True, exist_ok=True)
    package_report.forget(out_dir)
    digest = package_report.source_digest(project_dir)  # before the build reads them
    try:
        target, result = build(project_dir, stage=args.stage, out_dir=out_dir)
    except PackageError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 2
    for warning in result.warnings:
        print(f"package: warning: {warning}", file=sys.stderr)
    for line in result.sizes:
        print(f"size: {line}")
    print(f"package: wrote {target}")
    if args.no_lint:
        return 0
    try:
        findings = lint(target)
    except PackageError as exc:
        print(f"package: {exc}", file=sys.stderr)
        return 2
    for finding in findings.errors + findings.warnings + findings.informational:
        print(f"cfn-lint: {describe(finding)}", file=sys.stderr)
    summary = (f"cfn-lint: {len(findings.errors)} error(s), {len(findings.warnings)} warning(s), "
               f"{len(findings.informational)} informational")
    print(summary)
    package_report.write(out_dir, digest=digest, stdout=[f"size: {line}" for line in result.sizes] + [summary],
                         lint_errors=len(findings.errors))
    return 0 if findings.ok else 1


if __name__ == "__main__":
    sys.exit(main())
