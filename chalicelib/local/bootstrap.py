"""Creates the resources of ``infra/template.yaml`` on a running moto server, and checks them.

The local runtime must run against the same resources the deployed stack has, so this module reads
the very template that ``make package`` deploys and creates each resource through the service APIs
(not through moto's CloudFormation: it reported a state machine created that the Step Functions API
then did not list). It resolves the template's intrinsics (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``,
``Fn::Join``) against what it created, in dependency order, and returns the functions' environment
(``Globals.Function.Environment.Variables``) with local values.

Local names come from each resource's ``Metadata.LocalName`` (deployed names are generated).
Running :func:`bootstrap` twice against one server changes nothing and returns the same values:
every step looks first, creates only what is missing, and re-applies settings only where the
service's call is an idempotent "put".

:func:`check_resources` is the cheap reachability probe behind ``GET /health``.
"""
from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "infra" / "template.yaml"

LOCAL_STACK_NAME = "local"
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

# Resource types with no local counterpart, and why they are left out.
SKIPPED_TYPES = {
    # The local HTTP server answers gateway-level failures with the envelope itself
    # (chalicelib/local/gateway.py); there is no API Gateway locally.
    "AWS::ApiGateway::GatewayResponse",
    # Lambda does not run locally (the handlers run in-process with the venv's packages): the model
    # layers are for the deployed functions only.
    "AWS::Serverless::LayerVersion",
    # Nobody is e-mailed locally: alarms notify the topic, which has no subscriber here.
    "AWS::SNS::Subscription",
    # Nothing publishes metrics locally; the admin's flow page shows the flows instead.
    "AWS::CloudWatch::Dashboard",
}


class BootstrapError(RuntimeError):
    """The template cannot be created locally (unknown resource type, unresolvable reference...)."""


class _NoLocalValue(Exception):
    """A value depends on a deploy-time parameter that has no default."""


@dataclass(frozen=True)
class ScheduledRule:
    """A schedule rule of the template: what fires, when (UTC), and which app.py handler it runs."""

    logical_id: str
    name: str
    expression: str
    handler: str


