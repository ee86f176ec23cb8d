"""The corpus generator, its template language and the duty-list parser."""
from __future__ import annotations

import random

import pytest

from chalicelib.dispatch.corpus.generator import DEPARTMENTS, generate
from chalicelib.dispatch.corpus.template import Expander
from chalicelib.dispatch.taxonomy import departments, split_duties


def test_expander_keeps_slot_values_within_a_record() -> None:
    ex = Expander(random.Random(0), {"estate": ["甲苑", "乙苑", "丙苑"]})
    first = ex.expand("{estate}的电梯坏了，[{estate}物业|物业]不管")
    name = ex.values["estate"]
    assert first.startswith(name) and first.count(name) in (1, 2)


def test_expander_draws_only_chosen_branches() -> None:
    ex = Expander(random.Random(1), {"a": ["A"], "b": ["B"]})
    for _ in range(20):
        ex.values.clear()
        out = ex.expand("[{a}|{b}]")
        assert set(ex.values) == ({"a"} if out == "A" else {"b"})


def test_unclosed_bracket_is_an_error() -> None:
    with pytest.raises(ValueError):
        Expander(random.Random(0), {}).expand("[a|b")


def test_generator_is_deterministic_and_covers_the_taxonomy() -> None:
    a = generate(5, "train", seed=7)
    b = generate(5, "train", seed=7)
    assert [r.text for r in a] == [r.text for r in b]
    assert {d.code for d in DEPARTMENTS} == {d.code for d in departments()}


def test_heldout_generation_excludes_given_texts() -> None:
    train = generate(5, "train", seed=7)
    held = generate(5, "heldout", seed=7, exclude={r.text for r in train})
    assert not {r.text for r in train} & {r.text for r in held}


def test_split_duties() -> None:
    assert split_duties("特种设备（电梯、锅炉）、计量") == ("特种设备", "电梯", "锅炉", "计量")
    assert split_duties("占道经营和流动摊贩") == ("占道经营和流动摊贩", "占道经营", "流动摊贩")
    assert "商品" not in split_duties("商品和服务质量")
