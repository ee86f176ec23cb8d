"""SMS adapters. The platform talks to an SMS gateway through :class:`SmsSender`. Deployed, that is
:class:`~chalicelib.notifications.aliyun_sms.AliyunSmsSender` (Alibaba Cloud SMS over HTTPS, signed);
another provider plugs in the same way. :class:`OutboxSmsSender` records messages instead of sending
them, on the local runtime only: tests read :data:`OUTBOX`, and the log shows the number masked."""
from __future__ import annotations

import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Protocol

from chalicelib.domain.calendar import TZ
from chalicelib.domain.privacy import mask_phone
from chalicelib.observability import logger


class SmsSender(Protocol):
    """Sends one text message; returns the provider's message id."""

    def send(self, phone: str, text: str) -> str: ...


@dataclass(frozen=True)
class SentSms:
    id: str
    to: str  # masked
    text: str
    at: str


OUTBOX: deque[SentSms] = deque(maxlen=1000)
_LOCK = threading.Lock()


class OutboxSmsSender:
    """Records the message (number masked) in :data:`OUTBOX` and the log; sends nothing."""

    def send(self, phone: str, text: str) -> str:
        message = SentSms(id=uuid.uuid4().hex, to=mask_phone(phone) or "", text=text, at=datetime.now(TZ).isoformat())
        with _LOCK:
            OUTBOX.append(message)
        logger.info("sms recorded (outbox adapter)", extra={"sms_id": message.id, "to": message.to,
                                                             "length": len(text)})
        return message.id


_senders: dict[tuple[str, str, str], SmsSender] = {}


def _secret_loader(secret_id: str) -> Callable[[], str]:
    def load() -> str:
        from chalicelib.aws import client

        return str(client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])

    return load


def sms_sender() -> SmsSender:
    """The configured adapter (``NOTIFY_SMS_ADAPTER``): ``aliyun`` (Alibaba Cloud SMS, credentials from
    the Secrets Manager secret ``SMS_SECRET_ID``; ``SMS_ENDPOINT`` overrides its URL), or ``outbox``,
    the recorder, which only the local stage may use: a deployed stage never drops messages silently."""
    from chalicelib.config import get_settings, notification_settings

    settings = notification_settings()
    adapter = settings.sms_adapter
    if adapter == "outbox":
        if not get_settings().is_local:
            raise RuntimeError("NOTIFY_SMS_ADAPTER=outbox records messages instead of sending them: local stage only")
        return OutboxSmsSender()
    if adapter == "aliyun":
        from chalicelib.notifications.aliyun_sms import DEFAULT_ENDPOINT, AliyunSmsSender

        secret_id = settings.sms_secret_id
        if not secret_id:
            raise RuntimeError("NOTIFY_SMS_ADAPTER=aliyun needs SMS_SECRET_ID")
        endpoint = settings.sms_endpoint or DEFAULT_ENDPOINT
        key = (adapter, secret_id, endpoint)
        if key not in _senders:  # one per container: it caches the secret
            _senders[key] = AliyunSmsSender(_secret_loader(secret_id), endpoint=endpoint)
        return _senders[key]
    raise RuntimeError(f"unknown NOTIFY_SMS_ADAPTER {adapter!r} (aliyun, or outbox locally)")