def load_template(path: str | Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The infra template as a dict (it uses long-form intrinsics, so plain YAML reads it).

    A fresh copy each call (callers may change it); parsed once per file version.
    """
    path = Path(path)
    stat = path.stat()
    return copy.deepcopy(_parsed_template(str(path), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=4)
def _parsed_template(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    import yaml  # lazily: only the local runtime and the packager need it

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's safe loader is ~10x faster
    with open(path, encoding="utf-8") as handle:
        template = yaml.load(handle, Loader=loader)  # noqa: S506 - a safe loader
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise BootstrapError(f"{path}: not a CloudFormation template with Resources")
    return template


def local_name(logical_id: str, resource: Mapping[str, Any]) -> str:
    """The resource's name on the local runtime: ``Metadata.LocalName``, else the kebab-cased id."""
    name = (resource.get("Metadata") or {}).get("LocalName")
    if name:
        return str(name)
    return re.sub(r"(?<!^)(?=[A-Z])", "-", logical_id).lower()


def scheduled_rules(template: Mapping[str, Any] | None = None) -> list[ScheduledRule]:
    """Every ``AWS::Events::Rule`` with a schedule, with the app.py handler it targets."""
    template = template if template is not None else load_template()
    rules = []
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Events::Rule" and "ScheduleExpression" in props:
            rules.append(ScheduledRule(logical_id=logical_id, name=local_name(logical_id, resource),
                                       expression=props["ScheduleExpression"],
                                       handler=str((resource.get("Metadata") or {}).get("ChaliceHandler", ""))))
    return rules


# --------------------------------------------------------------------------- intrinsics
def references(value: Any) -> set[str]:
    """Logical ids (resources or parameters) that a template value refers to."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref" and isinstance(arg, str):
                return {arg} if not arg.startswith("AWS::") else set()
            if key == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
                return {target}
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                for name in re.findall(r"\$\{([^}!]+)\}", text):
                    base = name.split(".", 1)[0]
                    if base not in variables and not base.startswith("AWS::"):
                        found.add(base)
                return found | references(variables)
        for item in value.values():
            found |= references(item)
    return found


@dataclass
class _Physical:
    """What a created resource answers to ``Ref`` and ``Fn::GetAtt``."""

    ref: str
    attrs: dict[str, str] = field(default_factory=dict)


class _Resolver:
    """Resolves intrinsic functions against the pseudo parameters and the resources made so far."""

    def __init__(self, template: Mapping[str, Any], region: str, account: str) -> None:
        self.parameters: dict[str, Any] = template.get("Parameters") or {}
        self.pseudo = {
            "AWS::Partition": "aws",
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::StackName": LOCAL_STACK_NAME,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.physical: dict[str, _Physical] = {}

    def ref(self, name: str) -> str:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.physical:
            return self.physical[name].ref
        if name in self.parameters:
            if "Default" not in self.parameters[name]:
                raise _NoLocalValue(name)
            return str(self.parameters[name]["Default"])
        raise BootstrapError(f"Ref to {name}, which is not created locally")

    def get_att(self, logical_id: str, attribute: str) -> str:
        physical = self.physical.get(logical_id)
        if physical is None or attribute not in physical.attrs:
            raise BootstrapError(f"Fn::GetAtt {logical_id}.{attribute} has no local value")
        return physical.attrs[attribute]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(item) for item in self.resolve(items))
            if key.startswith("Fn::"):
                raise BootstrapError(f"{key} is not supported by the local bootstrap")
        return {key: self.resolve(item) for key, item in value.items()}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(name)

        return re.sub(r"\$\{([^}]+)\}", replace, text)


# --------------------------------------------------------------------------- clients
_SESSIONS: dict[tuple[str, bool], Any] = {}
_SESSIONS_LOCK = threading.Lock()


def _session(region: str, *, local: bool = True) -> Any:
    """One boto3 session per region, kept: its loader caches the service models, which makes new
    clients cheap (tests bootstrap once per test). Clients themselves are made per bootstrap, so
    that each is created inside whatever moto mock is active at the time. ``local`` sessions carry
    moto's dummy credentials; the others use boto3's default credential chain."""
    with _SESSIONS_LOCK:
        if (region, local) not in _SESSIONS:
            import boto3  # lazily: importing this module must stay cheap

            credentials = LOCAL_CREDENTIALS if local else {}
            _SESSIONS[(region, local)] = boto3.session.Session(region_name=region, **credentials)
        return _SESSIONS[(region, local)]


class _Clients:
    """boto3 clients for one moto endpoint, made on first use."""

    def __init__(self, endpoint_url: str | None, region: str) -> None:
        self._region = region
        self._endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            session = _session(self._region)
            with _SESSIONS_LOCK:  # a boto3 session is not thread-safe when it makes clients
                self._clients[service] = session.client(service, endpoint_url=self._endpoint_url)
        return self._clients[service]


def _matches(current: Any, desired: Any) -> bool:
    """Whether ``current`` (as a service describes it) already has every value of ``desired``.

    Dicts may carry more keys than desired; numbers compare by value (3 == 3.0 == "3"); lists
    compare item by item. So "describe, compare, put only if different" keeps a re-run a no-op.
    """
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(_matches(current.get(k), v) for k, v in desired.items())
    if isinstance(desired, list):
        return (isinstance(current, list) and len(current) == len(desired)
                and all(_matches(c, d) for c, d in zip(current, desired)))
    if isinstance(desired, bool) or isinstance(current, bool):
        return current == desired
    if isinstance(desired, (int, float)) and current is not None:
        try:
            return float(current) == float(desired)
        except (TypeError, ValueError):
            return False
    return current == desired


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


# --------------------------------------------------------------------------- creators
@dataclass
class _Context:
    clients: _Clients
    resolver: _Resolver
    template: Mapping[str, Any]
    region: str
    account: str

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        return f"arn:aws:{service}:{self.region if regional else ''}:{self.account}:{resource}"


Creator = Callable[[_Context, str, Mapping[str, Any]], _Physical]


def _props(ctx: _Context, resource: Mapping[str, Any]) -> dict[str, Any]:
    return ctx.resolver.resolve(resource.get("Properties") or {})


def _create_kms_key(ctx: _Context, logical_id: str, resource: Mapping[str, Any]) -> _Physical:
    kms = ctx.clients("kms")
    props = _props(ctx, resource)
    aliases = [ctx.resolver.resolve(r["Properties"]["AliasName"])
               for r in ctx.template["Resources"].values()
               if r.get("Type") == "AWS::KMS::Alias" and r["Properties"].get("TargetKeyId") == {"Ref": logical_id}]
    if not aliases:
        raise BootstrapError(f"{logical_id}: a KMS key needs an AWS::KMS::Alias to be found again locally")
    try:
        metadata = kms.describe_key(KeyId=aliases[0])["KeyMetadata"]
    except kms.exceptions.NotFoundException:
        metadata = kms.create_key(Description=props.get("Description", logical_id),
                                  Policy=json.dumps(props["KeyPolicy"]))["KeyMetadata"]
    if props.get("EnableKeyRotation") and not kms.get_key_rotation_status(KeyId=metadata["KeyId"])["KeyRotationEnabled"]:
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
    return _Physical(ref=metadata["KeyId"], attrs={"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]})


def _create_kms_alias(ctx: _Context, logical_id: str, resource: Mapping[str, Any]) -> _Physical:
    kms = ctx.clients("kms")
    props = _props(ctx, resource)
    try:
        kms.describe_key(KeyId=props["AliasName"])
    except kms.exceptions.NotFoundException:
        kms.create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
    return _Physical(ref=props["AliasName"])


def _create_table(ctx: _Context, logical_id: str, resource: Mapping[str, Any]) -> _Physical:
    dynamodb = ctx.clients("dynamodb")
    props = _props(ctx, resource)
    name = local_name(logical_id, resource)
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        args: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("StreamSpecification"):
            args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        sse = props.get("SSESpecification")
        if sse and sse.get("SSEEnabled"):
            args["SSESpecification"] = {"Enabled": True, "SSEType": sse.get("SSEType", "KMS")}
            if sse.get("KMSMasterKeyId"):
                args["SSESpecification"]["KMSMasterKeyId"] = sse["KMSMasterKeyId"]
        # DeletionProtectionEnabled is deliberately not applied: it guards the deployed table; the
        # local one is thrown away by `make reset` and by tests.
        table = dynamodb.create_table(**args)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        status = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "AttributeName": ttl["AttributeName"], "Enabled": True})
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr and pitr.get("PointInTimeRecoveryEnabled"):
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        status = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
        if status != "ENABLED":
            dynamodb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": True})
    attrs = {"Arn": table["TableArn"]}
    if table.get("LatestStreamArn"):
        attrs["StreamArn"] = table["LatestStreamArn"]
    return _Physical(ref=name, attrs=attrs)


def _create_bucket(ctx: _Context, logical_id: str, resource: Mapping[str, Any]) -> _Physical:
    s3 = ctx.clients("s3")
    props = _props(ctx, resource)
    name = local_name(logical_id, resource)
    try:
        s3.head_bucket(Bucket=name)
    except s3.exceptions.ClientError as exc:
        if _error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise
        if ctx.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": ctx.region})
    versioning = props.get("VersioningConfiguration")
    if versioning and s3.get_bucket_versioning(Bucket=name).get("Status") != versioning["Status"]:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]})
    encryption = props.get("BucketEncryption")
    if encryption:
        rules = [{"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                  **{k: v for k, v in rule.items() if k != "ServerSideEncryptionByDefault"}}
                 for rule in encryption["ServerSideEncryptionConfiguration"]]
        try:
            current = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
        except s3.exceptions.ClientError as exc:
            if _error_code(exc) != "ServerSideEncryptionConfigurationNotFoundError":
                raise
            current = None
        if not _matches(current, rules):
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    public_access = props.get("PublicAccessBlockConfiguration")
    if public_access:
        try:
            current = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        except s3.exceptions.ClientError as exc:
            if _error_code(exc) != "NoSuchPublicAccessBlockConfiguration":
                raise
            current = None
        if not _matches(current, public_access):
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=public_access)
    return _Physical(ref=name, attrs={"Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"})


def _requires_tls(statement: Mapping[str, Any]) -> bool:
    """A "deny plain HTTP" statement (``Bool aws:SecureTransport false``)."""
    condition = statement.get("Condition", {}).get("Bool", {})
    return statement.get("Effect") == "Deny" and str(condition.get("aws:SecureTransport")).lower() == "false"


def local_bucket_policy(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """The template's bucket policy as the embedded AWS can honour it.

    moto evaluates bucket policies without their conditions, so the template's "deny plain HTTP"
    statement would deny every object call, while on AWS it denies only plain-HTTP requests. The
    embedded runtime speaks plain HTTP on 127.0.0.1 by design, so that statement is left out here
    (and only here); ``None`` when nothing else remains.
    """
    statements = [s for s in document.get("Statement", []) if not _requires_tls(s)]
    return {**document, "Statement": statements} if statements else None


def _create_bucket_policy(ctx: _Context, logical_id: str, resource: Mapping[str, Any]) -> _Physical:
    s3 = ctx.clients("s3")
    props = _props(ctx, resource)
    try:
        current = json.loads(s3.get_bucket_policy(Bucket=props["Bucket"])["Policy"])
    except s3.exceptions.ClientError as exc:
        if _error_code(exc) != "NoSuchBucketPolicy":
            raise
        current = None
    wanted = local_bucket_policy(props["PolicyDocument"])
    if wanted is None:
        if current is not None:
            s3.delete_bucket_policy(Bucket=props["Bucket"])
    elif not _matches(current, wanted):
        s3.put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(wanted))
    return _Physical(ref=logical_id)


# CloudFormation property -> SQS attribute (value as SQS wants it: a string)
_SQS_ATTRIBUTES = {
    "ContentBasedDeduplication": "ContentBasedDeduplication",
    "DelaySeconds": "DelaySeconds",
    "FifoQueue": "FifoQueue",
    "KmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId": "KmsMasterKeyId",
    "MaximumMessageSize": "MaximumMessageSize",
    "MessageRetentionPeriod": "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy": "RedrivePolicy",
    "SqsManagedSseEnabled": "SqsManagedSseEnabled",
    "VisibilityTimeout": "VisibilityTimeout",
}


def _sqs_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _create_queue(ctx: _Context, logical_id: str, resource: Mapping[str, Any]) -> _Physical:
    sqs = ctx.clients("sqs")
    props = _props(ctx, resource)
    unknown = set(props) - set(_SQS_ATTRIBUTES) - {"Tags", "QueueName"}
    if unknown:
        raise BootstrapError(f"{logical_id}: queue properties not handled locally: {sorted(unknown)}")
    name = local_name(logical_id, resource)
    attributes = {_SQS_ATTRIBUTES[key]: _sqs_value(value) for key, value in props.items() if key in _SQS_ATTRIBUTES}
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return _Physical(ref=url, attrs={"Arn": arn, "QueueName": name, "QueueUrl": url})


def _create_alarm(ctx: _Context, logical_id: str, resource: Mapping[str, Any]) -> _Physical:
    props = _props(ctx, resource)
    name = local_name(logical_id, resource)
    cloudwatch = ctx.clients("cloudwatch")
    args = {key: value for key, value in props.items() if key != "AlarmName"}
    current = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    if not current or not _matches(current[0], args):
        cloudwatch.put_metric_alarm(AlarmName=name, **args)
    return _Physical(ref=name, attrs={"Arn": ctx.arn("cloudwatch", f"alarm:{name}")})


def _create_managed_policy(ctx: _Context, logical_id: str, resource: Mapping[str, Any]) -> _Physical:
    iam = ctx.clients("iam")
    props = _props(ctx, resource)
    name = local_name(logical_id, resource)
    arn = ctx.arn("iam", f"policy/{name}", regional=False)
    try:
        iam.get_policy(PolicyArn=arn)
    except iam.exceptions.NoSuchEntityException:
        iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(props["PolicyDocument"]),
                          Description=props.get("Description", ""))
    return _Physical(ref=arn, attrs={"PolicyArn": arn})


def _create_role(ctx: _Context, logical_id: str, resource: Mapping[str, Any]) -> _Physical:
    iam = ctx.clients("iam")
    props = _props(ctx, resource)
    name = local_name(logical_id, resource)
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=name, Description=props.get("Description", ""),
                               AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]))["Role"]
    for policy in props.get("Policies", []):
        try:
            current = iam.get_role_policy(RoleName=name, PolicyName=policy["PolicyName"])["PolicyDocument"]
        except iam.exceptions.NoSuchEntityException:
            current = None
        if not _matches(current, policy["PolicyDocument"]):
            iam.put_role_policy(RoleName=name, PolicyName=policy["PolicyName"],
                                PolicyDocument=json.dumps(policy["PolicyDocument"]))
    attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]}
    for policy_arn in props.get("ManagedPolicyArns", []):
        if policy_arn not in attached:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return _Physical(ref=name, attrs={"Arn": role["Arn"], "RoleId": role["RoleId"]})


def _create_state_machine(ctx: _Context, logical_id: str, resource: Mapping[str, Any]) -> _Physical:
    from chalicelib.local.asl import load_definition

    sfn = ctx.clients("stepfunctions")
    props = _props(ctx, resource)
    name = local_name(logical_id, resource)
    definition_file = (resource.get("Metadata") or {}).get("DefinitionFile")
    if not definition_file:
        raise BootstrapError(f"{logical_id}: a state machine needs Metadata.DefinitionFile")
    definition = load_definition(PROJECT_ROOT / definition_file, props.get("DefinitionSubstitutions", {}))
    arn = ctx.arn("states", f"stateMachine:{name}")
    try:
        current = sfn.describe_state_machine(stateMachineArn=arn)
    except sfn.exceptions.StateMachineDoesNotExist:
        sfn.create_state_machine(name=name, definition=definition, roleArn=props["RoleArn"],
                                 type=props.get("StateMachineType", "STANDARD"))
    else:
        if current["definition"] != definition or current["roleArn"] != props["RoleArn"]:
            sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=props["RoleArn"])
    return _Physical(ref=arn, attrs={"Arn": arn, "Name": name})


def _create_rule(ctx: _Context, logical_id: str, resource: Mapping[str, Any]) -> _Physical:
    events = ctx.clients("events")
    props = _props(ctx, resource)
    name = local_name(logical_id, resource)
    desired = {key: props[key] for key in ("ScheduleExpression", "EventPattern", "State", "Description") if key in props}
    if isinstance(desired.get("EventPattern"), dict):
        desired["EventPattern"] = json.dumps(desired["EventPattern"])
    try:
        current = events.describe_rule(Name=name)
    except events.exceptions.ResourceNotFoundException:
        current = {}
    if any(current.get(key) != value for key, value in desired.items()):
        events.put_rule(Name=name, **desired)
        current = events.describe_rule(Name=name)
    # Targets are Chalice functions, which do not exist locally: the event pump runs them.
    return _Physical(ref=name, attrs={"Arn": current["Arn"]})


def _create_topic(ctx: _Context, logical_id: str, resource: Mapping[str, Any]) -> _Physical:
    sns = ctx.clients("sns")
    name = local_name(logical_id, resource)
    arn = ctx.arn("sns", name)
    if arn not in {t["TopicArn"] for t in sns.list_topics()["Topics"]}:
        arn = sns.create_topic(Name=name)["TopicArn"]
    return _Physical(ref=arn, attrs={"TopicArn": arn, "TopicName": name})


def _create_log_group(ctx: _Context, logical_id: str, resource: Mapping[str, Any]) -> _Physical:
    logs = ctx.clients("logs")
    props = _props(ctx, resource)
    name = str(props.get("LogGroupName") or local_name(logical_id, resource))
    current = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
    if not current:
        logs.create_log_group(logGroupName=name)
    retention = props.get("RetentionInDays")
    if retention is not None and (not current or current[0].get("retentionInDays") != int(retention)):
        logs.put_retention_policy(logGroupName=name, retentionInDays=int(retention))
    return _Physical(ref=name, attrs={"Arn": ctx.arn("logs", f"log-group:{name}:*")})


def _create_secret(ctx: _Context, logical_id: str, resource: Mapping[str, Any]) -> _Physical:
    """A Secrets Manager secret; a ``GenerateSecretString`` value is generated once, like CloudFormation
    does, and kept on later runs (the snapshot keeps it across restarts)."""
    import secrets as random_source

    sm = ctx.clients("secretsmanager")
    props = _props(ctx, resource)
    name = props.get("Name") or local_name(logical_id, resource)
    try:
        arn = sm.describe_secret(SecretId=name)["ARN"]
    except sm.exceptions.ResourceNotFoundException:
        generate = props.get("GenerateSecretString")
        if "SecretString" in props:
            value = str(props["SecretString"])
        elif generate is not None:
            value = random_source.token_urlsafe(int(generate.get("PasswordLength", 32)))[
                : int(generate.get("PasswordLength", 32))]
        else:
            raise BootstrapError(f"{logical_id}: a secret needs SecretString or GenerateSecretString locally")
        arn = sm.create_secret(Name=name, SecretString=value, Description=props.get("Description", ""))["ARN"]
    return _Physical(ref=arn, attrs={"Id": arn})


CREATORS: dict[str, Creator] = {
    "AWS::SecretsManager::Secret": _create_secret,
    "AWS::SNS::Topic": _create_topic,
    "AWS::Logs::LogGroup": _create_log_group,
    "AWS::KMS::Key": _create_kms_key,
    "AWS::KMS::Alias": _create_kms_alias,
    "AWS::DynamoDB::Table": _create_table,
    "AWS::S3::Bucket": _create_bucket,
    "AWS::S3::BucketPolicy": _create_bucket_policy,
    "AWS::SQS::Queue": _create_queue,
    "AWS::CloudWatch::Alarm": _create_alarm,
    "AWS::IAM::ManagedPolicy": _create_managed_policy,
    "AWS::IAM::Role": _create_role,
    "AWS::StepFunctions::StateMachine": _create_state_machine,
    "AWS::Events::Rule": _create_rule,
}


def creation_order(template: Mapping[str, Any]) -> list[str]:
    """The template's locally created resources, each after everything it refers to."""
    resources = template["Resources"]
    wanted = {}
    for logical_id, resource in resources.items():
        kind = resource.get("Type")
        if kind in SKIPPED_TYPES:
            continue
        if kind not in CREATORS:
            raise BootstrapError(f"{logical_id}: resource type {kind} is not created by the local bootstrap")
        deps = references(resource.get("Properties") or {}) | set(resource.get("DependsOn") or [])
        wanted[logical_id] = {d for d in deps if d in resources}
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(wanted):
        ready = [lid for lid, deps in wanted.items() if lid not in done and deps <= done]
        if not ready:
            stuck = sorted(set(wanted) - done)
            raise BootstrapError(f"circular or skipped references among {stuck}")
        for logical_id in ready:  # template order within one wave keeps runs deterministic
            order.append(logical_id)
            done.add(logical_id)
    return order


def create_resources(endpoint_url: str | None, *, region: str = "us-east-1",
                     template: Mapping[str, Any] | None = None) -> _Resolver:
    """Create (or find again) every resource of the infra template; returns the resolver that
    answers ``Ref``/``Fn::GetAtt``/``Fn::Sub`` with their local names and ARNs (idempotent; the IAM
    tests resolve the built template's policies with it)."""
    template = template if template is not None else load_template()
    clients = _Clients(endpoint_url, region)
    account = clients("sts").get_caller_identity()["Account"]
    ctx = _Context(clients=clients, resolver=_Resolver(template, region, account), template=template,
                   region=region, account=account)
    for logical_id in creation_order(template):
        resource = template["Resources"][logical_id]
        try:
            ctx.resolver.physical[logical_id] = CREATORS[resource["Type"]](ctx, logical_id, resource)
        except _NoLocalValue as exc:
            raise BootstrapError(f"{logical_id} depends on parameter {exc} which has no default") from exc
    return ctx.resolver


def bootstrap(endpoint_url: str | None, *, region: str = "us-east-1",
              template_path: str | Path = TEMPLATE_PATH) -> dict[str, str]:
    """Create every resource of the infra template on the moto server at ``endpoint_url``.

    ``endpoint_url=None`` talks to whatever boto3 reaches by default: in-process ``mock_aws`` in
    tests. Credentials are moto's dummy ones either way, so no AWS account is ever touched
    unless boto3 is pointed at one on purpose.

    Returns the environment the functions get (``TABLE_NAME``, ``OUTBOX_QUEUE_URL``,
    ``TICKET_FLOW_ARN``...) with local values; a variable whose value is a deploy-time parameter
    without a default is left out. Idempotent.
    """
    template = load_template(template_path)
    resolver = create_resources(endpoint_url, region=region, template=template)
    variables = (((template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}).get("Variables") or {}
    env: dict[str, str] = {}
    for name, value in variables.items():
        try:
            env[name] = str(resolver.resolve(value))
        except _NoLocalValue:
            continue
    return env


# --------------------------------------------------------------------------- health
_PROBE_LOCK = threading.Lock()
_PROBE_CLIENTS: dict[tuple[str, str | None, str | None], Any] = {}
_PROBE_POOL: ThreadPoolExecutor | None = None


def _probe_client(service: str, endpoint_url: str | None, region: str) -> Any:
    key = (service, endpoint_url, region)
    with _PROBE_LOCK:
        if key not in _PROBE_CLIENTS:
            from botocore.config import Config

            session = _session(region, local=endpoint_url is not None)
            with _SESSIONS_LOCK:
                _PROBE_CLIENTS[key] = session.client(
                    service, endpoint_url=endpoint_url,
                    config=Config(connect_timeout=2, read_timeout=3, retries={"total_max_attempts": 1}))
        return _PROBE_CLIENTS[key]


def _probes(env: Mapping[str, str]) -> dict[str, tuple[str, Callable[[Any], Any]]]:
    """component -> (service, one cheap call) for each resource named in ``env``."""
    probes: dict[str, tuple[str, Callable[[Any], Any]]] = {}
    for key, value in env.items():
        if not value:
            continue
        if key == "TABLE_NAME":
            probes["table"] = ("dynamodb", lambda c, v=value: c.describe_table(TableName=v))
        elif key.endswith("_BUCKET"):
            probes[key.lower()] = ("s3", lambda c, v=value: c.head_bucket(Bucket=v))
        elif key.endswith("_QUEUE_URL"):
            probes[key[: -len("_URL")].lower()] = (
                "sqs", lambda c, v=value: c.get_queue_attributes(QueueUrl=v, AttributeNames=["QueueArn"]))
        elif key.endswith("_ARN") and ":states:" in value and ":stateMachine:" in value:
            probes[key[: -len("_ARN")].lower()] = (
                "stepfunctions", lambda c, v=value: c.describe_state_machine(stateMachineArn=v))
    return probes


def _region_of(env: Mapping[str, str]) -> str:
    """The region to talk to: the process's configured one, else the one in the resources' ARNs."""
    import os

    configured = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if configured:
        return configured
    for value in env.values():
        parts = value.split(":")
        if value.startswith("arn:") and len(parts) > 3 and parts[3]:
            return parts[3]
    return "us-east-1"


def check_resources(env: Mapping[str, str], *, endpoint_url: str | None = None,
                    region: str | None = None) -> dict[str, str]:
    """Is each resource the functions use reachable? component -> ``"ok"`` or the error text.

    Components: ``table``, ``<name>_bucket``, ``<name>_queue`` and one per state machine
    (``ticket_flow``), from ``TABLE_NAME``, ``*_BUCKET``, ``*_QUEUE_URL`` and state machine ``*_ARN``
    variables of ``env``. One describe/head call each, run concurrently, no retries, short timeouts.
    Without ``endpoint_url`` boto3's own configuration applies (``AWS_ENDPOINT_URL`` locally).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    probes = _probes(env)
    region = region or _region_of(env)

    def run(item: tuple[str, tuple[str, Callable[[Any], Any]]]) -> tuple[str, str]:
        component, (service, call) = item
        try:
            call(_probe_client(service, endpoint_url, region))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            return component, f"{error.get('Code', 'Error')}: {error.get('Message', '') or exc}".strip()
        except BotoCoreError as exc:
            return component, f"{type(exc).__name__}: {exc}"
        return component, "ok"

    global _PROBE_POOL
    with _PROBE_LOCK:
        if _PROBE_POOL is None:
            _PROBE_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="health")
        pool = _PROBE_POOL
    return dict(pool.map(run, probes.items()))
