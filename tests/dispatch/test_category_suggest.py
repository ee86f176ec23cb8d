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


# --- merged with the category model (dispatch/category_model.py): pure, the model's ranking given ---------

def test_the_model_decides_the_categories_it_knows_and_keywords_the_others():
    from chalicelib.dispatch.category_model import combine

    tree = CategoryTree(ENTRIES)
    keywords = index().suggest("买的电饭煲三天就坏了，要求退货；停电了")  # 家用电器 and 停电 by keywords
    assert {s.code for s in keywords.items} >= {"A101"}
    merged = combine(tree, keywords, [("B101", 0.8), ("A101", 0.15)], labels=frozenset({"A101", "B101"}),
                     model_version="category-x")
    methods = {s.code: (s.method, s.confidence) for s in merged.items}
    assert merged.items[0].code == "B101" and methods["A101"] == ("model", 0.15)  # the model's, not the keywords'
    assert merged.method == "model" and merged.model_version == "category-x"
    assert methods["B2"][0] == "keywords"  # 停电: the model does not know it
    assert [s.confidence for s in merged.items] == sorted((s.confidence for s in merged.items), reverse=True)
    # a category the model does not know keeps its keyword evidence and may come first
    appliance = index().suggest("买的电饭煲三天就坏了，要求退货")  # 家用电器 at 60 %
    unknown = combine(tree, appliance, [("A201", 0.55), ("B101", 0.45)], labels=frozenset({"B101", "A201"}))
    assert [(s.code, s.method) for s in unknown.items] == [("A101", "keywords"), ("A201", "model"), ("B101", "model")]
    assert unknown.method == "keywords"


def test_an_unsure_or_unfamiliar_model_does_not_guess():
    from chalicelib.dispatch.category_model import combine

    tree = CategoryTree(ENTRIES)
    keywords = index().suggest("买的电饭煲三天就坏了，要求退货")
    unsure = combine(tree, keywords, [("A101", 0.35), ("A102", 0.33), ("B101", 0.32)],
                     labels=frozenset({"A101", "A102", "B101"}))
    assert unsure.items == () and unsure.abstain == "ambiguous" and unsure.method == "model"
    unfamiliar = combine(tree, keywords, [("B101", 0.9)], labels=frozenset({"A101", "B101"}), familiar=False)
    assert unfamiliar.items == keywords.items and unfamiliar.method == "keywords"
    retired = CategoryTree([{**e, "active": e["code"] != "B101"} for e in ENTRIES])
    assert "B101" not in [s.code for s in combine(retired, keywords, [("B101", 0.9)],
                                                  labels=frozenset({"B101"})).items]
