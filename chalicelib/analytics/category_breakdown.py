"""Category rows labelled for people: a breakdown by ``category`` shows each row's path in the tree.

Breakdowns by a level of the tree (``category_l1`` 领域, ``category_l2`` 事项, ``category_l3``
具体问题) are ordinary statistics dimensions (:class:`chalicelib.analytics.statistics.CategoryLevels`):
each stored category's raw counts add into its ancestor at that level and rates are evaluated on the
sums (a rate is never averaged). Old free text that names one category counts under it; anything
else is 未分类 (``-``).
"""
from __future__ import annotations

from typing import Any

from chalicelib.domain.categories import UNCLASSIFIED, UNCLASSIFIED_LABEL
from chalicelib.services import categories


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
