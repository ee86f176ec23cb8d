"""Sensitive and major events (敏感/重大事件), recognised in a new ticket's text at intake. Pure.

The categories managers must hear of at once: group complaints, food poisoning, safety
accidents, media exposure, threats of suicide or self-harm, threats of violence. Recognition is
by phrases an agent or citizen writes (a lexicon, normalised text, a few proximity patterns),
tuned to flag rather than to miss: a flag is a prompt for a person to look, never a decision.

A group complaint is also recognised by its size: 5 or more complainants on one ticket (Art. 12
joint complaints), the threshold local rules commonly use for 群体性投诉.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

GROUP_MIN_COMPLAINANTS = 5


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    level: str  # "major" (重大) or "sensitive" (敏感)
    patterns: tuple[re.Pattern[str], ...]


def _p(*regexes: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(r) for r in regexes)


_EAT = r"(吃|食用|用餐|就餐|聚餐|外卖|食堂|饭店|餐厅|餐馆|快餐|盒饭|婚宴|酒席|奶茶|蛋糕|熟食)"
_ILL = r"(腹泻|拉肚子|呕吐|上吐下泻|发烧|腹痛|肚子疼|送医|住院|急诊|就医|抢救)"

CATEGORIES: tuple[Category, ...] = (
    Category("self_harm", "扬言自杀/自残", "major", _p(
        r"自杀|跳楼|跳河|轻生|自残|自伤|割腕|不想活|活不下去|喝农药|服毒|吃安眠药|以死相逼|寻死|一死了之|死给")),
    Category("violence", "扬言报复/极端行为", "major", _p(
        r"同归于尽|报复社会|泼汽油|浇汽油|放火烧|纵火|炸掉他|杀了他|砍人|行凶|鱼死网破")),
    Category("food_poisoning", "食物中毒", "major", _p(
        r"食物中毒|集体中毒|疑似中毒|食源性疾病|中毒",
        _EAT + r".{0,30}" + _ILL, _ILL + r".{0,30}" + _EAT)),
    Category("safety_accident", "安全事故", "major", _p(
        r"爆炸|起火|着火|火灾|坍塌|倒塌|塌方|触电|漏电伤|燃气泄漏|煤气泄漏|天然气泄漏|漏气|伤亡|死亡|身亡|重伤|"
        r"砸伤|烧伤|烫伤|骨折|人员受伤|安全事故|特种设备事故",
        r"电梯.{0,10}(困人|坠落|事故|夹伤|夹人|下坠|冲顶)")),
    Category("group_complaint", "群体投诉", "sensitive", _p(
        r"群体|集体投诉|集体维权|联名|多名业主|众多业主|全体业主|多名消费者|众多消费者|大量消费者|上百人|几十人|"
        r"数十人|上百名|几百人|聚集|围堵|拉横幅|上访")),
    Category("media_exposure", "媒体曝光", "sensitive", _p(
        r"媒体|记者|曝光|电视台|报社|报纸|微博|抖音|快手|小红书|网上发布|发到网上|发网上|舆论|热搜|自媒体|新闻")),
)

BY_CODE = {c.code: c for c in CATEGORIES}
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Width-folded (NFKC), without spaces, so 'ｆｏｏ' and '自 杀' match their lexicon entries."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text or ""))


@dataclass(frozen=True)
class Flag:
    code: str
    label: str
    level: str
    evidence: str  # the phrase that matched (no personal data: a lexicon phrase)


def classify(text: str, complainants: int = 1) -> list[Flag]:
    """The sensitive categories a ticket's request and facts fall into, major ones first."""
    body = normalise(text)
    flags: list[Flag] = []
    for category in CATEGORIES:
        for pattern in category.patterns:
            match = pattern.search(body)
            if match:
                flags.append(Flag(category.code, category.label, category.level, match.group(0)[:20]))
                break
    if complainants >= GROUP_MIN_COMPLAINANTS and not any(f.code == "group_complaint" for f in flags):
        flags.append(Flag("group_complaint", BY_CODE["group_complaint"].label, "sensitive",
                          f"{complainants}名投诉人"))
    return sorted(flags, key=lambda f: (f.level != "major", [c.code for c in CATEGORIES].index(f.code)))
