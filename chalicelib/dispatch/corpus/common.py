"""Material shared by every department: places, people, times, amounts and voices.

Places come from the jurisdiction gazetteer, so a generated record names real Suzhou places and
the generator knows the true district of every record that mentions one.
"""
from __future__ import annotations

import csv
import random
from dataclasses import dataclass

from ..jurisdiction import DEFAULT_GAZETTEER

SURNAMES = list("张王李赵刘陈杨黄吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁沈任姚卢姜崔钟谭陆汪范金石廖贾夏韦傅方邹熊孟秦邱江尹薛顾")

ESTATES = [
    "阳光花园", "幸福家园", "金色家园", "锦绣江南", "翡翠湾", "东湖苑", "新城花园", "丽景苑",
    "碧桂园", "万科城", "绿地世纪城", "中海国际社区", "世茂运河城", "九龙仓国宾1号", "金地名京",
    "招商小石城", "华润国际社区", "融侨城", "湖畔佳苑", "星港湾", "水岸华庭", "清风苑",
    "和园新村", "康乐新村", "兴隆花园", "枫林雅苑", "桂花苑", "紫薇苑", "荷花新村", "建设新村",
    "滨湖人家", "江南名府", "悦澜湾", "云锦苑", "运河人家", "东港新村", "西园公寓", "南苑新村",
    "惠民小区", "红星小区", "工人新村", "新华小区", "桃园小区", "春晖苑", "金枫苑", "御湖湾",
]

STREET_NUMBERS = ["{n1}号", "{n2}号", "{n1}弄{n1}号", "{n2}号附近", "{n1}号对面"]

DATES = [
    "[1|2|3|4|5|6|7|8|9|10|11|12]月[1|3|5|6|8|9|11|12|15|16|18|20|21|23|25|27|28|30]日",
    "[1|2|3|4|5|6|7|8|9|10|11|12]月[2|5|7|10|14|17|19|22|26|29]号",
    "上个月[3|10|12|18|25]号", "上周[一|二|三|四|五|六|日]", "前天", "昨天", "今天上午", "今天下午",
    "去年[10|11|12]月份", "今年[年初|三月份|五一前后|春节前]", "[2023|2024|2025]年[3|6|8|9|11]月",
]
WHEN = [
    "近一个月", "最近半年", "这几天", "近一周", "今年以来", "从上个月开始", "最近两三个月",
    "已经快一年了", "长期以来", "这段时间", "每到周末", "入夏以来", "近期",
]
CLOCK = [
    "凌晨[一|两|三|四]点", "晚上[十|十一|十二]点多", "早上[五|六]点[多|左右|]", "中午[十二|一]点左右",
    "夜里[十一|十二]点以后", "半夜", "晚上[八|九]点到[十一|十二]点", "早上七点前",
]
AMOUNTS_SMALL = ["[35|48|68|88|99|120|150|199|260|298]元", "[一|两|三]百多元", "几十块钱"]
AMOUNTS = [
    "[680|980|1280|1500|1980|2600|3200|3680|4500|5800|6800]元", "[两|三|四|五|六]千多元",
    "[一|两|三]万[多|余]元", "[8000|12000|15800|23000|36000]元", "[1|2|3|5]万元",
]
MONTHS = ["两个月", "三个月", "四个多月", "半年", "[2|3|4|5|6]个月", "一年多"]
COUNTS = ["[两|三|四|五]次", "好几次", "多次", "[七|八]次", "无数次"]

#: Voices: who speaks. First person for web/app messages, third person for agents' summaries.
VOICE_FIRST = {
    "I": "我", "my": "我", "me": "我", "we": "我们",
    "ourestate": "[我们|我家|我住的|我所在的]小区",
    "ourhome": "[我家|我们家]",
}
VOICE_AGENT = {
    "I": "[其|来电人]", "my": "其", "me": "其", "we": "[居民|周边居民|他们]",
    "ourestate": "[其所在|来电人所住|其居住的]小区",
    "ourhome": "[其家|来电人家中]",
}


