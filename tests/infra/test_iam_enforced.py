"""The built template's roles, proven on moto with IAM enforcement on (issue 17, point 1).

The template is built once (``make package``'s merge, ``built_template``). Each Lambda function and
the state machine gets its role from that template, created on moto; the end-to-end flows then
run with every function's AWS calls signed with its own role's assumed-role credentials
(``tests/infra/iam_harness.py``) after ``set_initial_no_auth_action_count(0)``: a missing action
is an AccessDenied. moto checks actions only, so the resources each call touched are checked
against the template's ARNs afterwards, resolved to the local resources.
"""
from __future__ import annotations

import json
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.infra import iam_harness as harness

pytestmark = pytest.mark.package  # builds the template (chalice package) once for the module

UPPER = "province-12315"
UPPER_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EMAIL_SENDER = "noreply@notify.example.gov.cn"
CONTACT = {"email": "dispatcher@example.gov.cn", "mobile": "13700001234"}


@dataclass
class World:
    """One embedded AWS with the built template's roles on it, and the app's drivers."""

    template: dict[str, Any]
    env: dict[str, str]
    api: Any
    pump: Any
    harness: harness.Harness
    resolve: Callable[[Any], Any]
    principals: dict[str, harness.Principal]
    sms: Any = None
    invoked: set[str] = field(default_factory=set)
    closers: list[Callable[[], None]] = field(default_factory=list)
    last: str | None = None

    def enter(self, name: str) -> None:
        """``name`` starts running: a different function is another container, with caches of its own
        (the field key, partner keys, the active model), so nothing one function loaded under its
        role reaches another."""
        self.invoked.add(name)
        if name == self.last:
            return
        self.last = name
        from chalicelib.config import reset_settings
        from chalicelib.dispatch import registry
        from chalicelib.integration import keys
        from chalicelib.notifications import sms
        from chalicelib.store.fieldcrypt import forget_key

        reset_settings()  # and the secrets read through it (the blind index key)
        forget_key()
        keys.store._secrets_provider().clear_cache()
        registry.active_model.reset()
        sms._senders.clear()

    @property
    def state_machine(self) -> str:
        return next(name for name in self.principals if name.startswith(harness.STATE_MACHINE_PREFIX))


def enforced(body: Callable[[], Any]) -> Any:
    """Run ``body`` with moto authenticating and authorizing every request (moto's own switch)."""
    from moto.core import set_initial_no_auth_action_count

    return set_initial_no_auth_action_count(0)(body)()


def _tiny_dispatch_data(root: Path) -> dict[str, Path]:
    from tests.dispatch_integration.dispatch_helpers import DATA, TINY_LABELS, read_rows, write_rows

    def pick(path: Path, per_label: int) -> list[dict[str, str]]:
        rows = read_rows(path)
        return [r for code in TINY_LABELS for r in [r for r in rows if r["label"] == code][:per_label]]

    return {"corpus": write_rows(root / "corpus.csv", pick(DATA / "corpus.csv", 15)),
            "heldout": write_rows(root / "heldout.csv", pick(DATA / "heldout.csv", 10))}


