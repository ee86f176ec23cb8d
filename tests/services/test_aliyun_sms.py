"""The Alibaba Cloud SMS adapter against a fake dysmsapi on 127.0.0.1 that checks the signature the way
Alibaba Cloud does (its own implementation of the RPC v1 scheme, not the adapter's), and through the
notification port with its credentials in Secrets Manager."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator
from urllib.parse import parse_qsl, quote

import pytest

from chalicelib.notifications import aliyun_sms, sms
from chalicelib.notifications.aliyun_sms import AliyunSmsSender, SmsConfigurationError, SmsError

KEY_ID = "LTAI5tTestKeyId"
KEY_SECRET = "testSecret0123456789abcdef"
SECRET = {"access_key_id": KEY_ID, "access_key_secret": KEY_SECRET, "sign_name": "12345热线",
          "template_code": "SMS_465870001"}


def _encode(value: str) -> str:
    # Alibaba Cloud's documented rules, written independently of the adapter
    return quote(value, safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


class FakeDysmsapi:
    """dysmsapi's SendSms: verifies AccessKeyId, the HMAC-SHA1 signature and the parameters."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.requests: list[dict[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                return

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                params = dict(parse_qsl(self.rfile.read(length).decode("ascii"), keep_blank_values=True))
                status, answer = fake.answer(params)
                body = json.dumps(answer).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def answer(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.requests.append(params)
        secret = self.secrets.get(params.get("AccessKeyId", ""))
        if secret is None:
            return 404, {"Code": "InvalidAccessKeyId.NotFound", "RequestId": "r-1"}
        given = params.pop("Signature", "")
        canonical = "&".join(f"{_encode(k)}={_encode(params[k])}" for k in sorted(params))
        to_sign = "POST&%2F&" + _encode(canonical)
        expected = base64.b64encode(hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()).decode()
        if given != expected:
            return 400, {"Code": "SignatureDoesNotMatch", "RequestId": "r-2"}
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25" or not params.get("TemplateCode"):
            return 400, {"Code": "isv.INVALID_PARAMETERS", "RequestId": "r-3"}
        if not params["PhoneNumbers"].isdigit():
            return 200, {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "RequestId": "r-4"}
        return 200, {"Code": "OK", "Message": "OK", "BizId": f"biz-{len(self.requests)}", "RequestId": "r-5"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeDysmsapi]:
    server = FakeDysmsapi({KEY_ID: KEY_SECRET})
    yield server
    server.close()


def test_a_message_is_signed_and_accepted(fake: FakeDysmsapi) -> None:
    sender = AliyunSmsSender(lambda: json.dumps(SECRET), endpoint=fake.url)
    biz_id = sender.send("13812345678", "【12345/12315】工单即将超时：请尽快签收工单 20261207-ABC。")
    assert biz_id == "biz-1"
    [sent] = fake.requests
    assert sent["PhoneNumbers"] == "13812345678" and sent["SignName"] == "12345热线"
    assert sent["TemplateCode"] == "SMS_465870001" and sent["SignatureMethod"] == "HMAC-SHA1"
    assert json.loads(sent["TemplateParam"]) == {"title": "工单即将超时", "content": "请尽快签收工单 20261207-ABC。"}


def test_a_wrong_secret_is_a_signature_mismatch_and_an_error(fake: FakeDysmsapi) -> None:
    sender = AliyunSmsSender(lambda: json.dumps({**SECRET, "access_key_secret": "not-the-secret"}), endpoint=fake.url)
    with pytest.raises(SmsError, match="SignatureDoesNotMatch"):
        sender.send("13812345678", "【12345】标题：正文")


def test_a_refused_number_is_an_error(fake: FakeDysmsapi) -> None:
    sender = AliyunSmsSender(lambda: json.dumps(SECRET), endpoint=fake.url)
    with pytest.raises(SmsError, match="MOBILE_NUMBER_ILLEGAL"):
        sender.send("+86-138", "【12345】标题：正文")


def test_a_rotated_key_is_read_again_once(fake: FakeDysmsapi) -> None:
    secrets = iter([json.dumps({**SECRET, "access_key_id": "LTAI5tOldKey"}), json.dumps(SECRET)])
    sender = AliyunSmsSender(lambda: next(secrets), endpoint=fake.url)
    assert sender.send("13812345678", "【12345】标题：正文") == "biz-2"
    assert [r["AccessKeyId"] for r in fake.requests] == ["LTAI5tOldKey", KEY_ID]


def test_an_unreachable_provider_is_an_error() -> None:
    sender = AliyunSmsSender(lambda: json.dumps(SECRET), endpoint="http://127.0.0.1:9/")
    with pytest.raises(SmsError, match="unreachable"):
        sender.send("13812345678", "【12345】标题：正文")


def test_an_incomplete_secret_and_a_plain_http_endpoint_are_refused() -> None:
    with pytest.raises(SmsConfigurationError, match="template_code"):
        AliyunSmsSender(lambda: json.dumps({**SECRET, "template_code": ""}), endpoint="http://127.0.0.1:9/").send(
            "13812345678", "x")
    with pytest.raises(SmsConfigurationError, match="https"):
        AliyunSmsSender(lambda: "{}", endpoint="http://dysmsapi.aliyuncs.com/")


def test_the_documented_signature_example() -> None:
    # the worked example of Alibaba Cloud's RPC signature documentation (access key secret "testsecret")
    params = {"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML",
              "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
              "SignatureVersion": "1.0", "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
    assert aliyun_sms.signature("testsecret", "GET", params) == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_the_port_sends_through_aliyun_with_the_secret_from_secrets_manager(aws, fake, monkeypatch) -> None:
    from chalicelib.aws import client

    client("secretsmanager").create_secret(Name="complaint-platform/sms", SecretString=json.dumps(SECRET))
    monkeypatch.setenv("NOTIFY_SMS_ADAPTER", "aliyun")
    monkeypatch.setenv("SMS_SECRET_ID", "complaint-platform/sms")
    monkeypatch.setenv("SMS_ENDPOINT", fake.url)
    monkeypatch.setattr(sms, "_senders", {})
    assert sms.sms_sender().send("13900001111", "【12345/12315】催办：请处理。") == "biz-1"


def test_the_recorder_is_refused_outside_the_local_stage(monkeypatch) -> None:
    from chalicelib.config import reset_settings

    monkeypatch.setenv("STAGE", "prod")
    monkeypatch.setenv("NOTIFY_SMS_ADAPTER", "outbox")
    reset_settings()
    try:
        with pytest.raises(RuntimeError, match="local stage only"):  # refused at start-up already
            sms.sms_sender()
    finally:
        monkeypatch.setenv("STAGE", "local")
        reset_settings()
