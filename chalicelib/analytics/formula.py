"""Formulas over counters: ``sign_on_time / (sign_on_time + sign_late)``.

Managers write indicator formulas and statistics templates name derived measures; both are
arithmetic over measure names. A formula is parsed once with Python's ``ast`` and only numbers,
names, ``+ - * /``, unary minus, parentheses and ``min``/``max`` are allowed: nothing is ever
``eval``-ed. A division by zero makes the whole value ``None`` ("no data"), never an error.
"""
from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from chalicelib.domain.errors import ValidationFailed

MAX_LENGTH = 300
MAX_NODES = 60

_BINOPS: dict[type, Callable[[float, float], float]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {"min": min, "max": max}


class _NoData(Exception):
    """A division by zero somewhere in the formula."""


@dataclass(frozen=True)
class Formula:
    """A parsed, checked formula and the names it reads."""

    text: str
    names: frozenset[str]
    _tree: ast.expr

    def evaluate(self, resolve: Callable[[str], float | None]) -> float | None:
        """The value, reading each name through ``resolve``; None when a divisor is 0 or a name has no value."""
        try:
            return float(_eval(self._tree, resolve))
        except _NoData:
            return None


def _eval(node: ast.expr, resolve: Callable[[str], float | None]) -> float:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        value = resolve(node.id)
        if value is None:
            raise _NoData
        return float(value)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, resolve)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, resolve), _eval(node.right, resolve)
        if isinstance(node.op, ast.Div):
            if right == 0:
                raise _NoData
            return left / right
        return _BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return _FUNCTIONS[node.func.id](*(_eval(a, resolve) for a in node.args))
    raise AssertionError(f"unchecked node {type(node).__name__}")  # parse() admits nothing else


def _check(tree: ast.expr, known: frozenset[str]) -> frozenset[str]:
    names: set[str] = set()
    count = 0
    for node in ast.walk(tree):
        count += 1
        if isinstance(node, (ast.Expression, ast.Load, ast.operator, ast.unaryop)):
            if isinstance(node, ast.operator) and type(node) not in (*_BINOPS, ast.Div):
                raise ValidationFailed("operator not allowed", details={"formula": "only + - * / are allowed"})
            if isinstance(node, ast.unaryop) and not isinstance(node, (ast.USub, ast.UAdd)):
                raise ValidationFailed("operator not allowed", details={"formula": "only + - * / are allowed"})
            continue
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ValidationFailed("only numbers are allowed", details={"formula": "numbers and measure names"})
        elif isinstance(node, ast.Name):
            if node.id in _FUNCTIONS:
                continue
            if node.id not in known:
                raise ValidationFailed(f"unknown measure {node.id}", details={"formula": f"unknown measure {node.id}"})
            names.add(node.id)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or node.keywords \
                    or not 1 <= len(node.args) <= 8:
                raise ValidationFailed("function not allowed", details={"formula": "only min(...) and max(...)"})
        elif not isinstance(node, (ast.BinOp, ast.UnaryOp)):
            raise ValidationFailed("not an arithmetic formula",
                                   details={"formula": f"{type(node).__name__} is not allowed"})
    if count > MAX_NODES:
        raise ValidationFailed("formula too long", details={"formula": f"at most {MAX_NODES} terms"})
    return frozenset(names)


def parse(text: str, known: frozenset[str]) -> Formula:
    """Parse and check a formula whose names must all be in ``known``."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_LENGTH:
        raise ValidationFailed("invalid formula", details={"formula": f"1 to {MAX_LENGTH} characters"})
    return _parse_cached(text.strip(), known)


@lru_cache(maxsize=512)
def _parse_cached(text: str, known: frozenset[str]) -> Formula:
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ValidationFailed("the formula does not parse", details={"formula": "not an arithmetic expression"}) \
            from None
    return Formula(text=text, names=_check(tree, known), _tree=tree)


def evaluate(formula: Formula, values: Mapping[str, float | int | None]) -> float | None:
    """The formula over a plain mapping of values (missing names count as 0)."""
    return formula.evaluate(lambda name: values.get(name, 0))