@pytest.fixture(scope="module")
def world(built_template: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    import functools

    from app import app
    from chalice.app import ChaliceAuthorizer
    from chalicelib.dispatch import retraining
    from chalicelib.dispatch.training import TrainConfig
    from chalicelib.local.bootstrap import create_resources
    from chalicelib.local.pump import EventPump
    from chalicelib.local.seed import seed_reference_data
    from chalicelib.notifications import recipients
    from chalicelib.services import policy
    from chalicelib.aws import client
    from chalicelib.store import directory
    from tests.conftest import ApiClient, embedded_aws
    from tests.services.test_aliyun_sms import KEY_ID, KEY_SECRET, SECRET, FakeDysmsapi
    from tests.workflow.conftest import FAST_RULES

    principals = harness.principals(built_template)
    with ExitStack() as stack:
        env = stack.enter_context(embedded_aws())
        resolver = create_resources(None)
        seed_reference_data()
        policy.save_sla_rules(FAST_RULES, expected_version=0, actor="test")
        # e-mail from the sender the template's parameter names; SMS through Alibaba Cloud (a fake
        # dysmsapi that checks signatures) with its credentials in the secret the template names
        client("ses").verify_domain_identity(Domain=EMAIL_SENDER.split("@")[1])
        client("secretsmanager").create_secret(Name=env["SMS_SECRET_ID"], SecretString=json.dumps(SECRET))
        fake_sms = FakeDysmsapi({KEY_ID: KEY_SECRET})
        stack.callback(fake_sms.close)
        for name, value in {"NOTIFY_EMAIL_SENDER": EMAIL_SENDER, "NOTIFY_SMS_ADAPTER": "aliyun",
                            "SMS_ENDPOINT": fake_sms.url}.items():
            stack.enter_context(_env(name, value))
        dispatcher = directory.get_entry(directory.USERS, "dispatcher")
        directory.put_entry(directory.USERS, "dispatcher", {**dispatcher, **CONTACT})
        recipients.forget_cache()
        credentials = {name: harness.create_role(harness.role_name(name), p.statements())
                       for name, p in principals.items()}
        h = harness.Harness(credentials=credentials, admin=harness.create_admin())
        state_machine = next(n for n in principals if n.startswith(harness.STATE_MACHINE_PREFIX))
        stack.enter_context(harness.installed(h, state_machine))
        api = ApiClient()
        pump = EventPump(app, env)
        world = World(built_template, env, api, pump, h, resolver.resolve, principals, sms=fake_sms)

        # API Gateway invokes the API function, and the authorizer before it, each as itself
        original_request = ApiClient.request
        original_authorize = ChaliceAuthorizer.__call__
        invoke_name = "_call" if hasattr(EventPump, "_call") else "_invoke"  # the one every event goes through
        original_invoke = getattr(EventPump, invoke_name)

        def request(self: Any, *args: Any, **kwargs: Any) -> Any:
            world.enter(harness.API_FUNCTION)
            with harness.as_function(harness.API_FUNCTION):
                return original_request(self, *args, **kwargs)

        def authorize(self: Any, *args: Any, **kwargs: Any) -> Any:
            world.enter(self.name)
            with harness.as_function(self.name):
                return original_authorize(self, *args, **kwargs)

        def invoke(self: Any, name: str, event: dict[str, Any]) -> Any:
            world.enter(name)
            with harness.as_function(name):
                return original_invoke(self, name, event)

        ApiClient.request = request  # type: ignore[method-assign]
        ChaliceAuthorizer.__call__ = authorize  # type: ignore[method-assign]
        setattr(EventPump, invoke_name, invoke)
        data = _tiny_dispatch_data(tmp_path_factory.mktemp("tiny-dispatch"))
        original_retrain = retraining.retrain
        retraining.retrain = functools.partial(original_retrain, corpus=data["corpus"], heldout=data["heldout"],
                                               config=TrainConfig(calibration_folds=3))
        try:
            yield world
        finally:
            ApiClient.request = original_request  # type: ignore[method-assign]
            ChaliceAuthorizer.__call__ = original_authorize  # type: ignore[method-assign]
            setattr(EventPump, invoke_name, original_invoke)
            retraining.retrain = original_retrain
            for close in world.closers:
                close()
            _stop_executions(env["TICKET_FLOW_ARN"])


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    import os

    from chalicelib.config import reset_settings

    saved = os.environ.get(name)
    os.environ[name] = value
    reset_settings()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved
        reset_settings()


def _stop_executions(arn: str) -> None:
    import boto3

    sfn = boto3.client("stepfunctions")
    for execution in sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]:
        sfn.stop_execution(executionArn=execution["executionArn"])


