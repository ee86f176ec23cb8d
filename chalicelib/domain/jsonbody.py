"""Reading a request body as JSON, with errors a client can act on (docs/domain.md "Code map").

Shared by the API routes and the partner webhooks: the same words for the same faults, never an
exception's own text (which names Python internals), and every lone UTF-16 surrogate refused with
the field that holds it.
"""
from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.intake import surrogate_fields


def parse_json(raw: bytes) -> Any:
    """A request body as JSON: ValidationFailed names what is wrong, in words (never an exception's
    text), and which field holds a lone UTF-16 surrogate (valid JSON, but no character: it cannot
    be stored, and without this check it failed deep in storage as a retryable 503)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed("the body is not valid UTF-8 JSON", details={"body": "not valid UTF-8"}) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationFailed("the body is not valid UTF-8 JSON",
                               details={"body": f"line {exc.lineno}, column {exc.colno}: not valid JSON"}) from None
    except RecursionError:
        raise ValidationFailed("the body is not valid UTF-8 JSON", details={"body": "nested too deeply"}) from None
    except ValueError:  # e.g. an integer with more digits than Python converts
        raise ValidationFailed("the body is not valid UTF-8 JSON", details={"body": "not valid JSON"}) from None
    bad = surrogate_fields(data)
    if bad:
        raise ValidationFailed("invalid characters in the body", details=bad)
    return data
