"""Fixtures for the partner integration tests: a controllable clock, the event pump, partners, receivers."""
from __future__ import annotations

from typing import Any, Iterator

import pytest
from partner_helpers import UPPER, UPPER_SECRET, FakeClock, poster


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    from chalicelib.services import clock as service_clock

    fake = FakeClock()
    monkeypatch.setattr(service_clock, "now", fake.now)
    return fake


@pytest.fixture
def pump(api: Any, seeded: dict[str, str]) -> Any:
    from chalicelib.local.pump import EventPump

    return EventPump(api.app, seeded)


@pytest.fixture
def upper(api: Any) -> Any:
    """The seeded upper-level partner province-12315, as a signing client."""
    from chalicelib.integration.simulator import PartnerClient

    return PartnerClient(UPPER, UPPER_SECRET, poster(api))


@pytest.fixture
def receivers() -> Iterator[list[Any]]:
    """Loopback webhook receivers made by a test (closed afterwards)."""
    made: list[Any] = []
    yield made
    for receiver in made:
        receiver.close()