def until(world: World, predicate: Callable[[], Any], *, timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        world.pump.pump_once()
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# --------------------------------------------------------------------------- the flows
def _act(world: World, ticket_id: str, action: str, user: str, **params: Any) -> dict[str, Any]:
    answer = world.api.post(f"/tickets/{ticket_id}/{action.replace('_', '-')}", json=params, user=user)
    assert answer.status == 200, (action, answer.status, answer.body)
    return answer.json


def run_flows(world: World) -> dict[str, Any]:
    """The platform's end-to-end flows, every function involved; returns what the asserts need."""
    from chalicelib.integration.simulator import PartnerClient, WebhookReceiver
    from tests.flows.test_lifecycle_api import PHONE_COMPLAINT
    from tests.integration.partner_helpers import assignment, poster
    from tests.services.test_field_encryption import ID_NUMBER

    api = world.api
    seen: dict[str, Any] = {}

    # partners: an admin rotates the upper level's key (Secrets Manager) and points it at a receiver
    rotated = api.post(f"/partners/{UPPER}/secrets", json={}, user="admin")
    assert rotated.status in (200, 201), rotated.body
    receiver = WebhookReceiver(secrets=[rotated.json["key"]["value"]])
    world.closers.append(receiver.close)
    patched = api.request("PATCH", f"/partners/{UPPER}", json_body={"endpoints": [{"url": receiver.url}]},
                          user="admin")
    assert patched.status == 200, patched.body

    # an upper-level assignment arrives signed (the API verifies it with the partner's secrets)
    upper = PartnerClient(UPPER, UPPER_SECRET, poster(api))
    status, body = upper.send("ticket.assigned", assignment("GJ-IAM-1"))
    assert status == 200, body
    assigned = body["ticket_id"]
    _act(world, assigned, "accept", "agent", category="家用电器")

    # a phone complaint through its whole life, lead and assist, with reveal of personal data
    complaint = {**PHONE_COMPLAINT, "complainant": {**PHONE_COMPLAINT["complainant"], "id_number": ID_NUMBER}}
    answer = api.post("/tickets", json=complaint, user="agent")  # the ID number is encrypted (KMS data key)
    assert answer.status == 201, answer.body
    tid = answer.json["tickets"][0]["id"]
    revealed = api.post(f"/tickets/{tid}/reveal", json={"reason": "回访核实身份"}, user="agent")
    assert revealed.status == 200, revealed.body
    _act(world, tid, "accept", "agent", category="商品质量", district="GUSU")
    dispatched = _act(world, tid, "dispatch", "dispatcher", mode="lead_assist", lead="MARKET", assists=["URBAN"])
    lead = next(a for a in dispatched["assignments"] if a["department"] == "MARKET")
    assist = next(a for a in dispatched["assignments"] if a["department"] == "URBAN")

    # the stream: relay, workflow starter (Step Functions), analytics, auto-dispatch, notifier
    world.pump.drain()
    executions = until(world, lambda: _executions(world, tid), what="the ticket's flow execution")
    seen["execution"] = executions[0]["executionArn"]
    # the flow's checkpoints come back through the workflow queue (sign clock: yellow at 1.5 s)
    until(world, lambda: any(e["type"] in ("warning_issued", "warned", "yellow_warning")
                             for e in api.get(f"/tickets/{tid}/timeline", user="manager").json["events"])
          or _execution_events(world, seen["execution"], "TaskSubmitted"), what="a checkpoint of the flow")

    _act(world, tid, "sign", "handler", assignment_id=lead["id"])
    _act(world, tid, "sign", "handler-urban", assignment_id=assist["id"])
    _act(world, tid, "add_note", "handler", assignment_id=lead["id"], text="已电话联系双方，约定周五现场调解。")
    _act(world, tid, "submit_closure", "handler-urban", assignment_id=assist["id"], facts="已核查店招合规。")
    _act(world, tid, "submit_closure", "handler", assignment_id=lead["id"], result="settled",
         facts="双方达成一致，商家同意退货退款。")
    _act(world, tid, "review_closure", "dispatcher", decision="approve", reply="经调解，商家已同意退货退款。")
    _act(world, tid, "record_callback", "agent", satisfaction="satisfied", solved=True)  # closes it
    world.pump.drain()
    receiver.wait_for("ticket.accepted", timeout=15)
    seen["ticket"] = tid

    # an urgent notification reaches the dispatcher at once by inbox, e-mail (SES) and SMS (Alibaba Cloud)
    from chalicelib.notifications import port
    from chalicelib.notifications.model import Audience, Notification

    port.notify([Notification(id=f"iam-test/{tid}", kind="info", title="紧急通知", body="请立即处理群体投诉。",
                              audience=Audience(usernames=("dispatcher",)),
                              created_at=datetime.now().astimezone().isoformat(), urgent=True)])
    world.pump.drain()
    seen["sms"] = list(world.sms.requests)

    # reports: a manager asks for one, the worker renders it, the API hands out a versioned link
    job = api.post("/reports", json={"type": "monthly", "period": datetime.now().strftime("%Y-%m")}, user="manager")
    assert job.status in (200, 201, 202), job.body
    job_id = job.json["job"]["id"]
    until(world, lambda: api.get(f"/reports/{job_id}", user="manager").json.get("status") == "done",
          timeout=60, what="the report job")
    seen["report"] = api.get(f"/reports/{job_id}", user="manager").json
    assert api.get("/admin/models", user="admin").status == 200

    # schedules: each runs as its own function
    for name in ("sweeper", "webhook_retries", "data_center_daily_report", "partner_reconciliation",
                 "monthly_reports", "hotspot_scan", "dispatch_retraining", "wall_refresh", "archive_closed"):
        assert world.pump.fire_schedule(name), f"{name} failed"
    world.pump.drain()
    return seen


def _executions(world: World, ticket_id: str) -> list[dict[str, Any]]:
    import boto3

    found = boto3.client("stepfunctions").list_executions(stateMachineArn=world.env["TICKET_FLOW_ARN"])["executions"]
    return [e for e in found if e["name"].startswith(ticket_id)]


def _execution_events(world: World, execution_arn: str, kind: str) -> list[dict[str, Any]]:
    import boto3

    events = boto3.client("stepfunctions").get_execution_history(executionArn=execution_arn)["events"]
    return [e for e in events if e["type"] == kind]




# --------------------------------------------------------------------------- the tests
def test_the_flows_run_with_each_function_under_its_own_role(world: World) -> None:
    try:
        seen = enforced(lambda: run_flows(world))
    finally:
        assert world.harness.denials == [], "refused for want of a permission:\n" + "\n".join(
            sorted(set(world.harness.denials)))

    # every function of the template ran, each as itself, and nothing failed for want of a permission
    functions = {name for name in world.principals if not name.startswith(harness.STATE_MACHINE_PREFIX)}
    assert functions <= world.invoked, f"not exercised: {sorted(functions - world.invoked)}"
    assert world.pump.stats.sqs_failures == 0 and world.pump.stats.stream_failures == 0, world.pump.stats
    assert seen["sms"] and seen["sms"][-1]["PhoneNumbers"] == CONTACT["mobile"]
    # the flows reached every kind of AWS call the platform makes, so each was authorized by a role
    assert {"dynamodb", "sqs", "s3", "s3-presigned", "kms", "secretsmanager", "ses", "stepfunctions"} <= {
        c.service for c in world.harness.calls}
    assert seen["report"]["links"]["html"]

    # the state machine's tasks ran under its own role, and no execution failed
    import boto3

    assert any(c.principal == world.state_machine for c in world.harness.calls)
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=world.env["TICKET_FLOW_ARN"])
    assert not [e["name"] for e in executions["executions"] if e["status"] == "FAILED"]

    # every resource a call touched is one the role's statements name (moto checked the actions)
    arns = harness.ArnBook(region="us-east-1", account="123456789012",
                           keys={world.env["DATA_KEY_ARN"].rsplit("/", 1)[-1]: world.env["DATA_KEY_ARN"]})
    resolved = {name: harness.resolve_statements(p, world.resolve) for name, p in world.principals.items()}
    assert harness.denied_resources(world.harness.calls, resolved, arns) == []


def test_a_permission_taken_away_is_an_access_denied(world: World) -> None:
    """The same flow step fails once one action it needs is gone from its function's role, and works
    again when it is back: the enforced test above can fail."""
    from tests.flows.test_lifecycle_api import PHONE_COMPLAINT

    api = harness.API_FUNCTION
    statements = world.principals[api].statements()
    needed = "dynamodb:Query"  # registering looks for repeats by the complainant (GSI3)
    without = [{**st, "Action": [a for a in harness._as_list(st["Action"]) if a != needed]}
               for st in statements if "Action" in st]
    assert without != [s for s in statements if "Action" in s]
    harness.set_role_statements(harness.role_name(api), without)
    world.harness.calls.clear()
    try:
        refused = enforced(lambda: world.api.post("/tickets", json=PHONE_COMPLAINT, user="agent"))
    finally:
        harness.set_role_statements(harness.role_name(api), statements)
    assert refused.status >= 500, refused.body
    assert any(d.startswith(f"{api}: dynamodb.Query") for d in world.harness.denials)
    world.harness.denials.clear()
    allowed = enforced(lambda: world.api.post("/tickets", json=PHONE_COMPLAINT, user="agent"))
    assert allowed.status == 201, allowed.body
