"""A citizen proves a ticket is theirs: its tracking code plus the last four digits of their phone.

No sign-in on the public channel (docs/domain.md, the citizen's internet channel), so this proof is the
citizen's only key. Guessing is made slow, never locking the citizen out: a few free tries, then a
doubling wait after each failure, per source address (one guesser) and per code (many addresses, one
target); the wait is capped and refused tries do not lengthen it. The public API calls :func:`prove`.
"""
from __future__ import annotations

from chalicelib.domain.errors import NotFound
from chalicelib.domain.intake import normalize_phone
from chalicelib.domain.ticket import Ticket
from chalicelib.services import ratelimit
from chalicelib.services import tickets as service
from chalicelib.store.tickets import canonical_tracking_code

LOOKUP_FAILURE_WINDOW = 3600
SOURCE_BACKOFF = {"free": 10, "base_seconds": 30, "max_seconds": 900}
CODE_BACKOFF = {"free": 5, "base_seconds": 4, "max_seconds": 300}
NOT_PROVEN = "no ticket with this tracking code and phone"
TOO_MANY_TRIES = "查询失败次数过多，请稍后再试"


def prove(code: str, phone_last4: str, source: str) -> Ticket:
    """The ticket behind ``code`` if ``phone_last4`` matches its phone.

    ``code`` is taken however the citizen typed it; ``source`` is the caller's address. A failed proof
    counts against ``source`` and the code (NotFound, the same answer for either half being wrong);
    TooManyRequests while either is backing off.
    """
    canonical = canonical_tracking_code(code)
    ratelimit.check_backoff("lookup-source", source, window_seconds=LOOKUP_FAILURE_WINDOW, message=TOO_MANY_TRIES,
                            **SOURCE_BACKOFF)
    if canonical is not None:
        ratelimit.check_backoff("lookup-code", canonical, window_seconds=LOOKUP_FAILURE_WINDOW,
                                message=TOO_MANY_TRIES, **CODE_BACKOFF)
    ticket = _find(canonical, phone_last4)
    if ticket is None:
        ratelimit.record_failure("lookup-source", source, window_seconds=LOOKUP_FAILURE_WINDOW)
        if canonical is not None:
            ratelimit.record_failure("lookup-code", canonical, window_seconds=LOOKUP_FAILURE_WINDOW)
        raise NotFound(NOT_PROVEN)
    return ticket


def _find(canonical: str | None, phone_last4: str) -> Ticket | None:
    if canonical is None:
        return None
    try:
        ticket = service.repository().get(service.repository().ticket_for_tracking_code(canonical))
    except NotFound:
        return None
    phone = normalize_phone(ticket.complainant.phone or "")
    return ticket if phone and phone[-4:] == phone_last4 else None