@dataclass(frozen=True)
class PlaceName:
    name: str
    kind: str
    district: str
    subdistrict: str | None
    ambiguous: bool


class PlaceBook:
    """Place names grouped by district, read from the gazetteer."""

    def __init__(self) -> None:
        with open(DEFAULT_GAZETTEER, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        count: dict[str, set[str]] = {}
        for r in rows:
            count.setdefault(r["name"], set()).add(r["district"])
        self.by_district: dict[str, dict[str, list[PlaceName]]] = {}
        for r in rows:
            p = PlaceName(r["name"], r["kind"], r["district"], r["subdistrict"] or None,
                          len(count[r["name"]]) > 1)
            self.by_district.setdefault(p.district, {}).setdefault(p.kind, []).append(p)
        self.districts = sorted(self.by_district)

    def pick(self, rng: random.Random, district: str, *kinds: str,
             unique: bool | None = None) -> PlaceName | None:
        pool = [p for k in kinds for p in self.by_district[district].get(k, [])
                if unique is None or p.ambiguous != unique]
        return rng.choice(pool) if pool else None


DISTRICT_SAY = {
    "GUSU": ["姑苏区", "姑苏区", "苏州姑苏区", "苏州市姑苏区"],
    "HUQIU": ["高新区", "苏州高新区", "虎丘区", "新区"],
    "WUZHONG": ["吴中区", "吴中", "苏州吴中区"],
    "XIANGCHENG": ["相城区", "相城", "苏州市相城区"],
    "WUJIANG": ["吴江区", "吴江", "苏州吴江"],
    "SIP": ["园区", "工业园区", "苏州工业园区", "园区"],
    "CHANGSHU": ["常熟市", "常熟", "常熟"],
    "ZHANGJIAGANG": ["张家港市", "张家港", "张家港"],
    "KUNSHAN": ["昆山市", "昆山", "昆山"],
    "TAICANG": ["太仓市", "太仓", "太仓"],
}


def make_place(rng: random.Random, book: PlaceBook) -> tuple[dict[str, str], str]:
    """Slot values describing one real place, and its true district code.

    Forms vary as in real records: a full address, a road and number, a landmark, a mall, or an
    estate name alone (which gives no clue of the district: the locator must say "unknown").
    """
    d = rng.choice(book.districts)
    say = rng.choice(DISTRICT_SAY[d])
    if say == "新区":
        say = "苏州新区"
    estate = rng.choice(ESTATES)
    sub = book.pick(rng, d, "subdistrict", "town")
    road = book.pick(rng, d, "road", unique=True) or book.pick(rng, d, "road")
    anyroad = book.pick(rng, d, "road")
    spot = book.pick(rng, d, "landmark", "mall", "station")
    n1, n2 = str(rng.randint(1, 60)), str(rng.randint(1, 999))
    num = rng.choice(STREET_NUMBERS).replace("{n1}", n1).replace("{n2}", n2)
    subname = sub.name if sub else ""
    forms = [
        f"{say}{subname}{estate}",
        f"{say}{subname}{estate}",
        f"{say}{estate}",
        f"{say}{anyroad.name if anyroad else ''}{num}",
        f"{road.name if road else say}{num}",
        f"{subname or say}{road.name if road else ''}",
        f"{spot.name if spot else say}附近",
        f"{spot.name if spot else subname}",
        f"{estate}",
        f"{anyroad.name if anyroad else estate}",
    ]
    addr = rng.choice(forms)
    near = rng.choice([f"{spot.name}附近" if spot else f"{say}{estate}附近",
                       f"{road.name}上" if road else f"{say}{subname}",
                       f"{subname}{estate}" if subname else f"{say}{estate}"])
    values = {
        "addr": addr,
        "near": near,
        "estate": estate,
        "dist": say,
        "road": (road or anyroad).name if (road or anyroad) else estate,
    }
    return values, d
