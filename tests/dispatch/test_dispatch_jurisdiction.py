"""Jurisdiction (属地) from address and text: right district, honest unknowns."""
from __future__ import annotations

import pytest

from chalicelib.dispatch.jurisdiction import Gazetteer, Place, candidates, locate


@pytest.mark.parametrize("address, text, district", [
    ("苏州工业园区星湖街328号", "门口有人摆摊", "SIP"),
    (None, "吴中区木渎镇金山路一家饭店油烟很大", "WUZHONG"),
    ("昆山市人民路88号", None, "KUNSHAN"),
    (None, "张家港人民路和暨阳路交叉口积水", "ZHANGJIAGANG"),
    (None, "在园区金鸡湖边有人夜钓", "SIP"),
    (None, "昆山高新区一家工厂偷排废水", "KUNSHAN"),
    (None, "苏州高新区狮山路的商场", "HUQIU"),
    (None, "相城区元和街道某小区停电", "XIANGCHENG"),
    (None, "吴江区盛泽镇东方丝绸市场附近", "WUJIANG"),
    (None, "太仓市浏河镇", "TAICANG"),
    (None, "常熟虞山脚下的农家乐", "CHANGSHU"),
    (None, "拙政园门口拉客", "GUSU"),
])
def test_known_places(address, text, district) -> None:
    loc = locate(address, text)
    assert loc is not None and loc.district == district
    assert 0.5 <= loc.confidence < 1.0


def test_subdistrict_and_place_are_reported() -> None:
    loc = locate(None, "吴江区松陵镇一家超市")
    assert loc is not None
    assert loc.district == "WUJIANG" and loc.place == "松陵镇" and loc.subdistrict == "松陵街道"
    assert loc.to_dict()["district_name"] == "吴江区"


@pytest.mark.parametrize("address, text", [
    (None, None),
    ("", ""),
    (None, "小区停水两天了"),
    (None, "上海市浦东新区某小区"),
    (None, "苏州市某小区"),
    (None, "我在产业园区上班，老板拖欠工资"),  # "园区" inside a word is not 苏州工业园区
])
def test_unknown_gives_none(address, text) -> None:
    assert locate(address, text) is None


@pytest.mark.parametrize("text", ["人民路上有人占道经营", "金山路一家店", "我住在阳澄湖边", "火车站附近有人拉客",
                                  "广济北路与北环路交叉口"])
def test_ambiguous_names_alone_decide_nothing(text) -> None:
    assert locate(None, text) is None
    assert len({d for d, _ in candidates(None, text)}) >= 2


def test_ambiguous_name_confirmed_by_a_unique_one() -> None:
    loc = locate(None, "东环路和干将东路交叉口")
    assert loc is not None and loc.district == "GUSU"


def test_two_ambiguous_names_meeting_in_one_district() -> None:
    places = [Place("甲路", "road", "GUSU", None), Place("甲路", "road", "SIP", None),
              Place("乙桥", "landmark", "SIP", None), Place("乙桥", "landmark", "WUZHONG", None)]
    gaz = Gazetteer(places, {"GUSU": "姑苏区", "SIP": "苏州工业园区", "WUZHONG": "吴中区"})
    loc = locate(None, "甲路乙桥附近", gazetteer=gaz)
    assert loc is not None and loc.district == "SIP" and loc.confidence < 0.75


def test_address_outweighs_text_but_conflict_lowers_confidence() -> None:
    alone = locate("吴中区东吴北路", None)
    mixed = locate("吴中区东吴北路", "在金鸡湖附近的商场买的")
    assert alone is not None and mixed is not None
    assert mixed.district == "WUZHONG" and mixed.confidence < alone.confidence


def test_tie_between_districts_gives_none() -> None:
    assert locate(None, "吴中区还是相城区") is None


def test_gazetteer_rejects_unknown_district_codes() -> None:
    with pytest.raises(ValueError):
        Gazetteer([Place("某路", "road", "NOWHERE", None)], {"GUSU": "姑苏区"})
