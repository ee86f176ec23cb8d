"""Run the app's functions under the IAM roles the built template gives them, on moto with IAM on.

What it does, so that a test can prove the template grants what the code calls:

* reads ``build/template.yaml`` (``make package``'s output): which role each Lambda function and the
  state machine runs as, and that role's policy documents (inline ``Policies`` and the template's
  own ``ManagedPolicyArns``);
* creates each role on moto with those statements' actions (moto checks actions only: its request
  resource is ``*`` for most services and it cannot evaluate ``Condition``s, so the moto copies
  say ``Resource: "*"`` and drop conditions) and assumes it;
* while a function runs (:func:`as_function`), every botocore request signed with the process's
  ambient credentials is signed with that function's assumed-role credentials instead: the
  function's boto3 clients, PynamoDB's connection and presigned URLs alike, as on Lambda where the
  ambient credentials *are* the role's. The state machine's service integrations (moto runs them
  in its own threads with its own clients) run under the state machine's role;
* records every call a function makes (service, operation, parameters), so that a test can check
  the resources statically: each call's ARN must be allowed by the role's statements with the
  template's ARNs resolved against what the local bootstrap created (:func:`denied_resources`).

Outside a function the test itself (setup, assertions, the event pump's own polling, which Lambda's
event source mappings do) signs as an administrator user; any other thread without a function
keeps the ambient dummy credentials, which moto refuses once enforcement is on.
"""
from __future__ import annotations

import contextvars
import fnmatch
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, unquote, urlparse

from infra.package import API_FUNCTION, function_name

# the process's dummy credentials: tests/conftest.py's, and those mock_aws puts in the environment
AMBIENT_ACCESS_KEYS = frozenset({"testing", "FOOBARKEY"})
STATE_MACHINE_PREFIX = "state-machine:"
FUNCTION_TYPE = "AWS::Serverless::Function"
STATE_MACHINE_TYPE = "AWS::StepFunctions::StateMachine"

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("iam_function", default=None)


