"""A second generator, written apart from :mod:`.generator`: text unlike the training corpus.

It shares nothing with the corpus generator but the mechanics (the ``[a|b]``/``{slot}`` template
language, word substitution): its
own matters (:mod:`.unlike_material`), its own frames (a phone call typed by speech recognition
with fillers and slips, an upper-level assignment form, a walk-in visitor's record, a web message
with a title, a dialect speaker, a message mixing two matters) and its own noise tables. The
model never trains on it. Its ``calibration`` split chooses the auto-dispatch thresholds and the
familiarity floor (``training.calibrate``); its ``test`` split, made of the other matters, is
where auto-dispatch precision is reported.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from .styles import substitute
from .template import Expander
from .unlike_material import ASKS, COUNTS, MATTERS, MONEYS, SPOTS, TIMES

SPLITS = ("calibration", "test")

PHONE = (
    "[喂|喂喂|哎]，[你好|您好]，[嗯|呃|那个]，我[要|想]反映个事，就是{m}，[嗯|然后|就是说]……{ask}[吧|啊|]。",
    "[您好|你好]是热线吧？[我跟你讲|我说一下]，{m}，[对|是的|嗯]，{m2}[你们|政府]{ask}[行吗|好吧|]。",
    "[嗯|呃]，是这样的，{m}，[这个|那个]事情[吧|呢]，[拖了好久了|弄得我们很烦]，{ask}。",
)
UPPER = (
    "【[省|市]12345[交办单|转办件]】[编号|单号]SZ{num}。群众反映：{m}。[请|现转请][属地|相关单位]核实办理，{n}个工作日内反馈办理结果。",
    "[市长信箱|领导信箱|国家政务服务平台]转来：{m}。[请按职责办理|请研究处理]并[答复群众|报送结果]。",
    "[督办件|交办件]：{m}，群众诉求：{ask}。[办理时限|反馈期限]{n}个工作日。",
)
WALKIN = (
    "[来访登记|接待记录]：[{s}某|一名{s}姓群众]（[男|女]，{age}岁）[今日|上午|下午]到[窗口|接待大厅]反映{m}，[要求|诉求]{ask}，[情绪平稳|情绪较激动]。",
    "[群众|市民]{s}某[到访|来访]，[称|自述]{m}，已[登记|记录]，{ask}。",
)
WEB = (
    "[标题|主题]：{title}\n[内容|正文]：{m}。{m2}{ask}！",
    "{title}。{m}，{ask}，[谢谢|盼回复|急急急]",
    "[求助|投诉|举报]：{m}！！{ask}",
)
MIXED = (
    "{m}。[另外|还有个事|顺带说一句]，{other}，[不过|但]主要是前面这个，{ask}。",
    "[先说主要的|最要紧的是]：{m}，{ask}。[其他的|另外]{other}也[顺便|一起]说一下。",
)

#: Speech-recognition slips: the sound is right, the characters are not.
ASR_SLIPS = (
    ("投诉", "头诉"), ("物业", "无业"), ("小区", "小去"), ("工资", "公司"), ("电梯", "店梯"), ("停水", "听水"),
    ("反映", "反应"), ("处理", "出里"), ("社保", "设保"), ("燃气", "然气"), ("医保", "一保"), ("学校", "雪校"),
    ("垃圾", "拉基"), ("消防", "销防"), ("噪音", "早音"), ("宽带", "款待"), ("老板", "老班"), ("违建", "为建"),
    ("派人", "排人"), ("孩子", "还子"), ("油烟", "有烟"), ("电费", "店费"), ("公交", "攻交"), ("网约车", "网约吃"),
)
#: Dialect and colloquial words of the lower Yangtze (and plain spoken Mandarin).
DIALECT = (
    ("什么", "啥"), ("没有", "呒没"), ("知道", "晓得"), ("时候", "辰光"), ("现在", "这歇"), ("不要", "覅"),
    ("他们", "伊拉"), ("我们", "阿拉"), ("很", "老"), ("不", "弗"), ("一点", "一眼"), ("孩子", "小囡"),
    ("晚上", "夜里向"), ("早上", "早浪向"), ("怎么", "哪能"),
)
#: Typing slips of a pinyin keyboard (a near character of the same sound).
TYPOS = (
    ("已经", "以经"), ("在", "再"), ("的", "地"), ("做", "作"), ("账", "帐"), ("部门", "不门"),
    ("情况", "请况"), ("希望", "希忘"), ("严重", "严众"), ("解决", "解绝"), ("楼", "搂"), ("再", "在"),
)
FILLERS = ("嗯，", "那个，", "就是，", "呃，", "对对，", "你晓得吧，")
TITLES = ("[急|紧急]！{short}", "关于{short}的问题", "{short}谁来管", "{short}")


@dataclass(frozen=True)
class UnlikeRecord:
    text: str
    label: str
    frame: str
    matter: str  # which matter it tells ("<code>-<index>"): the calibration's cross-fitting groups


def _matters(code: str, split: str) -> tuple[str, ...]:
    """Even matters for calibration, odd ones for the test split: no matter is in both."""
    items = MATTERS[code]
    return items[0::2] if split == "calibration" else items[1::2]


def _fillers(rng: random.Random, text: str) -> str:
    """Speech: fillers after some commas, a word said twice."""
    parts = text.split("，")
    out = [p if rng.random() > 0.35 else rng.choice(FILLERS) + p for p in parts]
    text = "，".join(out)
    if len(text) > 12 and rng.random() < 0.4:
        i = rng.randrange(2, len(text) - 4)
        text = text[:i] + text[i:i + 2] + "，" + text[i:]
    return text


def compose(rng: random.Random, code: str, split: str) -> UnlikeRecord:
    """One record of department ``code`` for ``split``."""
    pools: dict[str, object] = {"spot": list(SPOTS), "t": list(TIMES), "money": list(MONEYS), "k": list(COUNTS)}
    ex = Expander(rng, pools)
    mine = _matters(code, split)
    chosen = rng.randrange(len(mine))
    m = ex.expand(mine[chosen])
    ask = ex.expand(rng.choice(ASKS))
    frame = rng.choices(["phone", "upper", "walkin", "web", "mixed", "dialect"], weights=[24, 14, 12, 24, 14, 12])[0]
    values = {"m": m, "ask": ask, "s": rng.choice("张王李赵陈刘周吴徐孙沈顾陆钱"), "age": str(rng.randint(22, 80)),
              "num": str(rng.randint(10**7, 10**8 - 1)), "n": rng.choice(["5", "7", "10", "15"])}
    values["m2"] = ex.expand(rng.choice(mine)) + "，" if rng.random() < 0.3 else ""
    values["title"] = ex.expand(rng.choice(TITLES).replace("{short}", m.split("，")[0][:14]))
    if frame == "mixed":
        other_code = rng.choice([c for c in MATTERS if c != code])
        values["other"] = ex.expand(rng.choice(_matters(other_code, split))).split("，")[0]
    template = rng.choice({"phone": PHONE, "upper": UPPER, "walkin": WALKIN, "web": WEB, "mixed": MIXED,
                           "dialect": PHONE + WEB}[frame])
    text = template
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    text = ex.expand(text)
    if frame == "phone":
        text = substitute(rng, _fillers(rng, text), ASR_SLIPS, 0.5)
    elif frame == "dialect":
        text = substitute(rng, text, DIALECT, 0.7)
    if rng.random() < 0.3:
        text = substitute(rng, text, TYPOS, 0.4)
    index = 2 * chosen + (0 if split == "calibration" else 1)
    return UnlikeRecord(text=text.replace("。。", "。").replace("，，", "，"), label=code, frame=frame,
                        matter=f"{code}-{index}")


def generate_unlike(per_department: int, split: str, seed: int) -> list[UnlikeRecord]:
    """``per_department`` distinct records per department for ``split`` (reproducible)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}")
    rng = random.Random(seed)
    out: list[UnlikeRecord] = []
    seen: set[str] = set()
    for code in MATTERS:
        made = attempts = 0
        while made < per_department:
            attempts += 1
            if attempts > per_department * 60:
                raise RuntimeError(f"unlike material of {code} too thin for {per_department} records")
            rec = compose(rng, code, split)
            if rec.text in seen:
                continue
            seen.add(rec.text)
            out.append(rec)
            made += 1
    return out
