"""The one clock services read (tests freeze it with freezegun)."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.calendar import TZ


def now() -> datetime:
    """The current time, aware, in Asia/Shanghai."""
    return datetime.now(TZ)
