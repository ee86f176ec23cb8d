"""Event analysis by category level: tickets per 领域 (``category_l1``) or 事项 (``category_l2``).

The counters keep each ticket under the category it holds (a code of the tree, or an old ticket's
free text). A breakdown by level reads the per-category counters once and adds each category's raw
counts into its level-1 or level-2 ancestor, then evaluates rates on the sums (a rate is never
averaged). Old free text that names one category counts under it; anything else is 未分类 (``-``).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from chalicelib.analytics import measures
from chalicelib.analytics.period import Period
from chalicelib.analytics.statistics import EVENT_MEASURES, Query, run
from chalicelib.domain.categories import LEVEL_LABELS, UNCLASSIFIED, UNCLASSIFIED_LABEL
from chalicelib.services import categories

LEVELS = {"category_l1": 1, "category_l2": 2}


def by_level(period: Period, by: str, department: str | None = None) -> dict[str, Any]:
    """The event-analysis answer (same shape as ``statistics.events``) grouped by ``by``:
    ``category_l1`` or ``category_l2``."""
    level = LEVELS[by]
    raw_names = tuple(sorted(measures.needed(EVENT_MEASURES)))
    base = run(Query(period, raw_names, ("category",)).scoped(department))
    tree = categories.tree()
    grouped: dict[str, Counter] = defaultdict(Counter)
    for row in base["rows"]:
        grouped[tree.at_level(row["keys"]["category"], level)].update(row["values"])
    total = Counter(base["total"])
    rows = []
    for code, counts in grouped.items():
        name = UNCLASSIFIED_LABEL if code == UNCLASSIFIED else " / ".join(tree.path(code))
        rows.append({"keys": {by: code}, "labels": {by: name},
                     "values": {n: measures.value_of(n, counts) for n in EVENT_MEASURES}})
    rows.sort(key=lambda r: (-(r["values"][EVENT_MEASURES[0]] or 0), r["keys"][by]))
    return {
        "period": base["period"],
        "dimensions": [{"name": by, "label": f"类别（{LEVEL_LABELS[level]}）"}],
        "measures": [{"name": n, "label": measures.label(n), "unit": measures.unit(n), "drillable": False}
                     for n in EVENT_MEASURES],
        "filters": base["filters"],
        "rows": rows,
        "total": {n: measures.value_of(n, total) for n in EVENT_MEASURES},
        "truncated": base["truncated"],
        "source": base["source"],
    }


def labelled(answer: dict[str, Any]) -> dict[str, Any]:
    """A breakdown by ``category`` with each row labelled by its path (``市场监管 / 商品质量``) and
    its code of the tree in ``keys.category_code`` (old free text: as written, no code)."""
    tree = categories.tree()
    for row in answer["rows"]:
        value = row["keys"].get("category")
        if value is not None:
            row["labels"]["category"] = UNCLASSIFIED_LABEL if value == UNCLASSIFIED else tree.label(value)
            row["keys"]["category_code"] = tree.resolve(value)
    return answer
