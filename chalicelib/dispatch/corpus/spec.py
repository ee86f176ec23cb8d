"""The shape of a department's phrase material."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scenario:
    """One kind of matter a department handles, in several wordings.

    ``facts`` open the matter (one is used per record); ``more`` add details, history or
    consequences; ``asks`` are what the citizen wants (verb phrases); ``short`` are the terse
    one-line forms of web titles and quick agent notes. The last wording of ``facts`` is kept
    for the held-out split only when there are three or more, so held-out records contain
    sentences the model never saw in training.
    """

    facts: tuple[str, ...]
    more: tuple[str, ...] = ()
    asks: tuple[str, ...] = ()
    short: tuple[str, ...] = ()


@dataclass(frozen=True)
class Department:
    """A department's material: its scenarios, generic asks, inquiries and slot pools."""

    code: str
    scenarios: tuple[Scenario, ...]
    asks: tuple[str, ...]
    inquiries: tuple[str, ...]
    pools: dict[str, list[str]] = field(default_factory=dict)


def S(facts: list[str], more: list[str] | None = None, asks: list[str] | None = None,
      short: list[str] | None = None) -> Scenario:
    """Shorthand constructor used by the material modules."""
    return Scenario(tuple(facts), tuple(more or ()), tuple(asks or ()), tuple(short or ()))
