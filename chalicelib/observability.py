"""Logger, Metrics and Tracer shared by every function, with personal data masked.

Logs never contain personal data (DOMAIN.md "Confidentiality"): the formatter masks anything that
looks like a mainland mobile or landline number, an ID card number or an e-mail address in every
serialized log line, whatever the caller passed.
"""
from __future__ import annotations

import re

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

from chalicelib.config import observability_settings
from chalicelib.domain.privacy import EMAIL_IN_TEXT, ID_IN_TEXT, LANDLINE_IN_TEXT, MOBILE_IN_TEXT

SERVICE = observability_settings().service

# The same patterns the screens mask with (chalicelib/domain/privacy.py), bounded so that ids and
# keys are left alone: ``T#.../O#0000000012#000`` is a key, not a landline.
_PII_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (EMAIL_IN_TEXT, "[EMAIL]"),  # first: an address may hold digits (13812345678@163.com)
    (ID_IN_TEXT, "[ID]"),  # before phones, so that the phone rule does not eat an ID number's digits
    (MOBILE_IN_TEXT, "[PHONE]"),
    (LANDLINE_IN_TEXT, "[PHONE]"),
)


def mask_pii(text: str) -> str:
    """Replace phone numbers, ID numbers and e-mail addresses in ``text`` with placeholders."""
    for pattern, replacement in _PII_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class PiiMaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter that masks personal data in the final line."""

    def serialize(self, log: dict) -> str:  # type: ignore[override]
        return mask_pii(super().serialize(log))


def metrics_enabled() -> bool:
    """EMF metrics go to stdout only where CloudWatch reads them (not in tests or the local runtime)."""
    return observability_settings().metrics_enabled


def count(name: str, value: float = 1) -> None:
    """Add one count metric, when metrics are enabled."""
    if metrics_enabled():
        metrics.add_metric(name=name, unit="Count", value=value)


logger = Logger(service=SERVICE, logger_formatter=PiiMaskingFormatter())
metrics = Metrics(namespace=observability_settings().metrics_namespace, service=SERVICE)
tracer = Tracer(service=SERVICE)
