"""Writing styles of the corpus generator beyond typed summaries and web messages.

* a phone call as speech recognition types it: fillers, a word said twice, homophone slips;
* an upper-level assignment (上级交办) form and a walk-in visitor's record, in the third person;
* dialect and colloquial words, and pinyin-keyboard typos, sprinkled over any record.

The tables here are the training generator's own; the second generator (:mod:`.unlike`) has
different ones, so the held-out text does not share its slips with the corpus.
"""
from __future__ import annotations

import random

PHONE_OPEN = ["喂，你好，", "喂喂，", "你好，我说一下啊，", "嗯，你好，", "喂，是12345吗？", "你好，我要反映个情况，"]
PHONE_FILLERS = ["嗯", "这个", "然后", "就是说", "哎", "怎么讲呢", "反正"]
PHONE_CLOSE = ["好，谢谢啊。", "就这个事。", "你们快点弄一下。", "好的好的。", "", "麻烦你了。"]
#: Homophone slips of speech recognition in the training corpus.
ASR = (
    ("物业", "物叶"), ("维修", "为修"), ("退款", "推款"), ("停电", "停店"), ("工地", "公地"), ("派出所", "排出所"),
    ("社区", "设区"), ("医院", "一院"), ("拖欠", "托欠"), ("噪声", "早声"), ("污水", "乌水"), ("执法", "直发"),
    ("补贴", "不贴"), ("报销", "抱销"), ("商家", "伤家"), ("公交车", "公交扯"), ("网络", "往络"), ("居委会", "居委汇"),
)
UPPER_OPEN = ["【上级交办】", "【市政府督查室交办】", "【省政务服务热线转办】", "【12345上级转办件】",
              "【信访局交办】", "【书记市长信箱】"]
UPPER_BODY = ["据群众反映，{body}", "群众来信反映：{body}", "有群众反映{body}", "接上级转来群众诉求：{body}"]
UPPER_CLOSE = ["请于{n}个工作日内核实办理并反馈。", "请按职责认真核查处置，按时限报送办理情况。",
               "请承办单位调查核实后依法处理，结果报市热线。", "请高度重视，限期办结。"]
WALKIN_OPEN = ["来访人{surname}某到服务大厅反映：", "接待来访群众一名，", "群众{surname}某来访，称",
               "今日窗口接待来访，来访人反映", "【来访】{surname}某（{age}岁）到访，"]
WALKIN_CLOSE = ["已告知将转相关部门办理。", "来访人留下联系方式，要求书面答复。", "已做好登记。", "来访人情绪较激动。", ""]
#: Colloquial and dialect words (Wu and northern spoken Mandarin).
DIALECT = (
    ("没有", "木有"), ("什么", "啥子"), ("一直", "一天到夜"), ("很多", "交关"), ("非常", "忒"), ("这样", "迭能"),
    ("怎么办", "哪能办"), ("今天", "今朝"), ("昨天", "昨日"), ("东西", "物事"), ("漂亮", "灵"), ("干什么", "做啥"),
    ("吵", "闹猛"), ("知道", "晓得"),
)
TYPOS = (
    ("反映", "反应"), ("已经", "已近"), ("现在", "现再"), ("问题", "问提"), ("处理", "处里"), ("联系", "连系"),
    ("投诉", "头诉"), ("严重", "言重"), ("部门", "部们"), ("要求", "要球"), ("的", "得"), ("那里", "哪里"),
)


#: Everyday words for the official ones (what callers say, not what duty lists write).
COLLOQUIAL = (
    ("天然气", "煤气"), ("燃气", "煤气"), ("液化石油气", "液化气"), ("供电公司", "电力局"), ("停电", "没电了"),
    ("自来水", "水"), ("消防车", "救火车"), ("电动自行车", "电瓶车"), ("机动车", "汽车"), ("派出所", "警察"),
    ("城管", "城管队"), ("物业公司", "物业"), ("营业厅", "移动公司"), ("医疗保险", "医保"), ("社会保险", "社保"),
    ("养老保险", "养老金"), ("劳动合同", "合同"), ("出租车", "的士"), ("网约车", "滴滴"), ("公交车", "公交"),
    ("幼儿园", "托儿所"), ("培训机构", "补习班"), ("排水管", "下水道"), ("燃气表", "气表"), ("电表", "电度表"),
)


def substitute(rng: random.Random, text: str, table: tuple[tuple[str, str], ...], rate: float) -> str:
    """Replace the first occurrence of each listed word with its slip, each with probability ``rate``."""
    for right, wrong in table:
        if right in text and rng.random() < rate:
            text = text.replace(right, wrong, 1)
    return text


def spoken(rng: random.Random, text: str) -> str:
    """A first-person text as a phone call typed by speech recognition."""
    clauses = [c for c in text.replace("。", "，").split("，") if c]
    out = []
    for c in clauses:
        if rng.random() < 0.3:
            c = rng.choice(PHONE_FILLERS) + "，" + c
        if len(c) > 6 and rng.random() < 0.12:
            c = c[:3] + "，" + c  # said twice
        out.append(c)
    body = "，".join(out)
    return rng.choice(PHONE_OPEN) + substitute(rng, body, ASR, 0.45) + "，" + rng.choice(PHONE_CLOSE)


def upper_level(rng: random.Random, body: str, n: str) -> str:
    """An upper-level assignment form around a third-person account."""
    return (rng.choice(UPPER_OPEN) + rng.choice(UPPER_BODY).replace("{body}", body)
            + rng.choice(UPPER_CLOSE).replace("{n}", n))


def walk_in(rng: random.Random, body: str, surname: str) -> str:
    """A walk-in visitor's record around a third-person account."""
    head = rng.choice(WALKIN_OPEN).replace("{surname}", surname).replace("{age}", str(rng.randint(25, 82)))
    return head + body + rng.choice(WALKIN_CLOSE)


def roughen(rng: random.Random, text: str) -> str:
    """Everyday words, dialect words or keyboard typos on some records."""
    if rng.random() < 0.3:
        text = substitute(rng, text, COLLOQUIAL, 0.7)
    r = rng.random()
    if r < 0.1:
        text = substitute(rng, text, DIALECT, 0.6)
    elif r < 0.2:
        text = substitute(rng, text, TYPOS, 0.35)
    return text
