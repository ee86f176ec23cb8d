"""SMS adapters. The platform talks to an SMS gateway through :class:`SmsSender`; the city's
provider (each has its own signed HTTP API and template approval) plugs in here. The built-in
:class:`OutboxSmsSender` records messages instead of sending them: the local runtime and tests
read :data:`OUTBOX`, and the log shows them with the number masked."""
from __future__ import annotations

import os
import threading
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

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


def sms_sender() -> SmsSender:
    """The configured adapter (``NOTIFY_SMS_ADAPTER``): ``outbox`` is the only built-in one."""
    adapter = os.environ.get("NOTIFY_SMS_ADAPTER", "outbox").lower()
    if adapter == "outbox":
        return OutboxSmsSender()
    raise RuntimeError(f"unknown NOTIFY_SMS_ADAPTER {adapter!r}")
