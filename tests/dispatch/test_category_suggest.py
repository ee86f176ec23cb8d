"""Category suggestions, pure: a toy tree and a cutter that splits names on '和', so no jieba loads."""
from __future__ import annotations

import pytest

from chalicelib.dispatch import category_suggest
from chalicelib.dispatch.category_suggest import Index
from chalicelib.domain.categories import CategoryTree

ENTRIES = [
    {"code": "A", "name": "市场监管", "parent": None},
    {"code": "A1", "name": "商品质量", "parent": "A"},
    {"code": "A101", "name": "家用电器", "parent": "A1"},
    {"code": "A102", "name": "数码产品", "parent": "A1"},
    {"code": "A2", "name": "预付卡", "parent": "A"},
    {"code": "A201", "name": "商家闭店跑路", "parent": "A2"},
    {"code": "B", "name": "公用事业", "parent": None},
    {"code": "B1", "name": "停水和水压", "parent": "B"},
    {"code": "B101", "name": "计划停水", "parent": "B1"},
    {"code": "B2", "name": "停电", "parent": "B"},
]


def cut(name: str) -> list[str]:
    return name.split("和")


def index(*retired: str) -> Index:
    return Index(CategoryTree([{**e, "active": e["code"] not in retired} for e in ENTRIES]), cut)


def test_a_problem_with_its_own_words_is_suggested_with_its_path_and_evidence():
    found = index().suggest("买的电饭煲三天就坏了，要求退货")
    assert found.abstain is None and found.method == "keywords"
    top = found.items[0]
    assert (top.code, top.path, top.level) == ("A101", ("市场监管", "商品质量", "家用电器"), 3)
    assert 0.4 <= top.confidence <= 1 and "电饭煲" in top.matched
    assert [s.confidence for s in found.items] == sorted((s.confidence for s in found.items), reverse=True)


def test_a_matter_stands_for_its_problems_when_the_text_names_none_of_them():
    found = index().suggest("商品质量太差，三包期内坏了两次")
    assert [s.code for s in found.items][:1] == ["A1"]
    assert not any(s.code in ("A101", "A102") for s in found.items)


def test_retired_categories_are_never_suggested():
    assert "A101" not in [s.code for s in index("A101").suggest("买的电饭煲三天就坏了，要求退货").items]
    blocked = index("B1", "B101").suggest("小区计划停水没有通知，停水和水压问题")
    assert not any(s.path[:2] == ("公用事业", "停水和水压") for s in blocked.items)


def test_it_says_so_when_it_has_nothing_or_cannot_choose():
    assert index().suggest("您好，我想反映一下上次那个事情").to_dict() == \
        {"items": [], "abstain": "no_match", "method": "keywords"}
    two = index().suggest("停电了，预付卡也用不了")  # two matters named: both offered, neither sure
    assert {s.code for s in two.items} == {"A2", "B2"} and all(s.confidence == 0.4 for s in two.items)
    torn = index().suggest("停电了，预付卡也用不了，商品质量也差")  # three: the first holds too little
    assert torn.items == () and torn.abstain == "ambiguous"


def test_the_index_follows_the_tree(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(category_suggest, "_cutter", lambda: cut)
    monkeypatch.setattr(category_suggest, "_cached", None)
    text = "小区计划停水没有提前通知"
    assert category_suggest.suggest(text, CategoryTree(ENTRIES)).items[0].code == "B101"
    retired = CategoryTree([{**e, "active": not e["code"].startswith("B1")} for e in ENTRIES])
    assert all(not s.code.startswith("B1") for s in category_suggest.suggest(text, retired).items)
