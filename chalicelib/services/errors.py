"""Named errors the use cases raise that are not business rules of the ticket.

A rate limit (:class:`TooManyRequests`) is a service's decision, not a ticket rule, so it does not
belong in :mod:`chalicelib.domain.errors`; and a service must not import the API layer to name it
(the layers in docs/architecture.md, checked by ``.importlinter``). The API maps it to HTTP 429 with
``Retry-After`` like every :class:`~chalicelib.domain.errors.DomainError`.
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain.errors import DomainError


class TooManyRequests(DomainError):
    """A rate limit was hit (HTTP 429); ``retry_after`` is the wait in seconds."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int = 60, details: Any = None) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after
