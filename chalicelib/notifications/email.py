"""E-mail adapters: Amazon SES (the default) or any SMTP server (AWS China regions have no SES
in every region; a city's own mail relay works too). Chosen by ``NOTIFY_EMAIL_ADAPTER``."""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

from chalicelib.aws import client
from chalicelib.config import notification_settings

DEFAULT_SENDER = "noreply@notify.12345.local"


class EmailSender(Protocol):
    """Sends one plain-text e-mail; returns the provider's message id."""

    def send(self, to: str, subject: str, body: str) -> str: ...


def sender_address() -> str:
    """The From address: ``NOTIFY_EMAIL_SENDER`` (a deployed stage refuses to start without one)."""
    return notification_settings().email_sender or DEFAULT_SENDER


@dataclass
class SesEmailSender:
    """SES ``SendEmail`` from :func:`sender_address` (a verified identity)."""

    source: str

    def send(self, to: str, subject: str, body: str) -> str:
        answer = client("ses").send_email(
            Source=self.source, Destination={"ToAddresses": [to]},
            Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                     "Body": {"Text": {"Data": body, "Charset": "UTF-8"}}})
        return str(answer["MessageId"])


@dataclass
class SmtpEmailSender:
    """SMTP with STARTTLS (unless disabled) and optional login; 10 s timeouts."""

    host: str
    port: int
    source: str
    username: str | None = None
    password: str | None = None
    starttls: bool = True

    def send(self, to: str, subject: str, body: str) -> str:
        message = EmailMessage()
        message["From"] = self.source
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.source.rsplit("@", 1)[-1])
        message.set_content(body, charset="utf-8")
        with smtplib.SMTP(self.host, self.port, timeout=10) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
        return str(message["Message-ID"])


def email_sender() -> EmailSender:
    """The configured adapter: ``ses`` (default) or ``smtp`` (``SMTP_HOST``, ``SMTP_PORT``,
    ``SMTP_USERNAME``, ``SMTP_PASSWORD``, ``SMTP_STARTTLS``)."""
    settings = notification_settings()
    adapter = settings.email_adapter
    if adapter == "smtp":
        return SmtpEmailSender(host=settings.smtp_host, port=int(settings.smtp_port), source=sender_address(),
                               username=settings.smtp_username or None, password=settings.smtp_password or None,
                               starttls=settings.smtp_starttls)
    if adapter == "ses":
        return SesEmailSender(source=sender_address())
    raise RuntimeError(f"unknown NOTIFY_EMAIL_ADAPTER {adapter!r} (ses or smtp)")
