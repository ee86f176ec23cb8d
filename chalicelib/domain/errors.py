"""The small hierarchy of named domain errors (docs/domain.md "Code map").

Every error carries a stable machine ``code``, a human ``message`` (English; the portal
translates codes) and optional ``details``. The API layer maps each class to one HTTP status
so that handlers never choose status codes themselves.
"""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class of every error the business rules raise."""

    code: str = "domain_error"
    http_status: int = 400

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details if details is not None else {}


class ValidationFailed(DomainError):
    """Input breaks a rule about its shape or content (HTTP 400).

    ``details`` maps field names to what is wrong with them.
    """

    code = "validation_failed"
    http_status = 400


class NotFound(DomainError):
    """The thing asked for does not exist, or the caller may not know it exists (HTTP 404)."""

    code = "not_found"
    http_status = 404


class Forbidden(DomainError):
    """The caller's role or scope does not allow this (HTTP 403)."""

    code = "forbidden"
    http_status = 403


class Conflict(DomainError):
    """The action conflicts with the current state (HTTP 409)."""

    code = "conflict"
    http_status = 409


class IllegalTransition(Conflict):
    """The lifecycle does not allow this action from the ticket's current state (HTTP 409)."""

    code = "illegal_transition"


class ConcurrentModification(Conflict):
    """Someone else changed the ticket first: reload and try again (HTTP 409)."""

    code = "concurrent_modification"


class Duplicate(Conflict):
    """The same complainant, respondent and facts are already on file (Art. 35) (HTTP 409)."""

    code = "duplicate"
