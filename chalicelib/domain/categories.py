"""The problem classification as a tree (领域 → 事项 → 具体问题): lookups over the directory's entries.

Pure: built from the entries the directory stores (``code``, ``name``, ``parent``, ``active``).
A ticket's ``category`` holds a code of this tree; a ticket registered before the tree existed
holds free text, which :meth:`CategoryTree.resolve` maps to the one active entry of that name, if
exactly one has it (docs/decisions/0014-category-tree.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

MAX_LEVEL = 3
LEVEL_LABELS = {1: "领域", 2: "事项", 3: "具体问题"}
UNCLASSIFIED = "-"
UNCLASSIFIED_LABEL = "未分类"


@dataclass(frozen=True)
class Category:
    """One entry of the tree."""

    code: str
    name: str
    parent: str | None
    active: bool


class CategoryTree:
    """Every entry, retired ones included, with their paths and levels."""

    def __init__(self, entries: Iterable[dict[str, Any]]) -> None:
        self.nodes: dict[str, Category] = {
            e["code"]: Category(code=e["code"], name=e["name"], parent=e.get("parent"), active=e.get("active", True))
            for e in entries}
        self._by_name: dict[str, list[str]] = {}
        for node in self.nodes.values():
            if node.active:
                self._by_name.setdefault(node.name, []).append(node.code)

    def __contains__(self, code: object) -> bool:
        return code in self.nodes

    def lineage(self, code: str) -> list[Category]:
        """The entry and its ancestors, top first (empty for an unknown code)."""
        out: list[Category] = []
        node = self.nodes.get(code)
        while node is not None and len(out) <= MAX_LEVEL:
            out.insert(0, node)
            node = self.nodes.get(node.parent) if node.parent else None
        return out

    def level(self, code: str) -> int:
        """1 for a 领域, 2 for a 事项, 3 for a 具体问题; 0 for an unknown code."""
        return len(self.lineage(code))

    def path(self, code: str) -> list[str]:
        """Names from the top down: ``["市场监管", "商品质量", "家用电器"]``."""
        return [n.name for n in self.lineage(code)]

    def is_active(self, code: str) -> bool:
        """Known, not retired, and under no retired entry."""
        lineage = self.lineage(code)
        return bool(lineage) and all(n.active for n in lineage)

    def by_name(self, name: str) -> str | None:
        """The code of the one active entry with this name; None when none or several have it."""
        codes = [c for c in self._by_name.get(name.strip(), []) if self.is_active(c)]
        return codes[0] if len(codes) == 1 else None

    def resolve(self, value: str | None) -> str | None:
        """A ticket's stored ``category`` as a code of the tree: a code as it is, an old free-text
        category by its name (see :meth:`by_name`); None when it maps to nothing."""
        if not value:
            return None
        if value in self.nodes:
            return value
        return self.by_name(value)

    def at_level(self, value: str | None, level: int) -> str:
        """The level-``level`` ancestor's code of a stored category (itself at that level);
        :data:`UNCLASSIFIED` for free text that maps to nothing or a category above that level."""
        code = self.resolve(value)
        lineage = self.lineage(code) if code else []
        return lineage[level - 1].code if len(lineage) >= level else UNCLASSIFIED

    def label(self, value: str | None) -> str:
        """What a person reads for a stored category: the path ``市场监管 / 商品质量``, or the old
        free text as it was written, or 未分类."""
        code = self.resolve(value)
        if code:
            return " / ".join(self.path(code))
        return value or UNCLASSIFIED_LABEL

    def stored_under(self, code: str) -> list[str]:
        """Every stored ``category`` value that counts under ``code``: the codes of its subtree
        (itself included, retired entries too) and the names old free text maps to one of them."""
        codes = [c for c in sorted(self.nodes) if self.descends(c, code)]
        inside = set(codes)
        names = sorted({self.nodes[c].name for c in codes if self.by_name(self.nodes[c].name) in inside})
        return [*codes, *names]

    def descends(self, code: str, ancestor: str) -> bool:
        """``code`` is ``ancestor`` or lies under it."""
        return any(n.code == ancestor for n in self.lineage(code))

    def as_nested(self, *, active_only: bool) -> list[dict[str, Any]]:
        """The tree as nested ``{code, name, level, active, children}`` (for a cascader), in code order."""
        children: dict[str | None, list[Category]] = {}
        for node in sorted(self.nodes.values(), key=lambda n: n.code):
            if not active_only or node.active:
                children.setdefault(node.parent, []).append(node)

        def build(parent: str | None, level: int) -> list[dict[str, Any]]:
            if level > MAX_LEVEL:
                return []
            return [{"code": n.code, "name": n.name, "level": level, "active": n.active,
                     "children": build(n.code, level + 1)} for n in children.get(parent, [])]

        return build(None, 1)
