"""Compose hotline records from the department material.

A record has a *form* (an agent's summary, a web message, a message-board title and body, a
terse note, an inquiry, a long first-person narrative), a *voice* (first or third person), a
matter (one scenario's opening fact, optional details, history and asks), optional places,
times and amounts, and the small untidiness of real typing. The label is the department the
scenario belongs to; the district is the true district of the place the record mentions, left
empty when it names none.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Iterable

from . import common, styles
from .breadth import BROAD
from .hardpairs import HARD
from .lexicon import TERMS, term_scenario
from .material_a import ECOLOGY, HOUSING, HRSS, MARKET, TRANSPORT, URBAN
from .material_b import CIVIL, EDUCATION, HEALTH, NATRES, POLICE, WATER
from .material_c import CULTOUR, FIRE, GAS, MEDINS, POWER, TELECOM
from .spec import Department, Scenario
from .template import Expander

DEPARTMENTS: tuple[Department, ...] = tuple(
    replace(d, scenarios=d.scenarios + HARD.get(d.code, ()) + BROAD.get(d.code, ()) + (term_scenario(d.code),),
            pools={**d.pools, "term": list(TERMS[d.code])}) for d in (
        MARKET, HOUSING, URBAN, TRANSPORT, ECOLOGY, HRSS, POLICE, EDUCATION, HEALTH,
        WATER, NATRES, CIVIL, MEDINS, CULTOUR, TELECOM, POWER, GAS, FIRE,
    )
)

PLACE_SLOTS = ("addr", "near", "estate", "road", "dist")

AGENT_OPEN = [
    "来电人反映：", "市民来电反映，", "来电人称，", "来电人表示：", "来电人{surname}[女士|先生]反映：",
    "诉求人反映：", "来电人来电反映", "市民{surname}[女士|先生]来电称，", "【12345转办】来电人反映：",
    "网民留言反映：", "", "来电人反映，", "[一位|有]市民来电，称", "来电人({surname}[女士|先生])反映：",
]
AGENT_ASK = [
    "来电人要求{ask}。", "诉求：{ask}。", "希望相关部门{ask}。", "来电人希望{ask}。", "请相关部门核实处理。",
    "市民诉求：{ask}。", "来电人要求相关部门{ask}。", "现来电人要求{ask}，请处理。", "",
]
AGENT_TAIL = [
    "来电人情绪激动。", "来电人表示此前已多次反映未果。", "联系电话：{phone}。", "来电人不愿透露姓名，要求保密。",
    "来电人要求回电。", "请尽快处理并回复来电人。", "来电人称如不处理将向上级反映。", "（重复来电）",
]
WEB_GREET = ["您好，", "领导好！", "你好，", "尊敬的领导：", "", "", "", "您好！", "各位领导好，"]
WEB_INTRO = [
    "我是{dist}{estate}的[业主|居民|住户]，", "本人是{estate}的[业主|租户]，", "我住在{addr}，", "我是[一名|个]普通市民，",
    "我是外地来苏州[工作|打工]的，", "我家住{addr}，", "",
]
WEB_ASK = [
    "希望{ask}", "请[相关部门|有关部门|政府|领导]{ask}", "麻烦{ask}", "恳请{ask}", "强烈要求{ask}", "希望[有关部门|你们]能{ask}",
    "请求{ask}",
]
WEB_CLOSE = ["谢谢！", "盼复。", "谢谢领导！", "望尽快处理！", "", "！！！", "。", "万分感谢！", "希望能得到回复。"]
HISTORY = [
    "之前打过12345，[回复说已经处理|说会尽快处理|说会转给相关部门]，可是到现在[还是老样子|也没有变化]。",
    "{I}已经反映过{count}了，[一直没有结果|每次都不了了之|没人理]。",
    "[物业|社区|居委会]说这事[他们管不了|不归他们管]，让{me}找政府。",
    "{date}{I}就[反映|投诉]过一次，当时说会处理。",
    "这个问题已经困扰{we}[很久|大半年|好几年]了。",
    "{I}也不知道[该找哪个部门|这个归谁管]，只好打热线。",
    "[问了|找了]好几个部门，都说不归他们管。",
]
CONTEXT = [
    "[有一次|那天|前几天]{I}[下班回家|出门办事|路过那里|送孩子上学]的时候[发现的|遇到的|注意到的]。",
    "{I}家里[有老人孩子|老人身体不好|孩子马上要考试]，[实在等不起|真的受不了了|很着急]。",
    "{I}[平时工作很忙|是上班族|白天要上班]，[实在没有精力一直跑|请假跑了好几趟]。",
    "[当时|后来|事后]{I}[拍了照片|录了视频|保存了聊天记录|记下了时间]，可以提供给你们。",
    "[好几户|很多业主|周围邻居|不少人]都有同样的遭遇，[大家|我们]都很气愤。",
    "{I}[一开始|起初]以为[过几天就好了|对方会主动处理|是偶然情况]，结果{when}[一直这样|越来越严重]。",
    "[这件事|这个问题]{I}[前前后后|断断续续]反映了{count}，[每次都说在处理|电话转来转去]。",
    "{I}[真的|实在]不知道还能找谁了，[只好|所以]在这里留言。",
]
SHORT_FORMS = [
    "{short}", "{near}{short}", "{short}，[请处理|谁来管管|请尽快解决|望处理]", "投诉：{short}", "举报{short}",
    "关于{short}的问题", "{short}！！", "[反映|反应]{short}", "{addr}{short}", "{short}[问题|的事]",
]
INQ_AGENT = ["来电人咨询{q}。", "来电人咨询：{q}，请相关部门答复。", "市民来电咨询{q}。", "来电咨询{q}，要求回电告知。"]
INQ_FIRST = ["请问{q}？", "想咨询一下，{q}？谢谢", "你好，请问{q}", "{q}？", "咨询：{q}"]

FORM_WEIGHTS = {"agent": 28, "web": 20, "title_body": 10, "short": 10, "inquiry": 7, "long": 8,
                "phone": 9, "upper": 4, "walkin": 4}


@dataclass(frozen=True)
class Record:
    """One generated hotline record."""

    text: str
    label: str
    district: str | None
    form: str


def _usable(items: tuple[str, ...], split: str) -> tuple[str, ...]:
    """Hold out the last wording for the held-out split when there are at least three."""
    if len(items) >= 3 and split == "train":
        return items[:-1]
    return items


def _pools(dept: Department, voice: dict[str, str], place: dict[str, str]) -> dict[str, object]:
    pools: dict[str, object] = {
        "n": ["[2|3|4|5|6|8|10|12|15]"],
        "days": ["[3|5|7|10|15|20|30]"],
        "months": common.MONTHS,
        "amount": common.AMOUNTS,
        "amount_small": common.AMOUNTS_SMALL,
        "date": common.DATES,
        "when": common.WHEN,
        "clock": common.CLOCK,
        "count": common.COUNTS,
        "surname": common.SURNAMES,
        "phone": ["1[3|5|8][0|3|6|8|9]****[1|2|5|7|9][0|3|4|6|8][2|5|7][1|6|8]"],
    }
    for key, value in voice.items():
        pools[key] = [value]
    for key, value in place.items():
        pools[key] = [value]
    pools.update(dept.pools)
    return pools


def _untidy(rng: random.Random, text: str) -> str:
    """The small untidiness of real typing: half-width commas, missing stops, spaces."""
    r = rng.random()
    if r < 0.12:
        text = text.replace("，", ",")
    elif r < 0.18:
        text = text.replace("，", " ")
    elif r < 0.22:
        text = text.replace("。", "，").rstrip("，") + rng.choice(["", "。"])
    if rng.random() < 0.08:
        text = text.rstrip("。") + rng.choice(["！", "！！", "。。。", "?"])
    return text


#: Third-person rewrites that read wrong ("来电人们", "其的") and their natural forms.
_VOICE_FIXES = (("来电人们", "他们"), ("其们", "他们"), ("其的", "其"), ("来电人的名字", "来电人名字"))


def _tidy_voice(text: str) -> str:
    for wrong, right in _VOICE_FIXES:
        text = text.replace(wrong, right)
    return text


def _asks(dept: Department, sc: Scenario) -> list[str]:
    return list(sc.asks) + list(dept.asks)


SIDE_REMARK = ["顺便反映一下，{side}。", "另外{side}的问题也希望一并关注。", "还有就是{side}，不知道归不归你们管。",
               "（来电人另提到{side}，已告知另行反映。）", "此外，{side}，这个次要。", "再说个小事：{side}。",
               "对了，{side}，这个你们看着办。"]


def _side_remark(rng: random.Random, dept: Department, ex: Expander, split: str) -> str:
    """A passing mention of another department's matter, as real multi-issue calls have.

    The record stays labelled with its main matter, which is stated first and in full.
    """
    other = rng.choice([d for d in DEPARTMENTS if d.code != dept.code])
    sc = rng.choice(other.scenarios)
    side = Expander(rng, _pools(other, common.VOICE_FIRST, ex.values), dict(ex.values))
    phrase = side.expand(rng.choice(_usable(sc.short, split) or sc.facts))
    return rng.choice(SIDE_REMARK).replace("{side}", phrase)


def compose(rng: random.Random, dept: Department, split: str, book: common.PlaceBook) -> Record:
    """One record of ``dept`` for ``split`` ("train" or "heldout")."""
    form = rng.choices(list(FORM_WEIGHTS), weights=list(FORM_WEIGHTS.values()))[0]
    first_person = form in ("web", "title_body", "long", "phone") or (
        form in ("short", "inquiry") and rng.random() < 0.6)
    voice = common.VOICE_FIRST if first_person else common.VOICE_AGENT
    place, district = common.make_place(rng, book)
    ex = Expander(rng, _pools(dept, voice, place))
    sc = rng.choice(dept.scenarios)
    facts = _usable(sc.facts, split)
    shorts = _usable(sc.short, split) or facts

    def ask() -> str:
        return ex.expand(rng.choice(_asks(dept, sc)))

    def details(k: int) -> list[str]:
        pool = list(sc.more)
        rng.shuffle(pool)
        return [ex.expand(m) for m in pool[:k]]

    if form == "inquiry":
        q = ex.expand(rng.choice(_usable(dept.inquiries, split) if len(dept.inquiries) >= 4 else dept.inquiries))
        text = ex.expand(rng.choice(INQ_FIRST if first_person else INQ_AGENT).replace("{q}", q))
    elif form == "short":
        short = ex.expand(rng.choice(shorts))
        text = ex.expand(rng.choice(SHORT_FORMS).replace("{short}", short))
    elif form == "phone":
        body = ex.expand(rng.choice(facts)) + "，" + "".join(details(rng.choice([0, 1, 1])))
        if rng.random() < 0.15:
            body += _side_remark(rng, dept, ex, split)
        text = styles.spoken(rng, body + ex.expand(rng.choice(WEB_ASK).replace("{ask}", ask())))
    elif form in ("upper", "walkin"):
        body = ex.expand(rng.choice(facts)) + "。" + "".join(details(rng.choice([0, 1])))
        body += ex.expand(rng.choice(AGENT_ASK).replace("{ask}", ask()))
        who = "群众" if form == "upper" else "来访人"
        body = body.replace("来电人", who)
        text = (styles.upper_level(rng, body, rng.choice(["3", "5", "7", "10"])) if form == "upper"
                else styles.walk_in(rng, body, rng.choice(common.SURNAMES)))
    elif form == "agent":
        body = ex.expand(rng.choice(facts)) + "。"
        body += "".join(details(rng.choice([0, 0, 1, 1, 2])))
        if rng.random() < 0.25:
            body += ex.expand(rng.choice(HISTORY))
        text = ex.expand(rng.choice(AGENT_OPEN)) + body
        text += ex.expand(rng.choice(AGENT_ASK).replace("{ask}", ask()))
        if rng.random() < 0.15:
            text += _side_remark(rng, dept, ex, split)
        if rng.random() < 0.2:
            text += ex.expand(rng.choice(AGENT_TAIL))
    else:
        parts = [ex.expand(rng.choice(WEB_GREET))]
        if rng.random() < 0.45:
            parts.append(ex.expand(rng.choice(WEB_INTRO)))
        opening = rng.choice(facts)
        parts.append(ex.expand(opening) + "。")
        k = rng.choice([2, 3, 3]) if form == "long" else rng.choice([0, 1, 1, 2])
        parts += details(k)
        n_context = rng.choice([1, 2, 2, 3]) if form == "long" else int(rng.random() < 0.15)
        for sentence in rng.sample(CONTEXT, n_context):
            parts.append(ex.expand(sentence))
        if form == "long" or rng.random() < 0.2:
            parts.append(ex.expand(rng.choice(HISTORY)))
        if form == "long" and len(facts) > 1 and rng.random() < 0.5:
            second = rng.choice([f for f in facts if f != opening])
            parts.append(rng.choice(["另外，", "还有，", "而且"]) + ex.expand(second) + "。")
        if form in ("long", "web", "title_body") and rng.random() < 0.2:
            parts.append(_side_remark(rng, dept, ex, split))
        parts.append(ex.expand(rng.choice(WEB_ASK).replace("{ask}", ask())))
        close = ex.expand(rng.choice(WEB_CLOSE))
        wordy = any("\u4e00" <= ch <= "\u9fff" for ch in close)
        parts.append("，" + close if wordy else (close or "。"))
        text = "".join(parts)
        if form == "title_body":
            text = ex.expand(rng.choice(shorts)) + "。" + text
    text = _untidy(rng, _tidy_voice(text.replace("。。", "。").replace("，，", "，").strip()))
    text = styles.roughen(rng, text).strip()
    used_place = any(slot in ex.values for slot in PLACE_SLOTS)
    return Record(text=text, label=dept.code, district=district if used_place else None, form=form)


def generate(per_department: int, split: str, seed: int,
             departments: Iterable[Department] = DEPARTMENTS,
             exclude: set[str] | None = None) -> list[Record]:
    """``per_department`` distinct records per department, reproducible from ``seed``.

    Texts in ``exclude`` (for the held-out split: every training text) are never produced.
    """
    rng = random.Random(seed)
    book = common.PlaceBook()
    seen = set(exclude or ())
    out: list[Record] = []
    for dept in departments:
        made, attempts = 0, 0
        while made < per_department:
            attempts += 1
            if attempts > per_department * 50:
                raise RuntimeError(f"material of {dept.code} too thin for {per_department} distinct records")
            rec = compose(rng, dept, split, book)
            if rec.text in seen or len(rec.text) < 6:
                continue
            seen.add(rec.text)
            out.append(rec)
            made += 1
    return out
