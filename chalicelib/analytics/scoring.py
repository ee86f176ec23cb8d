"""Scoring rules (计分规则): from an indicator's value to a score between 0 and 100. Pure.

* ``linear`` - 0 at ``floor``, 100 at ``target``, straight in between, clamped (either direction:
  for "lower is better" the floor is above the target);
* ``threshold`` - 100 when the value meets the target, else 0;
* ``ratio`` - value / target capped at 100 (target / value when lower is better);
* ``deduct`` - 100 minus ``per_unit`` points for each unit above the target (counts of urgings,
  supervisions...), not below 0.

Weighted totals ignore indicators without data (a department that received no callbacks is not
scored on satisfaction) and renormalise the remaining weights.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import ValidationFailed

RULES = ("linear", "threshold", "ratio", "deduct")
DIRECTIONS = ("higher", "lower")


@dataclass(frozen=True)
class Rule:
    type: str
    target: float
    direction: str = "higher"
    floor: float | None = None
    per_unit: float | None = None

    @classmethod
    def from_dict(cls, data: Any, target: Any, direction: Any) -> "Rule":
        if not isinstance(data, dict) or data.get("type") not in RULES:
            raise ValidationFailed("invalid scoring rule", details={"rule.type": "one of " + ", ".join(RULES)})
        if direction not in DIRECTIONS:
            raise ValidationFailed("invalid direction", details={"direction": "higher or lower"})
        if not _number(target):
            raise ValidationFailed("invalid target", details={"target": "a number"})
        rule = cls(type=data["type"], target=float(target), direction=direction,
                   floor=float(data["floor"]) if _number(data.get("floor")) else None,
                   per_unit=float(data["per_unit"]) if _number(data.get("per_unit")) else None)
        if rule.type == "linear":
            if rule.floor is None or rule.floor == rule.target \
                    or (rule.direction == "higher") != (rule.floor < rule.target):
                raise ValidationFailed("a linear rule needs a floor on the worse side of the target",
                                       details={"rule.floor": "below the target (above it when lower is better)"})
        if rule.type == "deduct" and (rule.per_unit is None or rule.per_unit <= 0):
            raise ValidationFailed("a deduct rule needs points per unit", details={"rule.per_unit": "a number > 0"})
        if rule.type == "ratio" and rule.target <= 0:
            raise ValidationFailed("a ratio rule needs a positive target", details={"target": "> 0"})
        return rule

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        if self.floor is not None:
            out["floor"] = self.floor
        if self.per_unit is not None:
            out["per_unit"] = self.per_unit
        return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value \
        and abs(value) < 1e12


def _clamp(x: float) -> float:
    return max(0.0, min(100.0, x))


def score(rule: Rule, value: float | None) -> float | None:
    """The score of ``value`` under ``rule`` (None when there is no value)."""
    if value is None:
        return None
    higher = rule.direction == "higher"
    if rule.type == "threshold":
        return 100.0 if (value >= rule.target if higher else value <= rule.target) else 0.0
    if rule.type == "linear":
        assert rule.floor is not None
        return _clamp(100.0 * (value - rule.floor) / (rule.target - rule.floor))
    if rule.type == "ratio":
        if higher:
            return _clamp(100.0 * value / rule.target)
        return 100.0 if value <= 0 else _clamp(100.0 * rule.target / value)
    assert rule.per_unit is not None
    excess = (value - rule.target) if higher is False else (rule.target - value)
    return _clamp(100.0 - rule.per_unit * max(0.0, excess))


def weighted(parts: Sequence[tuple[float, float | None]]) -> float | None:
    """Σ weight·score / Σ weight over the parts that have a score; None if none has."""
    scored = [(w, s) for w, s in parts if s is not None and w > 0]
    total_weight = sum(w for w, _ in scored)
    if not scored or total_weight == 0:
        return None
    return sum(w * s for w, s in scored) / total_weight


def rank(scores: dict[str, float | None]) -> list[tuple[str, float | None, int | None]]:
    """(subject, score, rank), best first; equal scores share a rank (1, 2, 2, 4); unscored last."""
    ordered = sorted(scores.items(), key=lambda kv: (kv[1] is None, -(kv[1] or 0.0), kv[0]))
    out: list[tuple[str, float | None, int | None]] = []
    previous: float | None = None
    current_rank = 0
    for position, (subject, value) in enumerate(ordered, start=1):
        if value is None:
            out.append((subject, None, None))
            continue
        rounded = round(value, 2)
        if previous is None or rounded != previous:
            current_rank = position
            previous = rounded
        out.append((subject, value, current_rank))
    return out
