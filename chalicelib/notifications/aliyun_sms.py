"""Alibaba Cloud SMS (dysmsapi ``SendSms``) over HTTPS, signed with its RPC signature v1 (HMAC-SHA1).

The deployed platform sends text messages through this adapter (``NOTIFY_SMS_ADAPTER=aliyun``).
Credentials, the approved signature name and the template code come from one Secrets Manager secret
(``SMS_SECRET_ID``), a JSON object::

    {"access_key_id": "...", "access_key_secret": "...", "sign_name": "12345热线",
     "template_code": "SMS_123456789"}

The template approved by Alibaba Cloud carries two variables, ``${title}`` and ``${content}``
(Alibaba Cloud does not send free text). The signature (``Signature``) is the RPC scheme: the
request's parameters sorted, each name and value percent-encoded (RFC 3986), joined into
``POST&%2F&<encoded query>``, HMAC-SHA1 with ``<secret>&`` and base64-encoded.
https://help.aliyun.com/zh/sdk/product-overview/rpc-mechanism
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from chalicelib.domain.privacy import mask_phone
from chalicelib.observability import logger

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
API_VERSION = "2017-05-25"
REGION = "cn-hangzhou"
TIMEOUT_SECONDS = 10
SECRET_TTL_SECONDS = 300
TITLE_LIMIT = 20  # template variables are short: Alibaba Cloud caps a variable's length
CONTENT_LIMIT = 60


class SmsError(RuntimeError):
    """The provider refused the message, or could not be reached; the notify queue retries it."""


class SmsConfigurationError(RuntimeError):
    """The SMS secret is missing or incomplete; nothing can be sent until an operator fixes it."""


@dataclass(frozen=True)
class AliyunCredentials:
    access_key_id: str
    access_key_secret: str
    sign_name: str
    template_code: str

    @classmethod
    def from_secret(cls, raw: str) -> "AliyunCredentials":
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise SmsConfigurationError("the SMS secret is not JSON") from exc
        fields = ("access_key_id", "access_key_secret", "sign_name", "template_code")
        missing = [name for name in fields if not isinstance(data, dict) or not str(data.get(name) or "").strip()]
        if missing:
            raise SmsConfigurationError(f"the SMS secret lacks {', '.join(missing)}")
        return cls(*(str(data[name]).strip() for name in fields))


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Alibaba Cloud's RPC signature wants it (``~`` kept, space as ``%20``)."""
    return urllib.parse.quote(value, safe="~")


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    """The ``Signature`` parameter for ``params`` (every other parameter of the request)."""
    digest = hmac.new(f"{secret}&".encode("utf-8"), string_to_sign(method, params).encode("utf-8"),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_text(text: str) -> tuple[str, str]:
    """The platform's message (``【前缀】标题：正文``) as the template's title and content variables."""
    body = text.split("】", 1)[-1]
    title, _, content = body.partition("：")
    return _clip(title.strip(), TITLE_LIMIT), _clip((content or title).strip(), CONTENT_LIMIT)


class AliyunSmsSender:
    """:class:`~chalicelib.notifications.sms.SmsSender` for Alibaba Cloud SMS.

    ``load_secret`` returns the secret's JSON text (Secrets Manager in production); it is read at
    most every :data:`SECRET_TTL_SECONDS`, and again at once after the provider rejects the key
    (``InvalidAccessKeyId``, a rotation).
    """

    def __init__(self, load_secret: Callable[[], str], *, endpoint: str = DEFAULT_ENDPOINT,
                 clock: Callable[[], float] = time.time) -> None:
        parsed = urllib.parse.urlparse(endpoint)
        if parsed.scheme != "https" and parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SmsConfigurationError(f"the SMS endpoint must be https (got {parsed.scheme}://{parsed.hostname})")
        self._load_secret = load_secret
        self._endpoint = endpoint
        self._clock = clock
        self._lock = threading.Lock()
        self._credentials: AliyunCredentials | None = None
        self._loaded_at = 0.0

    def _current(self, *, refresh: bool = False) -> AliyunCredentials:
        with self._lock:
            if refresh or self._credentials is None or self._clock() - self._loaded_at > SECRET_TTL_SECONDS:
                self._credentials = AliyunCredentials.from_secret(self._load_secret())
                self._loaded_at = self._clock()
            return self._credentials

    def request_params(self, credentials: AliyunCredentials, phone: str, text: str) -> dict[str, str]:
        """Every parameter of the ``SendSms`` call, ``Signature`` included."""
        title, content = split_text(text)
        params = {
            "AccessKeyId": credentials.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": REGION,
            "SignName": credentials.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": credentials.template_code,
            "TemplateParam": json.dumps({"title": title, "content": content}, ensure_ascii=False),
            "Timestamp": datetime.fromtimestamp(self._clock(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
        }
        params["Signature"] = signature(credentials.access_key_secret, "POST", params)
        return params

    def _post(self, params: Mapping[str, str]) -> dict[str, Any]:
        body = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items()).encode("ascii")
        request = urllib.request.Request(self._endpoint, data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310 - https checked
                raw = answer.read()
        except urllib.error.HTTPError as exc:  # the API answers errors as JSON with 4xx/5xx
            raw = exc.read()
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SmsError(f"SMS provider unreachable: {type(exc).__name__}") from exc
        try:
            data = json.loads(raw or b"{}")
        except ValueError as exc:
            raise SmsError("SMS provider answered something that is not JSON") from exc
        return data if isinstance(data, dict) else {}

    def send(self, phone: str, text: str) -> str:
        """Send ``text`` to ``phone``; returns Alibaba Cloud's ``BizId``."""
        answer = self._post(self.request_params(self._current(), phone, text))
        if answer.get("Code") == "InvalidAccessKeyId.NotFound":  # rotated: read the secret again, once
            answer = self._post(self.request_params(self._current(refresh=True), phone, text))
        if answer.get("Code") != "OK":
            logger.warning("sms refused by provider", extra={"code": answer.get("Code"), "to": mask_phone(phone),
                                                              "request_id": answer.get("RequestId")})
            raise SmsError(f"SMS provider refused the message: {answer.get('Code')}")
        logger.info("sms sent", extra={"to": mask_phone(phone), "biz_id": answer.get("BizId")})
        return str(answer.get("BizId") or answer.get("RequestId") or "")
