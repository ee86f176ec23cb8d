"""A tiny template language for the corpus generator.

``[a|b|c]`` picks one alternative (nested brackets allowed, ``[a|]`` makes ``a`` optional) and
``{slot}`` is filled from the record's context, so a record that names an estate once keeps
naming the same estate. Slot values are templates themselves and are expanded recursively.
"""
from __future__ import annotations

import random
from typing import Callable, Mapping

SlotSource = Callable[[random.Random], str]


class Expander:
    """Expands templates for one record; slot values are drawn once and then remembered."""

    def __init__(self, rng: random.Random, pools: Mapping[str, object],
                 fixed: Mapping[str, str] | None = None) -> None:
        self.rng = rng
        self.pools = pools
        self.values: dict[str, str] = dict(fixed or {})

    def slot(self, name: str) -> str:
        """The record's value of ``name``, drawing it from its pool on first use."""
        if name not in self.values:
            source = self.pools.get(name)
            if source is None:
                raise KeyError(f"template slot {{{name}}} has no pool")
            raw = source(self.rng) if callable(source) else self.rng.choice(source)  # type: ignore[arg-type]
            self.values[name] = self.expand(raw)
        return self.values[name]

    def fresh(self, name: str) -> str:
        """A new value of ``name`` that is not remembered (for lists of things)."""
        source = self.pools[name]
        raw = source(self.rng) if callable(source) else self.rng.choice(source)  # type: ignore[arg-type]
        return self.expand(raw)

    def expand(self, template: str) -> str:
        """Expand one template: choose among ``[...]`` alternatives first, then fill slots.

        Only the chosen alternative is expanded, so a slot in an unchosen branch is never drawn
        (the generator relies on this to know which facts, places included, a record states).
        """
        out: list[str] = []
        i, n = 0, len(template)
        while i < n:
            c = template[i]
            if c == "[":
                j, parts = self._group(template, i)
                out.append(self.expand(self.rng.choice(parts)))
                i = j
            elif c == "{":
                j = template.index("}", i)
                out.append(self.slot(template[i + 1:j]))
                i = j + 1
            else:
                out.append(c)
                i += 1
        return "".join(out)

    @staticmethod
    def _group(t: str, i: int) -> tuple[int, list[str]]:
        """The alternatives of the ``[...]`` group opening at ``t[i]`` and the index after it."""
        depth, parts, start = 0, [], i + 1
        for j in range(i, len(t)):
            c = t[j]
            if c == "[":
                depth += 1
            elif c == "]":
                depth -= 1
                if depth == 0:
                    parts.append(t[start:j])
                    return j + 1, parts
            elif c == "|" and depth == 1:
                parts.append(t[start:j])
                start = j + 1
        raise ValueError(f"unclosed [ in template: {t!r}")
