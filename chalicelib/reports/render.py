"""HTML rendering of reports with jinja2 (autoescaped; charts arrive as safe inline SVG)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and value != int(value):
        return f"{value:,.2f}"
    return f"{int(value):,}"


def _pct(value: Any) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _change(value: Any) -> str:
    if value is None:
        return "—"
    arrow = "↑" if value > 0 else ("↓" if value < 0 else "→")
    return f"{arrow}{abs(value):.1f}%"


def _value(value: Any, unit: str = "") -> str:
    if unit == "%":
        return _pct(value)
    if unit == "h":
        return "—" if value is None else f"{value:.1f}小时"
    return _num(value)


@lru_cache(maxsize=1)
def environment() -> Any:
    import jinja2  # lazily: only the report worker renders

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(num=_num, pct=_pct, change=_change, value=_value)
    return env


def render(template: str, context: dict[str, Any]) -> str:
    """Render ``template`` (a file under ``reports/templates``) with ``context``."""
    return environment().get_template(template).render(**context)