# --------------------------------------------------------------------------- the template's roles
@dataclass
class Principal:
    """A function (by its Chalice name) or a state machine, and the role it runs as."""

    name: str
    logical_id: str
    role_id: str
    documents: list[dict[str, Any]]

    def statements(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for document in self.documents:
            statement = document["Statement"]
            found += statement if isinstance(statement, list) else [statement]
        return found


def _role_documents(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    resources = template["Resources"]
    role = resources[role_id]
    assert role["Type"] == "AWS::IAM::Role", f"{role_id} is not a role"
    props = role["Properties"]
    documents = [policy["PolicyDocument"] for policy in props.get("Policies") or []]
    for arn in props.get("ManagedPolicyArns") or []:
        assert isinstance(arn, dict) and set(arn) == {"Ref"}, (
            f"{role_id}: managed policy {arn!r} is not one of the template's own (its content is not reviewable here)")
        documents.append(resources[arn["Ref"]]["Properties"]["PolicyDocument"])
    return documents


def principals(template: dict[str, Any]) -> dict[str, Principal]:
    """Every function (by Chalice name) and state machine (``state-machine:<logical id>``) with its role."""
    found: dict[str, Principal] = {}
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties") or {}
        if resource.get("Type") == FUNCTION_TYPE:
            name = function_name(str(props["Handler"]))
            role = props["Role"]
        elif resource.get("Type") == STATE_MACHINE_TYPE:
            name = STATE_MACHINE_PREFIX + logical_id
            role = props["RoleArn"]
        else:
            continue
        assert isinstance(role, dict) and "Fn::GetAtt" in role, f"{logical_id}: role {role!r} is not the template's"
        role_id = role["Fn::GetAtt"][0]
        found[name] = Principal(name, logical_id, role_id, _role_documents(template, role_id))
    return found


# --------------------------------------------------------------------------- roles on moto
def role_name(principal: str) -> str:
    """The moto role a principal runs as in these tests."""
    return f"fn-{principal.replace(':', '-')}"[:64]


# Where moto names a call's action differently from AWS: AWS authorizes a batch or transaction by the
# actions of its entries (SendMessage per message; PutItem, UpdateItem... per item, which
# :func:`required` checks with each item's resource), moto by the call's own name.
MOTO_ACTION_ALIASES = {
    "sqs:SendMessageBatch": ("sqs:SendMessage",),
    "sqs:DeleteMessageBatch": ("sqs:DeleteMessage",),
    "sqs:ChangeMessageVisibilityBatch": ("sqs:ChangeMessageVisibility",),
    "dynamodb:TransactWriteItems": ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                                    "dynamodb:ConditionCheckItem"),
    "dynamodb:TransactGetItems": ("dynamodb:GetItem",),
}


def moto_document(statements: list[dict[str, Any]]) -> dict[str, Any]:
    """The statements as moto can check them: same effect and actions (plus moto's names for batches
    and transactions, :data:`MOTO_ACTION_ALIASES`), any resource, no condition."""
    converted = []
    for statement in statements:
        if "Action" not in statement:
            continue
        actions = _as_list(statement["Action"])
        aliases = [alias for alias, by in MOTO_ACTION_ALIASES.items()
                   if any(_matches(a, b) for a in actions for b in by)]
        converted.append({"Effect": statement["Effect"], "Action": actions + aliases, "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": converted}


@dataclass
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None

    def botocore(self) -> Any:
        from botocore.credentials import Credentials as BotocoreCredentials

        return BotocoreCredentials(self.access_key, self.secret_key, self.token)


def set_role_statements(name: str, statements: list[dict[str, Any]]) -> None:
    """Replace the moto role ``name``'s permissions with ``statements`` (as :func:`moto_document` makes them)."""
    import boto3

    boto3.client("iam").put_role_policy(RoleName=name, PolicyName="template",
                                        PolicyDocument=json.dumps(moto_document(statements)))


def create_role(name: str, statements: list[dict[str, Any]]) -> Credentials:
    """A role on moto with ``statements`` (as :func:`moto_document` makes them), assumed once."""
    import boto3

    iam = boto3.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    set_role_statements(name, statements)
    answer = boto3.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName=f"{name}-test"[:64])["Credentials"]
    return Credentials(answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"])


def create_admin() -> Credentials:
    """An IAM user allowed everything: the test's own calls once enforcement is on."""
    import boto3

    iam = boto3.client("iam")
    iam.create_user(UserName="test-harness")
    iam.put_user_policy(UserName="test-harness", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="test-harness")["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


# --------------------------------------------------------------------------- recording and signing
@dataclass(frozen=True)
class Call:
    """One AWS call a function made: the botocore service name, the operation, its parameters."""

    principal: str
    service: str
    operation: str
    params: dict[str, Any] = field(hash=False, compare=False)


@dataclass
class Harness:
    """Credentials per principal, the calls they made; installed by :func:`installed`."""

    credentials: dict[str, Credentials]
    admin: Credentials
    calls: list[Call] = field(default_factory=list)
    denials: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, principal: str, service: str, operation: str, params: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append(Call(principal, service, operation, dict(params)))

    def credentials_for_ambient(self) -> Credentials | None:
        name = _current.get()
        if name is not None:
            if name not in self.credentials:
                raise AssertionError(f"no role for function {name!r} in the built template")
            return self.credentials[name]
        if threading.current_thread() is threading.main_thread():
            return self.admin
        return None  # a thread no function owns: moto refuses the dummy credentials


@contextmanager
def as_function(name: str) -> Iterator[None]:
    """AWS calls made inside the block are the function ``name``'s."""
    token = _current.set(name)
    try:
        yield
    finally:
        _current.reset(token)


def current_function() -> str | None:
    return _current.get()


@contextmanager
def installed(harness: Harness, state_machine: str) -> Iterator[None]:
    """Patch botocore (signing, calls) and moto's Step Functions clients for ``harness``."""
    import sys

    from botocore.client import BaseClient
    from botocore.exceptions import ClientError
    from botocore.signers import RequestSigner

    original_sign = RequestSigner.sign
    original_call = BaseClient._make_api_call
    original_presign = RequestSigner.generate_presigned_url

    def sign(self: Any, *args: Any, **kwargs: Any) -> Any:
        current = self._credentials
        if current is None or current.access_key not in AMBIENT_ACCESS_KEYS:
            return original_sign(self, *args, **kwargs)
        replacement = harness.credentials_for_ambient()
        if replacement is None:
            return original_sign(self, *args, **kwargs)
        self._credentials = replacement.botocore()
        try:
            return original_sign(self, *args, **kwargs)
        finally:
            self._credentials = current

    def make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        name = _current.get() or getattr(_sfn_principal, "name", None)
        if name is not None:
            harness.record(name, self.meta.service_model.service_name, operation_name, api_params)
        try:
            return original_call(self, operation_name, api_params)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 403 or "AccessDenied" in str(error.get("Code")) or "not authorized" in str(exc):
                with harness._lock:
                    harness.denials.append(f"{name or 'test'}: {self.meta.service_model.service_name}."
                                           f"{operation_name} ({error.get('Code')}: {str(error.get('Message'))[:160]})")
            raise

    def presign(self: Any, request_dict: dict[str, Any], operation_name: str, *args: Any, **kwargs: Any) -> Any:
        name = _current.get()
        if name is not None:
            harness.record(name, "s3-presigned", operation_name, {"url": request_dict.get("url", "")})
        return original_presign(self, request_dict, operation_name, *args, **kwargs)

    sfn_credentials = harness.credentials[state_machine]
    _import_service_integrations()
    patched_modules = [module for module_name, module in list(sys.modules.items())
                       if module_name.startswith("moto.stepfunctions") and module is not None
                       and hasattr(module, "boto_client_for")]
    originals = {module: module.boto_client_for for module in patched_modules}

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        import boto3
        from botocore.config import Config

        _sfn_principal.name = state_machine
        return boto3.client(service, region_name=region, aws_access_key_id=sfn_credentials.access_key,
                            aws_secret_access_key=sfn_credentials.secret_key,
                            aws_session_token=sfn_credentials.token,
                            config=Config(parameter_validation=False, retries={"total_max_attempts": 1}))

    RequestSigner.sign = sign
    BaseClient._make_api_call = make_api_call
    RequestSigner.generate_presigned_url = presign
    for module in patched_modules:
        module.boto_client_for = boto_client_for
    try:
        yield
    finally:
        RequestSigner.sign = original_sign
        BaseClient._make_api_call = original_call
        RequestSigner.generate_presigned_url = original_presign
        for module, original in originals.items():
            module.boto_client_for = original


_sfn_principal = threading.local()  # moto's execution threads: the state machine's calls


def _import_service_integrations() -> None:
    """Import moto's Step Functions task modules now: each binds ``boto_client_for`` at import."""
    import importlib
    import pkgutil

    import moto.stepfunctions.parser.asl.component.state.exec.state_task.service as services

    for info in pkgutil.iter_modules(services.__path__):
        importlib.import_module(f"{services.__name__}.{info.name}")
    importlib.import_module("moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils")


# --------------------------------------------------------------------------- what a call needs
def _s3_from_url(url: str) -> tuple[str, str, dict[str, list[str]]]:
    parsed = urlparse(url)
    host_bucket = parsed.hostname.split(".s3", 1)[0] if parsed.hostname and ".s3" in parsed.hostname else ""
    path = unquote(parsed.path.lstrip("/"))
    if host_bucket:
        return host_bucket, path, parse_qs(parsed.query)
    bucket, _, key = path.partition("/")
    return bucket, key, parse_qs(parsed.query)


def required(call: Call, arns: "ArnBook") -> list[tuple[str, str]]:
    """The IAM ``(action, resource ARN)`` pairs AWS checks for ``call``."""
    p = call.params
    if call.service == "s3-presigned":
        bucket, key, query = _s3_from_url(p["url"])
        action = "s3:GetObjectVersion" if "versionId" in query else "s3:GetObject"
        return [(action, f"arn:{arns.partition}:s3:::{bucket}/{key}")]
    if call.service == "dynamodb":
        if call.operation in ("TransactWriteItems", "TransactGetItems"):
            kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
            return [(f"dynamodb:{kinds[kind]}", arns.table(body["TableName"]))
                    for item in p["TransactItems"] for kind, body in item.items()]
        if call.operation in ("BatchGetItem", "BatchWriteItem"):
            action = "dynamodb:" + call.operation
            return [(action, arns.table(table)) for table in p["RequestItems"]]
        table = arns.table(p["TableName"])
        if p.get("IndexName"):
            table += f"/index/{p['IndexName']}"
        return [(f"dynamodb:{call.operation}", table)]
    if call.service == "dynamodbstreams":
        return [(f"dynamodb:{call.operation}", p.get("StreamArn", "*"))]
    if call.service == "sqs":
        return [(f"sqs:{call.operation.replace('Batch', '')}", arns.queue(p["QueueUrl"]))]
    if call.service == "s3":
        action = {"ListObjectVersions": "ListBucketVersions", "ListObjectsV2": "ListBucket",
                  "ListObjects": "ListBucket", "HeadBucket": "ListBucket", "HeadObject": "GetObject"}.get(
            call.operation, call.operation)
        if action == "GetObject" and p.get("VersionId"):
            action = "GetObjectVersion"
        target = f"arn:{arns.partition}:s3:::{p['Bucket']}" + (f"/{p['Key']}" if "Key" in p else "")
        return [(f"s3:{action}", target)]
    if call.service == "kms":
        return [(f"kms:{call.operation}", arns.key(p.get("KeyId", "*")))]
    if call.service == "stepfunctions":
        target = p.get("stateMachineArn") or p.get("executionArn") or "*"
        return [(f"states:{call.operation}", target)]
    if call.service == "secretsmanager":
        name = p.get("SecretId") or p.get("Name") or "*"
        return [(f"secretsmanager:{call.operation}", arns.secret(name))]
    if call.service == "ssm":
        names = p.get("Names") or [p.get("Name") or p.get("Path") or "*"]
        return [(f"ssm:{call.operation}", arns.parameter(n)) for n in names]
    if call.service == "ses":
        source = str(p.get("Source") or p.get("FromEmailAddress") or "*")
        return [(f"ses:{call.operation}", arns.ses_identity(source.rsplit("@", 1)[-1]))]
    if call.service == "sesv2":
        source = str(p.get("FromEmailAddress") or "*")
        return [(f"ses:{call.operation}", arns.ses_identity(source.rsplit("@", 1)[-1]))]
    if call.service == "cloudwatch":
        return [(f"cloudwatch:{call.operation}", "*")]
    return [(f"{call.service}:{call.operation}", "*")]


@dataclass
class ArnBook:
    """Names on moto -> ARNs, for the resources the calls name."""

    region: str
    account: str
    partition: str = "aws"
    keys: dict[str, str] = field(default_factory=dict)  # key id / alias -> key ARN

    def table(self, name: str) -> str:
        return name if name.startswith("arn:") else f"arn:{self.partition}:dynamodb:{self.region}:{self.account}:table/{name}"

    def queue(self, url: str) -> str:
        return f"arn:{self.partition}:sqs:{self.region}:{self.account}:{url.rstrip('/').rsplit('/', 1)[-1]}"

    def key(self, key_id: str) -> str:
        return self.keys.get(key_id, key_id if key_id.startswith("arn:") else
                             f"arn:{self.partition}:kms:{self.region}:{self.account}:key/{key_id}")

    def secret(self, name: str) -> str:
        # AWS appends six random characters to a secret's ARN
        return name if name.startswith("arn:") else f"arn:{self.partition}:secretsmanager:{self.region}:{self.account}:secret:{name}-AbCdEf"

    def parameter(self, name: str) -> str:
        return name if name.startswith("arn:") else f"arn:{self.partition}:ssm:{self.region}:{self.account}:parameter/{name.lstrip('/')}"

    def ses_identity(self, identity: str) -> str:
        return f"arn:{self.partition}:ses:{self.region}:{self.account}:identity/{identity}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value.lower(), pattern.lower().replace("[", "[[]"))


def allows(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """Whether resolved ``statements`` allow ``action`` on ``resource`` (and no statement denies it)."""
    allowed = False
    for statement in statements:
        if not any(_matches(a, action) for a in _as_list(statement.get("Action", []))):
            continue
        if not any(_matches(r, resource) for r in _as_list(statement.get("Resource", []))):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def denied_resources(calls: list[Call], resolved: dict[str, list[dict[str, Any]]], arns: ArnBook) -> list[str]:
    """Calls whose (action, resource) the principal's resolved statements do not allow."""
    problems: set[str] = set()
    for call in calls:
        for action, resource in required(call, arns):
            if not allows(resolved[call.principal], action, resource):
                problems.add(f"{call.principal}: {action} on {resource}")
    return sorted(problems)


def resolve_statements(principal: Principal, resolve: Callable[[Any], Any]) -> list[dict[str, Any]]:
    """``principal``'s statements with the template's intrinsics resolved to moto's names."""
    return [resolve(statement) for statement in principal.statements()]
