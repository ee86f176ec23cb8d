"""The notification port: queue notifications, and deliver one to its audience.

:func:`notify` is what the rest of the platform calls: it puts notifications on the ``notify``
queue. The queue's handler calls :func:`deliver`: every recipient gets an inbox item; those with an
e-mail address or a mobile number also get an e-mail / SMS - at once when the notification is
urgent or it is working hours, otherwise held until working hours begin (:mod:`quiet_hours`).
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from chalicelib.aws import client
from chalicelib.config import get_settings
from chalicelib.domain.calendar import WorkingCalendar
from chalicelib.notifications import deferred, inbox, quiet_hours, recipients
from chalicelib.notifications.email import email_sender
from chalicelib.notifications.model import Notification
from chalicelib.notifications.sms import sms_sender
from chalicelib.observability import logger
from chalicelib.services import clock, policy
from chalicelib.store import directory

SMS_PREFIX = "【12345/12315】"
EMAIL_FOOTER = "\n\n——\n此邮件由投诉举报处置平台自动发送，请登录平台查看详情并处理，勿直接回复。"


@dataclass
class DeliveryReport:
    recipients: int = 0
    inbox: int = 0
    sent: int = 0
    held: int = 0


def notify(notes: Sequence[Notification]) -> int:
    """Queue notifications for delivery; returns how many were queued."""
    if not notes:
        return 0
    url = get_settings().notify_queue_url
    if not url:
        raise RuntimeError("NOTIFY_QUEUE_URL is not configured")
    sqs = client("sqs")
    for start in range(0, len(notes), 10):
        batch = notes[start:start + 10]
        answer = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "MessageBody": json.dumps(note.to_dict(), ensure_ascii=False)}
            for n, note in enumerate(batch)])
        if answer.get("Failed"):
            raise RuntimeError(f"notify: {len(answer['Failed'])} notifications not accepted by SQS")
    return len(notes)


def _send(channel: str, address: str, note: Notification) -> str:
    if channel == "email":
        return email_sender().send(address, note.title, note.body + EMAIL_FOOTER)
    if channel == "sms":
        return sms_sender().send(address, f"{SMS_PREFIX}{note.title}：{note.body}")
    raise ValueError(f"unknown channel {channel}")


def deliver(note: Notification, *, now: datetime | None = None,
            calendar: WorkingCalendar | None = None) -> DeliveryReport:
    """Deliver one notification to everyone in its audience (idempotent per person and channel)."""
    now = now or clock.now()
    calendar = calendar or policy.working_calendar()
    report = DeliveryReport()
    send_at = quiet_hours.send_time(now, calendar, urgent=note.urgent)
    on_duty_at = now if note.kind == "warning_red" or note.urgent else None  # also to who is on call
    for user in recipients.resolve(note.audience, on_duty_at=on_duty_at):
        username = user["username"]
        report.recipients += 1
        already = inbox.put(username, note)
        report.inbox += 1
        for channel, address in recipients.contacts(user):
            if channel in already:
                continue
            if send_at > now:
                deferred.hold(note, channel=channel, username=username, send_at=send_at)
                report.held += 1
                continue
            _send(channel, address, note)
            inbox.mark_sent(username, note, channel, now)
            report.sent += 1
    logger.info("notification delivered", extra={"notification_id": note.id, "kind": note.kind,
                                                  "recipients": report.recipients, "sent": report.sent,
                                                  "held": report.held})
    return report


def send_held(note: Notification, *, channel: str, username: str, now: datetime) -> bool:
    """Send a message quiet hours held back (the sweeper calls this); False if the person has no
    such address any more."""
    user = directory.find_entry(directory.USERS, username)
    if user is None or user.get("active") is False:
        return False
    address = dict(recipients.contacts(user)).get(channel)
    if address is None:
        return False
    _send(channel, address, note)
    inbox.mark_sent(username, note, channel, now)
    return True


def deliver_body(body: str) -> bool:
    """One notify-queue message body: delivered (True), or malformed and dropped with a log line
    (False: retrying cannot help). A delivery error raises, so the message returns to its queue."""
    from chalicelib.domain.errors import ValidationFailed

    try:
        note = Notification.from_dict(json.loads(body))
    except (ValueError, ValidationFailed) as exc:
        logger.warning("notification message dropped", extra={"reason": type(exc).__name__})
        return False
    deliver(note)
    return True


def deliver_bodies(bodies: list[str]) -> int:
    """A batch of notify-queue message bodies: deliver each; a malformed one is logged and dropped."""
    return sum(1 for body in bodies if deliver_body(body))
